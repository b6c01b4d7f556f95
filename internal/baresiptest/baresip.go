// Package baresiptest runs baresip, a softphone with its own SIP stack, SDP
// offer/answer, RTP, jitter buffer and RFC 4733 sender, as a test peer of
// callgate's SIP tiers: one that owes nothing to diago or sipgo. It is
// Debian's baresip-core, installed by scripts/test-deps.sh; a test that
// needs it fails, never skips, when it is missing.
//
// A Phone is one baresip process with a configuration directory of its
// own, on loopback, driven over its ctrl_tcp interface (netstring JSON
// commands and call events). It talks from a WAV file (the aufile source)
// and the sndfile filter writes what it hears to a WAV file as the call
// goes; Heard returns those samples for the test to classify.
//
// baresip 1.0 (Debian 12) does not follow a 3xx, puts the Request-URI in
// To, and transfers blind (REFER, then BYE at once).
package baresiptest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config says what one phone is.
type Config struct {
	AOR        string   // the account, e.g. sip:+17195551212@127.0.0.1: its user is the phone's number
	Codecs     []string // codec (and video) modules, in offer order: g711, g722, opus, vp8, fakevideo
	Talk       []byte   // 8 kHz mono 16-bit PCM the phone sends, from the call's start
	AutoAnswer bool     // answer calls at once
	Params     string   // more account parameters, e.g. ";audio_codecs=PCMA/8000/1"
	Trace      bool     // print every SIP message to its output (baresip -s)
	// TLSCert is a PEM file with the phone's certificate and key: the
	// phone then also listens for SIP over TLS, on TLSPort (baresip's
	// SIP port + 1). TLSCA is a PEM file of the authorities it trusts
	// when it calls over TLS. SRTP is Params' mediaenc=srtp-mand (the
	// srtp module is always loaded).
	TLSCert, TLSCA string
}

// Phone is one running baresip.
type Phone struct {
	SIPPort int // its SIP port on 127.0.0.1 (UDP and TCP)
	TLSPort int // its SIP over TLS port (0 without Config.TLSCert)

	t        testing.TB
	dumpDir  string
	ctrl     net.Conn
	mu       sync.Mutex
	events   []map[string]any
	replies  chan map[string]any
	exited   chan struct{}
	out      lockedBuffer
	tokenSeq int
}

// Start runs a phone named name; it is stopped when the test ends, and a
// failed test logs its events and output.
func Start(t testing.TB, name string, c Config) *Phone {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatalf("baresip not found (apt-get install baresip-core): %v", err)
	}
	dir := filepath.Join(t.TempDir(), name)
	dump := filepath.Join(dir, "heard")
	if err := os.MkdirAll(dump, 0o755); err != nil {
		t.Fatal(err)
	}
	talk := filepath.Join(dir, "talk.wav")
	if err := os.WriteFile(talk, WAV(c.Talk), 0o644); err != nil {
		t.Fatal(err)
	}
	acct := "<" + c.AOR + ">;regint=0" + c.Params
	if c.AutoAnswer {
		acct += ";answermode=auto"
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(acct+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", dir}
	if c.Trace {
		args = append(args, "-s")
	}
	// The ports are free when chosen, but another test's connection may
	// take one before baresip binds it: then baresip exits, and it is
	// started again on others.
	for try := 1; ; try++ {
		p := &Phone{SIPPort: freeSIPPort(t, c.TLSCert != ""), t: t, dumpDir: dump, replies: make(chan map[string]any, 8), exited: make(chan struct{})}
		if c.TLSCert != "" {
			p.TLSPort = p.SIPPort + 1
		}
		ctrlPort := freeTCPPort(t)
		writeConfig(t, dir, name, talk, dump, &c, p.SIPPort, ctrlPort)
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &p.out, &p.out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting baresip: %v", err)
		}
		go func() { _ = cmd.Wait(); close(p.exited) }()
		switch err := p.connect(ctrlPort); {
		case err == nil:
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-p.exited
				if t.Failed() {
					p.mu.Lock()
					t.Logf("baresip %s events: %v", name, p.events)
					p.mu.Unlock()
					t.Logf("baresip %s output:\n%s", name, p.Output())
				}
			})
			go p.read()
			return p
		case try < 5 && strings.Contains(p.Output(), "Address already in use"):
			_ = cmd.Process.Kill()
			<-p.exited
		default:
			_ = cmd.Process.Kill()
			<-p.exited
			t.Fatalf("baresip %s: %v\n%s", name, err, p.Output())
		}
	}
}

