package tcap

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// PeerKey identifies the remote TCAP user a transaction runs with, e.g. its
// point code and SSN (pc<<8 | ssn). Peers choose their TIDs independently,
// so a peer's TID is only unique together with its PeerKey.
type PeerKey uint64

// DialogueID names one of our dialogues: it is our TID as a number.
type DialogueID uint32

// TID returns the dialogue's TID in 4-octet form, what we use unless the
// peer's own TIDs are shorter (see Verdict.OurTID).
func (id DialogueID) TID() TID { return NewTID(uint32(id)) }

// tidOf presents v in n octets (the low ones).
func tidOf(v uint32, n uint8) TID {
	t := TID{n: n}
	for i := int(n) - 1; i >= 0; i-- {
		t.b[i] = byte(v)
		v >>= 8
	}
	return t
}

// Action tells the caller what to do with a received package.
type Action uint8

// Actions.
const (
	// Discard: nothing to deliver and nothing to send (e.g. an Abort or
	// Response for a transaction we do not know, or a bad component in a
	// package that ended the transaction).
	Discard Action = iota
	// Deliver the components to the TC user (the AIN layer).
	Deliver
	// SendAbort: answer with an Abort carrying Verdict.Cause (AppendReply
	// builds it).
	SendAbort
	// SendReject: answer with a Reject carrying Verdict.Problem in a
	// Response or Conversation (AppendReply builds it).
	SendReject
)

