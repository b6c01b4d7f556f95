package redirect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/token"
	"callgate/store"
)

// Numbers of the test table (the fake engine's "store").
var (
	subscriber   = e164.MustParse("+13035550100") // screens unknown callers
	subscriber2  = e164.MustParse("+13035550200") // provider with its own route
	nonSub       = e164.MustParse("+13035550999")
	vipCaller    = e164.MustParse("+12125550101")
	blockedCall  = e164.MustParse("+12125550102")
	announceCall = e164.MustParse("+12125550103")
	unknownCall  = e164.MustParse("+12125550199")
	challengeCl  = e164.MustParse("+12125550104")
	vmCaller     = e164.MustParse("+12125550105")
)

var testKey = token.Key{ID: 3, Secret: bytes.Repeat([]byte("k"), 32)}

// fakeDecider maps (calling, called) to decisions like a tiny engine:
// a table of exact pairs, then per-called defaults (unknown, anonymous),
// then Allow for non-subscribers. It records every call it saw.
type fakeDecider struct {
	mu    sync.Mutex
	pairs map[[2]e164.Number]policy.Decision
	subs  map[e164.Number]fakeSub
	calls []policy.Call
	// block, when set, is waited on before answering (slow engine).
	block chan struct{}
}

type fakeSub struct {
	unknown, anonymous policy.Decision
}

func newFakeDecider() *fakeDecider {
	d := &fakeDecider{pairs: map[[2]e164.Number]policy.Decision{}, subs: map[e164.Number]fakeSub{}}
	route := store.Route{Name: "default", SIPURI: ""}
	screen := policy.Decision{Action: policy.ActionScreen, Subscriber: 11, PINAllowed: true, Voicemail: "sip:vm-11@vm.example", Route: route}
	d.subs[subscriber] = fakeSub{unknown: screen, anonymous: policy.Decision{Action: policy.ActionVoicemail, Subscriber: 11, Announcement: 9, Voicemail: "sip:vm-11@vm.example", Route: route}}
	d.pairs[[2]e164.Number{vipCaller, subscriber}] = policy.Decision{Action: policy.ActionAllow, Subscriber: 11, Route: route}
	d.pairs[[2]e164.Number{blockedCall, subscriber}] = policy.Decision{Action: policy.ActionBlock, Subscriber: 11, Route: route}
	d.pairs[[2]e164.Number{announceCall, subscriber}] = policy.Decision{Action: policy.ActionBlockWithAnnouncement, Subscriber: 11, Announcement: 5, Route: route}
	d.pairs[[2]e164.Number{challengeCl, subscriber}] = policy.Decision{Action: policy.ActionChallenge, Subscriber: 11, Route: route}
	d.pairs[[2]e164.Number{vmCaller, subscriber}] = policy.Decision{Action: policy.ActionVoicemail, Subscriber: 11, Announcement: 4, Voicemail: "sip:vm-11@vm.example", Route: route}
	// Subscriber 2 belongs to a provider whose route has its own gateway
	// (RouteOverrides) and its own B2BUA (Route.SIPURI).
	r2 := store.Route{Name: "acme", SIPURI: "sip:screen-{called}@b2bua.acme.example;transport=tcp"}
	d.subs[subscriber2] = fakeSub{unknown: policy.Decision{Action: policy.ActionScreen, Subscriber: 12, Route: r2}, anonymous: policy.Decision{Action: policy.ActionBlock, Subscriber: 12, Route: r2}}
	d.pairs[[2]e164.Number{vipCaller, subscriber2}] = policy.Decision{Action: policy.ActionAllow, Subscriber: 12, Route: r2}
	return d
}

func (d *fakeDecider) Decide(ctx context.Context, c policy.Call) policy.Decision {
	d.mu.Lock()
	d.calls = append(d.calls, c)
	block := d.block
	d.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
		}
	}
	if dec, ok := d.pairs[[2]e164.Number{c.Calling, c.Called}]; ok {
		return dec
	}
	if s, ok := d.subs[c.Called]; ok {
		if c.Anonymous() {
			return s.anonymous
		}
		return s.unknown
	}
	return policy.Decision{Action: policy.ActionAllow}
}

func (d *fakeDecider) reset() {
	d.mu.Lock()
	d.calls = d.calls[:0]
	d.mu.Unlock()
}

func (d *fakeDecider) lastCall() policy.Call {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.calls) == 0 {
		return policy.Call{}
	}
	return d.calls[len(d.calls)-1]
}

