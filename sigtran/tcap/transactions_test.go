package tcap

import (
	"bytes"
	"encoding/hex"
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newTable(c *clock, cfg Config) *Transactions {
	cfg.Now = c.now
	return NewTransactions(cfg)
}

const peerSSP PeerKey = 0xF4010A<<8 | 249

func decode(t *testing.T, s string) (*Message, error) {
	t.Helper()
	m := &Message{}
	return m, m.Decode(mustHex(t, s))
}

// The SCP flow on the golden vectors: P-01Q in, P-01R out, byte for byte.
func TestQueryResponseVector(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{})
	q, err := decode(t, vector(t, "P-01Q").Hex.TCAP)
	v := tx.Receive(peerSSP, q, err)
	if v.Action != Deliver || !v.NewDialogue || !v.CanEnd || !v.HasDialogue || v.PeerTID.String() != "00000101" {
		t.Fatalf("verdict %+v", v)
	}
	if tx.Len() != 1 {
		t.Fatalf("Len %d", tx.Len())
	}
	params := mustHex(t, "8a0521436587099f2109204a414e4520444f45")
	r := Message{Type: Response, Components: []Component{{Type: InvokeLast, HasInvokeID: true, InvokeID: 2,
		HasCorrelationID: true, CorrelationID: q.Components[0].InvokeID, Op: PrivateOp(0x6502), ParamTag: ParamSet, Params: params}}}
	if err := tx.Send(v.Dialogue, &r); err != nil {
		t.Fatal(err)
	}
	out, err := r.AppendTo(nil)
	if err != nil || hex.EncodeToString(out) != vector(t, "P-01R").Hex.TCAP {
		t.Fatalf("response %x %v", out, err)
	}
	if tx.Len() != 0 {
		t.Fatalf("dialogue not released after the Response: Len %d", tx.Len())
	}
	if err := tx.Send(v.Dialogue, &r); err != ErrNoDialogue {
		t.Fatalf("second Send: %v", err)
	}
}

// Abort resourceUnavailable on an open query (P-06R) through AppendReply.
func TestAbortVector(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{})
	q, err := decode(t, vector(t, "P-06Q").Hex.TCAP)
	v := tx.Receive(peerSSP, q, err)
	a := Message{Type: Abort, AbortCause: ResourceUnavailable}
	if err := tx.Send(v.Dialogue, &a); err != nil {
		t.Fatal(err)
	}
	out, _ := a.AppendTo(nil)
	if hex.EncodeToString(out) != vector(t, "P-06R").Hex.TCAP || tx.Len() != 0 {
		t.Fatalf("abort %x len %d", out, tx.Len())
	}
}

