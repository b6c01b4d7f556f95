// Package overload is the SCP's overload control by AIN automatic code
// gapping (ACG, GR-1299 acg operation): it measures the offered query rate,
// finds the busiest called codes with a fixed-memory heavy-hitter counter,
// and tells the SCP when to attach an acg component for a code and with
// which gap settings.
//
// Everything here has a fixed memory footprint whatever the traffic: one
// counter for the rate, K entries per heavy-hitter sketch, a small published
// set of controlled codes and a fixed record of the gaps sent per (code,
// switch): when, and until when each runs (book.go). The hot path
// (Arrive, Observe, Control, Shed, Remove) is a few atomic operations and
// at most one short, rarely contended lock (a sketch, or a bucket of the
// record); Control and Remove take theirs only for a controlled code or
// while gaps are being removed.
//
// How it decides (Controller.Tick, every Tick, from one goroutine):
//
//   - rate: arrivals counted by Arrive over the last Window (a ring of
//     per-tick counts);
//   - overloaded while rate > Capacity; it stays overloaded until the rate
//     falls below 90 % of Capacity (hysteresis, so the control does not
//     flap at the threshold);
//   - controlled codes: the heavy hitters whose guaranteed count (the
//     space-saving count minus its error bound) over the last Window is at
//     least MinShare of all queries counted, at most MaxCodes of them;
//   - gap interval: the configured GapInterval times floor(rate/Capacity),
//     rounded up to the next AIN national gap interval, so the further over
//     capacity the SCP is the longer the switches wait between calls to a
//     controlled code; the gap duration is GapDuration rounded up to the next
//     AIN value (1 s, 2 s, 4 s ... 2048 s);
//   - removal (remove.go): once the rate has stayed below 90 % of Capacity,
//     with no query shed, for RemoveAfter, the next answer to a switch for a
//     code whose gap still runs there carries an acg with the national gap
//     interval 0 ("remove gap control", GR-1299), once per (code, switch);
//     RemoveAfter doubles (up to the gap duration) when the overload comes
//     back right after removals, so removing and gapping do not alternate.
package overload

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"callgate/scp/ain"
)

// Config sets the control. Zero values take the defaults noted.
type Config struct {
	// Capacity is the query rate (per second) above which codes are
	// gapped. 0 disables the control (Control never answers true).
	Capacity float64
	// GapDuration is how long a switch keeps a gap (default 4 s).
	GapDuration time.Duration
	// GapInterval is the gap at 1x-2x capacity (default 500 ms); it is
	// multiplied by floor(rate/Capacity) above that.
	GapInterval time.Duration
	// Tick is how often Tick is called (default 100 ms); Window is the
	// rate's averaging window (default 1 s).
	Tick, Window time.Duration
	// Sketches is the number of heavy-hitter sketches (one per worker, so
	// Observe rarely contends; default 1). K is the entries per sketch
	// (default 64).
	Sketches, K int
	// MaxCodes bounds the controlled codes (default 8); MinShare is the
	// share of the queries counted a code needs to be controlled (default
	// 0.02 = 2 %).
	MaxCodes int
	MinShare float64
	// Resend is the minimum time between two ACGs for one code to one
	// switch (default 1 s): a gapped switch sends few queries for the code,
	// and answering each with a new ACG would only cost bandwidth.
	Resend time.Duration
	// RemoveAfter is how long the rate must stay below 90 % of Capacity,
	// with no query shed, before the gaps still running at the switches
	// are removed (default 2 s: two full rate windows). Negative never
	// removes: the gaps run their duration.
	RemoveAfter time.Duration
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.GapDuration, 4*time.Second)
	def(&c.GapInterval, 500*time.Millisecond)
	def(&c.Tick, 100*time.Millisecond)
	def(&c.Window, time.Second)
	def(&c.Resend, time.Second)
	if c.RemoveAfter == 0 {
		c.RemoveAfter = 2 * time.Second
	}
	if c.Sketches <= 0 {
		c.Sketches = 1
	}
	if c.K <= 0 {
		c.K = 64
	}
	if c.MaxCodes <= 0 {
		c.MaxCodes = 8
	}
	if c.MinShare <= 0 {
		c.MinShare = 0.02
	}
}

// Gap is what one acg component carries besides the code.
type Gap struct {
	Duration ain.GapDuration
	Interval ain.GapInterval // national gap interval
}

// state is what Tick publishes for the hot path.
type state struct {
	overloaded bool
	ratio      float64 // rate / capacity
	gap        Gap
	codes      []uint64 // controlled codes, busiest first
	// removing: the overload is over (quiet for RemoveAfter); answers
	// carry the removal of the gaps still running (remove.go).
	removing bool
}

// Controller is the overload control. Its methods are safe for concurrent
// use, except Tick, which one goroutine calls.
type Controller struct {
	cfg      Config
	arrivals atomic.Uint64
	sketches []TopK
	cur      atomic.Pointer[state]
	book     book
	shed     atomic.Bool // Shed was called since the last Tick

	// Tick's own state.
	ring     []uint64
	ringPos  int
	lastSeen uint64
	ticks    int
	decayAt  int
	rate     atomic.Uint64 // float64 bits
	merged   []Entry
	quiet    quiet
}

