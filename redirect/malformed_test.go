package redirect

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/internal/selfsigned"
)

// TestMalformedUDP: every malformed request that can be answered gets a 400
// (or 505) with a reason phrase, whether sipgo would have dropped it
// (prescan) or parsed it with a refused header (lenient parser).
func TestMalformedUDP(t *testing.T) { eachMode(t, testMalformedUDP) }

func testMalformedUDP(t *testing.T, mode testMode) {
	s := startServer(t, mode.config(), newFakeDecider())
	c := newUDPClient(t, s)
	good := func() string { return req{}.String() }
	replace := func(old, new string) string {
		m := good()
		if !strings.Contains(m, old) {
			t.Fatalf("test bug: %q not in request", old)
		}
		return strings.Replace(m, old, new, 1)
	}
	cases := []struct {
		name   string
		msg    string
		code   int
		reason string
	}{
		{"missing Call-ID", req{drop: []string{"Call-ID"}}.String(), 400, "Missing Call-ID Header"},
		{"missing From", req{drop: []string{"From"}}.String(), 400, "Missing From Header"},
		{"missing To", req{drop: []string{"To"}}.String(), 400, "Missing To Header"},
		{"missing CSeq", req{drop: []string{"CSeq"}}.String(), 400, "Missing CSeq Header"},
		{"malformed From", req{from: "<sip:+12125550199@sbc.example;tag=1"}.String(), 400, "Malformed From Header"},
		{"malformed To", req{to: "\"unterminated <sip:x@y>"}.String(), 400, "Malformed To Header"},
		{"malformed Max-Forwards", req{maxFwd: "seventy"}.String(), 400, "Malformed Max-Forwards Header"},
		{"malformed CSeq", req{cseq: "one INVITE"}.String(), 400, "Malformed CSeq Header"},
		{"CSeq method mismatch", req{cseq: "1 OPTIONS"}.String(), 400, "CSeq Method Does Not Match Request"},
		{"malformed Via", req{via: "SIP/2.0/UDP"}.String(), 400, "Malformed Via Header"},
		{"bad Request-URI", replace("INVITE sip:+13035550100@callgate.example;user=phone SIP/2.0", "INVITE sip:[::1 SIP/2.0"), 400, "Malformed Request-URI"},
		{"broken request line", replace("INVITE sip:+13035550100@callgate.example;user=phone SIP/2.0", "INVITE  sip:+13035550100@callgate.example SIP/2.0"), 400, "Malformed Request-Line"},
		{"header without colon", replace("Max-Forwards: 70", "Max-Forwards 70"), 400, "Malformed Header Line"},
		{"bare LF", replace("Max-Forwards: 70\r\n", "Max-Forwards: 70\r"), 400, "Missing CRLF"},
		{"Content-Length too big", replace("Content-Length: 0", "Content-Length: 500"), 400, "Content-Length Exceeds Message"},
		{"no end of headers", strings.TrimSuffix(good(), "\r\n"), 400, "Missing End Of Headers"},
		{"SIP/3.0", replace("user=phone SIP/2.0", "user=phone SIP/3.0"), 505, "Version Not Supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh socket per case: 4xx to an INVITE is retransmitted
			// until ACKed, and must not be mistaken for the next answer.
			c := newUDPClient(t, s)
			res := c.exchange(tc.msg)
			if res.StatusCode != tc.code || res.Reason != tc.reason {
				t.Fatalf("got %d %q, want %d %q\nsent:\n%s\ngot:\n%s", res.StatusCode, res.Reason, tc.code, tc.reason, tc.msg, res)
			}
			if res.CallID() == nil && !strings.Contains(tc.name, "Call-ID") {
				t.Errorf("400 without the request's Call-ID:\n%s", res)
			}
			if to := res.To(); to != nil && !to.Params.Has("tag") {
				t.Errorf("400 without a To tag:\n%s", res)
			}
		})
	}
	// Garbage and stray responses get nothing (nothing to answer to).
	c = newUDPClient(t, s)
	for _, junk := range []string{"hello", "\x00\x01\x02garbage\r\n", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\n\r\n"} {
		c.send(junk)
		if res := c.read(300 * time.Millisecond); res != nil {
			t.Errorf("answered %q with %d", junk, res.StatusCode)
		}
	}
	if s.Stats().Malformed < uint64(len(cases)) {
		t.Errorf("malformed count %d", s.Stats().Malformed)
	}
}

