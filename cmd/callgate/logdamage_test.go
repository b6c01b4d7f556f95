package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/policy/decisionlog/logtest"
)

// `log search` on a decision log with a damaged segment answered the
// records it could read as if that were all. It prints a warning: line
// on stderr (stdout, and so --json, unchanged) and still exits 0.
func TestLogSearchWarnsOfDamage(t *testing.T) {
	c := newCLI(t)
	path := filepath.Join(c.dir, decisionlog.FileName)
	l, err := decisionlog.Open(path, decisionlog.Options{NoSync: true, BatchSize: 10, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	for i := range 20 {
		call := policy.Call{Calling: e164.MustParse("+17195551200") + e164.Number(i), Called: e164.MustParse("+13035550101"), Origin: policy.OriginSIP}
		l.Record(decisionlog.NewRecord(at.Add(time.Duration(i)*time.Second), &call, &policy.Decision{Action: policy.ActionAllow}, 0))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if out := c.run("log", "search"); out.code != 0 || strings.Contains(out.err, "warning") {
		t.Fatalf("undamaged: exit %d, stderr %q", out.code, out.err)
	}
	logtest.DamageFirstSegment(t, path)
	for _, args := range [][]string{{"log", "search"}, {"log", "search", "--number", "+13035550101", "--json"}} {
		r := c.run(args...)
		if r.code != 0 || !strings.Contains(r.err, "warning: the decision log is damaged: 1 damaged segment skipped") {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.err)
		}
		if n := strings.Count(r.out, "+1719555"); n != 10 {
			t.Fatalf("%v: %d records shown, want the 10 readable:\n%s", args, n, r.out)
		}
	}
}