func TestConversation(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{})
	// Query Without Permission: we may not end it.
	q, err := decode(t, "e313c7040000abcde80be909cf0101d1026405f200")
	if err != nil {
		t.Fatal(err)
	}
	v := tx.Receive(peerSSP, q, nil)
	if v.Action != Deliver || v.CanEnd {
		t.Fatalf("E3 verdict %+v", v)
	}
	r := Message{Type: Response}
	if err := tx.Send(v.Dialogue, &r); err != ErrPermission {
		t.Fatalf("Response without permission: %v", err)
	}
	// Keep the dialogue: sendToResource in a Conversation With Permission.
	conv := Message{Type: ConversationWithPerm, Components: []Component{{Type: InvokeLast, HasInvokeID: true, InvokeID: 2,
		HasCorrelationID: true, CorrelationID: 1, Op: PrivateOp(0x6601), ParamTag: ParamSet}}}
	if err := tx.Send(v.Dialogue, &conv); err != nil {
		t.Fatal(err)
	}
	if conv.OrigTID != v.Dialogue.TID() || conv.RespTID.String() != "0000abcd" {
		t.Fatalf("conversation TIDs %v %v", conv.OrigTID, conv.RespTID)
	}
	raw, _ := conv.AppendTo(nil)
	if !bytes.HasPrefix(raw, append([]byte{0xe5, byte(len(raw) - 2), 0xc7, 0x08}, append(v.Dialogue.TID().Append(nil), 0, 0, 0xab, 0xcd)...)) {
		t.Fatalf("conversation bytes %x", raw)
	}
	// The SSP answers resourceClear, linked to our invoke 2, in E5.
	ours := v.Dialogue.TID()
	in := Message{Type: ConversationWithPerm, OrigTID: NewTID(0xabcd), RespTID: ours, Components: []Component{{Type: InvokeLast,
		HasInvokeID: true, InvokeID: 3, HasCorrelationID: true, CorrelationID: 2, Op: PrivateOp(0x6602), ParamTag: ParamSet}}}
	raw, _ = in.AppendTo(nil)
	m := &Message{}
	v2 := tx.Receive(peerSSP, m, m.Decode(raw))
	if v2.Action != Deliver || v2.Dialogue != v.Dialogue || !v2.CanEnd || v2.NewDialogue {
		t.Fatalf("conversation verdict %+v", v2)
	}
	// Now we may end it.
	r = Message{Type: Response, Components: []Component{{Type: InvokeLast, HasInvokeID: true, InvokeID: 4,
		HasCorrelationID: true, CorrelationID: 3, Op: PrivateOp(0x6503), ParamTag: ParamSet}}}
	if err := tx.Send(v.Dialogue, &r); err != nil || r.RespTID.String() != "0000abcd" || tx.Len() != 0 {
		t.Fatalf("final response: %v %v len %d", err, r.RespTID, tx.Len())
	}
	// A late conversation for the released dialogue: Abort cause 4 to the
	// peer's TID.
	m = &Message{}
	v3 := tx.Receive(peerSSP, m, m.Decode(raw))
	if v3.Action != SendAbort || v3.Cause != UnassignedRespondingTID || v3.PeerTID.String() != "0000abcd" {
		t.Fatalf("late conversation %+v", v3)
	}
	out, err := tx.AppendReply(nil, &v3)
	if err != nil || hex.EncodeToString(out) != "f609c7040000abcdd70104" {
		t.Fatalf("abort reply %x %v", out, err)
	}
}

func TestUnknownTIDs(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{})
	// Conversation for an unknown TID (also a short one that cannot be ours).
	for _, s := range []string{"e50ac70800000007deadbeef", "e506c70400070001"} {
		m, err := decode(t, s)
		v := tx.Receive(peerSSP, m, err)
		if v.Action != SendAbort || v.Cause != UnassignedRespondingTID || v.PeerTID != m.OrigTID {
			t.Errorf("%s: %+v", s, v)
		}
	}
	// Response for an unknown TID: discarded by default, aborted on request.
	m, err := decode(t, "e406c704deadbeef")
	if v := tx.Receive(peerSSP, m, err); v.Action != Discard || v.Cause != UnassignedRespondingTID {
		t.Errorf("unknown response %+v", v)
	}
	tx2 := newTable(c, Config{AbortUnknownResponse: true})
	if v := tx2.Receive(peerSSP, m, err); v.Action != SendAbort || v.Cause != UnassignedRespondingTID || v.PeerTID.String() != "deadbeef" {
		t.Errorf("unknown response, AbortUnknownResponse %+v", v)
	}
	// Abort for an unknown TID: discarded.
	m, err = decode(t, "f609c704deadbeefd70106")
	if v := tx.Receive(peerSSP, m, err); v.Action != Discard {
		t.Errorf("unknown abort %+v", v)
	}
}