// New returns a controller.
func New(cfg Config) *Controller {
	cfg.defaults()
	n := max(1, int(cfg.Window/cfg.Tick))
	c := &Controller{cfg: cfg, ring: make([]uint64, n), decayAt: n}
	c.sketches = make([]TopK, cfg.Sketches)
	for i := range c.sketches {
		c.sketches[i].init(cfg.K)
	}
	c.merged = make([]Entry, 0, cfg.K*cfg.Sketches)
	c.quiet.init(&cfg)
	c.cur.Store(&state{})
	return c
}

// Enabled reports whether a capacity is configured.
func (c *Controller) Enabled() bool { return c.cfg.Capacity > 0 }

// Arrive counts one offered query.
func (c *Controller) Arrive() { c.arrivals.Add(1) }

// Observe counts one query for a called code in sketch i (i modulo the
// number of sketches). Codes are opaque keys (see the scp package's code
// keys); 0 is ignored.
func (c *Controller) Observe(i int, code uint64) {
	if code == 0 || !c.Enabled() {
		return
	}
	c.sketches[uint(i)%uint(len(c.sketches))].Add(code)
}

// Rate returns the offered load (queries/s) as of the last Tick.
func (c *Controller) Rate() float64 { return math.Float64frombits(c.rate.Load()) }

// Overloaded reports whether the control is active and the ratio of offered
// load to capacity.
func (c *Controller) Overloaded() (bool, float64) {
	s := c.cur.Load()
	return s.overloaded, s.ratio
}

// Controlled returns a copy of the controlled codes, busiest first.
func (c *Controller) Controlled() []uint64 { return slices.Clone(c.cur.Load().codes) }

// IsControlled reports whether the control is active and code is one of
// the controlled (busiest) codes.
func (c *Controller) IsControlled(code uint64) bool {
	s := c.cur.Load()
	return s.overloaded && code != 0 && slices.Contains(s.codes, code)
}

// Control reports whether the answer to a query for code from peer should
// carry an acg, and with which gap: the code is controlled and no ACG for it
// went to that peer within Resend. now is in nanoseconds (any monotonic
// base).
func (c *Controller) Control(code, peer uint64, now int64) (Gap, bool) {
	s := c.cur.Load()
	if !s.overloaded || code == 0 || !slices.Contains(s.codes, code) {
		return Gap{}, false
	}
	if !c.book.send(code, peer, now, int64(c.cfg.Resend), span(s.gap.Duration)) {
		return Gap{}, false
	}
	return s.gap, true
}

// Shed reports the gap for a query the SCP could not serve in time (it is
// answered with the safe answer): whatever the heavy hitters say, that code
// gets an ACG (rate-limited per code and peer like Control), with the
// current gap or, if the rate meter has not caught up yet, the 1x gap.
func (c *Controller) Shed(code, peer uint64, now int64) (Gap, bool) {
	if code == 0 || !c.Enabled() {
		return Gap{}, false
	}
	if !c.shed.Load() {
		c.shed.Store(true) // the SCP is short of capacity: not quiet
	}
	g := c.gapFor(1)
	if s := c.cur.Load(); s.overloaded {
		g = s.gap
	}
	if !c.book.send(code, peer, now, int64(c.cfg.Resend), span(g.Duration)) {
		return Gap{}, false
	}
	return g, true
}

// Tick advances the rate window and republishes the control state. Call it
// every Config.Tick from one goroutine.
func (c *Controller) Tick() {
	n := c.arrivals.Load()
	c.ring[c.ringPos] = n - c.lastSeen
	c.lastSeen = n
	c.ringPos = (c.ringPos + 1) % len(c.ring)
	c.ticks++
	var sum uint64
	for _, v := range c.ring {
		sum += v
	}
	filled := min(c.ticks, len(c.ring))
	rate := float64(sum) / (time.Duration(filled) * c.cfg.Tick).Seconds()
	c.rate.Store(math.Float64bits(rate))
	if !c.Enabled() {
		return
	}
	prev := c.cur.Load()
	ratio := rate / c.cfg.Capacity
	over := ratio > 1 || (prev.overloaded && ratio > 0.9)
	next := &state{overloaded: over, ratio: ratio}
	shed := c.shed.Swap(false) // every tick: a shed query counts for its own tick only
	next.removing = c.quiet.tick(c.ticks, over, !over && ratio < 0.9 && !shed)
	if over {
		next.gap = c.gapFor(ratio)
		next.codes = c.pick(ratio)
	}
	c.cur.Store(next)
	if c.ticks%c.decayAt == 0 {
		// Halve every sketch once per window: counts then weigh the last
		// window most and older traffic fades out.
		for i := range c.sketches {
			c.sketches[i].Decay()
		}
	}
}

