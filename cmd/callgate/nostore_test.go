package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/internal/demo"
	"callgate/store"
)

// newCLIWithStore is newCLI over an empty store, as `callgate serve`
// leaves on a new data directory (operator commands do not create one).
func newCLIWithStore(t *testing.T) *cli {
	t.Helper()
	c := newCLI(t)
	st, err := store.Open(filepath.Join(c.dir, "callgate.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOperatorCommandsDoNotCreateAStore: an operator command pointed at a
// folder without a store refuses, naming the file and how to point at the
// right one, and leaves nothing behind (it used to create a new, empty
// store there, which then took the changes no daemon reads).
func TestOperatorCommandsDoNotCreateAStore(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{
		{"provider", "create", "acme"},
		{"list", "add", "--owner", demo.Alice, "--list", "blocked", demo.Stranger},
		{"subscriber", "list"},
	} {
		r := c.fails(1, "no store at "+filepath.Join(c.dir, "callgate.db"), args...)
		for _, want := range []string{"from --data " + c.dir, "operator commands do not create one", "--config FILE", "'callgate serve'", "'callgate demo'"} {
			if !strings.Contains(r.err, want) {
				t.Errorf("%v: %q does not say %q", args, r.err, want)
			}
		}
	}
	if entries, _ := os.ReadDir(c.dir); len(entries) != 0 {
		t.Errorf("the refused commands left %v behind", entries)
	}

	// The daemon's config file, with the default relative data_dir, used
	// from another folder: the commands find the store next to the file.
	etc := t.TempDir()
	cfg := filepath.Join(etc, "callgate.yaml")
	if err := os.WriteFile(cfg, []byte("admin: {listen: \"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	byConfig := &cli{t: t}
	byConfig.ok("demo", "--config", cfg)
	if _, err := os.Stat(filepath.Join(etc, "data", "callgate.db")); err != nil {
		t.Fatalf("demo --config did not seed the store next to the file: %v", err)
	}
	if out := byConfig.ok("list", "show", "--owner", demo.Alice, "--config", cfg); !strings.Contains(out, demo.Mom) {
		t.Errorf("list show --config from another folder:\n%s", out)
	}
	// No config and no ./data here: refused, saying where it looked.
	wd, _ := os.Getwd()
	r := byConfig.fails(1, "no store at "+filepath.Join(wd, "data", "callgate.db"), "list", "show", "--owner", demo.Alice)
	if !strings.Contains(r.err, "the default data_dir ./data in the current folder") {
		t.Errorf("no config: %q", r.err)
	}
	if _, err := os.Stat("data"); !os.IsNotExist(err) {
		t.Errorf("a data folder was created in the current folder: %v", err)
	}
}
