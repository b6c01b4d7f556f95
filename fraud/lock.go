package fraud

import (
	"callgate/store"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Lock is a group's lockdown as stored (lock/GROUP): its Outgoing Calling
// Plan bars international and premium destinations until an operator
// unlocks it. Locks survive restarts and midnight: only Unlock lifts one.
type Lock struct {
	Group     string    `json:"group"`
	Name      string    `json:"name"`
	Since     time.Time `json:"since"`
	Day       string    `json:"day"`
	Spend     Money     `json:"spend"`          // when it locked
	Threshold Money     `json:"threshold"`      // the lockdown threshold it reached
	Audit     uint64    `json:"audit"`          // the lockdown's audit record
	Node      string    `json:"node,omitempty"` // the node that locked it (a cluster), numbering Audit
}

const lockPrefix = "lock/"

func lockKey(g GroupID) string { return lockPrefix + g.Key() }

// IsLocked reports whether a group is locked down. It is read for every
// originating call: one atomic load and a map look-up, no allocation.
func (m *Monitor) IsLocked(g GroupID) bool {
	_, ok := (*m.locked.Load())[g]
	return ok
}

// lock locks a group for lockdown event e and returns the write that
// stores the lock.
func (m *Monitor) lock(id GroupID, e *Event) []Op {
	l := Lock{Group: e.Group, Name: e.Name, Since: e.Time, Day: e.Day, Spend: e.Spend, Threshold: e.Thresholds.Lockdown, Audit: e.Seq, Node: e.Node}
	m.lmu.Lock()
	m.locks[id] = l
	m.publishLocks()
	m.lmu.Unlock()
	v, _ := json.Marshal(l)
	return []Op{{Key: lockKey(id), Value: v}}
}

// publishLocks replaces the call path's set of locked groups (lmu held).
func (m *Monitor) publishLocks() {
	set := make(map[GroupID]struct{}, len(m.locks))
	for id := range m.locks {
		set[id] = struct{}{}
	}
	m.locked.Store(&set)
	m.st.locked.Store(int64(len(set)))
}

// readLocks reads the stored locks.
//
// One record it cannot read (another version's, or damaged) must not stop
// every other lock from applying: it is skipped, warned about and
// counted. If its key still names a group, the group counts as locked:
// a lockdown was stored for it, and refusing its international and
// premium calls until an operator looks is the side to err on.
func (m *Monitor) readLocks() (map[GroupID]Lock, error) {
	out := map[GroupID]Lock{}
	var bad []error
	err := m.state.Scan("lock/", func(k string, v []byte) error {
		gk := strings.TrimPrefix(k, "lock/")
		id, err := parseGroupKey(gk)
		if err != nil {
			bad = append(bad, fmt.Errorf("key %q: %w", k, err))
			return nil
		}
		var l Lock
		if err := json.Unmarshal(v, &l); err != nil {
			bad = append(bad, fmt.Errorf("key %q (kept locked): %w", k, err))
			l = Lock{Group: gk, Name: gk, Node: "unreadable"}
		}
		out[id] = l
		return nil
	})
	m.unreadable(&m.st.badLocks, "fraud: unreadable lock records in the store (written by another version, or damaged): a group whose key is readable stays locked; unlock it to rewrite the record", bad)
	return out, err
}

// loadLocks reads the stored locks.
func (m *Monitor) loadLocks() error {
	stored, err := m.readLocks()
	if err != nil {
		return err
	}
	m.lmu.Lock()
	m.storedLocks = stored
	maps.Copy(m.locks, stored)
	m.publishLocks()
	m.lmu.Unlock()
	return nil
}

// sameLock says whether a and b are one lockdown (read back from State a
// time has lost its monotonic reading).
func sameLock(a, b Lock) bool {
	return a.Group == b.Group && a.Audit == b.Audit && a.Node == b.Node && a.Since.Equal(b.Since)
}

// syncLocks applies the locks and unlocks stored since the last sync:
// those of other nodes sharing the State (a cluster), and this node's own
// once stored (no change then). What this node changed and has not
// stored yet (a write the store refused, kept to be retried) is not in
// the difference, so a sync never undoes it.
func (m *Monitor) syncLocks() error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	cur, err := m.readLocks()
	if err != nil {
		return err
	}
	m.lmu.Lock()
	defer m.lmu.Unlock()
	changed := false
	for id, l := range cur {
		if prev, ok := m.storedLocks[id]; ok && sameLock(prev, l) {
			continue
		}
		if have, ok := m.locks[id]; !ok || !sameLock(have, l) {
			m.log.Warn("fraud lockdown stored by another node applied: international and premium calls of the group are refused here too",
				"group", l.Name, "key", l.Group, "since", l.Since, "by_node", l.Node)
		}
		m.locks[id], changed = l, true
	}
	for id, l := range m.storedLocks {
		if _, ok := cur[id]; ok {
			continue
		}
		if _, ok := m.locks[id]; ok {
			m.log.Warn("fraud unlock stored by another node applied: the group's calls go through here too", "group", l.Name, "key", l.Group)
			delete(m.locks, id)
			changed = true
		}
	}
	m.storedLocks = cur
	if changed {
		m.publishLocks()
	}
	return nil
}