// writeConfig writes baresip's configuration into dir.
func writeConfig(t testing.TB, dir, name, talk, dump string, c *Config, sipPort, ctrlPort int) {
	t.Helper()
	var conf strings.Builder
	fmt.Fprintf(&conf, "poll_method epoll\nsip_listen 127.0.0.1:%d\n", sipPort)
	if c.TLSCert != "" {
		fmt.Fprintf(&conf, "sip_certificate %s\n", c.TLSCert)
	}
	if c.TLSCA != "" {
		fmt.Fprintf(&conf, "sip_cafile %s\n", c.TLSCA)
	}
	// aubridge is a device that plays nowhere: what the phone hears is
	// taken by the sndfile filter before it. Alerts (a failed transfer's
	// tone) get a device of their own, or they would take the call's.
	fmt.Fprintf(&conf, "audio_player aubridge,%s\naudio_alert aubridge,%s-alert\naudio_source aufile,%s\n", name, name, talk)
	fmt.Fprintf(&conf, "module_path /usr/lib/baresip/modules\n")
	for _, m := range append(append([]string(nil), c.Codecs...), "aufile", "aubridge", "sndfile", "srtp") {
		fmt.Fprintf(&conf, "module %s.so\n", m)
	}
	fmt.Fprintf(&conf, "module_app account.so\nmodule_app menu.so\nmodule_app ctrl_tcp.so\n")
	fmt.Fprintf(&conf, "ctrl_tcp_listen 127.0.0.1:%d\nsnd_path %s\n", ctrlPort, dump)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// connect opens the control socket once baresip listens on it, or says
// why it never did.
func (p *Phone) connect(ctrlPort int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ctrlPort))
		if err == nil {
			p.ctrl = conn
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("exited at start")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("its control socket did not open: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Output is baresip's console without its call status line, which it
// redraws with a carriage return every 100 ms.
// SIPMessages are the SIP messages of the phone's trace (Config.Trace),
// in order, each from its transport line ("TLS 127.0.0.1:5061 ->
// 127.0.0.1:40000") to its body's end.
func (p *Phone) SIPMessages() []string {
	var msgs []string
	// baresip -s prints each message after a coloured "#" line and ends
	// it with the colour reset.
	for _, part := range strings.Split(p.out.String(), "#\n")[1:] {
		m, _, _ := strings.Cut(part, "\x1b[;m")
		if f := strings.Fields(m); len(f) >= 4 && f[2] == "->" {
			msgs = append(msgs, strings.ReplaceAll(m, "\r", ""))
		}
	}
	return msgs
}

func (p *Phone) Output() string {
	var keep []string
	for _, l := range strings.FieldsFunc(p.out.String(), func(r rune) bool { return r == '\r' || r == '\n' }) {
		if t := strings.TrimSpace(l); t != "" && !(strings.HasPrefix(t, "[") && strings.Contains(t, "audio=")) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// read takes ctrl_tcp's netstrings ("LEN:JSON,"): command replies and
// events.
func (p *Phone) read() {
	r := bufio.NewReader(p.ctrl)
	for {
		lenStr, err := r.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenStr, ":"))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		msg := make([]byte, n+1)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(msg[:n], &m) != nil {
			continue
		}
		if m["event"] == true {
			p.mu.Lock()
			p.events = append(p.events, m)
			p.mu.Unlock()
			continue
		}
		p.replies <- m
	}
}

// Command runs one ctrl_tcp command (dial, hangup, reinvite, transfer,
// sndcode, ...) and fails the test if baresip refuses it.
func (p *Phone) Command(name, params string) {
	p.t.Helper()
	p.tokenSeq++
	msg, _ := json.Marshal(map[string]string{"command": name, "params": params, "token": strconv.Itoa(p.tokenSeq)})
	if _, err := fmt.Fprintf(p.ctrl, "%d:%s,", len(msg), msg); err != nil {
		p.t.Fatalf("baresip %s: %v", name, err)
	}
	select {
	case m := <-p.replies:
		if m["ok"] != true {
			p.t.Fatalf("baresip %s %s: %v", name, params, m)
		}
	case <-time.After(10 * time.Second):
		p.t.Fatalf("baresip %s: no reply", name)
	}
}

// Key sends one DTMF digit on the current call (RFC 4733, as the phone's
// keypad would).
func (p *Phone) Key(d rune) { p.Command("sndcode", string(d)) }

// WaitEvent waits for a call event of that type (CALL_ESTABLISHED,
// CALL_CLOSED, ...) and returns it.
func (p *Phone) WaitEvent(typ string) map[string]any {
	p.t.Helper()
	var got map[string]any
	Wait(p.t, "baresip "+typ, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.events {
			if e["type"] == typ {
				got = e
				return true
			}
		}
		return false
	})
	return got
}

// Saw reports whether the phone has had a call event of that type.
func (p *Phone) Saw(typ string) bool { return p.Count(typ, "") > 0 }

// Count is how many call events of that type the phone has had, with that
// param ("" for any).
func (p *Phone) Count(typ, param string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.events {
		if e["type"] == typ && (param == "" || e["param"] == param) {
			n++
		}
	}
	return n
}

// Heard is the audio the phone has received so far, 8 kHz samples; it
// fails the test when the call's audio is not 8 kHz (not G.711).
func (p *Phone) Heard() []int16 {
	p.t.Helper()
	files, _ := filepath.Glob(filepath.Join(p.dumpDir, "*-dec.wav"))
	if len(files) == 0 {
		return nil
	}
	raw, err := os.ReadFile(files[0])
	if err != nil || len(raw) < 44 {
		return nil
	}
	if rate := binary.LittleEndian.Uint32(raw[24:]); rate != 8000 {
		p.t.Fatalf("baresip decoded at %d Hz: the call did not settle on G.711", rate)
	}
	pcm := raw[44:]
	s := make([]int16, len(pcm)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
	}
	return s
}

// Wait polls cond until it holds, failing the test after a minute (a
// deadlock guard, not a timing assertion).
func Wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WAV wraps 8 kHz mono 16-bit PCM in a WAV header.
func WAV(pcm []byte) []byte {
	b := make([]byte, 44, 44+len(pcm))
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+len(pcm)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(len(pcm)))
	return append(b, pcm...)
}

