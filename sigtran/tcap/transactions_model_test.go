package tcap

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// The transaction table against a reference model: the same rules written
// over plain maps (open dialogues by our TID, the peer index by shard,
// peer and peer TID), driven by a sequence of operations taken from a byte
// string. After every operation the verdicts, Send's results, the expired
// sets and the open dialogues must be the same, and the table's own
// indexes (position table, overflow, peer index) consistent.
//
// The model cannot know which TID the table picks, so it takes the TID
// the table answered with and checks what makes it a valid choice: in the
// shard the Query hashes to (or any, for Begin), fitting the peer's TID
// length, not open, and for 4-octet TIDs never given before (no reuse
// before the counter wraps). It refuses a Query exactly when the shard is
// full or every TID of that length in the shard is open.

type modelDialogue struct {
	tid      uint32
	tidLen   uint8
	peer     PeerKey
	peerTID  TID
	canEnd   bool
	deadline int64
	inv      dialogue // peerInvokes and ourInvokes, for checkComponents
}

type modelPeerKey struct {
	shard uint32
	peer  PeerKey
	tid   TID
}

type model struct {
	t      *testing.T
	tx     *Transactions
	clk    *clock
	open   map[uint32]*modelDialogue
	byPeer map[modelPeerKey]uint32
	given  map[uint32]bool // 4-octet TIDs ever given
	issued []TID           // every TID given, as the peer sees it
	now    int64
}

func newModel(t *testing.T, clk *clock, cfg Config) *model {
	return &model{t: t, tx: newTable(clk, cfg), clk: clk, open: map[uint32]*modelDialogue{},
		byPeer: map[modelPeerKey]uint32{}, given: map[uint32]bool{}}
}

func (md *model) shardOpen(si uint32) int {
	n := 0
	for tid := range md.open {
		if tid&md.tx.mask == si {
			n++
		}
	}
	return n
}

func (md *model) getTID(tid TID) *modelDialogue {
	if tid.IsZero() {
		return nil
	}
	if d := md.open[tid.Uint32()]; d != nil && int(d.tidLen) == tid.Len() {
		return d
	}
	return nil
}

func (md *model) remove(d *modelDialogue) {
	delete(md.open, d.tid)
	if !d.peerTID.IsZero() {
		k := modelPeerKey{d.tid & md.tx.mask, d.peer, d.peerTID}
		if md.byPeer[k] == d.tid {
			delete(md.byPeer, k)
		}
	}
}

// take validates the TID the table gave a new dialogue and records it.
func (md *model) take(tid uint32, si uint32, tidLen int) error {
	space := uint64(1) << (8 * uint(tidLen)) >> md.tx.bits
	n := uint64(tid >> md.tx.bits)
	switch {
	case tid&md.tx.mask != si:
		return fmt.Errorf("TID %08x not in shard %d", tid, si)
	case n == 0 || n >= space:
		return fmt.Errorf("TID %08x does not fit %d octets", tid, tidLen)
	case md.open[tid] != nil:
		return fmt.Errorf("TID %08x given twice while open", tid)
	case tidLen == 4 && md.given[tid]:
		return fmt.Errorf("TID %08x reused before the counter wrapped", tid)
	}
	if tidLen == 4 {
		md.given[tid] = true
	}
	md.issued = append(md.issued, tidOf(tid, uint8(tidLen)))
	return nil
}

// mustRefuse: the shard is full, or every TID of the length is open.
func (md *model) mustRefuse(si uint32, tidLen int) bool {
	if md.shardOpen(si) >= md.tx.perShard {
		return true
	}
	space := uint64(1) << (8 * uint(tidLen)) >> md.tx.bits
	if space < 2 {
		return true
	}
	if space > 1<<16 {
		return false // more values than the test ever opens
	}
	for n := uint64(1); n < space; n++ {
		if md.open[uint32(n)<<md.tx.bits|si] == nil {
			return false
		}
	}
	return true
}

