package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRelativeDataPathsFollowTheFile: relative data paths in a config file
// are relative to the file's folder, whatever the working directory (they
// used to be relative to it, so the CLI run from another folder opened a
// new, empty store there).
func TestRelativeDataPathsFollowTheFile(t *testing.T) {
	etc := filepath.Join(t.TempDir(), "etc")
	if err := os.MkdirAll(etc, 0o750); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) string {
		p := filepath.Join(etc, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	elsewhere := t.TempDir()
	t.Chdir(elsewhere)
	cases := []struct {
		name, body         string
		dataDir, store, dl string
	}{
		{"relative.yaml", "data_dir: var/data\n",
			filepath.Join(etc, "var/data"), filepath.Join(etc, "var/data/callgate.db"), filepath.Join(etc, "var/data/decisions.db")},
		{"default.yaml", "log: {level: info}\n", // data_dir defaults to "data", next to the file
			filepath.Join(etc, "data"), filepath.Join(etc, "data/callgate.db"), filepath.Join(etc, "data/decisions.db")},
		{"paths.yaml", "data_dir: /srv/cg\nstore: {path: lists.db}\ndecision_log: {path: ../log/d.db}\n",
			"/srv/cg", filepath.Join(etc, "lists.db"), filepath.Join(filepath.Dir(etc), "log/d.db")},
		{"absolute.yaml", "data_dir: /var/lib/callgate\n",
			"/var/lib/callgate", "/var/lib/callgate/callgate.db", "/var/lib/callgate/decisions.db"},
	}
	for _, tc := range cases {
		// Given by a path relative to the working directory, too.
		for _, path := range []string{write(tc.name, tc.body), mustRel(t, elsewhere, filepath.Join(etc, tc.name))} {
			c, err := Load(path)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if c.DataDir != tc.dataDir || c.StorePath() != tc.store || c.DecisionLogPath() != tc.dl {
				t.Errorf("%s: data_dir %q store %q decision log %q, want %q %q %q",
					path, c.DataDir, c.StorePath(), c.DecisionLogPath(), tc.dataDir, tc.store, tc.dl)
			}
		}
	}
	// Without a file, the defaults stay relative to the working directory.
	if c := Default(); c.DataDir != "data" {
		t.Errorf("default data_dir %q", c.DataDir)
	}
}

func mustRel(t *testing.T, base, target string) string {
	t.Helper()
	r, err := filepath.Rel(base, target)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