// freeSIPPort is a port free on both UDP and TCP: baresip's sip_listen
// binds both.
func freeSIPPort(t testing.TB, tls bool) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		u.Close()
		if err != nil {
			continue
		}
		l.Close()
		if !tls {
			return port
		}
		if port == 65535 {
			continue
		}
		if l, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+1)); err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no port free on both UDP and TCP (and the next on TCP, for TLS)")
	return 0
}

func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer is baresip's output, written by exec's copier while a
// failing test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// ToneFrames is how many 20 ms frames of samples (8 kHz) are a tone of hz:
// loud enough, and most of their energy at that frequency (Goertzel).
func ToneFrames(samples []int16, hz float64) int {
	n := 0
	coeff := 2 * math.Cos(2*math.Pi*hz/8000)
	for ; len(samples) >= 160; samples = samples[160:] {
		var energy, q1, q2 float64
		for _, x := range samples[:160] {
			energy += float64(x) * float64(x)
			q0 := coeff*q1 - q2 + float64(x)
			q2, q1 = q1, q0
		}
		power := q1*q1 + q2*q2 - coeff*q1*q2
		// A pure tone's Goertzel power is about energy*N/2.
		if energy/160 >= 200*200 && power >= 0.25*energy*160/2 {
			n++
		}
	}
	return n
}

// Loud is how many 20 ms frames of samples (8 kHz) are not silence.
func Loud(samples []int16) int {
	n := 0
	for ; len(samples) >= 160; samples = samples[160:] {
		var energy float64
		for _, x := range samples[:160] {
			energy += float64(x) * float64(x)
		}
		if energy/160 >= 200*200 {
			n++
		}
	}
	return n
}
