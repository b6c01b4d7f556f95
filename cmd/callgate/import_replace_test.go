package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/internal/demo"
)

// TestImportReplaceWithBadRowChangesNothing: `import --replace` with a bad
// row changes nothing and says so (it used to replace Alice's Blocked list
// by the good rows, unblocking the telemarketer the bad row meant to keep).
func TestImportReplaceWithBadRowChangesNothing(t *testing.T) {
	c := newCLI(t)
	c.ok("demo")
	before := c.ok("list", "show", "--owner", demo.Alice, "--list", "blocked")
	csv := filepath.Join(t.TempDir(), "blocked.csv")
	rows := "owner,list,number\n" +
		demo.AliceNumber + ",blocked,+17195550011\n" +
		demo.AliceNumber + ",blocked," + strings.Replace(demo.Telemarket, "2", "Z", 1) + "\n" // line 3: a typo
	if err := os.WriteFile(csv, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.fails(1, "blocked.csv:3:", "import", "--replace", csv)
	if !strings.Contains(r.out, "Nothing imported from "+csv) || !strings.Contains(r.err, "nothing was imported") {
		t.Errorf("the refusal is not said:\nstdout %s\nstderr %s", r.out, r.err)
	}
	if after := c.ok("list", "show", "--owner", demo.Alice, "--list", "blocked"); after != before {
		t.Errorf("Alice's Blocked list changed:\n%s\nwas\n%s", after, before)
	}
	if out := c.ok("decide", "--calling", demo.Telemarket, "--called", demo.AliceNumber); !strings.Contains(out, "decision:      block") {
		t.Errorf("the telemarketer is no longer blocked:\n%s", out)
	}
}