func (a Action) String() string {
	switch a {
	case Discard:
		return "discard"
	case Deliver:
		return "deliver"
	case SendAbort:
		return "abort"
	case SendReject:
		return "reject"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// Verdict is the transaction layer's classification of a received package.
type Verdict struct {
	Action Action
	// Package is the received package type (0 if unrecognised).
	Package PackageType
	// Dialogue is our dialogue for the package; valid when HasDialogue.
	Dialogue    DialogueID
	HasDialogue bool
	// NewDialogue is set for a Query that opened the dialogue.
	NewDialogue bool
	// Ended is set when the package ended the dialogue (Response, Abort)
	// or when a Query was refused; the dialogue no longer exists.
	Ended bool
	// CanEnd reports that the peer gave us permission to end the
	// transaction (E2, E5): we may answer with a Response.
	CanEnd bool
	// PeerTID is the peer's TID (addresses an Abort or our answer).
	PeerTID TID
	// OurTID is our TID for the dialogue as the peer sees it: 4 octets,
	// or as many as the peer's own TIDs when it uses shorter ones (the
	// two halves of a Conversation's TID field must be equal).
	OurTID TID
	// Cause is the P-Abort cause for SendAbort, or why a package was
	// discarded (e.g. UnassignedRespondingTID).
	Cause PAbortCause
	// Problem and RejectID are for SendReject (and for a discarded package
	// whose component was bad). HasRejectID false means "cf 00".
	Problem     Problem
	RejectID    uint8
	HasRejectID bool
	// Reason says why, for logs (never allocated on the hot path).
	Reason string
}

// Config tunes a Transactions table.
type Config struct {
	// Timeout is how long a dialogue may stay idle (no package either way)
	// before Sweep expires it. Default 30 s. Idle time is measured on a
	// coarse clock that Sweep advances, so call Sweep every Tick or so.
	Timeout time.Duration
	// Tick is the timer-wheel resolution. Default 100 ms.
	Tick time.Duration
	// Shards is the number of independently locked shards (rounded up to
	// a power of two). Default 16.
	Shards int
	// MaxDialogues bounds open dialogues; further Queries are refused with
	// Abort resourceUnavailable. Default 1<<20.
	MaxDialogues int
	// AbortUnknownResponse makes a Response for an unknown TID answered by
	// an Abort (cause unassignedRespondingTransactionID) carrying the
	// received TID. By default it is discarded: the peer has already
	// released its side, and the received TID is ours, not the peer's, so
	// an Abort could hit an unrelated transaction of the peer that happens
	// to use the same number.
	AbortUnknownResponse bool
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
}

// Expired describes a dialogue removed by Sweep.
type Expired struct {
	Dialogue DialogueID
	Peer     PeerKey
	PeerTID  TID
	UserData any
}

// Transactions is the ANSI TCAP transaction sublayer: it tracks dialogues by
// our TID (ourtids.go) and by the peer's TID (peerindex.go), allocates our
// TIDs, classifies received packages (deliver, abort, reject, discard) and
// times dialogues out with a hashed timer wheel swept by the caller, so
// there is no goroutine or timer per dialogue. It is safe for concurrent use; one dialogue always maps to
// the same shard (ShardOf) so a caller may also pin shards to workers.
type Transactions struct {
	cfg       Config
	shards    []shard
	mask      uint32
	bits      uint
	epoch     time.Time
	tick      time.Duration
	timeout   int64 // in ticks
	perShard  int
	sweepMu   sync.Mutex
	expiredCh []Expired
	// curTick is the clock as of the last Sweep: the hot path reads it
	// instead of calling the clock (deadlines have tick resolution anyway).
	curTick atomic.Int64
	// nextShard spreads the dialogues we begin over the shards in turn.
	nextShard atomic.Uint32
}

// dialogue is one open transaction. Fields are ordered so that the struct
// has no padding holes.
type dialogue struct {
	ourTID uint32
	// peerHash is hashPeer(peer, peerTID), kept for the peer index.
	peerHash uint32
	peer     PeerKey
	deadline int64 // tick
	peerTID  TID
	tidLen   uint8 // octets our TID is sent in
	canEnd   bool  // peer granted permission to end
	linked   bool  // in a timer wheel list
	// Timer wheel links: the dialogue sits in the list of the wheel slot
	// of its deadline (indices into shard.slots, -1 = none).
	self, wprev, wnext int32
	// Invoke IDs outstanding: peer's invokes we have not answered, and ours
	// the peer has not answered (bit sets over 0-255).
	peerInvokes [4]uint64
	ourInvokes  [4]uint64
	user        any
}

type shard struct {
	mu    sync.Mutex
	slots []dialogue
	free  []int32
	// pos finds a dialogue by our TID (ourtids.go): slot index plus one
	// at the position our TID's counter bits index, 0 when free; placed
	// counts the used positions, overflow holds short TIDs whose position
	// was taken.
	pos          []int32
	placed       int
	overflow     map[uint32]int32
	maxPositions int
	bits         uint // shard index bits at the bottom of our TIDs
	// peers is the peer index (peerindex.go), npeers its entries.
	peers     []peerEntry
	npeers    int
	peerShift uint
	next      uint32
	wheel     [wheelSlots]int32 // list heads
	lastTick  int64
}

const wheelSlots = 512

// NewTransactions returns an empty table.
func NewTransactions(cfg Config) *Transactions {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 16
	}
	if cfg.MaxDialogues <= 0 {
		cfg.MaxDialogues = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n, bits := 1, uint(0)
	for n < cfg.Shards {
		n <<= 1
		bits++
	}
	t := &Transactions{cfg: cfg, shards: make([]shard, n), mask: uint32(n - 1), bits: bits,
		epoch: cfg.Now(), tick: cfg.Tick}
	t.timeout = int64((cfg.Timeout + cfg.Tick - 1) / cfg.Tick)
	t.perShard = (cfg.MaxDialogues + n - 1) / n
	for i := range t.shards {
		s := &t.shards[i]
		s.bits = bits
		s.pos = make([]int32, minPositions)
		// Beyond one position per counter value a larger table cannot
		// spread TIDs further.
		s.maxPositions = 1 << min(30, 32-bits)
		s.peers = make([]peerEntry, 1<<minPeerBits)
		s.peerShift = 32 - minPeerBits
		for j := range s.wheel {
			s.wheel[j] = -1
		}
		s.next = 1
	}
	return t
}

// clockTick reads the clock. Clamped so that a clock set before the
// table's creation cannot make a negative wheel index.
func (t *Transactions) clockTick() int64 {
	return max(0, int64(t.cfg.Now().Sub(t.epoch)/t.tick))
}

// nowTick is the coarse clock of the hot path, advanced by Sweep.
func (t *Transactions) nowTick() int64 { return t.curTick.Load() }

func (t *Transactions) shardOfTID(tid uint32) *shard { return &t.shards[tid&t.mask] }

func hashPeer(peer PeerKey, tid TID) uint32 {
	h := uint64(peer)*0x9E3779B97F4A7C15 ^ uint64(tid.Uint32())*0xC2B2AE3D27D4EB4F
	return uint32(h>>32) ^ uint32(h)
}

// ShardOf returns the shard a received package belongs to: the shard of
// our TID for packages on an existing dialogue, the shard a Query's
// dialogue will be created in otherwise. Dispatching packages to workers by
// ShardOf keeps one transaction's packages on one worker, in order.
func (t *Transactions) ShardOf(peer PeerKey, m *Message) int {
	switch {
	case m.Type.IsQuery():
		return int(hashPeer(peer, m.OrigTID) & t.mask)
	case !m.RespTID.IsZero():
		return int(m.RespTID.Uint32() & t.mask)
	}
	return int(hashPeer(peer, m.OrigTID) & t.mask)
}

// Len returns the number of open dialogues.
func (t *Transactions) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += s.open()
		s.mu.Unlock()
	}
	return n
}