func testConfig() Config {
	return Config{
		UDP:            "127.0.0.1:0",
		TCP:            "127.0.0.1:0",
		ContinueRoute:  "sip:{called}@gw.carrier.example;user=phone",
		RouteOverrides: map[string]string{"acme": "sip:{called}@gw.acme.example;user=phone"},
		ScreeningURI:   "sip:screen@b2bua.example",
		TokenKeys:      []token.Key{testKey},
		TokenKeyID:     testKey.ID,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// startServer builds and serves a server on loopback until the test ends.
func startServer(t testing.TB, cfg Config, d policy.Decider, opts ...Option) *Server {
	t.Helper()
	s, err := New(cfg, d, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
	})
	return s
}

// udpClient is a raw SIP-over-UDP client for exact control of what is sent.
type udpClient struct {
	t    testing.TB
	conn *net.UDPConn
	srv  *net.UDPAddr
}

func newUDPClient(t testing.TB, s *Server) *udpClient {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpClient{t: t, conn: c, srv: s.Addr("udp").(*net.UDPAddr)}
}

func (c *udpClient) port() int { return c.conn.LocalAddr().(*net.UDPAddr).Port }

func (c *udpClient) send(msg string) {
	c.t.Helper()
	if _, err := c.conn.WriteToUDP([]byte(msg), c.srv); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next response, or nil after wait.
func (c *udpClient) read(wait time.Duration) *sip.Response {
	c.t.Helper()
	return readResponse(c.t, c.conn, wait)
}

func readResponse(t testing.TB, conn *net.UDPConn, wait time.Duration) *sip.Response {
	t.Helper()
	buf := make([]byte, 65536)
	conn.SetReadDeadline(time.Now().Add(wait))
	n, _, err := conn.ReadFromUDP(buf)
	if err != nil {
		return nil
	}
	// Lenient: a 400 copies the request's malformed header verbatim.
	m, err := newLenientParser().ParseSIP(buf[:n])
	if err != nil {
		t.Fatalf("unparseable response %q: %v", buf[:n], err)
	}
	res, ok := m.(*sip.Response)
	if !ok {
		t.Fatalf("got a request, want a response: %q", buf[:n])
	}
	return res
}

// exchange sends msg and returns the first response (failing after 2 s).
func (c *udpClient) exchange(msg string) *sip.Response {
	c.t.Helper()
	c.send(msg)
	res := c.read(2 * time.Second)
	if res == nil {
		c.t.Fatalf("no response to:\n%s", msg)
	}
	return res
}

// req describes a test request; zero fields get usable defaults.
type req struct {
	method, ruri, from, to, callID, cseq, via string
	maxFwd                                    string
	extra                                     []string
	drop                                      []string // header names to leave out
}

var seq int

func (r req) String() string {
	seq++
	if r.method == "" {
		r.method = "INVITE"
	}
	if r.ruri == "" {
		r.ruri = "sip:+13035550100@callgate.example;user=phone"
	}
	if r.from == "" {
		r.from = "<sip:+12125550199@sbc.example;user=phone>;tag=f" + fmt.Sprint(seq)
	}
	if r.to == "" {
		r.to = "<" + r.ruri + ">"
	}
	if r.callID == "" {
		r.callID = fmt.Sprintf("call-%d@test", seq)
	}
	if r.cseq == "" {
		m := r.method
		r.cseq = "1 " + m
	}
	if r.via == "" {
		r.via = fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-t%d;rport", seq)
	}
	if r.maxFwd == "" {
		r.maxFwd = "70"
	}
	hs := []string{"Via: " + r.via, "Max-Forwards: " + r.maxFwd, "From: " + r.from, "To: " + r.to,
		"Call-ID: " + r.callID, "CSeq: " + r.cseq, "Contact: <sip:caller@127.0.0.1:5099>"}
	hs = append(hs, r.extra...)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", r.method, r.ruri)
next:
	for _, h := range hs {
		for _, d := range r.drop {
			if strings.HasPrefix(h, d+":") {
				continue next
			}
		}
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

func header(res *sip.Response, name string) string {
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// contactURI returns the URI of the response's Contact.
func contactURI(t testing.TB, res *sip.Response) sip.Uri {
	t.Helper()
	c := res.Contact()
	if c == nil {
		t.Fatalf("%d response without Contact:\n%s", res.StatusCode, res)
	}
	return c.Address
}

type tokenKey = token.Key

// testMode is one way of serving UDP; the server tests run in both.
type testMode struct {
	name     string
	stateful bool
}

var testModes = []testMode{{"stateless", false}, {"stateful", true}}

// config is testConfig for this mode.
func (m testMode) config() Config {
	c := testConfig()
	c.Stateful = m.stateful
	return c
}

// eachMode runs f as a subtest per mode.
func eachMode(t *testing.T, f func(*testing.T, testMode)) {
	for _, m := range testModes {
		t.Run(m.name, func(t *testing.T) { f(t, m) })
	}
}

func statefulConfig() Config {
	c := testConfig()
	c.Stateful = true
	return c
}