// pick merges the sketches and returns the busiest codes: every code with
// at least MinShare of the queries (a mass-calling event), and, when those
// do not carry the excess load (the share 1 - 1/ratio the switches must
// hold back to bring the rate down to capacity), the next busiest codes
// until they do, so that evenly spread overload is gapped too. MaxCodes
// bounds both.
func (c *Controller) pick(ratio float64) []uint64 {
	m := c.merged[:0]
	var total uint64
	for i := range c.sketches {
		var t uint64
		m, t = c.sketches[i].appendTo(m)
		total += t
	}
	// The same code may sit in several sketches: merge by key.
	slices.SortFunc(m, func(a, b Entry) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	out := m[:0]
	for _, e := range m {
		if len(out) > 0 && out[len(out)-1].Key == e.Key {
			out[len(out)-1].Count += e.Count
			out[len(out)-1].Err += e.Err
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return int(b.Count-b.Err) - int(a.Count-a.Err) })
	min := uint32(max(2, c.cfg.MinShare*float64(total)))
	excess := 0.0
	if ratio > 1 {
		excess = (1 - 1/ratio) * float64(total)
	}
	var codes []uint64
	covered := 0.0
	for _, e := range out {
		n := e.Count - e.Err
		if len(codes) == c.cfg.MaxCodes || n < 2 || (n < min && covered >= excess) {
			break
		}
		codes = append(codes, e.Key)
		covered += float64(n)
	}
	c.merged = m
	return codes
}

// gapFor maps the overload ratio to gap settings.
func (c *Controller) gapFor(ratio float64) Gap {
	f := max(1, math.Floor(ratio))
	return Gap{
		Duration: DurationFor(c.cfg.GapDuration),
		Interval: ain.GapInterval{Value: NationalIntervalFor(time.Duration(f * float64(c.cfg.GapInterval)))},
	}
}

// nationalIntervals are the AIN national gap intervals 1..14 (GR-1299
// NationalGapInterval values; 0 removes the gap, 15 stops all calls).
var nationalIntervals = [...]time.Duration{0, 0, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
	15 * time.Second, 30 * time.Second, 60 * time.Second, 120 * time.Second, 300 * time.Second,
	600 * time.Second}

// NationalIntervalFor returns the shortest AIN national gap interval not
// shorter than d (0 s for d <= 0, 600 s at most).
func NationalIntervalFor(d time.Duration) uint8 {
	for v := 1; v < len(nationalIntervals); v++ {
		if nationalIntervals[v] >= d {
			return uint8(v)
		}
	}
	return uint8(len(nationalIntervals) - 1)
}

// DurationFor returns the shortest AIN gap duration (2^(v-1) s) not
// shorter than d, capped at 2048 s.
func DurationFor(d time.Duration) ain.GapDuration {
	for v := ain.GapDuration1s; v <= 12; v++ {
		if time.Duration(1<<(v-1))*time.Second >= d {
			return v
		}
	}
	return 12
}

// Entry is one heavy-hitter counter: the key, its (over-)estimated count
// and the bound on the overestimate.
type Entry struct {
	Key   uint64
	Count uint32
	Err   uint32
}

// TopK is a space-saving heavy-hitter sketch (Metwally, Agrawal, El Abbadi,
// "Efficient computation of frequent and top-k elements in data streams",
// 2005) with K counters: a key already counted is incremented; a new key
// replaces the smallest counter and inherits its count as its error bound.
// Any key whose true count exceeds total/K is guaranteed to be present.
// Memory is fixed; Add is a linear scan of K entries (K is small).
type TopK struct {
	mu      sync.Mutex
	entries []Entry
	total   uint64
}

// NewTopK returns a sketch with k counters.
func NewTopK(k int) *TopK {
	t := &TopK{}
	t.init(k)
	return t
}

func (t *TopK) init(k int) { t.entries = make([]Entry, 0, max(1, k)) }

// Add counts one occurrence of key.
func (t *TopK) Add(key uint64) {
	t.mu.Lock()
	t.total++
	e := t.entries
	minI := -1
	minC := uint32(math.MaxUint32)
	for i := range e {
		if e[i].Key == key {
			e[i].Count++
			t.mu.Unlock()
			return
		}
		if e[i].Count < minC {
			minC, minI = e[i].Count, i
		}
	}
	if len(e) < cap(e) {
		t.entries = append(e, Entry{Key: key, Count: 1})
	} else {
		e[minI] = Entry{Key: key, Count: minC + 1, Err: minC}
	}
	t.mu.Unlock()
}

// Decay halves every count (and error bound and the total).
func (t *TopK) Decay() {
	t.mu.Lock()
	for i := range t.entries {
		t.entries[i].Count /= 2
		t.entries[i].Err /= 2
	}
	t.total /= 2
	t.mu.Unlock()
}

// Top returns the entries, highest guaranteed count first.
func (t *TopK) Top() []Entry {
	out, _ := t.appendTo(nil)
	slices.SortFunc(out, func(a, b Entry) int { return int(b.Count-b.Err) - int(a.Count-a.Err) })
	return out
}

func (t *TopK) appendTo(dst []Entry) ([]Entry, uint64) {
	t.mu.Lock()
	dst = append(dst, t.entries...)
	total := t.total
	t.mu.Unlock()
	return dst, total
}
