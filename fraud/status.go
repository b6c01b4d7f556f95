package fraud

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// GroupStatus is where a group stands today.
type GroupStatus struct {
	Group      string     `json:"group"` // GroupID.Key
	Name       string     `json:"name"`
	Provider   string     `json:"provider,omitempty"` // the tenant's provider ("" for an enterprise under the platform)
	Zone       string     `json:"time_zone"`
	Day        string     `json:"day"`
	Currency   string     `json:"currency"`
	Spend      Money      `json:"spend"`       // Completed + InProgress
	Completed  Money      `json:"completed"`   // calls that ended today
	InProgress Money      `json:"in_progress"` // as valued at the last recompute
	Baseline   Money      `json:"baseline"`    // highest daily spend of the history
	Thresholds Thresholds `json:"thresholds"`  // in force now (doubled after a lockdown)
	Factor     int64      `json:"factor"`
	Alerted    bool       `json:"alerted"`
	Lockdowns  int        `json:"lockdowns"` // today
	Locked     bool       `json:"locked"`
	Lock       *Lock      `json:"lock,omitempty"`
	Evaluated  time.Time  `json:"evaluated,omitzero"` // the last recompute
}

// Ratio is the spend as a share of the lockdown threshold in force.
func (s *GroupStatus) Ratio() float64 {
	if s.Thresholds.Lockdown <= 0 {
		return 0
	}
	return float64(s.Spend) / float64(s.Thresholds.Lockdown)
}

// status reads a group's status (after rolling it to now's day).
func (m *Monitor) status(g *group, now time.Time) GroupStatus {
	g.mu.Lock()
	g.rollTo(now, &m.cfg)
	s := GroupStatus{
		Group: g.id.Key(), Name: g.info.Name, Provider: g.info.Provider, Zone: g.loc.String(), Day: g.today.String(), Currency: m.cfg.Currency,
		Completed: g.closed - g.settling + g.rbase + g.rclosed, InProgress: g.open + g.ropen, Baseline: g.baseline,
		Thresholds: m.cfg.thresholds(g.baseline).times(g.factor),
		Factor:     g.factor, Alerted: g.alerted, Lockdowns: g.lockdowns + g.rlockdowns, Evaluated: g.evaluated,
	}
	g.mu.Unlock()
	s.Spend = s.Completed + s.InProgress
	m.lmu.Lock()
	if l, ok := m.locks[g.id]; ok {
		s.Locked, s.Lock = true, &l
	}
	m.lmu.Unlock()
	return s
}

// Status returns every group's status, nearest its lockdown threshold
// first (locked groups first of all).
func (m *Monitor) Status() []GroupStatus {
	now := m.clock.Now()
	m.gmu.RLock()
	groups := make([]*group, 0, len(m.groups))
	for _, g := range m.groups {
		groups = append(groups, g)
	}
	m.gmu.RUnlock()
	out := make([]GroupStatus, 0, len(groups))
	for _, g := range groups {
		out = append(out, m.status(g, now))
	}
	// A locked group with no spend recorded yet (a restart) still shows.
	for _, l := range m.Locks() {
		if !slices.ContainsFunc(out, func(s GroupStatus) bool { return s.Group == l.Group }) {
			id, _ := parseGroupKey(l.Group)
			out = append(out, m.status(m.group(id), now))
		}
	}
	slices.SortFunc(out, func(a, b GroupStatus) int {
		switch {
		case a.Locked != b.Locked:
			if a.Locked {
				return -1
			}
			return 1
		case a.Ratio() != b.Ratio():
			if a.Ratio() > b.Ratio() {
				return -1
			}
			return 1
		}
		return compareStrings(a.Group, b.Group)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// GroupStatus returns one group's status (a group never seen reads as a
// new group with nothing spent).
func (m *Monitor) GroupStatus(id GroupID) GroupStatus {
	return m.status(m.group(id), m.clock.Now())
}

// DaySpend is one day of a group's history.
type DaySpend struct {
	Day       string `json:"day"`
	Spend     Money  `json:"spend"`               // calls that ended that day
	Lockdowns int    `json:"lockdowns,omitempty"` // a day with a lockdown is left out of the baseline
}

// History is a group's recent days and its audit records.
type History struct {
	Status GroupStatus `json:"status"`
	Days   []DaySpend  `json:"days"` // newest first, HistoryDays of them (0 for a day without calls)
	Events []Event     `json:"events"`
}

// History returns a group's status, its daily spend over the history the
// baseline is learned from, and its audit records (the newest events
// first, at most events of them; 0 for all).
func (m *Monitor) History(id GroupID, events int) (History, error) {
	if id == 0 {
		return History{}, errors.New("no group")
	}
	g := m.group(id)
	h := History{Status: m.status(g, m.clock.Now())}
	g.mu.Lock()
	for d := g.today - 1; d >= g.today-Day(m.cfg.HistoryDays); d-- {
		p := g.days[d]
		h.Days = append(h.Days, DaySpend{Day: d.String(), Spend: p.total(), Lockdowns: p.lockdowns + p.rlock})
	}
	g.mu.Unlock()
	ev, err := m.Audit(id.Key(), events)
	if err != nil {
		return h, fmt.Errorf("audit log: %w", err)
	}
	slices.Reverse(ev)
	h.Events = ev
	return h, nil
}