// TestTLSHandshakeFailureCounted: a TLS client that does not trust the
// server's certificate is counted (Stats.TLSFailures,
// callgate_sip_tls_handshake_failures_total); one that does is not.
func TestTLSHandshakeFailureCounted(t *testing.T) {
	cfg := testConfig()
	cfg.TLS = "127.0.0.1:0"
	cfg.TLSConfig = selfSigned(t)
	s := startServer(t, cfg, newFakeDecider())
	if _, err := tls.Dial("tcp", s.Addr("tls").String(), &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1"}); err == nil {
		t.Fatal("a client that trusts nobody completed its handshake")
	}
	ok, err := tls.Dial("tcp", s.Addr("tls").String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ok.Close()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().TLSFailures != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("TLS failures %d, want 1", s.Stats().TLSFailures)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTLSClientCertificates: with TLSClientCAFile (mutual TLS) a client
// that presents a certificate from the authority is answered, and one
// that presents none is counted and not answered.
func TestTLSClientCertificates(t *testing.T) {
	c, err := selfsigned.New("127.0.0.1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, _, err := c.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.TLS, cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSClientCAFile = "127.0.0.1:0", certFile, keyFile, certFile
	s := startServer(t, cfg, newFakeDecider())
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.CertPEM)
	// options sends an OPTIONS and returns the answer's status line.
	options := func(client *tls.Config) (string, error) {
		conn, err := tls.Dial("tcp", s.Addr("tls").String(), client)
		if err != nil {
			return "", err
		}
		defer conn.Close()
		r := req{method: "OPTIONS", via: "SIP/2.0/TLS 127.0.0.1:5099;branch=z9hG4bK-mtls"}
		if _, err := conn.Write([]byte(r.String())); err != nil {
			return "", err
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		return bufio.NewReader(conn).ReadString('\n')
	}
	if line, err := options(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{c.TLS}}); err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("a client with a trusted certificate: %q %v", line, err)
	}
	if line, err := options(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}); err == nil {
		t.Fatalf("a client without a certificate was answered %q", line)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().TLSFailures != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("TLS failures %d, want 1", s.Stats().TLSFailures)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTCPAndTLS: the same answers over the stream transports.
func TestTCPAndTLS(t *testing.T) {
	cfg := testConfig()
	cfg.TLS = "127.0.0.1:0"
	cfg.TLSConfig = selfSigned(t)
	s := startServer(t, cfg, newFakeDecider())

	tcp, err := net.Dial("tcp", s.Addr("tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	tl, err := tls.Dial("tcp", s.Addr("tls").String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()

	for name, conn := range map[string]net.Conn{"TCP": tcp, "TLS": tl} {
		tp := name
		rd := bufio.NewReader(conn)
		exchange := func(r req) *sip.Response {
			t.Helper()
			r.via = "SIP/2.0/" + tp + " 127.0.0.1:5099;branch=z9hG4bK-" + tp + itoa(seq+1)
			if _, err := conn.Write([]byte(r.String())); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			return readStreamResponse(t, rd)
		}
		if res := exchange(req{from: "<sip:+12125550101@x>;tag=1"}); res.StatusCode != 302 {
			t.Errorf("%s VIP: %d", name, res.StatusCode)
		}
		if res := exchange(req{from: "<sip:+12125550102@x>;tag=1"}); res.StatusCode != 603 {
			t.Errorf("%s blocked: %d", name, res.StatusCode)
		}
		if res := exchange(req{method: "OPTIONS"}); res.StatusCode != 200 {
			t.Errorf("%s OPTIONS: %d", name, res.StatusCode)
		}
		if res := exchange(req{from: "<sip:broken"}); res.StatusCode != 400 || res.Reason != "Malformed From Header" {
			t.Errorf("%s malformed From: %d %s", name, res.StatusCode, res.Reason)
		}
		// CANCEL after the final response over a reliable transport: the
		// transaction is gone (no retransmissions to absorb): 481.
		if res := exchange(req{method: "CANCEL", cseq: "1 CANCEL"}); res.StatusCode != 481 {
			t.Errorf("%s CANCEL: %d", name, res.StatusCode)
		}
	}
}

func readStreamResponse(t *testing.T, rd *bufio.Reader) *sip.Response {
	t.Helper()
	var b strings.Builder
	cl := 0
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("reading response: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if strings.HasPrefix(strings.ToLower(line), "content-length:") {
			cl = atoiTest(strings.TrimSpace(line[15:]))
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, cl)
	if _, err := rd.Read(body); cl > 0 && err != nil {
		t.Fatal(err)
	}
	m, err := sip.ParseMessage([]byte(b.String() + string(body)))
	if err != nil {
		t.Fatalf("parse %q: %v", b.String(), err)
	}
	return m.(*sip.Response)
}

func atoiTest(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	c, err := selfsigned.New("127.0.0.1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{c.TLS}, MinVersion: tls.VersionTLS12}
}