func modelComponents(v *Verdict, d *modelDialogue, m *Message) {
	if p, id, has, ok := checkComponents(&d.inv, m); !ok {
		v.Action, v.Problem, v.RejectID, v.HasRejectID = SendReject, p, id, has
		return
	}
	v.Action = Deliver
}

// receive is the model's Receive for a decoded package (real is the
// table's verdict, consulted only for the TID a new dialogue got).
func (md *model) receive(peer PeerKey, m *Message, real Verdict) (Verdict, error) {
	v := Verdict{Package: m.Type}
	if m.Type.IsQuery() {
		v.PeerTID = m.OrigTID
		h := hashPeer(peer, m.OrigTID)
		si := h & md.tx.mask
		refuse := md.mustRefuse(si, m.OrigTID.Len())
		if real.Action == SendAbort && real.Cause == ResourceUnavailable && !real.NewDialogue {
			if !refuse {
				return v, fmt.Errorf("query refused but shard %d has room", si)
			}
			v.Action, v.Cause, v.Ended = SendAbort, ResourceUnavailable, true
			return v, nil
		}
		if refuse {
			return v, fmt.Errorf("query accepted in a full shard %d", si)
		}
		tid := uint32(real.Dialogue)
		if err := md.take(tid, si, m.OrigTID.Len()); err != nil {
			return v, err
		}
		d := &modelDialogue{tid: tid, tidLen: uint8(m.OrigTID.Len()), peer: peer, peerTID: m.OrigTID,
			canEnd: m.Type == QueryWithPermission, deadline: md.now + md.tx.timeout}
		md.open[tid] = d
		md.byPeer[modelPeerKey{si, peer, m.OrigTID}] = tid
		v.Dialogue, v.OurTID, v.HasDialogue, v.NewDialogue, v.CanEnd = DialogueID(tid), tidOf(tid, d.tidLen), true, true, d.canEnd
		modelComponents(&v, d, m)
		return v, nil
	}
	d := md.getTID(m.RespTID)
	if d == nil && m.Type == Abort {
		// The shard the key hashes to first, then the others in turn:
		// a dialogue we began is in the shard Begin picked.
		h := hashPeer(peer, m.RespTID)
		for k := uint32(0); k <= md.tx.mask && d == nil; k++ {
			if tid, ok := md.byPeer[modelPeerKey{(h + k) & md.tx.mask, peer, m.RespTID}]; ok {
				d = md.open[tid]
			}
		}
	}
	if d == nil {
		v.Cause = UnassignedRespondingTID
		switch {
		case m.Type.IsConversation():
			v.Action, v.PeerTID = SendAbort, m.OrigTID
		case m.Type == Response && md.tx.cfg.AbortUnknownResponse:
			v.Action, v.PeerTID = SendAbort, m.RespTID
		}
		return v, nil
	}
	v.Dialogue, v.OurTID, v.HasDialogue = DialogueID(d.tid), tidOf(d.tid, d.tidLen), true
	if m.Type == Abort {
		v.PeerTID, v.Action, v.Ended, v.Cause = d.peerTID, Deliver, true, m.AbortCause
		md.remove(d)
		return v, nil
	}
	if m.Type.IsConversation() {
		if d.peerTID.IsZero() {
			d.peerTID = m.OrigTID
			md.byPeer[modelPeerKey{d.tid & md.tx.mask, d.peer, d.peerTID}] = d.tid
		} else if d.peerTID != m.OrigTID {
			v.PeerTID, v.Action, v.Cause = m.OrigTID, SendAbort, IncorrectTransactionPortion
			return v, nil
		}
		d.canEnd = m.Type == ConversationWithPerm
		d.deadline = md.now + md.tx.timeout
	}
	v.PeerTID, v.CanEnd = d.peerTID, d.canEnd
	modelComponents(&v, d, m)
	if m.Type == Response {
		if v.Action == SendReject {
			v.Action = Discard
		}
		v.Ended = true
		md.remove(d)
	}
	return v, nil
}