func TestMalformedTransactionPortion(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{})
	for _, tc := range []struct {
		hex    string
		action Action
		cause  PAbortCause
		peer   string
	}{
		{"e706c70400000009", SendAbort, UnrecognizedPackageType, "00000009"},
		{"e7020000", Discard, UnrecognizedPackageType, ""},
		{"e208c70400000009e805", SendAbort, BadlyStructuredTransactionPortion, "00000009"},
		{"e209c70400000009d70101", SendAbort, IncorrectTransactionPortion, "00000009"},
		{"e207c7050000000009", Discard, IncorrectTransactionPortion, ""},
		{"e20bc70400000009f903da0201", SendAbort, BadlyStructuredDialoguePortion, "00000009"},
		{"f608c70400000009e800", Discard, IncorrectTransactionPortion, ""}, // never abort an abort
	} {
		m, err := decode(t, tc.hex)
		v := tx.Receive(peerSSP, m, err)
		if v.Action != tc.action || v.Cause != tc.cause || v.PeerTID.String() != tc.peer {
			t.Errorf("%s: %+v", tc.hex, v)
			continue
		}
		if v.Action == SendAbort {
			out, err := tx.AppendReply(nil, &v)
			want := "f609c704" + tc.peer + "d701" + hex.EncodeToString([]byte{byte(tc.cause)})
			if err != nil || hex.EncodeToString(out) != want {
				t.Errorf("%s: reply %x %v, want %s", tc.hex, out, err, want)
			}
		}
	}
	if tx.Len() != 0 {
		t.Errorf("malformed packages left %d dialogues", tx.Len())
	}
	// A malformed package on an open dialogue aborts and releases it.
	q, _ := decode(t, "e20ac70400000001e802e900"[:0]+"e208c70400000001e800")
	v := tx.Receive(peerSSP, q, nil)
	ours := v.Dialogue.TID()
	bad := append(append([]byte{0xe5, 0x0f, 0xc7, 0x08, 0, 0, 0, 1}, ours.Append(nil)...), 0xf9, 0x03, 0xda, 0x02, 0x01)
	m := &Message{}
	v2 := tx.Receive(peerSSP, m, m.Decode(bad))
	if v2.Action != SendAbort || v2.Cause != BadlyStructuredDialoguePortion || !v2.Ended || tx.Len() != 0 {
		t.Errorf("bad conversation %+v len %d", v2, tx.Len())
	}
}