// getTID finds the dialogue whose TID, as we sent it, is tid.
func (s *shard) getTID(tid TID) *dialogue {
	if tid.IsZero() {
		return nil
	}
	if d := s.get(tid.Uint32()); d != nil && int(d.tidLen) == tid.Len() {
		return d
	}
	return nil
}

// alloc creates a dialogue in shard index si with a TID that fits tidLen
// octets; false when the shard (or the TID space of that length) is full.
// peerHash is hashPeer(peer, peerTID) when peerTID is set.
func (t *Transactions) alloc(si uint32, peer PeerKey, peerTID TID, peerHash uint32, tidLen int, now int64) (*dialogue, bool) {
	s := &t.shards[si]
	if s.open() >= t.perShard {
		return nil, false
	}
	// Our TIDs carry the shard index in their low bits; the rest counts.
	space := uint64(1) << (8 * uint(tidLen)) >> t.bits
	if space < 2 {
		return nil, false
	}
	tid, at, ok := s.pickTID(si, space, tidLen < 4)
	if !ok {
		return nil, false
	}
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		s.slots = append(s.slots, dialogue{})
		i = int32(len(s.slots) - 1)
	}
	// The slot is zero (new, or cleared by remove): set field by field,
	// as a composite literal would be built on the stack and copied in.
	d := &s.slots[i]
	d.ourTID, d.tidLen, d.peer, d.peerTID, d.peerHash = tid, uint8(tidLen), peer, peerTID, peerHash
	d.self, d.wprev, d.wnext = i, -1, -1
	s.place(tid, at, i)
	if !peerTID.IsZero() {
		s.peerSet(d)
	}
	t.touch(s, d, now)
	return d, true
}

// remove releases the dialogue and clears its slot, so that a free slot
// holds nothing (the user data is garbage) and alloc need not clear it.
func (t *Transactions) remove(s *shard, d *dialogue) {
	i := d.self
	s.unlink(d)
	s.unplace(d)
	if !d.peerTID.IsZero() {
		s.peerDelete(d)
	}
	*d = dialogue{}
	s.free = append(s.free, i)
}

// touch pushes the dialogue's deadline out by the timeout, moving it to
// the wheel slot of the new deadline. Dialogues live in intrusive lists, so
// arming, re-arming and removal cost O(1) and leave nothing behind.
func (t *Transactions) touch(s *shard, d *dialogue, now int64) {
	dl := now + t.timeout
	if dl == d.deadline && d.linked {
		return
	}
	s.unlink(d)
	d.deadline = dl
	h := &s.wheel[dl%wheelSlots]
	d.wprev, d.wnext, d.linked = -1, *h, true
	if *h >= 0 {
		s.slots[*h].wprev = d.self
	}
	*h = d.self
}

func (s *shard) unlink(d *dialogue) {
	if !d.linked {
		return
	}
	if d.wprev >= 0 {
		s.slots[d.wprev].wnext = d.wnext
	} else {
		s.wheel[d.deadline%wheelSlots] = d.wnext
	}
	if d.wnext >= 0 {
		s.slots[d.wnext].wprev = d.wprev
	}
	d.wprev, d.wnext, d.linked = -1, -1, false
}

func bitSet(b *[4]uint64, id uint8) bool { return b[id>>6]&(1<<(id&63)) != 0 }
func setBit(b *[4]uint64, id uint8)      { b[id>>6] |= 1 << (id & 63) }
func clearBit(b *[4]uint64, id uint8)    { b[id>>6] &^= 1 << (id & 63) }

