package store

// Counts are the store's sizes, as the metrics endpoint and the daemon's
// start-up line report them.
type Counts struct {
	Providers              int
	Subscribers            int
	Enterprises            int
	Numbers                int // numbers assigned to subscribers (screened when called)
	EnterpriseNumbers      int // calling numbers enrolled by enterprises
	Routes                 int
	VIPEntries             int // rows of every subscriber's VIP list
	BlockedEntries         int // rows of every subscriber's Blocked list
	ProviderBlockedEntries int // rows of every provider's Blocked list
	ProviderVIPEntries     int // rows of every provider's VIP list
}

// ListEntries is the rows of every list: VIP, Blocked, provider Blocked and
// provider VIP.
func (c Counts) ListEntries() int {
	return c.VIPEntries + c.BlockedEntries + c.ProviderBlockedEntries + c.ProviderVIPEntries
}

// Counts returns the store's sizes in O(1), from the in-memory index: the
// name and number maps give the tenant and number counts, and the list
// row counters are kept in step with every list change (setList,
// dropLists) and recomputed whenever the index is rebuilt. Cheap enough to
// call on every metrics scrape of a store with 100,000 subscribers and
// 10,000,000 list rows, and it takes the read lock only for a few loads,
// so the hot path never waits on it.
func (s *Store) Counts() Counts {
	ix := &s.ix
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return Counts{
		Providers:              len(ix.provByName),
		Subscribers:            len(ix.subByName),
		Enterprises:            len(ix.entByName),
		Numbers:                ix.byNumber.len(),
		EnterpriseNumbers:      len(ix.entByNum),
		Routes:                 len(ix.routes),
		VIPEntries:             ix.rows.vip,
		BlockedEntries:         ix.rows.blocked,
		ProviderBlockedEntries: ix.rows.provBlocked,
		ProviderVIPEntries:     ix.rows.provVIP,
	}
}

// rowCounts are the list row totals the index keeps (see Counts).
type rowCounts struct {
	vip, blocked, provBlocked, provVIP int
}

// counter returns the total that lists of this owner kind and list add to.
func (r *rowCounts) counter(kind byte, list List) *int {
	switch {
	case kind == kindProvider && list == ListVIP:
		return &r.provVIP
	case kind == kindProvider:
		return &r.provBlocked
	case list == ListVIP:
		return &r.vip
	default:
		return &r.blocked
	}
}

// setList publishes v as the list at dst (as returned by listSlice for
// kind and list) and keeps the row totals in step. Caller holds mu.Lock.
func (ix *index) setList(dst *memberList, kind byte, list List, v memberList) {
	*ix.rows.counter(kind, list) += len(v.rows) - len(dst.rows)
	*dst = v
}

// dropLists takes a deleted subscriber's lists out of the totals. Caller
// holds mu.Lock, before clearing them.
func (ix *index) dropLists(id uint32) {
	if int(id) < len(ix.lists) {
		ix.rows.vip -= len(ix.lists[id][listSlot(ListVIP)].rows)
		ix.rows.blocked -= len(ix.lists[id][listSlot(ListBlocked)].rows)
	}
}

// countRows recomputes the totals from the lists (rebuildIndex).
func (ix *index) countRows() {
	ix.rows = rowCounts{}
	for _, l := range ix.lists {
		ix.rows.vip += len(l[listSlot(ListVIP)].rows)
		ix.rows.blocked += len(l[listSlot(ListBlocked)].rows)
	}
	for _, p := range ix.provs {
		if p != nil {
			ix.rows.provVIP += len(p.lists[listSlot(ListVIP)].rows)
			ix.rows.provBlocked += len(p.lists[listSlot(ListBlocked)].rows)
		}
	}
}
