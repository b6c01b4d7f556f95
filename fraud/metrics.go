package fraud

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// topGroup is one group of the /metrics view, as of the last recompute.
type topGroup struct {
	ref    string
	spend  Money
	th     Thresholds
	locked bool
}

// publishTop keeps the Config.TopGroups groups nearest their lockdown
// threshold (locked ones first) for the collector: the per-group series
// stay bounded whatever the number of groups.
func (m *Monitor) publishTop(groups []*group) {
	top := make([]topGroup, 0, len(groups))
	for _, g := range groups {
		g.mu.Lock()
		t := topGroup{ref: g.info.Ref, spend: g.spend, th: g.th, locked: m.IsLocked(g.id)}
		g.mu.Unlock()
		if t.spend > 0 || t.locked {
			top = append(top, t)
		}
	}
	ratio := func(t topGroup) float64 { return float64(t.spend) / float64(max(t.th.Lockdown, 1)) }
	slices.SortFunc(top, func(a, b topGroup) int {
		switch {
		case a.locked != b.locked:
			if a.locked {
				return -1
			}
			return 1
		case ratio(a) > ratio(b):
			return -1
		case ratio(a) < ratio(b):
			return 1
		}
		return compareStrings(a.ref, b.ref)
	})
	if len(top) > m.cfg.TopGroups {
		top = top[:m.cfg.TopGroups]
	}
	m.top.Store(&top)
	m.st.groups.Store(int64(len(groups)))
}

// Collector exports the monitor as callgate_fraud_*: spend against the
// thresholds for the top groups, and the monitor's counts.
func (m *Monitor) Collector() prometheus.Collector { return newCollector(m) }

type collector struct {
	m                                                     *Monitor
	spend, threshold, locked, groups, lockedGroups, open  *prometheus.Desc
	events, cdrs, starts, expired, unrated, writeErrs     *prometheus.Desc
	pending, ratesVersion, ratesRows, recompute, webhooks *prometheus.Desc
	cluster, unreadable                                   *prometheus.Desc
}