// Receive classifies a received package. decodeErr is what m.Decode
// returned for it (nil if it decoded): transaction-level errors become an
// Abort, component errors a Reject, once the transaction they belong to is
// known. For Deliver, the components are m.Components.
//
// The verdict is filled in place, by one function per kind of package that
// each holds its shard's lock with a single defer (a function with many
// returns and defers gets the slow, heap-recorded kind of defer).
func (t *Transactions) Receive(peer PeerKey, m *Message, decodeErr error) (v Verdict) {
	// A type assertion, not errors.As: the latter makes de escape and
	// costs an allocation per package.
	var de *Error
	if decodeErr != nil {
		var ok bool
		if de, ok = decodeErr.(*Error); !ok {
			de = &Error{Cause: BadlyStructuredTransactionPortion, What: decodeErr.Error()}
		}
	}
	if de != nil && de.Cause != 0 {
		return t.transactionError(peer, m, de)
	}
	v.Package = m.Type
	switch {
	case m.Type == Unidirectional:
		receiveUnidirectional(&v, m, de)
	case m.Type.IsQuery():
		t.receiveQuery(&v, peer, m, de)
	case m.Type == Response || m.Type.IsConversation() || m.Type == Abort:
		t.receiveOnDialogue(&v, peer, m, de)
	default:
		return t.transactionError(peer, m, &Error{Cause: UnrecognizedPackageType, What: "unrecognized package type"})
	}
	return v
}

// receiveUnidirectional: there is no transaction, so nothing to answer.
func receiveUnidirectional(v *Verdict, m *Message, de *Error) {
	v.Ended = true
	if p, id, has, ok := checkComponents(nil, m); !ok {
		v.Action, v.Problem, v.RejectID, v.HasRejectID, v.Reason = Discard, p, id, has, "bad component in unidirectional"
		return
	}
	if de != nil {
		// No transaction to carry a Reject back.
		v.Action, v.Problem, v.RejectID, v.HasRejectID, v.Reason = Discard, de.Problem, de.ID, de.HasID, "bad component in unidirectional"
		return
	}
	v.Action = Deliver
}

// receiveQuery opens the dialogue a Query starts.
func (t *Transactions) receiveQuery(v *Verdict, peer PeerKey, m *Message, de *Error) {
	now := t.nowTick()
	h := hashPeer(peer, m.OrigTID)
	si := h & t.mask
	s := &t.shards[si]
	s.mu.Lock()
	defer s.mu.Unlock()
	v.PeerTID = m.OrigTID
	d, ok := t.alloc(si, peer, m.OrigTID, h, m.OrigTID.Len(), now)
	if !ok {
		v.Action, v.Cause, v.Ended, v.Reason = SendAbort, ResourceUnavailable, true, "dialogue table full"
		return
	}
	d.canEnd = m.Type == QueryWithPermission
	v.Dialogue, v.OurTID, v.HasDialogue, v.NewDialogue, v.CanEnd = DialogueID(d.ourTID), tidOf(d.ourTID, d.tidLen), true, true, d.canEnd
	t.components(v, d, m, de)
}

// receiveOnDialogue handles a Response, Conversation or Abort: packages
// that belong to a dialogue we know.
func (t *Transactions) receiveOnDialogue(v *Verdict, peer PeerKey, m *Message, de *Error) {
	now := t.nowTick()
	s, d := t.lookup(peer, m)
	defer s.mu.Unlock()
	if d == nil {
		v.Cause, v.Reason = UnassignedRespondingTID, "unknown transaction ID"
		switch {
		case m.Type.IsConversation():
			v.Action, v.PeerTID = SendAbort, m.OrigTID
		case m.Type == Response && t.cfg.AbortUnknownResponse:
			v.Action, v.PeerTID = SendAbort, m.RespTID
		default:
			v.Action = Discard
		}
		return
	}
	v.Dialogue, v.OurTID, v.HasDialogue = DialogueID(d.ourTID), tidOf(d.ourTID, d.tidLen), true
	if m.Type == Abort {
		v.PeerTID = d.peerTID
		v.Action, v.Ended, v.Cause, v.Reason = Deliver, true, m.AbortCause, "aborted by peer"
		t.remove(s, d)
		return
	}
	if m.Type.IsConversation() {
		if d.peerTID.IsZero() {
			// First answer to a Query we sent: learn the peer's TID.
			d.peerTID = m.OrigTID
			d.peerHash = hashPeer(d.peer, d.peerTID)
			s.peerSet(d)
		} else if d.peerTID != m.OrigTID {
			v.PeerTID = m.OrigTID
			v.Action, v.Cause, v.Reason = SendAbort, IncorrectTransactionPortion, "originating TID changed within the transaction"
			return
		}
		d.canEnd = m.Type == ConversationWithPerm
		t.touch(s, d, now)
	}
	v.PeerTID, v.CanEnd = d.peerTID, d.canEnd
	t.components(v, d, m, de)
	if m.Type == Response {
		// The peer released the transaction: a bad component can only
		// be reported locally.
		if v.Action == SendReject {
			v.Action, v.Reason = Discard, "bad component in a response"
		}
		v.Ended = true
		t.remove(s, d)
	}
}