// Locks returns the locks in force, by group key.
func (m *Monitor) Locks() []Lock {
	m.lmu.Lock()
	defer m.lmu.Unlock()
	out := slices.Collect(maps.Values(m.locks))
	slices.SortFunc(out, func(a, b Lock) int { return strings.Compare(a.Group, b.Group) })
	return out
}

// ErrNotLocked is Unlock's answer for a group that is not locked.
var ErrNotLocked = errors.New("not locked")

// Reason bounds: an unlock is explained in words, not a placeholder.
const (
	minReason = 10
	maxReason = 1000
)

// CheckReason says what is wrong with an unlock's written reason (nil: it
// will do), so a front end can name the field before it asks Unlock.
func CheckReason(reason string) error { return checkReason(reason) }

// checkReason says what is wrong with an unlock's written reason.
func checkReason(reason string) error {
	r := strings.TrimSpace(reason)
	switch {
	case r == "":
		return errors.New("an unlock needs a written reason (--reason \"...\"): what was checked and why normal service is safe again")
	case len(r) < minReason:
		return fmt.Errorf("reason %q: too short (at least %d characters: what was checked and why normal service is safe again)", r, minReason)
	case len(r) > maxReason:
		return fmt.Errorf("reason: longer than %d characters", maxReason)
	}
	for _, c := range r {
		if unicode.IsControl(c) {
			return fmt.Errorf("reason: control character %q (write it on one line)", c)
		}
	}
	return nil
}

// Unlock restores a locked group's outgoing calls. Only an operator does
// this, named by by (its Principal), with a written reason; the unlock is
// stored with its audit records (the monitor's and, on the tenant store,
// the platform's) in one write before it takes effect, so an unlock that
// is not audited does not happen. The day's doubled thresholds stay.
func (m *Monitor) Unlock(id GroupID, by store.Actor, reason string) (Event, error) {
	if err := checkReason(reason); err != nil {
		return Event{}, err
	}
	if strings.TrimSpace(by.Principal) == "" {
		return Event{}, errors.New("an unlock needs the operator's name")
	}
	// syncMu first, as syncLocks takes it: a sync that read the lock
	// before this unlock stored its removal must not apply it after.
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	m.lmu.Lock()
	defer m.lmu.Unlock()
	l, ok := m.locks[id]
	if !ok {
		return Event{}, fmt.Errorf("group %s: %w", describe(m.dir, id).Name, ErrNotLocked)
	}
	e := Event{Time: m.clock.Now(), Kind: EventUnlock, Group: id.Key(), Name: l.Name,
		Actor: actorText(by), by: by, provider: describe(m.dir, id).Provider, Reason: strings.TrimSpace(reason), Detail: fmt.Sprintf("locked since %s (audit #%d%s)", l.Since.UTC().Format(time.RFC3339), l.Audit, atNode(l.Node))}
	if g := m.existing(id); g != nil {
		g.mu.Lock()
		e.Day, e.Spend, e.Baseline, e.Thresholds, e.Factor = g.today.String(), g.spend, g.baseline, g.th, g.factor
		g.mu.Unlock()
	}
	ops := append(m.record(&e), Op{Key: lockKey(id), Delete: true})
	if err := m.writeEvent(ops, &e); err != nil {
		m.st.writeErrors.Add(1)
		return Event{}, fmt.Errorf("unlock %s: not stored, the group stays locked: %w", l.Name, err)
	}
	delete(m.locks, id)
	delete(m.storedLocks, id)
	m.publishLocks()
	m.announce(&e)
	return e, nil
}

// atNode is "@NODE" for a node of a cluster, "" otherwise.
func atNode(node string) string {
	if node == "" {
		return ""
	}
	return "@" + node
}

// existing returns a group's state if the monitor has any.
func (m *Monitor) existing(id GroupID) *group {
	m.gmu.RLock()
	defer m.gmu.RUnlock()
	return m.groups[id]
}
