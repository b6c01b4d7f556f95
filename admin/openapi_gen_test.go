package admin

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestOpenAPIGenerated: admin/openapi.json is what its generator,
// scripts/gen-admin-openapi.py, writes. Both are edited by hand; a change
// made in one only is lost the next time the file is generated (this
// happened twice: action values, ids and a 404 were in the JSON alone).
func TestOpenAPIGenerated(t *testing.T) {
	cmd := exec.Command("python3", "../scripts/gen-admin-openapi.py")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 scripts/gen-admin-openapi.py: %v\n%s", err, stderr.Bytes())
	}
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("admin/openapi.json is not what scripts/gen-admin-openapi.py writes: make the change in the script too, then run\n" +
			"  python3 scripts/gen-admin-openapi.py > admin/openapi.json\n(diff the two to see what differs)")
	}
}
