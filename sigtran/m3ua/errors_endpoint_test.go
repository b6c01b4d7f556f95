package m3ua

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/internal/sctptest"
	"callgate/sigtran/transport"
)

// rawPeer drives an endpoint by hand with the codec.
type rawPeer struct {
	t    *testing.T
	conn transport.Conn
	in   chan []byte
}

func dialRaw(t *testing.T, addr string) *rawPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, transport.Config{Network: "tcp", Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	return newRawPeer(t, c)
}

// newRawPeer wraps an established connection, reading what arrives into
// p.in until it closes (closed with the test).
func newRawPeer(t *testing.T, c transport.Conn) *rawPeer {
	p := &rawPeer{t: t, conn: c, in: make(chan []byte, 64)}
	t.Cleanup(func() { c.Close() })
	go func() {
		defer close(p.in)
		for {
			buf := make([]byte, 65536)
			n, _, err := c.ReadMsg(buf)
			if err != nil {
				return
			}
			p.in <- buf[:n]
		}
	}()
	return p
}

func (p *rawPeer) send(m Message) {
	p.t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendRaw(b)
}

func (p *rawPeer) sendRaw(b []byte) {
	p.t.Helper()
	if err := p.conn.WriteMsg(b, 0); err != nil {
		p.t.Fatal(err)
	}
}

// expect returns the next message that is not a BEAT or NTFY (which arrive
// asynchronously); BEATs are answered. It waits 3 s in all: BEATs keep
// coming and must not extend the wait.
func (p *rawPeer) expect() Message {
	p.t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case b, ok := <-p.in:
			if !ok {
				p.t.Fatal("association closed")
			}
			m, err := Decode(b)
			if err != nil {
				p.t.Fatalf("undecodable message from the endpoint %x: %v", b, err)
			}
			switch m := m.(type) {
			case *Beat:
				p.send((*BeatAck)(m))
				continue
			case *Notify:
				continue
			}
			return m
		case <-deadline:
			p.t.Fatal("no answer")
		}
	}
}

func (p *rawPeer) expectErr(code ErrorCode) *Err {
	p.t.Helper()
	m := p.expect()
	e, ok := m.(*Err)
	if !ok || e.Code != code {
		p.t.Fatalf("got %T %+v, want ERR %v", m, m, code)
	}
	return e
}