func TestComponentRejects(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{})
	for _, tc := range []struct {
		name    string
		hex     string
		problem Problem
		id      int
		reply   string
	}{
		{"badly structured", "e20cc70400000001e804e905cf01", GeneralBadlyStructuredCompPortion, -1,
			"e412c70400000001e80aec08cf00d5020103f200"},
		{"duplicate invoke ID", "e21ec70400000001e816e909cf0101d1026405f200e909cf0101d1026405f200", InvokeDuplicateInvocation, 1,
			"e413c70400000001e80bec09cf0101d5020201f200"},
		{"unknown correlation in a query", "e212c70400000001e80ae908cf020105d1026405", InvokeUnrecognisedCorrelationID, 1,
			"e413c70400000001e80bec09cf0101d5020204f200"},
		{"return result for nothing", "e20ec70400000001e806ea04cf0109f2"[:0] + "e20fc70400000001e807ea05cf0109f200", ReturnResultUnrecognisedCorrID, 9,
			"e413c70400000001e80bec09cf0109d5020301f200"},
		{"return error for nothing", "e212c70400000001e80aeb08cf0109d40101f200", ReturnErrorUnrecognisedCorrID, 9,
			"e413c70400000001e80bec09cf0109d5020401f200"},
		{"unknown component type", "e20fc70400000001e807e705cf01070500", GeneralUnrecognisedComponentType, 7,
			"e413c70400000001e80bec09cf0107d5020101f200"},
	} {
		m, err := decode(t, tc.hex)
		v := tx.Receive(peerSSP, m, err)
		if v.Action != SendReject || v.Problem != tc.problem || v.HasRejectID != (tc.id >= 0) || (tc.id >= 0 && int(v.RejectID) != tc.id) {
			t.Errorf("%s: %+v (decode: %v)", tc.name, v, err)
			continue
		}
		out, err := tx.AppendReply(nil, &v)
		if err != nil || hex.EncodeToString(out) != tc.reply {
			t.Errorf("%s: reply %x %v, want %s", tc.name, out, err, tc.reply)
		}
	}
	if tx.Len() != 0 {
		t.Errorf("rejected queries left %d dialogues", tx.Len())
	}
	// Without permission the Reject goes in a Conversation and the dialogue stays.
	m, err := decode(t, "e31ec70400000001e816e909cf0101d1026405f200e909cf0101d1026405f200")
	v := tx.Receive(peerSSP, m, err)
	out, err := tx.AppendReply(nil, &v)
	if err != nil || out[0] != byte(ConversationWithPerm) || tx.Len() != 1 {
		t.Fatalf("E3 reject %x %v len %d", out, err, tx.Len())
	}
	var back Message
	if err := back.Decode(out); err != nil || back.OrigTID != v.Dialogue.TID() || back.RespTID.String() != "00000001" {
		t.Fatalf("E3 reject TIDs %+v %v", back, err)
	}
	// Duplicate across packages: the peer's invoke 1 is still unanswered.
	tx.End(v.Dialogue)
	m, err = decode(t, "e313c70400000001e80be909cf0101d1026405f200")
	v = tx.Receive(peerSSP, m, err)
	if v.Action != Deliver {
		t.Fatalf("%+v", v)
	}
	other := Message{Type: ConversationWithPerm, Components: []Component{{Type: InvokeLast, HasInvokeID: true, InvokeID: 2, Op: PrivateOp(0x6901)}}}
	if err := tx.Send(v.Dialogue, &other); err != nil {
		t.Fatal(err)
	}
	dup := Message{Type: ConversationWithPerm, OrigTID: NewTID(1), RespTID: v.Dialogue.TID(), Components: []Component{
		{Type: InvokeLast, HasInvokeID: true, InvokeID: 1, Op: PrivateOp(0x6602)}}}
	raw, _ := dup.AppendTo(nil)
	var dm Message
	if v2 := tx.Receive(peerSSP, &dm, dm.Decode(raw)); v2.Action != SendReject || v2.Problem != InvokeDuplicateInvocation {
		t.Errorf("cross-package duplicate %+v", v2)
	}
	// A bad component in a Response cannot be rejected: discard, release.
	tx.End(v.Dialogue)
	q, _ := decode(t, "e208c70400000002e800")
	v = tx.Receive(peerSSP, q, nil)
	id := v.Dialogue
	// Make it our query for the test: we sent invoke 5 and get a Response.
	var sent Message = Message{Type: ConversationWithPerm, Components: []Component{{Type: InvokeLast, HasInvokeID: true, InvokeID: 5, Op: PrivateOp(0x6601)}}}
	if err := tx.Send(id, &sent); err != nil {
		t.Fatal(err)
	}
	resp := Message{Type: Response, RespTID: id.TID(), Components: []Component{{Type: ReturnResultLast, HasCorrelationID: true, CorrelationID: 6}}}
	raw, _ = resp.AppendTo(nil)
	if v2 := tx.Receive(peerSSP, &dm, dm.Decode(raw)); v2.Action != Discard || v2.Problem != ReturnResultUnrecognisedCorrID || !v2.Ended || tx.Len() != 0 {
		t.Errorf("bad response %+v len %d", v2, tx.Len())
	}
}

func TestUnidirectionalAndAbort(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{})
	m, err := decode(t, "e10fc700e80be909cf0101d1026901f200")
	if v := tx.Receive(peerSSP, m, err); v.Action != Deliver || v.HasDialogue || tx.Len() != 0 {
		t.Errorf("unidirectional %+v", v)
	}
	m, err = decode(t, "e11ac700e816e909cf0101d1026901f200e909cf0101d1026901f200")
	if v := tx.Receive(peerSSP, m, err); v.Action != Discard || v.Problem != InvokeDuplicateInvocation {
		t.Errorf("unidirectional duplicate %+v", v)
	}
	// Peer aborts an open dialogue (with our TID, or leniently with its own).
	for _, useOwn := range []bool{false, true} {
		q, _ := decode(t, "e208c70400000042e800")
		v := tx.Receive(peerSSP, q, nil)
		tid := v.Dialogue.TID()
		if useOwn {
			tid = NewTID(0x42)
		}
		a := Message{Type: Abort, RespTID: tid, AbortCause: ResourceUnavailable}
		raw, _ := a.AppendTo(nil)
		var am Message
		va := tx.Receive(peerSSP, &am, am.Decode(raw))
		if va.Action != Deliver || !va.Ended || va.Cause != ResourceUnavailable || va.Dialogue != v.Dialogue || tx.Len() != 0 {
			t.Errorf("peer abort (own TID %v): %+v len %d", useOwn, va, tx.Len())
		}
	}
}

