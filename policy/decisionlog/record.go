package decisionlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
)

// Record is one decision as kept in the log: the call as the tier saw it,
// the engine's answer with its trace, and how long the decision took.
type Record struct {
	Time           time.Time // when the tier received the query
	Origin         policy.Origin
	Direction      policy.Direction // originating: an outgoing call (AIN originating trigger)
	Peer           string           // originating point code or SIP source
	Calling        e164.Number
	Called         e164.Number
	OriginalCalled e164.Number
	Presentation   policy.Presentation
	Attestation    policy.Attestation
	StirReason     string // the STIR/SHAKEN verifier's reason code ("" = none ran)
	Reputation     policy.Reputation
	KeyMatch       policy.KeyMatch
	FraudLocked    bool

	Action       policy.Action
	Subscriber   uint32
	Announcement uint32
	PINAllowed   bool
	Voicemail    string
	Route        store.Route
	Trace        policy.Trace
	Latency      time.Duration // time spent deciding (engine and signals)

	// Lookup is how Reputation was found (version 2 records; zero in
	// older ones); Brand the brand name the call was delivered with.
	Lookup policy.ReputationLookup
	Brand  string
}

// NewRecord builds the record of decision d for call c, decided at t in
// latency. It copies values only (no allocation).
func NewRecord(t time.Time, c *policy.Call, d *policy.Decision, latency time.Duration) Record {
	var r Record
	r.set(t, c, d, latency)
	return r
}

// set makes r, in place, the record NewRecord builds: every field is
// written.
func (r *Record) set(t time.Time, c *policy.Call, d *policy.Decision, latency time.Duration) {
	r.Time, r.Origin, r.Direction, r.Peer = t, c.Origin, c.Direction, c.Peer
	r.Calling, r.Called, r.OriginalCalled = c.Calling, c.Called, c.OriginalCalled
	r.Presentation, r.Attestation, r.StirReason, r.Reputation = c.Presentation, c.Attestation, c.AttestationReason, c.Reputation
	r.KeyMatch, r.FraudLocked = c.KeyMatch, c.FraudLocked
	r.Action, r.Subscriber, r.Announcement = d.Action, d.Subscriber, d.Announcement
	r.PINAllowed, r.Voicemail, r.Route, r.Trace = d.PINAllowed, d.Voicemail, d.Route, d.Trace
	r.Latency, r.Lookup, r.Brand = latency, c.ReputationLookup, d.Brand.Name
}

// Call returns the call part of the record.
func (r *Record) Call() policy.Call {
	return policy.Call{
		Calling: r.Calling, Called: r.Called, OriginalCalled: r.OriginalCalled,
		Presentation: r.Presentation, Origin: r.Origin, Direction: r.Direction, Peer: r.Peer,
		Attestation: r.Attestation, AttestationReason: r.StirReason, Reputation: r.Reputation, KeyMatch: r.KeyMatch, FraudLocked: r.FraudLocked,
		ReputationLookup: r.Lookup,
	}
}

// Decision returns the decision part of the record.
func (r *Record) Decision() policy.Decision {
	return policy.Decision{
		Action: r.Action, Subscriber: r.Subscriber, Announcement: r.Announcement,
		PINAllowed: r.PINAllowed, Voicemail: r.Voicemail, Route: r.Route, Trace: r.Trace,
		Brand: store.Brand{Name: r.Brand},
	}
}

// Record encoding (the time is stored beside it, see segment.go). Version 1:
//
//	version      1 byte (= recordVersion)
//	calling      uvarint   \
//	called       uvarint    } first, so the index can be rebuilt without the rest
//	original     uvarint   /
//	origin, presentation, attestation, reputation, key match, action, flags
//	             7 bytes (flags: bit 0 fraud locked, bit 1 PIN allowed,
//	             bit 2 originating; records written before bit 2 existed
//	             read as terminating, which they all were)
//	subscriber, announcement, latency (ns), route routing number
//	             uvarint each
//	peer, voicemail, route name, route SIP URI
//	             uvarint length + bytes each
//	trace        1 byte step count n (<= policy.MaxSteps), then n x (rule, outcome)
//	stir reason  version 1: uvarint length + bytes, only when not empty
//	             (records written before it existed end after the trace)
//
// Version 2 appends the signals' details after the trace (version 1
// records are still read, with those zero):
//
//	reputation why, cache            2 bytes
//	reputation look-up latency (ns)  uvarint
//	brand name                       uvarint length + bytes
//	stir reason                      uvarint length + bytes (may be empty)
const recordVersion = 2

