// Package vectortest gives tests the golden vectors of testdata/vectors:
// the directory, and the messages of manifest.json decoded into whatever
// view of them a package checks (M3UA, SCCP, TCAP, AIN or the whole
// frame), so each test keeps its own struct and none re-reads the file by
// hand.
package vectortest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the golden vectors directory, found from the module root
// above the working directory (a package's tests run in its directory).
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("golden vectors: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "vectors")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("golden vectors: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Messages decodes the "messages" of manifest.json into []T.
func Messages[T any](tb testing.TB) []T {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(tb), "manifest.json"))
	if err != nil {
		tb.Fatalf("golden vectors: %v", err)
	}
	var m struct {
		Messages []T `json:"messages"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("golden vectors: manifest.json: %v", err)
	}
	if len(m.Messages) == 0 {
		tb.Fatal("golden vectors: manifest.json lists no messages")
	}
	return m.Messages
}