func TestInitiator(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{})
	id, err := tx.Begin(peerSSP)
	if err != nil {
		t.Fatal(err)
	}
	q := Message{Type: QueryWithPermission, Components: []Component{{Type: InvokeLast, HasInvokeID: true, InvokeID: 1, Op: PrivateOp(0x6405), ParamTag: ParamSet}}}
	if err := tx.Send(id, &q); err != nil || q.OrigTID != id.TID() {
		t.Fatalf("query %v %v", err, q.OrigTID)
	}
	if err := tx.Send(id, &Message{Type: ConversationWithPerm}); err == nil {
		t.Error("conversation before the peer's TID is known")
	}
	// The SCP converses (learning its TID), then responds with a linked invoke.
	conv := Message{Type: ConversationWithPerm, OrigTID: NewTID(77), RespTID: id.TID(), Components: []Component{
		{Type: InvokeLast, HasInvokeID: true, InvokeID: 2, HasCorrelationID: true, CorrelationID: 1, Op: PrivateOp(0x6601)}}}
	raw, _ := conv.AppendTo(nil)
	var m Message
	if v := tx.Receive(peerSSP, &m, m.Decode(raw)); v.Action != Deliver || v.PeerTID != NewTID(77) {
		t.Fatalf("conversation %+v", v)
	}
	// The peer's TID must stay the same within the transaction.
	conv.OrigTID = NewTID(78)
	conv.Components[0].InvokeID = 3
	raw, _ = conv.AppendTo(nil)
	if v := tx.Receive(peerSSP, &m, m.Decode(raw)); v.Action != SendAbort || v.Cause != IncorrectTransactionPortion {
		t.Fatalf("changed TID %+v", v)
	}
	resp := Message{Type: Response, RespTID: id.TID(), Components: []Component{{Type: ReturnResultLast, HasCorrelationID: true, CorrelationID: 1}}}
	raw, _ = resp.AppendTo(nil)
	if v := tx.Receive(peerSSP, &m, m.Decode(raw)); v.Action != Deliver || !v.Ended || tx.Len() != 0 {
		t.Fatalf("response %+v len %d", v, tx.Len())
	}
}

func TestTimeouts(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{Timeout: 3 * time.Second, Tick: 100 * time.Millisecond, Shards: 4})
	open := func(tid uint32) DialogueID {
		m := Message{Type: QueryWithPermission, OrigTID: NewTID(tid), HasComponents: true}
		raw, _ := m.AppendTo(nil)
		var d Message
		v := tx.Receive(peerSSP, &d, d.Decode(raw))
		if v.Action != Deliver {
			t.Fatalf("open %+v", v)
		}
		return v.Dialogue
	}
	a, b := open(1), open(2)
	tx.SetUserData(a, "A")
	c.add(2 * time.Second)
	if n := tx.Sweep(nil); n != 0 {
		t.Fatalf("expired %d early", n)
	}
	// Activity on b re-arms it.
	conv := Message{Type: ConversationWithPerm, Components: []Component{{Type: InvokeLast, HasInvokeID: true, InvokeID: 9, Op: PrivateOp(0x6601)}}}
	if err := tx.Send(b, &conv); err != nil {
		t.Fatal(err)
	}
	c.add(1200 * time.Millisecond)
	var got []Expired
	if n := tx.Sweep(func(e Expired) { got = append(got, e) }); n != 1 || got[0].Dialogue != a || got[0].UserData != "A" || got[0].PeerTID != NewTID(1) {
		t.Fatalf("expired %v", got)
	}
	if _, ok := tx.UserData(a); ok {
		t.Error("expired dialogue still has user data")
	}
	c.add(2 * time.Second)
	if n := tx.Sweep(nil); n != 1 || tx.Len() != 0 {
		t.Fatalf("b not expired: %d, len %d", n, tx.Len())
	}
	// A timeout longer than one wheel revolution (512 ticks) and a sweep
	// after a long pause.
	tx = newTable(c, Config{Timeout: time.Minute, Tick: 10 * time.Millisecond})
	x := open(3)
	for i := 0; i < 59; i++ {
		c.add(time.Second)
		if tx.Sweep(nil) != 0 {
			t.Fatalf("expired after %d s", i+1)
		}
	}
	c.add(2 * time.Second)
	if tx.Sweep(nil) != 1 || tx.End(x) {
		t.Fatal("long timeout not expired")
	}
	open(4)
	c.add(10 * time.Minute)
	if tx.Sweep(nil) != 1 {
		t.Fatal("not expired after a long pause")
	}
}