// malformed is the model of a package whose transaction portion failed to
// decode with cause.
func (md *model) malformed(m *Message, cause PAbortCause) Verdict {
	v := Verdict{Package: m.Type, Cause: cause}
	switch {
	case !m.OrigTID.IsZero():
		v.PeerTID = m.OrigTID
	case !m.RespTID.IsZero():
		if d := md.getTID(m.RespTID); d != nil {
			v.PeerTID = d.peerTID
		}
	}
	if !v.PeerTID.IsZero() && m.Type != Abort {
		v.Action = SendAbort
	}
	if d := md.getTID(m.RespTID); d != nil {
		v.Dialogue, v.OurTID, v.HasDialogue, v.Ended = DialogueID(d.tid), tidOf(d.tid, d.tidLen), true, true
		md.remove(d)
	}
	return v
}

// send is the model's Send; it returns the error's kind ("" for nil).
func (md *model) send(id DialogueID, m *Message) string {
	d := md.open[uint32(id)]
	if d == nil {
		return "nodialogue"
	}
	switch {
	case m.Type == Response:
		if !d.canEnd {
			return "permission"
		}
		if d.peerTID.IsZero() {
			return "error"
		}
		m.OrigTID, m.RespTID = TID{}, d.peerTID
	case m.Type == Abort:
		if d.peerTID.IsZero() {
			md.remove(d)
			return "error"
		}
		m.OrigTID, m.RespTID = TID{}, d.peerTID
	case m.Type.IsConversation():
		if d.peerTID.IsZero() {
			return "error"
		}
		m.OrigTID, m.RespTID = tidOf(d.tid, d.tidLen), d.peerTID
	case m.Type.IsQuery():
		if !d.peerTID.IsZero() {
			return "error"
		}
		m.OrigTID, m.RespTID = tidOf(d.tid, d.tidLen), TID{}
	default:
		return "error"
	}
	for _, c := range m.Components {
		switch {
		case c.Type.IsInvoke():
			if c.HasInvokeID {
				setBit(&d.inv.ourInvokes, c.InvokeID)
			}
			if c.HasCorrelationID {
				clearBit(&d.inv.peerInvokes, c.CorrelationID)
			}
		case c.Type == ReturnResultLast || c.Type == ReturnError || c.Type == Reject:
			if c.HasCorrelationID {
				clearBit(&d.inv.peerInvokes, c.CorrelationID)
			}
		}
	}
	if m.Type == Response || m.Type == Abort {
		md.remove(d)
		return ""
	}
	d.deadline = md.now + md.tx.timeout
	return ""
}

func errKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNoDialogue):
		return "nodialogue"
	case errors.Is(err, ErrPermission):
		return "permission"
	}
	return "error"
}