func TestSGAnswersBadInputWithERR(t *testing.T) {
	got := make(chan received, 4)
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}, NetworkAppearance: u32(7), Handler: collector(got)}))
	sg.SetAvailable(sspPC, true)
	sg.SetAvailable(0xf40300, false)
	p := dialRaw(t, sg.Addr())

	data := &Data{RoutingContext: 10, HasRoutingContext: true, ProtocolData: ProtocolData{SI: 3, Data: []byte("q")}}
	wire, _ := data.MarshalBinary()

	// DATA before ASP Up / ASP Active: Unexpected Message, offending
	// message returned as diagnostic.
	p.send(data)
	if e := p.expectErr(CodeUnexpectedMessage); string(e.Diagnostic) != string(wire) {
		t.Fatalf("diagnostic %x", e.Diagnostic)
	}
	// ASP Active while ASP-DOWN.
	p.send(&ASPActive{RoutingContexts: []uint32{10}})
	p.expectErr(CodeUnexpectedMessage)
	// Unsupported class (5 = IUA range) and type.
	p.sendRaw([]byte{1, 0, 5, 1, 0, 0, 0, 8})
	p.expectErr(CodeUnsupportedMessageClass)
	p.sendRaw([]byte{1, 0, 9, 1, 0, 0, 0, 8}) // RKM
	p.expectErr(CodeUnsupportedMessageClass)
	p.sendRaw([]byte{1, 0, 3, 9, 0, 0, 0, 8})
	p.expectErr(CodeUnsupportedMessageType)
	// Unexpected parameter (Status in ASP Up), parameter field error.
	p.sendRaw([]byte{1, 0, 3, 1, 0, 0, 0, 16, 0, 0x0d, 0, 8, 0, 1, 0, 3})
	p.expectErr(CodeUnexpectedParameter)
	p.sendRaw([]byte{1, 0, 3, 1, 0, 0, 0, 16, 0, 0x11, 0, 6, 0, 1, 0, 0})
	p.expectErr(CodeParameterFieldError)
	// An ASP-only message sent to the SG.
	p.send(&ASPUpAck{})
	p.expectErr(CodeUnexpectedMessage)

	// BEAT is answered in any state, data echoed.
	p.send(&Beat{Data: []byte("ping-1")})
	if m, ok := p.expect().(*BeatAck); !ok || string(m.Data) != "ping-1" {
		t.Fatalf("BEAT answered with %+v", m)
	}

	p.send(&ASPUp{ASPIdentifier: 9, HasASPIdentifier: true})
	if _, ok := p.expect().(*ASPUpAck); !ok {
		t.Fatal("no ASP Up Ack")
	}
	// Unknown RC in ASP Active, unsupported traffic mode.
	p.send(&ASPActive{RoutingContexts: []uint32{99}})
	if e := p.expectErr(CodeInvalidRoutingContext); len(e.RoutingContexts) != 1 || e.RoutingContexts[0] != 99 {
		t.Fatalf("ERR RC %v", e.RoutingContexts)
	}
	p.send(&ASPActive{TrafficMode: TrafficModeOverride, RoutingContexts: []uint32{10}})
	p.expectErr(CodeUnsupportedTrafficMode)
	// DATA while inactive.
	p.send(data)
	p.expectErr(CodeUnexpectedMessage)

	p.send(&ASPActive{TrafficMode: TrafficModeLoadshare, RoutingContexts: []uint32{10}})
	if m, ok := p.expect().(*ASPActiveAck); !ok || m.TrafficMode != TrafficModeLoadshare || len(m.RoutingContexts) != 1 {
		t.Fatalf("ASP Active answered with %+v", m)
	}
	// The newly active ASP is told what the SG knows against a
	// destination (audit.go), with the available one beside it.
	reported := map[uint32]string{}
	for range 2 {
		switch m := p.expect().(type) {
		case *DUNA:
			reported[m.AffectedPCs[0].PC] = "DUNA"
		case *DAVA:
			reported[m.AffectedPCs[0].PC] = "DAVA"
		default:
			t.Fatalf("after ASP Active Ack: %T %+v", m, m)
		}
	}
	if reported[0xf40300] != "DUNA" || reported[sspPC] != "DAVA" {
		t.Fatalf("destinations reported on activation: %v", reported)
	}
	// DATA with an unknown RC, a wrong NA, then a good one.
	bad := *data
	bad.RoutingContext = 99
	p.send(&bad)
	if e := p.expectErr(CodeInvalidRoutingContext); len(e.RoutingContexts) != 1 || e.RoutingContexts[0] != 99 {
		t.Fatalf("ERR RC %v", e.RoutingContexts)
	}
	badNA := *data
	badNA.NetworkAppearance, badNA.HasNetworkAppearance = 8, true
	p.send(&badNA)
	p.expectErr(CodeInvalidNetworkAppearance)
	p.send(data)
	if r := recvData(t, got); string(r.pd.Data) != "q" || r.rc != 10 {
		t.Fatalf("%+v", r)
	}

	// DAUD: known available, known unavailable, unknown.
	p.send(&DAUD{RoutingContexts: []uint32{10}, AffectedPCs: []AffectedPC{{PC: sspPC}, {PC: 0xf40300}, {PC: 0x010101}}})
	if m, ok := p.expect().(*DAVA); !ok || m.AffectedPCs[0].PC != sspPC {
		t.Fatalf("DAUD 1: %+v", m)
	}
	if m, ok := p.expect().(*DUNA); !ok || m.AffectedPCs[0].PC != 0xf40300 {
		t.Fatalf("DAUD 2: %+v", m)
	}
	if e := p.expectErr(CodeDestinationStatusUnknown); len(e.AffectedPCs) != 1 || e.AffectedPCs[0].PC != 0x010101 {
		t.Fatalf("DAUD 3: %+v", e)
	}

	// An ERR from the peer is never answered with an ERR; a bad ERR
	// neither.
	p.send(&Err{Code: CodeProtocolError})
	p.sendRaw([]byte{1, 0, 0, 0, 0, 0, 0, 8}) // ERR without Error Code
	p.send(&ASPInactive{RoutingContexts: []uint32{10}})
	if _, ok := p.expect().(*ASPInactiveAck); !ok {
		t.Fatal("no ASP Inactive Ack (or an ERR answered an ERR)")
	}
	p.send(&ASPDown{})
	if _, ok := p.expect().(*ASPDownAck); !ok {
		t.Fatal("no ASP Down Ack")
	}
	st := sg.Stats()
	if st.ErrorsIn != 1 || st.ErrorsOut < 14 || st.DecodeErrors < 6 {
		t.Fatalf("stats %+v", st)
	}
}

