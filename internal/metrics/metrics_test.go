package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"callgate/policy"
	"callgate/policy/decisionlog"
)

type fixed policy.Action

func (f fixed) Decide(context.Context, policy.Call) policy.Decision {
	return policy.Decision{Action: policy.Action(f)}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape status %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestDecisionsAndLatency(t *testing.T) {
	m := New()
	block := m.Wrap(fixed(policy.ActionBlock))
	allow := m.Wrap(fixed(policy.ActionAllow))
	for range 3 {
		block.Decide(context.Background(), policy.Call{Origin: policy.OriginAIN})
	}
	allow.Decide(context.Background(), policy.Call{Origin: policy.OriginSIP})
	// Out-of-range values land in the "unknown"/"none" series, never panic.
	m.ObserveDecision(policy.Origin(200), policy.Action(200), time.Microsecond)

	out := scrape(t, m)
	for _, want := range []string{
		`callgate_decisions_total{action="block",tier="ain"} 3`,
		`callgate_decisions_total{action="allow",tier="sip"} 1`,
		`callgate_decisions_total{action="none",tier="unknown"} 1`,
		`callgate_decide_duration_seconds_count{tier="ain"} 3`,
		`callgate_decide_duration_seconds_count{tier="sip"} 1`,
		"go_goroutines",
		"process_start_time_seconds",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	m := New()
	d := m.Wrap(fixed(policy.ActionScreen))
	c := policy.Call{Origin: policy.OriginSIP}
	if n := testing.AllocsPerRun(100, func() { d.Decide(context.Background(), c) }); n != 0 {
		t.Errorf("Decide through metrics allocates %.1f times", n)
	}
}

func TestDecisionLogAndStore(t *testing.T) {
	m := New()
	m.WatchDecisionLog(func() decisionlog.Stats {
		return decisionlog.Stats{Recorded: 10, Written: 8, Dropped: 2, Queued: 1, Stored: 8, Failed: 5, WriteFailures: 3, Failing: true,
			WriterIdle: true, WriterRaised: 4, SetAside: true, SearchDamaged: decisionlog.Damage{Segments: 2, Blocks: 1, Records: 7}}
	})
	calls := 0
	m.WatchStore(func() (StoreSizes, error) {
		calls++
		return StoreSizes{Providers: 1, Subscribers: 3, ListEntries: 12, FileBytes: 65536}, nil
	}, time.Hour)
	m.GaugeFunc("up", "Serving.", nil, func() float64 { return 1 })
	out := scrape(t, m)
	for _, want := range []string{
		"callgate_decision_log_recorded_total 10",
		"callgate_decision_log_written_total 8",
		"callgate_decision_log_dropped_total 2",
		"callgate_decision_log_queued 1",
		"callgate_decision_log_failed_total 5",
		"callgate_decision_log_write_failures_total 3",
		"callgate_decision_log_failing 1",
		"callgate_decision_log_writer_idle 1",
		"callgate_decision_log_writer_raised_total 4",
		"callgate_decision_log_set_aside 1",
		`callgate_decision_log_search_damaged_total{part="segment"} 2`,
		`callgate_decision_log_search_damaged_total{part="index_block"} 1`,
		`callgate_decision_log_search_damaged_total{part="record"} 7`,
		"callgate_store_subscribers 3",
		"callgate_store_list_entries 12",
		"callgate_store_file_bytes 65536",
		"callgate_up 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	scrape(t, m)
	if calls != 1 {
		t.Errorf("store sizes computed %d times within maxAge, want 1", calls)
	}
}

func TestStoreSizesError(t *testing.T) {
	m := New()
	m.WatchStore(func() (StoreSizes, error) { return StoreSizes{}, errors.New("store closed") }, 0)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "go_goroutines") || strings.Contains(body, "callgate_store_subscribers ") {
		t.Errorf("a failing collector should lose only its own series: status %d\n%s", rec.Code, body)
	}
}

func BenchmarkObserveDecision(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveDecision(policy.OriginAIN, policy.ActionBlock, 800*time.Nanosecond)
	}
}
