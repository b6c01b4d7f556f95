package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"callgate/sigtran/pcap"
)

var demoCapture = filepath.Join("..", "..", "testdata", "sip", "demo_redirect.pcapng")

// echoServer answers each INVITE of the demo capture with the final answer
// the capture has for its Call-ID (its Via replaced by the INVITE's), or
// with 486 Busy Here for the Call-IDs in busy; silent, it answers nothing.
func echoServer(t *testing.T, silent bool, busy map[string]bool) string {
	t.Helper()
	ds, err := pcap.ReadSIPFile(demoCapture)
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]string{}
	for _, d := range ds {
		if msg := string(d.Payload); strings.HasPrefix(msg, "SIP/2.0 ") && !strings.HasPrefix(msg, "SIP/2.0 1") {
			answers[header(msg, "Call-ID")] = msg
		}
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			req := string(buf[:n])
			if silent || !strings.HasPrefix(req, "INVITE ") {
				continue
			}
			id := header(req, "Call-ID")
			ans := answers[id]
			if busy[id] {
				ans = strings.Replace(ans, strings.SplitN(ans, "\r\n", 2)[0], "SIP/2.0 486 Busy Here", 1)
			}
			conn.WriteToUDP([]byte(withVia(ans, header(req, "Via"))), from)
		}
	}()
	return conn.LocalAddr().String()
}

// header is the value of msg's first header name.
func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// withVia replaces the Via headers of msg by via.
func withVia(msg, via string) string {
	lines := strings.Split(msg, "\r\n")
	out, done := lines[:1], false
	for _, l := range lines[1:] {
		if k, _, ok := strings.Cut(l, ":"); ok && (strings.EqualFold(k, "Via") || k == "v") {
			if !done {
				out, done = append(out, "Via: "+via), true
			}
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\r\n")
}

// replay exits as diff(1) does: 0 every live answer as captured, 1 some
// differ, 2 trouble (TestReplayErrors: an unreadable capture, one without
// INVITEs; TestUsageErrors). A CI job replaying traces tells a server that
// answers differently (1) from one it could not reach (2).
func TestReplayExitStatus(t *testing.T) {
	ds, err := pcap.ReadSIPFile(demoCapture)
	if err != nil {
		t.Fatal(err)
	}
	first := header(string(ds[0].Payload), "Call-ID")
	// A port nobody listens on: the host answers ICMP port unreachable.
	closed, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.LocalAddr().String()
	closed.Close()

	for _, tc := range []struct {
		name   string
		server string
		code   int
		out    string
		err    string
	}{
		{"every answer as captured", echoServer(t, false, nil), 0, "4 INVITEs replayed, 4 answered as in the capture, 0 differ", ""},
		{"one answer differs", echoServer(t, false, map[string]bool{first: true}), 1, "4 INVITEs replayed, 3 answered as in the capture, 1 differ", ""},
		{"no INVITE answered at all", echoServer(t, true, nil), 2, "4 INVITEs replayed", "no INVITE got a live answer"},
		{"port unreachable", refused, 2, "1 INVITEs replayed", "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, nil, "replay", demoCapture, "--server", tc.server, "--timeout", "300ms")
			if r.code != tc.code || !strings.Contains(r.out, tc.out) || !strings.Contains(r.err, tc.err) {
				t.Fatalf("exit %d, stderr %q; want %d, %q and %q on stdout:\n%s", r.code, r.err, tc.code, tc.err, tc.out, r.out)
			}
		})
	}
}
