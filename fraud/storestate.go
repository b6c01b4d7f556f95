package fraud

import "callgate/store"

// StoreState is the State kept in the tenant store (its fraud keys), so
// lockdowns and the history are stored and replicated with the tenants.
func StoreState(s *store.Store) State { return storeState{s} }

type storeState struct{ s *store.Store }

func (s storeState) Get(key string) ([]byte, bool, error) { return s.s.FraudGet(key) }

func (s storeState) Scan(prefix string, fn func(string, []byte) error) error {
	return s.s.FraudScan(prefix, fn)
}

// WriteLimits implements Limited: the store's backend's limits (etcd's
// request limits on a cluster), less what the store adds to every key.
func (s storeState) WriteLimits() (int, int) {
	l := s.s.Backend().Limits()
	return l.MaxOps, l.MaxBytes - l.MaxOps*len("fraud/")
}

func (s storeState) Write(ops []Op) error { return s.s.FraudWrite(storeOps(ops)) }

// WriteEvent implements Audited: the event is the platform audit record's
// "after"; its object is the group (or the rate table).
func (s storeState) WriteEvent(ops []Op, e *Event) error {
	object := e.Name
	if e.Kind == EventRates {
		object = "rate table"
	}
	return s.s.FraudWriteAudited(store.FraudAudit{Actor: e.by, Op: "fraud." + string(e.Kind),
		Object: object, Provider: e.provider, After: e}, storeOps(ops))
}

func storeOps(ops []Op) []store.FraudOp {
	out := make([]store.FraudOp, len(ops))
	for i, op := range ops {
		out[i] = store.FraudOp{Key: op.Key, Value: op.Value, Delete: op.Delete}
	}
	return out
}
