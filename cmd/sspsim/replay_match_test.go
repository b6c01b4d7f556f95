package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"callgate/e164"
	"callgate/simulators/ssp"
)

// twoCalls captures two clean calls from two switch runs (each its own
// association, both starting at the same TID), one answered
// authorizeTermination and one disconnect.
func twoCalls(t *testing.T, addr string) (first, second []ssp.Captured) {
	t.Helper()
	callers := []string{"+17195551212", "+17195550666"} // screen: authorize, disconnect
	var runs [2][]ssp.Captured
	for i, calling := range callers {
		c, err := ssp.Dial(context.Background(), ssp.Config{Connect: []string{addr}, Capture: true})
		if err != nil {
			t.Fatal(err)
		}
		a, err := c.TerminationAttempt(context.Background(), ssp.TA{Calling: e164.MustParse(calling), Called: e164.MustParse("+13035550100")})
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = c.Capture()
		c.Close()
		if want := []string{"authorizeTermination", "disconnect"}[i]; a.Operation != want {
			t.Fatalf("call %d answered %s, want %s", i, a.Operation, want)
		}
	}
	return runs[0], runs[1]
}

func data(msgs []ssp.Captured) []ssp.Captured {
	return slices.DeleteFunc(slices.Clone(msgs), func(m ssp.Captured) bool { return !m.IsData() })
}

func writeCapture(t *testing.T, msgs []ssp.Captured) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "calls.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ssp.WritePcap(f, msgs); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplaySameTID: a capture holding several calls with the same TID
// (two runs of `sspsim call`, one after the other or at once; a TID reused
// on one association) pairs each query with its own answer: the replay
// reports SAME for every call. It used to match by TID alone, comparing
// the second call with the first call's answer: a false DIFFERENT.
func TestReplaySameTID(t *testing.T) {
	addr := responder(t, screen)
	first, second := twoCalls(t, addr)
	q1, a1 := data(first)[0], data(first)[1]
	q2, a2 := data(second)[0], data(second)[1]
	if q1.Local.Port() == q2.Local.Port() {
		t.Fatal("the two runs used the same association")
	}
	// The same association reused: the second call's messages on the
	// first call's ports.
	q2same, a2same := q2, a2
	q2same.Local, a2same.Local = q1.Local, a1.Local
	cases := []struct {
		name string
		msgs []ssp.Captured
	}{
		{"one run after the other", append(slices.Clone(first), second...)},
		{"both runs at once", []ssp.Captured{q1, q2, a2, a1}},
		{"TID reused on one association", []ssp.Captured{q1, a1, q2same, a2same}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", "replay", writeCapture(t, tc.msgs), "--connect", addr, "--json")
			var res []replayed
			if err := json.Unmarshal([]byte(r.out), &res); err != nil {
				t.Fatalf("exit %d %v\n%s%s", r.code, err, r.out, r.err)
			}
			if r.code != 0 || len(res) != 2 {
				t.Fatalf("exit %d, %d queries\n%s", r.code, len(res), r.out)
			}
			for i, want := range []string{"authorizeTermination", "disconnect"} {
				if res[i].Captured == nil || res[i].Captured.Operation != want || res[i].Live.Operation != want || !res[i].Same {
					t.Errorf("query %d (tid %s): captured %+v live %s same %v", i+1, res[i].QueryTID, res[i].Captured, res[i].Live.Operation, res[i].Same)
				}
			}
			if res[0].QueryTID != res[1].QueryTID {
				t.Errorf("the two calls have TIDs %s and %s; the test wants them equal", res[0].QueryTID, res[1].QueryTID)
			}
		})
	}
	// A query whose answer was not captured stays unanswered, even when a
	// later query of the same transaction got one.
	r := run(t, "", "replay", writeCapture(t, []ssp.Captured{q1, q2same, a2same}), "--connect", addr, "--json")
	var res []replayed
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || len(res) != 2 {
		t.Fatalf("exit %d %v\n%s", r.code, err, r.out)
	}
	if r.code != 1 || res[0].Captured != nil || res[1].Captured == nil || res[1].Captured.Operation != "disconnect" || !res[1].Same {
		t.Errorf("lost answer: exit %d, %+v / %+v", r.code, res[0].Captured, res[1])
	}
}