// lookup finds the dialogue a Response, Conversation or Abort belongs to
// and returns it with its shard locked (the caller unlocks s, which is
// never nil). An Abort that a peer addressed with its own TID instead of
// ours is found through the peer indexes. Only one shard is ever locked
// at a time.
func (t *Transactions) lookup(peer PeerKey, m *Message) (*shard, *dialogue) {
	if !m.RespTID.IsZero() {
		s := t.shardOfTID(m.RespTID.Uint32())
		s.mu.Lock()
		if d := s.getTID(m.RespTID); d != nil || m.Type != Abort {
			return s, d
		}
		s.mu.Unlock()
	}
	h := hashPeer(peer, m.RespTID)
	s := &t.shards[h&t.mask]
	s.mu.Lock()
	if m.Type != Abort {
		return s, nil
	}
	if d := s.peerGet(h, peer, m.RespTID); d != nil {
		return s, d
	}
	// A dialogue we began sits in the shard Begin picked in turn, not in
	// the one its peer TID hashes to (that TID came later, with the peer's
	// first answer): look in the others, one at a time. Only a lenient
	// Abort for a TID we do not know comes this far.
	for k := uint32(1); k <= t.mask; k++ {
		s.mu.Unlock()
		s = &t.shards[(h+k)&t.mask]
		s.mu.Lock()
		if d := s.peerGet(h, peer, m.RespTID); d != nil {
			return s, d
		}
	}
	return s, nil
}

// transactionError answers a malformed transaction or dialogue portion.
func (t *Transactions) transactionError(peer PeerKey, m *Message, de *Error) Verdict {
	v := Verdict{Package: m.Type, Cause: de.Cause, Reason: "malformed transaction portion"}
	if de.Cause == BadlyStructuredDialoguePortion {
		v.Reason = "malformed dialogue portion"
	}
	// Address the Abort to the peer's TID when we have it.
	switch {
	case !m.OrigTID.IsZero():
		v.PeerTID = m.OrigTID
	case !m.RespTID.IsZero():
		s := t.shardOfTID(m.RespTID.Uint32())
		s.mu.Lock()
		if d := s.getTID(m.RespTID); d != nil {
			v.PeerTID = d.peerTID
		}
		s.mu.Unlock()
	}
	// An Abort is never answered with an Abort, nor is anything without a
	// TID to address.
	if v.PeerTID.IsZero() || m.Type == Abort {
		v.Action = Discard
	} else {
		v.Action = SendAbort
	}
	// A known dialogue dies with the abort.
	if !m.RespTID.IsZero() {
		s := t.shardOfTID(m.RespTID.Uint32())
		s.mu.Lock()
		if d := s.getTID(m.RespTID); d != nil {
			v.Dialogue, v.OurTID, v.HasDialogue, v.Ended = DialogueID(d.ourTID), tidOf(d.ourTID, d.tidLen), true, true
			t.remove(s, d)
		}
		s.mu.Unlock()
	}
	return v
}

// components checks the received components against the dialogue and
// fills the verdict. Called with the shard locked.
func (t *Transactions) components(v *Verdict, d *dialogue, m *Message, de *Error) {
	p, id, has, ok := checkComponents(d, m)
	if !ok || de != nil {
		if ok {
			p, id, has = de.Problem, de.ID, de.HasID
		}
		v.Action, v.Problem, v.RejectID, v.HasRejectID, v.Reason = SendReject, p, id, has, "bad component"
		return
	}
	v.Action = Deliver
}