func TestASPRejectsSGOnlyMessages(t *testing.T) {
	ln, err := transport.Listen(transport.Config{Network: "tcp", Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan transport.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			conns <- c
		}
	}()
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{ln.Addr().String()}, RoutingContexts: []uint32{10}}))
	var c transport.Conn
	select {
	case c = <-conns:
	case <-time.After(3 * time.Second):
		t.Fatal("ASP did not dial")
	}
	p := &rawPeer{t: t, conn: c, in: make(chan []byte, 64)}
	t.Cleanup(func() { c.Close() })
	go func() {
		defer close(p.in)
		for {
			buf := make([]byte, 65536)
			n, _, err := c.ReadMsg(buf)
			if err != nil {
				return
			}
			p.in <- buf[:n]
		}
	}()
	if m, ok := p.expect().(*ASPUp); !ok {
		t.Fatalf("first message %+v", m)
	}
	p.send(&ASPUpAck{})
	if m, ok := p.expect().(*ASPActive); !ok || m.TrafficMode != TrafficModeLoadshare || m.RoutingContexts[0] != 10 {
		t.Fatalf("then %+v", m)
	}
	// The ASP is not active yet: DATA is unexpected.
	p.send(&Data{ProtocolData: ProtocolData{SI: 3}})
	p.expectErr(CodeUnexpectedMessage)
	p.send(&ASPActiveAck{TrafficMode: TrafficModeLoadshare, RoutingContexts: []uint32{10}})
	waitActive(t, asp, 1)
	p.send(&ASPUp{})
	p.expectErr(CodeUnexpectedMessage)
	p.send(&DAUD{AffectedPCs: []AffectedPC{{PC: 1}}})
	p.expectErr(CodeUnexpectedMessage)
	// SCON and DUPU are recorded.
	p.send(&SCON{AffectedPCs: []AffectedPC{{PC: sspPC}}, CongestionLevel: 2, HasCongestionLevel: true})
	p.send(&DUPU{AffectedPCs: []AffectedPC{{PC: sspPC}}, UserCause: UserCause{Cause: 2, User: 3}})
	waitFor(t, "SCON and DUPU", 2*time.Second, func() bool {
		s, _ := asp.Destination(sspPC)
		return s.Congestion == 2 && len(s.UnavailableUsers) == 1 && s.UnavailableUsers[0] == 3 && s.Available
	})
	// Override take-over by another ASP: this one becomes standby.
	p.send(&Notify{Status: Status{StatusTypeOther, StatusAlternateASPActive}})
	waitFor(t, "standby", 2*time.Second, func() bool { return asp.ActiveCount() == 0 })
}

// logLines is a slog handler that keeps the messages logged at WARN and
// above, for tests that check an event is logged.
type logLines struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logLines) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }

func (l *logLines) find(sub string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.Contains(m, sub) {
			return m
		}
	}
	return ""
}