func TestTableFull(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{MaxDialogues: 1, Shards: 1})
	m, _ := decode(t, "e208c70400000001e800")
	if v := tx.Receive(peerSSP, m, nil); v.Action != Deliver {
		t.Fatal(v)
	}
	m2, _ := decode(t, "e208c70400000002e800")
	v := tx.Receive(peerSSP, m2, nil)
	if v.Action != SendAbort || v.Cause != ResourceUnavailable || !v.Ended {
		t.Fatalf("%+v", v)
	}
	out, _ := tx.AppendReply(nil, &v)
	if hex.EncodeToString(out) != "f609c70400000002d70106" {
		t.Fatalf("%x", out)
	}
	if _, err := tx.Begin(1); err == nil {
		t.Error("Begin on a full table")
	}
}

func TestConcurrent(t *testing.T) {
	tx := NewTransactions(Config{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var m Message
			buf := make([]byte, 0, 64)
			for i := 0; i < 2000; i++ {
				q := Message{Type: QueryWithPermission, OrigTID: NewTID(uint32(g<<16 | i)), Components: []Component{{Type: InvokeLast, HasInvokeID: true, InvokeID: 1, Op: PrivateOp(0x6405)}}}
				buf, _ = q.AppendTo(buf[:0])
				v := tx.Receive(PeerKey(g), &m, m.Decode(buf))
				if v.Action != Deliver {
					t.Errorf("%+v", v)
					return
				}
				r := Message{Type: Response}
				if err := tx.Send(v.Dialogue, &r); err != nil {
					t.Error(err)
					return
				}
				if i%500 == 0 {
					tx.Sweep(nil)
				}
			}
		}(g)
	}
	wg.Wait()
	if tx.Len() != 0 {
		t.Fatalf("Len %d", tx.Len())
	}
}

// A peer using 2-octet TIDs gets a 2-octet TID from us, so that the
// Conversation's TID field splits into equal halves.
func TestShortTIDs(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{})
	m, err := decode(t, "e306c7020102e800")
	v := tx.Receive(peerSSP, m, err)
	if v.Action != Deliver || v.OurTID.Len() != 2 || v.PeerTID.String() != "0102" {
		t.Fatalf("%+v", v)
	}
	conv := Message{Type: ConversationWithoutPerm, HasComponents: true}
	if err := tx.Send(v.Dialogue, &conv); err != nil {
		t.Fatal(err)
	}
	raw, err := conv.AppendTo(nil)
	if err != nil || raw[2] != 0xc7 || raw[3] != 4 || conv.OrigTID != v.OurTID {
		t.Fatalf("conversation %x %v", raw, err)
	}
	in := Message{Type: ConversationWithPerm, OrigTID: v.PeerTID, RespTID: v.OurTID, HasComponents: true}
	raw, _ = in.AppendTo(nil)
	var d Message
	if v2 := tx.Receive(peerSSP, &d, d.Decode(raw)); v2.Action != Deliver || v2.Dialogue != v.Dialogue {
		t.Fatalf("short conversation %+v", v2)
	}
	// The same number in 4 octets is not our TID.
	in.OrigTID, in.RespTID = NewTID(0x102), NewTID(v.OurTID.Uint32())
	raw, _ = in.AppendTo(nil)
	if v3 := tx.Receive(peerSSP, &d, d.Decode(raw)); v3.Action != SendAbort || v3.Cause != UnassignedRespondingTID {
		t.Fatalf("long form of a short TID %+v", v3)
	}
	// 1-octet TIDs with 16 shards leave 15 values per shard; beyond, the
	// query is refused rather than given an unusable TID.
	refused := 0
	for i := 0; i < 300; i++ {
		q := Message{Type: QueryWithoutPermission, OrigTID: tidOf(uint32(i), 1), HasComponents: true}
		raw, _ := q.AppendTo(nil)
		if v := tx.Receive(PeerKey(i), &d, d.Decode(raw)); v.Action == SendAbort && v.Cause == ResourceUnavailable {
			refused++
		} else if v.OurTID.Len() != 1 {
			t.Fatalf("1-octet peer got %v", v.OurTID)
		}
	}
	if refused == 0 || refused == 300 {
		t.Fatalf("refused %d of 300 one-octet queries", refused)
	}
}