// checkComponents validates component IDs: duplicate invoke IDs, and
// correlation IDs that answer nothing outstanding. With a dialogue it also
// records the peer's outstanding invokes and clears ours that are answered.
func checkComponents(d *dialogue, m *Message) (Problem, uint8, bool, bool) {
	var seen [4]uint64
	for i := range m.Components {
		c := &m.Components[i]
		switch {
		case c.Type.IsInvoke():
			if c.HasInvokeID {
				if bitSet(&seen, c.InvokeID) || (d != nil && bitSet(&d.peerInvokes, c.InvokeID)) {
					return InvokeDuplicateInvocation, c.InvokeID, true, false
				}
				setBit(&seen, c.InvokeID)
			}
			if c.HasCorrelationID && d != nil && !bitSet(&d.ourInvokes, c.CorrelationID) {
				return InvokeUnrecognisedCorrelationID, c.InvokeID, c.HasInvokeID, false
			}
		case c.Type.IsReturnResult():
			if d != nil && !bitSet(&d.ourInvokes, c.CorrelationID) {
				return ReturnResultUnrecognisedCorrID, c.CorrelationID, true, false
			}
		case c.Type == ReturnError:
			if d != nil && !bitSet(&d.ourInvokes, c.CorrelationID) {
				return ReturnErrorUnrecognisedCorrID, c.CorrelationID, true, false
			}
		}
	}
	if d == nil {
		return 0, 0, false, true
	}
	for i := range m.Components {
		c := &m.Components[i]
		switch {
		case c.Type.IsInvoke() && c.HasInvokeID:
			setBit(&d.peerInvokes, c.InvokeID)
		case c.Type == ReturnResultLast || c.Type == ReturnError || (c.Type == Reject && c.HasCorrelationID):
			clearBit(&d.ourInvokes, c.CorrelationID)
		}
	}
	return 0, 0, false, true
}

// ErrPermission is returned by Send for a Response the peer did not permit.
var ErrPermission = errors.New("tcap: peer did not grant permission to end the transaction")

// ErrNoDialogue is returned for an unknown or expired dialogue.
var ErrNoDialogue = errors.New("tcap: no such dialogue")