func newCollector(m *Monitor) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("callgate_fraud_"+name, help, labels, nil)
	}
	return &collector{
		m:            m,
		spend:        d("group_spend", "Today's outbound spend of a group (completed calls plus calls in progress), in the account currency, at the last recompute; the fraud.top_groups groups nearest their lockdown threshold.", "group"),
		threshold:    d("group_threshold", "A group's alert and lockdown thresholds in force today (doubled after a lockdown), same groups as callgate_fraud_group_spend.", "group", "level"),
		locked:       d("group_locked", "1 while the group is locked down (international and premium calls refused), same groups as callgate_fraud_group_spend.", "group"),
		groups:       d("groups", "Groups the monitor holds spend for."),
		lockedGroups: d("groups_locked", "Groups locked down now."),
		open:         d("calls_in_progress", "Calls in progress valued at the last recompute."),
		events:       d("events_total", "Audit events: alert, lockdown, unlock, rates (a rate table import).", "kind"),
		cdrs:         d("cdrs_total", "CDRs by result: matched (closed a call in progress), unmatched (rated on arrival), duplicate (a copy of one counted within fraud.cdr_dedup_window, here or on another node: dropped), unattributed (line in no group), invalid (refused or skipped).", "result"),
		cluster:      d("cluster_cdrs_total", "CDRs between the nodes of a cluster (the CDR journal), by result: closed (a call in progress here closed by a CDR another node took), uncounted (a CDR counted here and on a node whose name sorts first: taken back here), reopened (a call closed here for another node's CDR, reopened: a node whose name sorts first closed one for it), unclosed (a CDR taken here for which no node closed a call within a minute: counted then).", "result"),
		starts:       d("starts_total", "Originating calls the engine let through, by result: tracked (valued while in progress), untracked (fraud.max_open_calls reached).", "result"),
		expired:      d("calls_expired_total", "Calls in progress dropped after fraud.max_call_duration without a CDR."),
		unrated:      d("unrated_total", "Calls and CDRs no rate table row matched (priced at fraud.unrated_price_per_minute)."),
		writeErrs:    d("state_write_errors_total", "Writes of the fraud state to the store that failed (kept in memory and retried)."),
		unreadable:   d("unreadable_total", "Records read from the store and skipped as unreadable (written by another version, or damaged), each time one is read (a steady rise: one is still there), by kind: share (a node's spend of a day, then not counted here), journal (a chunk of its CDR journal), lock (a lock record; the group, if its key is readable, kept locked).", "kind"),
		pending:      d("state_pending", "Fraud state writes waiting for a retry."),
		ratesVersion: d("rates_version", "Version of the rate table in force (0: none imported)."),
		ratesRows:    d("rates_rows", "Rows of the rate table in force."),
		recompute:    d("recompute_seconds", "How long the last recompute took."),
		webhooks:     d("webhook_total", "Webhook deliveries by result: delivered, failed (after every attempt), dropped (queue full), retry.", "result"),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.spend, c.threshold, c.locked, c.groups, c.lockedGroups, c.open,
		c.events, c.cdrs, c.starts, c.expired, c.unrated, c.writeErrs, c.pending, c.ratesVersion, c.ratesRows, c.recompute, c.webhooks, c.cluster, c.unreadable} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	money := func(x Money) float64 { return float64(x) / float64(Unit) }
	if top := m.top.Load(); top != nil {
		for _, t := range *top {
			gauge(c.spend, money(t.spend), t.ref)
			gauge(c.threshold, money(t.th.Alert), t.ref, "alert")
			gauge(c.threshold, money(t.th.Lockdown), t.ref, "lockdown")
			l := 0.0
			if t.locked {
				l = 1
			}
			gauge(c.locked, l, t.ref)
		}
	}
	s := m.Stats()
	gauge(c.groups, float64(m.st.groups.Load()))
	gauge(c.lockedGroups, float64(s.Locked))
	gauge(c.open, float64(s.Open))
	counter(c.events, s.Alerts, "alert")
	counter(c.events, s.Lockdowns, "lockdown")
	counter(c.events, s.Unlocks, "unlock")
	counter(c.events, s.RateImports, "rates")
	counter(c.cdrs, s.Matched, "matched")
	counter(c.cdrs, s.Unmatched, "unmatched")
	counter(c.cdrs, s.Duplicates, "duplicate")
	counter(c.cdrs, s.Unattributed, "unattributed")
	counter(c.cdrs, s.Invalid, "invalid")
	if m.cfg.Node != "" {
		counter(c.cluster, s.ClosedRemote, "closed")
		counter(c.cluster, s.Uncounted, "uncounted")
		counter(c.cluster, s.Reopened, "reopened")
		counter(c.cluster, s.Unclosed, "unclosed")
		counter(c.unreadable, s.UnreadableShares, "share")
		counter(c.unreadable, s.UnreadableJournal, "journal")
	}
	counter(c.unreadable, s.UnreadableLocks, "lock")
	counter(c.starts, s.Started, "tracked")
	counter(c.starts, s.Untracked, "untracked")
	counter(c.expired, s.Expired)
	counter(c.unrated, s.Unrated)
	counter(c.writeErrs, s.WriteErrors)
	m.pmu.Lock()
	gauge(c.pending, float64(len(m.pending)))
	m.pmu.Unlock()
	t := m.Rates()
	gauge(c.ratesVersion, float64(t.version()))
	gauge(c.ratesRows, float64(t.Len()))
	gauge(c.recompute, float64(m.st.lastRecompute.Load())/1e9)
	if w, ok := m.notify.(*Webhook); ok {
		ws := w.Stats()
		counter(c.webhooks, ws.Delivered, "delivered")
		counter(c.webhooks, ws.Failed, "failed")
		counter(c.webhooks, ws.Dropped, "dropped")
		counter(c.webhooks, ws.Retries, "retry")
	}
}