// check compares the open dialogues and checks the table's indexes.
func (md *model) check() {
	t, tx := md.t, md.tx
	t.Helper()
	if n := tx.Len(); n != len(md.open) {
		t.Fatalf("table has %d dialogues, model %d", n, len(md.open))
	}
	for tid, want := range md.open {
		s := tx.shardOfTID(tid)
		d := s.get(tid)
		if d == nil {
			t.Fatalf("dialogue %08x missing", tid)
		}
		if d.tidLen != want.tidLen || d.peer != want.peer || d.peerTID != want.peerTID || d.canEnd != want.canEnd ||
			d.deadline != want.deadline || d.peerInvokes != want.inv.peerInvokes || d.ourInvokes != want.inv.ourInvokes || !d.linked {
			t.Fatalf("dialogue %08x: table %+v, model %+v", tid, *d, *want)
		}
	}
	npeers := 0
	for i := range tx.shards {
		s := &tx.shards[i]
		placed := 0
		for j, p := range s.pos {
			if p == 0 {
				continue
			}
			placed++
			if d := &s.slots[p-1]; s.posOf(d.ourTID) != &s.pos[j] || md.open[d.ourTID] == nil {
				t.Fatalf("shard %d position %d holds %08x, not open or misplaced", i, j, d.ourTID)
			}
		}
		if placed != s.placed {
			t.Fatalf("shard %d: placed %d, counted %d", i, s.placed, placed)
		}
		for tid, k := range s.overflow {
			if s.slots[k].ourTID != tid || s.slots[k].tidLen == 4 {
				t.Fatalf("shard %d: overflow %08x -> %+v", i, tid, s.slots[k])
			}
		}
		n := 0
		for j, e := range s.peers {
			if e.slot == 0 {
				continue
			}
			n++
			d := &s.slots[e.slot-1]
			if md.open[d.ourTID] == nil || d.peerHash != e.hash || hashPeer(d.peer, d.peerTID) != e.hash {
				t.Fatalf("shard %d: peer entry %d for a closed dialogue or a wrong hash: %+v", i, j, *d)
			}
			if at, ok := s.peerFind(e.hash, d.peer, d.peerTID); !ok || at != uint32(j) {
				t.Fatalf("shard %d: peer entry %d unreachable", i, j)
			}
		}
		if n != s.npeers {
			t.Fatalf("shard %d: npeers %d, counted %d", i, s.npeers, n)
		}
		npeers += n
	}
	if npeers != len(md.byPeer) {
		t.Fatalf("peer index has %d entries, model %d", npeers, len(md.byPeer))
	}
	for k, tid := range md.byPeer {
		s := &tx.shards[k.shard]
		if d := s.peerGet(hashPeer(k.peer, k.tid), k.peer, k.tid); d == nil || d.ourTID != tid {
			t.Fatalf("peer index %+v: want %08x, got %+v", k, tid, d)
		}
	}
}

// ops reads operation parameters from a byte string (zeros past its end).
type ops struct {
	b []byte
	i int
}

func (o *ops) next() byte {
	if o.i >= len(o.b) {
		return 0
	}
	o.i++
	return o.b[o.i-1]
}

func (o *ops) done() bool { return o.i >= len(o.b) }

func (md *model) peerTID(o *ops) TID {
	n := 1 + o.next()%4
	v := []uint32{1, 2, 3, 0x42, 0x102, 0xabcd, 0x10203, 0xdeadbeef}[o.next()%8]
	return tidOf(v, n)
}

// ourTID picks a TID addressed to us: one we gave (open or not), or not.
func (md *model) ourTID(o *ops) TID {
	if len(md.issued) == 0 || o.next()%8 == 0 {
		return tidOf(uint32(o.next())<<8|uint32(o.next()), 1+o.next()%4)
	}
	return md.issued[(len(md.issued)-1-int(o.next())%len(md.issued)+len(md.issued))%len(md.issued)]
}

func components(o *ops) []Component {
	var cs []Component
	for range o.next() % 3 {
		c := Component{InvokeID: o.next() % 4, CorrelationID: o.next() % 4}
		switch o.next() % 5 {
		case 0, 1:
			c.Type, c.HasInvokeID, c.HasCorrelationID = InvokeLast, true, o.next()%2 == 0
		case 2:
			c.Type, c.HasCorrelationID = ReturnResultLast, true
		case 3:
			c.Type, c.HasCorrelationID = ReturnError, true
		case 4:
			c.Type, c.HasCorrelationID = Reject, o.next()%2 == 0
		}
		cs = append(cs, c)
	}
	return cs
}

func sameVerdict(got, want Verdict) bool {
	got.Reason, want.Reason = "", ""
	return got == want
}