func TestSGFramingErrorGetsERRThenClose(t *testing.T) {
	logs := &logLines{}
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", Logger: slog.New(logs)}))
	for _, c := range []struct {
		hdr  []byte
		code ErrorCode
	}{
		{[]byte{1, 0, 3, 1, 0, 0, 0, 4}, CodeProtocolError},
		{[]byte{2, 0, 3, 1, 0, 0, 0, 4}, CodeInvalidVersion},
		{[]byte{1, 0, 3, 1, 0x7f, 0, 0, 0}, CodeProtocolError},
		// Over the 64 KiB limit by one octet.
		{[]byte{1, 0, 3, 1, 0, 1, 0, 1}, CodeProtocolError},
	} {
		p := dialRaw(t, sg.Addr())
		p.sendRaw(c.hdr)
		if e := p.expectErr(c.code); string(e.Diagnostic) != string(c.hdr) {
			t.Fatalf("diagnostic %x", e.Diagnostic)
		}
		select {
		case _, ok := <-p.in:
			if ok {
				t.Fatal("association stayed up after a framing error")
			}
		case <-time.After(3 * time.Second):
			t.Fatal("association not closed")
		}
	}
	line := logs.find("length=65537")
	if !strings.Contains(line, "over the size limit") || !strings.Contains(line, "max=65536") || !strings.Contains(line, "closed") {
		t.Fatalf("oversize message logged as %q", line)
	}
	if st := sg.Stats(); st.TooLong != 2 { // 65537 and 0x7f000000 octets
		t.Fatalf("TooLong %d, want 2", st.TooLong)
	}
}

// TestWrongVersionGetsERRAndKeepsAssociation: RFC 4666 §3.8.1 answers a
// message of an unsupported version with ERR Invalid Version; nothing in
// the RFC closes the association for it (the length still frames the TCP
// stream), so the peer can go on.
func TestWrongVersionGetsERRAndKeepsAssociation(t *testing.T) {
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0"}))
	p := dialRaw(t, sg.Addr())
	v2 := []byte{2, 0, 3, 1, 0, 0, 0, 12, 0xde, 0xad, 0xbe, 0xef}
	up, _ := (&ASPUp{}).MarshalBinary()
	p.sendRaw(append(v2, up...)) // one write: the next message follows at once
	if e := p.expectErr(CodeInvalidVersion); string(e.Diagnostic) != string(v2) {
		t.Fatalf("diagnostic %x, want the offending message %x", e.Diagnostic, v2)
	}
	if m, ok := p.expect().(*ASPUpAck); !ok {
		t.Fatalf("after the ERR: %T %+v, want ASP Up Ack on the same association", m, m)
	}
	p.sendRaw(v2)
	p.expectErr(CodeInvalidVersion)
	p.send(&ASPActive{})
	if _, ok := p.expect().(*ASPActiveAck); !ok {
		t.Fatal("no ASP Active Ack after a second wrong-version message")
	}
	if st := sg.Stats(); st.Losses != 0 {
		t.Fatalf("%d associations lost", st.Losses)
	}
}