// readableVersion reports whether this build reads records of version v.
func readableVersion(v byte) bool { return v == 1 || v == recordVersion }

const (
	flagFraudLocked = 1 << 0
	flagPINAllowed  = 1 << 1
	flagOriginating = 1 << 2
	knownFlags      = flagFraudLocked | flagPINAllowed | flagOriginating
)

// maxString bounds each string field on disk; longer values are cut (a
// peer or URI that long is junk, and one record must not bloat the log).
const maxString = 1024

// errCorrupt is wrapped by decode errors.
var errCorrupt = errors.New("decisionlog: corrupt record")

// appendRecord appends the value encoding of r to b.
func appendRecord(b []byte, r *Record) []byte {
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(r.Calling))
	b = binary.AppendUvarint(b, uint64(r.Called))
	b = binary.AppendUvarint(b, uint64(r.OriginalCalled))
	var flags byte
	if r.FraudLocked {
		flags |= flagFraudLocked
	}
	if r.PINAllowed {
		flags |= flagPINAllowed
	}
	if r.Direction == policy.DirectionOriginating {
		flags |= flagOriginating
	}
	b = append(b, byte(r.Origin), byte(r.Presentation), byte(r.Attestation), byte(r.Reputation),
		byte(r.KeyMatch), byte(r.Action), flags)
	b = binary.AppendUvarint(b, uint64(r.Subscriber))
	b = binary.AppendUvarint(b, uint64(r.Announcement))
	lat := r.Latency
	if lat < 0 {
		lat = 0
	}
	b = binary.AppendUvarint(b, uint64(lat))
	b = binary.AppendUvarint(b, uint64(r.Route.RoutingNumber))
	b = appendString(b, r.Peer)
	b = appendString(b, r.Voicemail)
	b = appendString(b, r.Route.Name)
	b = appendString(b, r.Route.SIPURI)
	steps := r.Trace.Steps()
	b = append(b, byte(len(steps)))
	for _, s := range steps {
		b = append(b, byte(s.Rule), byte(s.Outcome))
	}
	b = append(b, byte(r.Lookup.Why), byte(r.Lookup.Cache))
	lat = r.Lookup.Latency
	if lat < 0 {
		lat = 0
	}
	b = binary.AppendUvarint(b, uint64(lat))
	b = appendString(b, r.Brand)
	return appendString(b, r.StirReason)
}

func appendString(b []byte, s string) []byte {
	if len(s) > maxString {
		s = s[:maxString]
	}
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads a value encoding; the first error sticks.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d of %d", errCorrupt, what, d.off, len(d.b))
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad " + what)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) u32(what string) uint32 {
	v := d.uvarint(what)
	if v > 1<<32-1 {
		d.fail(what + " out of range")
		return 0
	}
	return uint32(v)
}