// run drives the table and the model with the operations in b.
func runModel(t *testing.T, b []byte) {
	o := &ops{b: b}
	cfgs := []Config{
		{Shards: 1, MaxDialogues: 400},
		{Shards: 2, MaxDialogues: 300, AbortUnknownResponse: true},
		{Shards: 4, MaxDialogues: 40},
		{Shards: 16, MaxDialogues: 1000},
	}
	c := o.next()
	cfg := cfgs[c%4]
	// Half the runs let little time pass, so that dialogues pile up, the
	// tables grow and short TIDs meet positions long ones hold.
	tickSpan := byte(24)
	if c&4 != 0 {
		tickSpan = 3
	}
	cfg.Timeout, cfg.Tick = time.Second, 100*time.Millisecond
	clk := &clock{time.Unix(1000, 0)}
	md := newModel(t, clk, cfg)
	tx := md.tx
	peers := []PeerKey{peerSSP, 1, 2}
	for step := 0; !o.done(); step++ {
		op := o.next() % 16
		peer := peers[o.next()%3]
		var m Message
		switch op {
		case 0, 1, 2, 3, 4: // a Query
			m = Message{Type: QueryWithPermission, OrigTID: md.peerTID(o), Components: components(o)}
			if o.next()%3 == 0 {
				m.Type = QueryWithoutPermission
			}
		case 5, 6: // a Conversation
			m = Message{Type: ConversationWithPerm, OrigTID: md.peerTID(o), RespTID: md.ourTID(o), Components: components(o)}
			if o.next()%2 == 0 {
				m.Type = ConversationWithoutPerm
			}
			if d := md.getTID(m.RespTID); d != nil && !d.peerTID.IsZero() && o.next()%4 != 0 {
				m.OrigTID, peer = d.peerTID, d.peer
			}
		case 7: // a Response
			m = Message{Type: Response, RespTID: md.ourTID(o), Components: components(o)}
		case 8: // an Abort, to our TID or (leniently) the peer's own
			m = Message{Type: Abort, RespTID: md.ourTID(o), AbortCause: PAbortCause(1 + o.next()%6)}
			if o.next()%2 == 0 {
				m.RespTID = md.peerTID(o)
				if d := md.getTID(md.ourTID(o)); d != nil && !d.peerTID.IsZero() {
					m.RespTID, peer = d.peerTID, d.peer
				}
			}
		case 9: // a malformed package
			m = Message{Type: []PackageType{QueryWithPermission, ConversationWithPerm, Response, Abort}[o.next()%4]}
			if o.next()%2 == 0 {
				m.OrigTID = md.peerTID(o)
			}
			if o.next()%2 == 0 {
				m.RespTID = md.ourTID(o)
			}
			cause := BadlyStructuredTransactionPortion
			got := tx.Receive(peer, &m, &Error{Cause: cause})
			if want := md.malformed(&m, cause); !sameVerdict(got, want) {
				t.Fatalf("step %d malformed %+v: table %+v, model %+v", step, m, got, want)
			}
			md.check()
			continue
		case 10, 11: // we send on a dialogue
			id := DialogueID(md.ourTID(o).Uint32())
			typ := []PackageType{Response, Response, ConversationWithPerm, ConversationWithoutPerm, Abort, QueryWithPermission, Unidirectional}[o.next()%7]
			mt, mm := Message{Type: typ, Components: components(o)}, Message{}
			mm = mt
			mm.Components = append([]Component(nil), mt.Components...)
			got, want := errKind(tx.Send(id, &mt)), md.send(id, &mm)
			if got != want || (got == "" && (mt.OrigTID != mm.OrigTID || mt.RespTID != mm.RespTID)) {
				t.Fatalf("step %d Send(%08x, %v): table %q %v/%v, model %q %v/%v", step, uint32(id), typ, got, mt.OrigTID, mt.RespTID, want, mm.OrigTID, mm.RespTID)
			}
			md.check()
			continue
		case 12: // we begin a dialogue
			id, err := tx.Begin(peer)
			full := true
			for si := uint32(0); si <= tx.mask; si++ {
				full = full && md.shardOpen(si) >= tx.perShard
			}
			if (err != nil) != full {
				t.Fatalf("step %d Begin: %v, model full %v", step, err, full)
			}
			if err == nil {
				if md.shardOpen(uint32(id)&tx.mask) >= tx.perShard {
					t.Fatalf("step %d Begin: %08x in a full shard", step, uint32(id))
				}
				if err := md.take(uint32(id), uint32(id)&tx.mask, 4); err != nil {
					t.Fatalf("step %d Begin: %v", step, err)
				}
				md.open[uint32(id)] = &modelDialogue{tid: uint32(id), tidLen: 4, peer: peer, deadline: md.now + tx.timeout}
			}
			md.check()
			continue
		case 13: // time passes and the table is swept
			clk.add(time.Duration(o.next()%tickSpan) * 50 * time.Millisecond)
			got := map[DialogueID]Expired{}
			tx.Sweep(func(e Expired) { got[e.Dialogue] = e })
			md.now = max(0, int64(clk.t.Sub(tx.epoch)/tx.tick))
			want := map[DialogueID]Expired{}
			for tid, d := range md.open {
				if d.deadline <= md.now {
					want[DialogueID(tid)] = Expired{DialogueID(tid), d.peer, d.peerTID, nil}
					md.remove(d)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("step %d Sweep: table expired %v, model %v", step, got, want)
			}
			md.check()
			continue
		default: // we end a dialogue without a word
			id := DialogueID(md.ourTID(o).Uint32())
			d := md.open[uint32(id)]
			if d != nil {
				md.remove(d)
			}
			if got := tx.End(id); got != (d != nil) {
				t.Fatalf("step %d End(%08x) = %v, model %v", step, uint32(id), got, d != nil)
			}
			md.check()
			continue
		}
		got := tx.Receive(peer, &m, nil)
		want, err := md.receive(peer, &m, got)
		if err != nil {
			t.Fatalf("step %d %v from %d: %v (verdict %+v)", step, m.Type, peer, err, got)
		}
		if !sameVerdict(got, want) {
			t.Fatalf("step %d %v %v/%v from %d:\ntable %+v\nmodel %+v", step, m.Type, m.OrigTID, m.RespTID, peer, got, want)
		}
		md.check()
		// Answer the verdict's abort or reject as AppendReply does (its
		// effect on the table; the encoding is tested elsewhere).
		if (got.Action == SendAbort || got.Action == SendReject) && o.next()%2 == 0 {
			switch got.Action {
			case SendAbort:
				if got.HasDialogue && !got.Ended {
					d := md.open[uint32(got.Dialogue)]
					if d != nil {
						md.remove(d)
					}
					if tx.End(got.Dialogue) != (d != nil) {
						t.Fatalf("step %d: End after %+v disagrees with the model", step, got)
					}
				}
			case SendReject:
				typ := ConversationWithPerm
				if got.CanEnd {
					typ = Response
				}
				r := Message{Type: typ, Components: []Component{{Type: Reject, HasCorrelationID: got.HasRejectID, CorrelationID: got.RejectID}}}
				mr := r
				if g, w := errKind(tx.Send(got.Dialogue, &r)), md.send(got.Dialogue, &mr); g != w || r.OrigTID != mr.OrigTID || r.RespTID != mr.RespTID {
					t.Fatalf("step %d: reject for %+v: table %q, model %q", step, got, g, w)
				}
			}
			md.check()
		}
	}
}

// TestTransactionsModel runs random operation sequences against the model.
func TestTransactionsModel(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	for seed := range rounds {
		r := rand.New(rand.NewPCG(uint64(seed), 16))
		b := make([]byte, 6000)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, b) })
	}
}

// FuzzTransactions drives the table and the model with operation
// sequences from the fuzzer.
func FuzzTransactions(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 1, 0, 0, 7, 1, 0})
	f.Add([]byte{1, 0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 5, 1, 1, 2, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0})
	f.Add([]byte{3, 12, 0, 13, 0, 23, 5, 0, 0, 1, 0, 0, 0, 0, 0, 8, 1, 0, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) { runModel(t, b) })
}
