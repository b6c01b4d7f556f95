package vectortest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMessages(t *testing.T) {
	if _, err := os.Stat(filepath.Join(Dir(t), "manifest.json")); err != nil {
		t.Fatal(err)
	}
	msgs := Messages[struct {
		ID string `json:"id"`
	}](t)
	if len(msgs) < 20 || msgs[0].ID == "" {
		t.Fatalf("%d messages, first %+v", len(msgs), msgs[0])
	}
}