func (d *decoder) number(what string) e164.Number {
	v := d.uvarint(what)
	if v >= 1e15 { // more than E.164's 15 digits
		d.fail(what + " is not an E.164 number")
		return 0
	}
	return e164.Number(v)
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("missing " + what)
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) string(what string) string {
	n := d.uvarint(what + " length")
	if d.err != nil {
		return ""
	}
	if n > maxString || n > uint64(len(d.b)-d.off) {
		d.fail(what + " length out of range")
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

// decodeNumbers reads only the numbers of a value: what pruning needs to
// find the record's index entries.
func decodeNumbers(b []byte) (calling, called, original e164.Number, err error) {
	d := decoder{b: b}
	if v := d.byte("version"); d.err == nil && !readableVersion(v) {
		return 0, 0, 0, fmt.Errorf("%w: record version %d, this build reads 1..%d", errCorrupt, v, recordVersion)
	}
	calling = d.number("calling")
	called = d.number("called")
	original = d.number("original called")
	return calling, called, original, d.err
}

// decodeAction reads only the action of a value: what an Action filter
// needs before decoding the rest.
func decodeAction(b []byte) (policy.Action, error) {
	a, _, err := decodeHead(b)
	return a, err
}

// decodeHead reads only the action and the subscriber of a value: what
// the Action and Subscriber filters need before decoding the rest.
func decodeHead(b []byte) (policy.Action, uint32, error) {
	d := decoder{b: b}
	if v := d.byte("version"); d.err == nil && !readableVersion(v) {
		return 0, 0, fmt.Errorf("%w: record version %d, this build reads 1..%d", errCorrupt, v, recordVersion)
	}
	d.number("calling")
	d.number("called")
	d.number("original called")
	for _, what := range [...]string{"origin", "presentation", "attestation", "reputation", "key match"} {
		d.byte(what)
	}
	a := policy.Action(d.byte("action"))
	d.byte("flags")
	sub := d.u32("subscriber")
	return a, sub, d.err
}

// decodeRecord decodes a value into r; r.Time is stored apart from it. Every
// length and enum is checked, so a damaged file gives an error, not a panic.
func decodeRecord(b []byte, r *Record) error {
	d := decoder{b: b}
	version := d.byte("version")
	if d.err == nil && !readableVersion(version) {
		return fmt.Errorf("%w: record version %d, this build reads 1..%d", errCorrupt, version, recordVersion)
	}
	r.Calling = d.number("calling")
	r.Called = d.number("called")
	r.OriginalCalled = d.number("original called")
	r.Origin = policy.Origin(d.byte("origin"))
	r.Presentation = policy.Presentation(d.byte("presentation"))
	r.Attestation = policy.Attestation(d.byte("attestation"))
	r.Reputation = policy.Reputation(d.byte("reputation"))
	r.KeyMatch = policy.KeyMatch(d.byte("key match"))
	r.Action = policy.Action(d.byte("action"))
	flags := d.byte("flags")
	r.FraudLocked = flags&flagFraudLocked != 0
	r.PINAllowed = flags&flagPINAllowed != 0
	r.Direction = policy.DirectionTerminating
	if flags&flagOriginating != 0 {
		r.Direction = policy.DirectionOriginating
	}
	r.Subscriber = d.u32("subscriber")
	r.Announcement = d.u32("announcement")
	lat := d.uvarint("latency")
	if lat > 1<<63-1 {
		d.fail("latency out of range")
	}
	r.Latency = time.Duration(lat)
	r.Route.RoutingNumber = d.number("routing number")
	r.Peer = d.string("peer")
	r.Voicemail = d.string("voicemail")
	r.Route.Name = d.string("route name")
	r.Route.SIPURI = d.string("route SIP URI")
	n := d.byte("trace length")
	if d.err == nil && int(n) > policy.MaxSteps {
		d.fail(fmt.Sprintf("trace of %d steps (at most %d)", n, policy.MaxSteps))
	}
	r.Trace.Reset()
	for i := 0; i < int(n) && d.err == nil; i++ {
		rule, outcome := policy.Rule(d.byte("trace rule")), policy.Outcome(d.byte("trace outcome"))
		if d.err == nil && (!rule.Valid() || !outcome.Valid()) {
			d.fail(fmt.Sprintf("trace step %d: unknown rule %d or outcome %d", i+1, rule, outcome))
		}
		r.Trace.Add(rule, outcome)
	}
	r.StirReason, r.Lookup, r.Brand = "", policy.ReputationLookup{}, ""
	switch {
	case version >= 2:
		r.Lookup.Why = policy.ReputationWhy(d.byte("reputation why"))
		r.Lookup.Cache = policy.CacheUse(d.byte("reputation cache"))
		lat := d.uvarint("reputation latency")
		if lat > 1<<63-1 {
			d.fail("reputation latency out of range")
		}
		r.Lookup.Latency = time.Duration(lat)
		r.Brand = d.string("brand")
		r.StirReason = d.string("stir reason")
		if d.err == nil && !(r.Lookup.Why.Valid() && r.Lookup.Cache.Valid()) {
			d.fail("unknown reputation reason or cache use")
		}
	case d.err == nil && d.off < len(b):
		if r.StirReason = d.string("stir reason"); d.err == nil && r.StirReason == "" {
			d.fail("empty stir reason (an empty one is not written)")
		}
	}
	if d.err == nil && d.off != len(b) {
		d.fail("trailing bytes")
	}
	if d.err == nil && !(r.Origin.Valid() && r.Presentation.Valid() && r.Attestation.Valid() &&
		r.Reputation.Valid() && r.KeyMatch.Valid() && r.Action.Valid()) {
		d.fail("unknown origin, presentation, signal or action value")
	}
	if d.err == nil && flags&^knownFlags != 0 {
		d.fail("unknown flags")
	}
	return d.err
}