// TestSCTPOversizeGetsERRAndKeepsAssociation: over SCTP a message over
// MaxMessage is discarded whole (its boundaries are the transport's), so
// it is answered with ERR and the association goes on.
func TestSCTPOversizeGetsERRAndKeepsAssociation(t *testing.T) {
	sctptest.Need(t, transport.SCTPAvailable)
	logs := &logLines{}
	sg := start(t, fast(Config{Role: RoleSG, Network: "sctp", Listen: "127.0.0.1:0", MaxMessage: 4096, Logger: slog.New(logs)}))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, transport.Config{Network: "sctp", Address: sg.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	p := newRawPeer(t, c)
	big := make([]byte, 5000)
	copy(big, []byte{1, 0, 3, 1, 0, 0, 0x13, 0x88})
	p.sendRaw(big)
	if e := p.expectErr(CodeProtocolError); string(e.Diagnostic) != string(big[:8]) {
		t.Fatalf("diagnostic %x", e.Diagnostic)
	}
	p.send(&ASPUp{})
	if _, ok := p.expect().(*ASPUpAck); !ok {
		t.Fatal("no ASP Up Ack after the oversize message")
	}
	if line := logs.find("over the size limit"); !strings.Contains(line, "length=5000") || !strings.Contains(line, "kept") {
		t.Fatalf("oversize message logged as %q", line)
	}
}

func TestSGASPUpWhileActive(t *testing.T) {
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0"}))
	p := dialRaw(t, sg.Addr())
	p.send(&ASPUp{})
	if _, ok := p.expect().(*ASPUpAck); !ok {
		t.Fatal("no ASP Up Ack")
	}
	p.send(&ASPActive{})
	if _, ok := p.expect().(*ASPActiveAck); !ok {
		t.Fatal("no ASP Active Ack")
	}
	waitActive(t, sg, 1)
	p.send(&ASPUp{})
	if _, ok := p.expect().(*ASPUpAck); !ok {
		t.Fatal("no ASP Up Ack")
	}
	p.expectErr(CodeUnexpectedMessage)
	waitFor(t, "ASP inactive", 2*time.Second, func() bool { return sg.ActiveCount() == 0 })
}

// TestASPReturnsAfterUnsolicitedDownAck: an SG that takes the ASP down
// with an ASP Down Ack it did not ask for (management, an SG restarting
// its ASP state) but keeps the association gets the ASP back: RFC 4666
// §4.3.4.2 has the ASP return to its previous state, so ASP Up (after
// AckTimeout) and ASP Active follow on the same association.
func TestASPReturnsAfterUnsolicitedDownAck(t *testing.T) {
	srv := listenRaw(t)
	asp := start(t, fast(Config{Role: RoleASP, Connect: []string{srv.addr()}, RoutingContexts: []uint32{10}}))
	p := srv.accept()
	for range 2 { // the first activation, then the return
		expectRKM[*ASPUp](t, p)
		p.send(&ASPUpAck{})
		if act := expectRKM[*ASPActive](t, p); len(act.RoutingContexts) != 1 || act.RoutingContexts[0] != 10 {
			t.Fatalf("ASP Active %+v", act)
		}
		p.send(&ASPActiveAck{RoutingContexts: []uint32{10}})
		waitActive(t, asp, 1)
		p.send(&ASPDownAck{})
		waitFor(t, "ASP-DOWN", 2*time.Second, func() bool { return asp.ActiveCount() == 0 })
	}
	if n := asp.Stats().Connects; n != 1 {
		t.Errorf("%d associations, want the ASP back on the first", n)
	}
}

// ASP Inactive naming a routing context the SG does not serve is answered
// with ERR Invalid Routing Context (RFC 4666 §4.3.4.4, §3.8.1 code 0x19),
// not acknowledged, and the ASP stays active for the AS it does serve.
func TestSGRefusesASPInactiveForAnUnknownRC(t *testing.T) {
	got := make(chan received, 4)
	sg := start(t, fast(Config{Role: RoleSG, Listen: "127.0.0.1:0", RoutingContexts: []uint32{10}, Handler: collector(got)}))
	p := dialRaw(t, sg.Addr())
	p.send(&ASPUp{})
	if _, ok := p.expect().(*ASPUpAck); !ok {
		t.Fatal("no ASP Up Ack")
	}
	p.send(&ASPActive{RoutingContexts: []uint32{10}})
	if _, ok := p.expect().(*ASPActiveAck); !ok {
		t.Fatal("no ASP Active Ack")
	}
	p.send(&ASPInactive{RoutingContexts: []uint32{10, 99}})
	if e := p.expectErr(CodeInvalidRoutingContext); len(e.RoutingContexts) != 1 || e.RoutingContexts[0] != 99 {
		t.Fatalf("ERR names RCs %v, want [99]", e.RoutingContexts)
	}
	if sg.ActiveCount() != 1 || sg.ASState() != ASStateActive {
		t.Fatalf("after a refused ASP Inactive: %d active, AS %v", sg.ActiveCount(), sg.ASState())
	}
	p.send(&Data{RoutingContext: 10, HasRoutingContext: true, ProtocolData: ProtocolData{SI: 3, Data: []byte("q")}})
	if r := recvData(t, got); string(r.pd.Data) != "q" {
		t.Fatalf("%+v", r)
	}
	p.send(&ASPInactive{RoutingContexts: []uint32{10}})
	if _, ok := p.expect().(*ASPInactiveAck); !ok {
		t.Fatal("no ASP Inactive Ack for the RC served")
	}
}
