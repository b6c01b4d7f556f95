package e2e

import (
	"encoding/binary"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"callgate/internal/baresiptest"
	"callgate/simulators/sip"
)

// kamailio runs a carrier's proxy in front of the redirect server
// (testdata/kamailio/proxy.cfg): it follows every 3xx to its Contact.
// kamailio is a required test peer (scripts/test-deps.sh). It returns the
// proxy's address and a reader of its log.
func kamailio(t *testing.T, redirect string) (string, func() string) {
	t.Helper()
	bin, err := exec.LookPath("kamailio")
	if err != nil {
		t.Fatalf("kamailio not found (apt-get install kamailio): %v", err)
	}
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.LocalAddr().String()
	l.Close()
	run := t.TempDir()
	cmd := exec.Command(bin, "-f", filepath.Join("..", "..", "testdata", "kamailio", "proxy.cfg"),
		"-A", "LISTEN=udp:"+addr, "-A", `REDIRECT="sip:`+redirect+`"`,
		"-DD", "-E", "-Y", run, "-w", run, "-m", "64", "-M", "8")
	logFile := filepath.Join(run, "kamailio.log")
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	// kamailio forks its UDP and timer workers: in a process group of its
	// own, one signal ends them all (killing the main process alone left
	// the workers running after the test).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := func() string { b, _ := os.ReadFile(logFile); return string(b) }
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kamailio: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("kamailio output:\n%s", out())
		}
	})
	baresiptest.Wait(t, "kamailio listening", func() bool {
		select {
		case <-exited:
			t.Fatalf("kamailio exited:\n%s", out())
		default:
		}
		return strings.Contains(out(), "SO_RCVBUF is finally")
	})
	return addr, out
}

// Calls from a softphone (baresip) through a carrier's proxy (Kamailio)
// that follows the redirect server's 302s, as a SIP network in front of
// callgate would: neither peer is callgate's code or its libraries.
func TestThroughAProxy(t *testing.T) {
	p := startPlatform(t)
	proxy, proxyLog := kamailio(t, p.sipAddr)

	t.Run("unknown caller keys the PIN", func(t *testing.T) {
		phone := p.answer(t, "pin", sip.AnswerConfig{RingFor: 500 * time.Millisecond})
		// The caller talks with the caller's probe tone, which the
		// subscriber's phone listens for.
		var talk []byte
		for i := range 8000 * 60 {
			v := int16(8000 * math.Sin(2*math.Pi*sip.DefaultCallerToneHz*float64(i)/8000))
			talk = binary.LittleEndian.AppendUint16(talk, uint16(v))
		}
		c := baresiptest.Start(t, "caller", baresiptest.Config{AOR: "sip:" + caller(21) + "@127.0.0.1", Codecs: []string{"opus", "g711"}, Talk: talk})
		c.Command("dial", "sip:"+number("pin")+"@"+proxy)
		c.WaitEvent("CALL_ESTABLISHED")
		// The B2BUA answered and asks for the PIN: keyed while it plays.
		baresiptest.Wait(t, "the PIN prompt", func() bool { return baresiptest.Loud(c.Heard()) >= 10 })
		for _, d := range subPIN + "#" {
			c.Key(d)
		}
		baresiptest.Wait(t, "the subscriber's probe tone at the caller", func() bool {
			return baresiptest.ToneFrames(c.Heard(), sip.DefaultCalleeToneHz) >= 10
		})
		c.Command("hangup", "")
		got := next(t, phone)
		if !got.Probe.Heard {
			t.Errorf("the subscriber's phone did not hear the caller\n%s", got)
		}
		if want := "following 302 to sip:screen@" + p.b2buaAddr + ";cgt="; !strings.Contains(proxyLog(), want) {
			t.Errorf("the proxy did not follow a 302 to the B2BUA's screening URI (%s...):\n%s", want, proxyLog())
		}
	})

	t.Run("blocked caller", func(t *testing.T) {
		c := baresiptest.Start(t, "telemarketer", baresiptest.Config{AOR: "sip:" + telemarket + "@127.0.0.1", Codecs: []string{"g711"}})
		c.Command("dial", "sip:"+number("vip")+"@"+proxy)
		closed := c.WaitEvent("CALL_CLOSED")
		if param, _ := closed["param"].(string); !strings.HasPrefix(param, "603") {
			t.Errorf("the blocked caller's call ended with %q, want 603", param)
		}
	})
}