// Send prepares m, a package we are about to send on dialogue id: it sets
// the TIDs for m.Type (Response/Abort: the peer's TID; Conversation: ours
// and the peer's; Query: ours), records the invokes we send and the peer's
// invokes we answer, and ends the dialogue for a Response or Abort. The SCP
// fills m.Type and m.Components, calls Send, then m.AppendTo.
func (t *Transactions) Send(id DialogueID, m *Message) error {
	s := t.shardOfTID(uint32(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.get(uint32(id))
	if d == nil {
		return ErrNoDialogue
	}
	switch {
	case m.Type == Response:
		if !d.canEnd {
			return ErrPermission
		}
		if d.peerTID.IsZero() {
			return fmt.Errorf("tcap: dialogue %d: cannot respond before the peer's TID is known", id)
		}
		m.OrigTID, m.RespTID = TID{}, d.peerTID
	case m.Type == Abort:
		if d.peerTID.IsZero() {
			// Nothing to address: the peer never learnt of us. End locally.
			t.remove(s, d)
			return fmt.Errorf("tcap: dialogue %d: peer TID unknown, ended locally", id)
		}
		m.OrigTID, m.RespTID = TID{}, d.peerTID
	case m.Type.IsConversation():
		if d.peerTID.IsZero() {
			return fmt.Errorf("tcap: dialogue %d: cannot converse before the peer's TID is known", id)
		}
		m.OrigTID, m.RespTID = tidOf(d.ourTID, d.tidLen), d.peerTID
	case m.Type.IsQuery():
		if !d.peerTID.IsZero() {
			return fmt.Errorf("tcap: dialogue %d: query on an established dialogue", id)
		}
		m.OrigTID, m.RespTID = tidOf(d.ourTID, d.tidLen), TID{}
	default:
		return fmt.Errorf("tcap: cannot send %v on a dialogue", m.Type)
	}
	for i := range m.Components {
		c := &m.Components[i]
		switch {
		case c.Type.IsInvoke():
			if c.HasInvokeID {
				setBit(&d.ourInvokes, c.InvokeID)
			}
			if c.HasCorrelationID {
				clearBit(&d.peerInvokes, c.CorrelationID)
			}
		case c.Type == ReturnResultLast || c.Type == ReturnError || c.Type == Reject:
			if c.HasCorrelationID {
				clearBit(&d.peerInvokes, c.CorrelationID)
			}
		}
	}
	if m.Type == Response || m.Type == Abort {
		t.remove(s, d)
		return nil
	}
	t.touch(s, d, t.nowTick())
	return nil
}

// Begin opens a dialogue we initiate (an SSP or a test client): Send a
// Query on it next.
func (t *Transactions) Begin(peer PeerKey) (DialogueID, error) {
	now := t.nowTick()
	// Spread our own dialogues over the shards in turn. (Hashing the
	// clock tick put every dialogue begun within one tick in one shard:
	// each shard's table grew to the whole concurrency in turn, seconds of
	// garbage into a load run.)
	si := t.nextShard.Add(1) & t.mask
	for k := uint32(0); k <= t.mask; k++ {
		s := &t.shards[(si+k)&t.mask]
		s.mu.Lock()
		d, ok := t.alloc((si+k)&t.mask, peer, TID{}, 0, 4, now)
		if ok {
			id := DialogueID(d.ourTID)
			s.mu.Unlock()
			return id, nil
		}
		s.mu.Unlock()
	}
	return 0, errors.New("tcap: dialogue table full")
}

// End removes a dialogue without sending anything (pre-arranged end).
func (t *Transactions) End(id DialogueID) bool {
	s := t.shardOfTID(uint32(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.get(uint32(id)); d != nil {
		t.remove(s, d)
		return true
	}
	return false
}

// SetUserData attaches caller state (e.g. what a Send_To_Resource waits
// for) to a dialogue; it is handed back by UserData and on expiry.
func (t *Transactions) SetUserData(id DialogueID, v any) bool {
	s := t.shardOfTID(uint32(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.get(uint32(id)); d != nil {
		d.user = v
		return true
	}
	return false
}

// UserData returns what SetUserData attached.
func (t *Transactions) UserData(id DialogueID) (any, bool) {
	s := t.shardOfTID(uint32(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.get(uint32(id)); d != nil {
		return d.user, true
	}
	return nil, false
}

// Sweep advances the table's clock, expires dialogues idle for longer than
// the timeout and calls fn
// (if not nil) for each, outside the table's locks (fn must not call Sweep). Call it periodically,
// e.g. every Tick, from one goroutine. It returns the number expired.
func (t *Transactions) Sweep(fn func(Expired)) int {
	t.sweepMu.Lock()
	defer t.sweepMu.Unlock()
	now := t.clockTick()
	t.curTick.Store(now)
	out := t.expiredCh[:0]
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		from := s.lastTick + 1
		if now-from >= wheelSlots {
			from = now - wheelSlots + 1
		}
		for tick := from; tick <= now; tick++ {
			for i := s.wheel[tick%wheelSlots]; i >= 0; {
				d := &s.slots[i]
				i = d.wnext
				if d.deadline > now {
					continue // more than one revolution ahead
				}
				out = append(out, Expired{DialogueID(d.ourTID), d.peer, d.peerTID, d.user})
				t.remove(s, d)
			}
		}
		if now > s.lastTick {
			s.lastTick = now
		}
		s.mu.Unlock()
	}
	t.expiredCh = out
	if fn != nil {
		for _, e := range out {
			fn(e)
		}
	}
	n := len(out)
	clear(out)
	return n
}

// AppendReply appends the package answering a SendAbort or SendReject
// verdict: an Abort with the P-Abort cause; or the Reject in a Response
// when the peer permits us to end (ending the dialogue), else in a
// Conversation With Permission. It returns dst unchanged for other actions.
func (t *Transactions) AppendReply(dst []byte, v *Verdict) ([]byte, error) {
	switch v.Action {
	case SendAbort:
		if v.PeerTID.IsZero() {
			return dst, errors.New("tcap: abort without a peer TID to address")
		}
		m := Message{Type: Abort, RespTID: v.PeerTID, AbortCause: v.Cause}
		if v.HasDialogue && !v.Ended {
			t.End(v.Dialogue)
		}
		return m.AppendTo(dst)
	case SendReject:
		var comp [1]Component
		comp[0] = Component{Type: Reject, HasCorrelationID: v.HasRejectID, CorrelationID: v.RejectID, Problem: v.Problem}
		m := Message{Components: comp[:]}
		m.Type = ConversationWithPerm
		if v.CanEnd {
			m.Type = Response
		}
		if !v.HasDialogue {
			return dst, errors.New("tcap: reject without a dialogue")
		}
		if err := t.Send(v.Dialogue, &m); err != nil {
			return dst, err
		}
		return m.AppendTo(dst)
	}
	return dst, nil
}