// TestBeginSpreadsOverShards: dialogues we begin within one clock tick go
// to every shard, not all to one. The shard was chosen by hashing the tick,
// so each shard's table in turn grew to the whole concurrency: a load
// generator's garbage for its first seconds.
func TestBeginSpreadsOverShards(t *testing.T) {
	tx := NewTransactions(Config{Shards: 16})
	used := map[uint32]int{}
	for range 64 {
		id, err := tx.Begin(1)
		if err != nil {
			t.Fatal(err)
		}
		used[uint32(id)&tx.mask]++
	}
	if len(used) != 16 {
		t.Errorf("64 dialogues begun in one tick went to %d of 16 shards: %v", len(used), used)
	}
}

// TestOneShardTIDsNotReused: with one shard the TID counter has all 32
// bits; its wrap test compared against 1<<32 in 32 bits (0), so the
// counter went back to 1 on every dialogue and a released TID was given
// again at once: a late package for the old dialogue would hit the new one.
func TestOneShardTIDsNotReused(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{Shards: 1})
	seen := map[DialogueID]bool{}
	for i := range 100 {
		q := Message{Type: QueryWithPermission, OrigTID: NewTID(uint32(i + 1))}
		v := tx.Receive(peerSSP, &q, nil)
		if v.Action != Deliver || seen[v.Dialogue] {
			t.Fatalf("query %d: %+v (TID given before: %v)", i, v, seen[v.Dialogue])
		}
		seen[v.Dialogue] = true
		if err := tx.Send(v.Dialogue, &Message{Type: Response}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTIDCounterWrap: when the counter wraps, TIDs of dialogues still open
// are skipped, and the counter never yields 0.
func TestTIDCounterWrap(t *testing.T) {
	for _, shards := range []int{1, 16} {
		tx := NewTransactions(Config{Shards: shards})
		var early []DialogueID
		for range 3 * shards {
			id, err := tx.Begin(1)
			if err != nil {
				t.Fatal(err)
			}
			early = append(early, id)
		}
		for i := range tx.shards {
			tx.shards[i].next = uint32(uint64(1)<<(32-tx.bits) - 2)
		}
		open := map[DialogueID]bool{}
		for _, id := range early {
			open[id] = true
		}
		for range 8 * shards {
			id, err := tx.Begin(1)
			if err != nil {
				t.Fatal(err)
			}
			if open[id] || uint32(id)>>tx.bits == 0 {
				t.Fatalf("%d shards: TID %08x after the wrap is open or has a zero counter", shards, uint32(id))
			}
			open[id] = true
		}
		for id := range open {
			if !tx.End(id) {
				t.Fatalf("%d shards: dialogue %08x lost", shards, uint32(id))
			}
		}
		if tx.Len() != 0 {
			t.Fatalf("%d shards: Len %d after ending all", shards, tx.Len())
		}
	}
}

// TestShortTIDBesideLongOnes: a 1-octet TID whose position in the TID table
// a long TID holds is still given (kept aside) and found; every 1-octet TID
// of the shard can be open at once, beside the long ones.
func TestShortTIDBesideLongOnes(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{Shards: 1})
	// Long TIDs above 255, so that the numbers of all 1-octet TIDs are
	// free, but their positions partly taken.
	tx.shards[0].next = 1000
	var long []DialogueID
	for range 200 {
		id, err := tx.Begin(1)
		if err != nil {
			t.Fatal(err)
		}
		long = append(long, id)
	}
	short := map[DialogueID]TID{}
	for i := range 300 {
		q := Message{Type: QueryWithoutPermission, OrigTID: tidOf(uint32(i), 1)}
		v := tx.Receive(PeerKey(i), &q, nil)
		if i >= 255 {
			if v.Action != SendAbort || v.Cause != ResourceUnavailable {
				t.Fatalf("query %d beyond the 255 one-octet TIDs: %+v", i, v)
			}
			continue
		}
		if v.Action != Deliver || v.OurTID.Len() != 1 {
			t.Fatalf("query %d: %+v", i, v)
		}
		short[v.Dialogue] = v.OurTID
	}
	if len(tx.shards[0].overflow) == 0 {
		t.Fatal("no short TID met a position a long one holds: the test does not test")
	}
	for id, tid := range short {
		a := Message{Type: Abort, RespTID: tid, AbortCause: ResourceUnavailable}
		if v := tx.Receive(1, &a, nil); v.Action != Deliver || v.Dialogue != id || !v.Ended {
			t.Fatalf("abort for short TID %v: %+v", tid, v)
		}
	}
	for _, id := range long {
		if !tx.End(id) {
			t.Fatalf("long dialogue %08x lost", uint32(id))
		}
	}
	if s := &tx.shards[0]; tx.Len() != 0 || s.placed != 0 || len(s.overflow) != 0 || s.npeers != 0 {
		t.Fatalf("left behind: Len %d placed %d overflow %d peers %d", tx.Len(), s.placed, len(s.overflow), s.npeers)
	}
}

// An Abort a peer addresses with its own TID finds a dialogue we began
// whatever shard Begin put it in (Begin picks shards in turn, not by the
// peer's TID, which it learns only from the peer's first answer).
func TestPeerAbortWithOwnTIDOnDialogueWeBegan(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	tx := newTable(c, Config{Shards: 16})
	const n = 64
	ids := make([]DialogueID, n)
	for i := range ids {
		id, err := tx.Begin(peerSSP)
		if err != nil {
			t.Fatal(err)
		}
		q := Message{Type: QueryWithPermission, Components: []Component{{Type: InvokeLast, HasInvokeID: true, InvokeID: 1, Op: PrivateOp(0x6405), ParamTag: ParamSet}}}
		if err := tx.Send(id, &q); err != nil {
			t.Fatal(err)
		}
		// The peer answers with a conversation: we learn its TID.
		conv := Message{Type: ConversationWithPerm, OrigTID: NewTID(uint32(0x5000 + i)), RespTID: id.TID()}
		raw, _ := conv.AppendTo(nil)
		var cm Message
		if v := tx.Receive(peerSSP, &cm, cm.Decode(raw)); v.Action != Deliver || v.Dialogue != id {
			t.Fatalf("conversation %d: %+v", i, v)
		}
		ids[i] = id
	}
	for i, id := range ids {
		a := Message{Type: Abort, RespTID: NewTID(uint32(0x5000 + i)), AbortCause: ResourceUnavailable}
		raw, _ := a.AppendTo(nil)
		var am Message
		if v := tx.Receive(peerSSP, &am, am.Decode(raw)); v.Action != Deliver || !v.Ended || v.Dialogue != id {
			t.Errorf("abort with the peer's TID %#x, dialogue %d: %+v", 0x5000+i, i, v)
		}
	}
	if tx.Len() != 0 {
		t.Errorf("%d dialogues left open", tx.Len())
	}
}
