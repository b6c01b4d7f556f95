package admin

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
)

// since and until took a negative duration ("-1h": an hour ahead, so an
// empty answer) and refused "7d", which the CLI's --since takes. They read
// the CLI's forms (internal/when); a bad one is a 400 problem naming the
// field, in the decision and the audit searches alike.
func TestSinceUntilForms(t *testing.T) {
	dl, err := decisionlog.Open(filepath.Join(t.TempDir(), "decisions.db"), decisionlog.Options{FlushInterval: time.Hour, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dl.Close() })
	f := newFixture(t, WithDecisionLog(dl))
	now := time.Now()
	for _, ago := range []time.Duration{3 * 24 * time.Hour, 10 * 24 * time.Hour} {
		c := policy.Call{Calling: e164.MustParse("+19005550000"), Called: e164.MustParse("+12025550100"), Origin: policy.OriginSIP}
		dl.Record(decisionlog.NewRecord(now.Add(-ago), &c, &policy.Decision{Action: policy.ActionAllow}, 0))
	}
	for since, want := range map[string]int{
		"7d": 1, "1.5d": 0, "241h": 2, "": 2,
		now.Add(-4 * 24 * time.Hour).UTC().Format(time.RFC3339Nano):     1,
		now.Add(-4 * 24 * time.Hour).Local().Format("2006-01-02 15:04"): 1,
	} {
		var pg decisionPage
		f.want(t, 200, "operator", "GET", "/api/v1/decisions?"+url.Values{"since": {since}}.Encode(), nil, &pg)
		if len(pg.Items) != want {
			t.Errorf("since=%q: %d records, want %d", since, len(pg.Items), want)
		}
	}
	for _, c := range []struct{ path, field, says string }{
		{"/api/v1/decisions?since=-1h", "since", "must not be negative"},
		{"/api/v1/decisions?until=-2d", "until", "must not be negative"},
		{"/api/v1/decisions?since=yesterday", "since", "90m, 2h, 7d"},
		{"/api/v1/audit?since=-1h", "since", "must not be negative"},
		{"/api/v1/audit?until=14:02", "until", "nor a time"},
	} {
		status, body, h := f.do(t, "operator", "GET", c.path, nil)
		var p problem
		if err := json.Unmarshal(body, &p); err != nil || status != 400 || p.Field != c.field ||
			h.Get("Content-Type") != "application/problem+json" || !strings.Contains(p.Detail, c.says) {
			t.Errorf("%s: %d %s, want 400 naming %q and saying %q", c.path, status, body, c.field, c.says)
		}
	}
	// 7d works in the audit search too.
	f.want(t, 200, "operator", "GET", "/api/v1/audit?since=7d", nil, nil)
}
