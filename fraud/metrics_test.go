package fraud

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gather returns the samples of a registry as "name{labels} value" lines.
func gather(t *testing.T, reg *prometheus.Registry, names ...string) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if !slices.Contains(names, mf.GetName()) {
			continue
		}
		for _, m := range mf.GetMetric() {
			s := mf.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					s += ","
				}
				s += l.GetName() + "=" + l.GetValue()
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out = append(out, fmt.Sprintf("%s} %g", s, v))
		}
	}
	return out
}

// The per-group series are bounded by top_groups: the locked group first,
// then the one nearest its lockdown threshold.
func TestCollectorTopGroups(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.TopGroups = 2 })
	f.spend(t, lineErin, toLondon, 3*time.Minute)    // 3.00
	f.spend(t, lineInitech, toLondon, 8*time.Minute) // 8.00
	lockDave(t, f)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(f.m.Collector())
	got := gather(t, reg, "callgate_fraud_group_spend", "callgate_fraud_group_locked", "callgate_fraud_group_threshold", "callgate_fraud_groups_locked")
	want := []string{
		"callgate_fraud_group_locked{group=enterprise:initech} 0",
		"callgate_fraud_group_locked{group=subscriber:dave} 1",
		"callgate_fraud_group_spend{group=enterprise:initech} 8",
		"callgate_fraud_group_spend{group=subscriber:dave} 12",
		"callgate_fraud_group_threshold{group=enterprise:initech,level=alert} 10",
		"callgate_fraud_group_threshold{group=enterprise:initech,level=lockdown} 11",
		"callgate_fraud_group_threshold{group=subscriber:dave,level=alert} 20",
		"callgate_fraud_group_threshold{group=subscriber:dave,level=lockdown} 22",
		"callgate_fraud_groups_locked{} 1",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}
