package fraud

import "testing"

// wantStats checks the counts set in want (the others are not checked).
func wantStats(t *testing.T, m *Monitor, want Stats) {
	t.Helper()
	got := m.Stats()
	pairs := []struct {
		name      string
		got, want uint64
	}{
		{"started", got.Started, want.Started}, {"matched", got.Matched, want.Matched}, {"unmatched", got.Unmatched, want.Unmatched},
		{"duplicates", got.Duplicates, want.Duplicates}, {"closed_remote", got.ClosedRemote, want.ClosedRemote},
		{"uncounted", got.Uncounted, want.Uncounted}, {"reopened", got.Reopened, want.Reopened},
	}
	for _, p := range pairs {
		if p.want != 0 && p.got != p.want {
			t.Errorf("node %q: %s %d, want %d (%+v)", m.cfg.Node, p.name, p.got, p.want, got)
		}
	}
}
