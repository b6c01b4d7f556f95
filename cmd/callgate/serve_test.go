package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"callgate/daemon"
	"callgate/e164"
	"callgate/internal/config"
	"callgate/internal/demo"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/redirect"
	"callgate/sigtran/pcap"
	"callgate/simulators/ssp"
	"callgate/store"
)

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func invite(called, calling string, cseq int) string {
	return "INVITE sip:" + called + "@127.0.0.1;user=phone SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-test-" + fmt.Sprint(cseq) + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"To: <sip:" + called + "@127.0.0.1;user=phone>\r\n" +
		"From: <sip:" + calling + "@127.0.0.1;user=phone>;tag=t" + fmt.Sprint(cseq) + "\r\n" +
		"Call-ID: serve-test-" + fmt.Sprint(cseq) + "@127.0.0.1\r\n" +
		fmt.Sprintf("CSeq: %d INVITE\r\n", cseq) +
		"Contact: <sip:caller@127.0.0.1:5999>\r\n" +
		"Content-Length: 0\r\n\r\n"
}

// sipAsk sends an INVITE and returns the status line of its response,
// skipping retransmitted responses to earlier INVITEs (never ACKed here).
func sipAsk(t *testing.T, conn net.Conn, called, calling string, cseq int) string {
	t.Helper()
	if _, err := conn.Write([]byte(invite(called, calling, cseq))); err != nil {
		t.Fatal(err)
	}
	callID := fmt.Sprintf("serve-test-%d@", cseq)
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no SIP response to INVITE %d: %v", cseq, err)
		}
		if msg := string(buf[:n]); strings.Contains(msg, callID) {
			return strings.SplitN(msg, "\r\n", 2)[0]
		}
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServe runs the daemon in-process on free loopback ports over the demo
// store: SIP INVITEs are answered and logged, /metrics, /healthz, /readyz
// and the CLI's daemon fallback work, and a cancelled context (what SIGTERM
// does) flushes the decision log and closes the store so it reopens.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	c := &cli{t: t, dir: dir}
	c.ok("demo")

	cfgFile := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfgFile, []byte(`
admin: {listen: "127.0.0.1:0"}
shutdown_timeout: 5s
decision_log: {flush_interval: 1h, no_sync: true}   # only shutdown (or a search) flushes
sip: {udp: "127.0.0.1:0", tcp: ""}
b2bua: {udp: "127.0.0.1:0", tcp: "", rtp_port_min: 0, rtp_port_max: 0}
scp: {listen: ["127.0.0.1:0"]}
`), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	ready := make(chan *daemon.Daemon, 1)
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: logs, ctx: ctx, pinCost: bcrypt.MinCost,
		serveHook: func(d *daemon.Daemon) { ready <- d }}
	done := make(chan int, 1)
	go func() { done <- e.run([]string{"serve", "--config", cfgFile, "--data", dir}) }()

	var srv *daemon.Daemon
	select {
	case srv = <-ready:
	case code := <-done:
		t.Fatalf("serve exited %d before ready:\n%s", code, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("serve not ready:\n%s", logs)
	}
	admin := "http://" + srv.AdminAddr()
	if !strings.Contains(logs.String(), "callgate serving") || !strings.Contains(logs.String(), "subscribers=3") {
		t.Errorf("no start-up summary:\n%s", logs)
	}

	// Two INVITEs over UDP: a blocked caller (603) and a VIP (302).
	var sipAddr net.Addr
	for _, tr := range srv.Tiers() {
		if st, ok := tr.(*redirect.Server); ok {
			sipAddr = st.Addr("udp")
		}
	}
	if sipAddr == nil {
		t.Fatal("no SIP tier")
	}
	conn, err := net.Dial("udp", sipAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i, tc := range []struct{ calling, status string }{{demo.Telemarket, "SIP/2.0 603"}, {demo.Mom, "SIP/2.0 302"}} {
		if got := sipAsk(t, conn, demo.AliceNumber, tc.calling, i+1); !strings.HasPrefix(got, tc.status) {
			t.Errorf("INVITE from %s: got %q, want %s", tc.calling, got, tc.status)
		}
	}

	// One AIN Termination_Attempt, as a switch sends it, through the SCP tier.
	var scpAddr string
	for _, tr := range srv.Tiers() {
		if st, ok := tr.(interface{ Addr() string }); ok && tr.Name() == "scp" {
			scpAddr = st.Addr()
		}
	}
	if scpAddr == "" {
		t.Fatal("no SCP tier")
	}
	// The association and its query happen under a live capture
	// (callgate capture), which the daemon takes and the CLI writes.
	capCfg := filepath.Join(dir, "capture.yaml")
	os.WriteFile(capCfg, []byte(fmt.Sprintf("admin: {listen: %q}\n", srv.AdminAddr())), 0o600)
	capPath := filepath.Join(dir, "scp.pcap")
	capDone := make(chan result, 1)
	go func() { capDone <- c.run("capture", "--seconds", "2", "--output", capPath, "--config", capCfg) }()
	time.Sleep(300 * time.Millisecond)
	sw, err := ssp.Dial(ctx, ssp.Config{Connect: []string{scpAddr}, RoutingContexts: []uint32{10}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := sw.TerminationAttempt(ctx, ssp.TA{Calling: e164.MustParse(demo.Telemarket), Called: e164.MustParse(demo.AliceNumber)})
	sw.Close()
	if err != nil || ans.Operation != "disconnect" {
		t.Errorf("AIN query for a blocked caller: %v %v, want disconnect", ans.Operation, err)
	}
	if r := <-capDone; r.code != 0 || !strings.Contains(r.err, "Wrote ") {
		t.Errorf("capture: exit %d\n%s", r.code, r.err)
	}
	if msgs, err := pcap.ReadFile(capPath); err != nil || len(msgs) < 4 || msgs[0].Payload[2] != 3 || msgs[0].Payload[3] != 1 {
		t.Errorf("capture file: %d messages, %v; want ASP Up first, then the rest", len(msgs), err)
	} else {
		data := 0
		for _, m := range msgs {
			if m.Payload[2] == 1 && m.Payload[3] == 1 {
				data++
			}
		}
		if data != 2 {
			t.Errorf("capture file: %d DATA messages, want the query and its answer", data)
		}
	}

	if code, body := httpGet(t, admin+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, _ := httpGet(t, admin+"/readyz"); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	code, metrics := httpGet(t, admin+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`callgate_decisions_total{action="block",tier="sip"} 1`,
		`callgate_decisions_total{action="allow",tier="sip"} 1`,
		`callgate_decide_duration_seconds_count{tier="sip"} 2`,
		`callgate_decisions_total{action="block",tier="ain"} 1`,
		`callgate_scp_queries_total{answer="disconnect",operation="terminationAttempt"} 1`,
		`callgate_decision_log_recorded_total 3`,
		`callgate_store_subscribers 3`,
		`callgate_store_list_entries 4`,
		`callgate_sip_responses_total{kind="decline"} 1`,
		`callgate_ready 1`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// While the daemon holds the store, decide and log search go through it.
	cliCfg := filepath.Join(dir, "cli.yaml")
	os.WriteFile(cliCfg, []byte(fmt.Sprintf("admin: {listen: %q}\nstore: {lock_timeout: 50ms}\n", srv.AdminAddr())), 0o600)
	var res decideResult
	jsonOf(t, c.ok("decide", "--calling", demo.Telemarket, "--called", demo.BobNumber, "--config", cliCfg, "--json"), &res)
	if res.Source != "daemon" || res.Decision.Action != policy.ActionBlockWithAnnouncement || res.Subscriber != demo.Bob {
		t.Errorf("decide via daemon: %+v", res)
	}
	out := c.ok("log", "search", "--number", demo.AliceNumber, "--since", "1h", "--config", cliCfg)
	if strings.Count(out, "\n") != 3 || !strings.Contains(out, "ain 244-1-10 "+demo.Telemarket+" -> "+demo.AliceNumber) || !strings.Contains(out, demo.Telemarket+" -> "+demo.AliceNumber) || !strings.Contains(out, ": block") {
		t.Errorf("log search via daemon:\n%s", out)
	}
	// Changes go through the daemon too, and take effect on the next call
	// without a restart.
	if got := sipAsk(t, conn, demo.CarolNumber, demo.Stranger, 20); strings.HasPrefix(got, "SIP/2.0 6") {
		t.Fatalf("INVITE to carol from a stranger before the block: %q", got)
	}
	c.ok("list", "add", "--owner", demo.Carol, "--list", "blocked", demo.Stranger, "--config", cliCfg)
	if got := sipAsk(t, conn, demo.CarolNumber, demo.Stranger, 21); !strings.HasPrefix(got, "SIP/2.0 6") {
		t.Errorf("INVITE to carol from a stranger she just blocked live: %q, want 6xx", got)
	}
	c.ok("list", "remove", "--owner", demo.Carol, "--list", "blocked", demo.Stranger, "--config", cliCfg)
	// import FILE travels as standard input; its bad rows are named by the
	// caller's file and line.
	csvPath := filepath.Join(dir, "rows.csv")
	os.WriteFile(csvPath, []byte("owner,list,number\n"+demo.Carol+",vip,"+demo.Mom+"\n"+demo.Carol+",vip,not-a-number\n"), 0o600)
	r := c.fails(1, "rows.csv:3", "import", csvPath, "--config", cliCfg)
	if !strings.Contains(r.out, "1 imported") {
		t.Errorf("import via daemon:\n%s", r.out)
	}
	if out := c.ok("list", "show", "--owner", demo.Carol, "--list", "vip", "--config", cliCfg); !strings.Contains(out, demo.Mom) {
		t.Errorf("carol's vip list after the import via daemon:\n%s", out)
	}
	// pin set reads the PIN here and sends it as standard input.
	c.stdin = "97531\n"
	c.ok("pin", "set", demo.Carol, "--config", cliCfg)
	c.stdin = ""
	c.ok("provider", "defaults", demo.Provider, "--unknown", "screen", "--config", cliCfg)
	// export --output: the daemon streams, the caller writes the file.
	expPath := filepath.Join(dir, "carol.csv")
	c.ok("export", "--owner", demo.Carol, "--output", expPath, "--config", cliCfg)
	if b, err := os.ReadFile(expPath); err != nil || !strings.Contains(string(b), demo.CarolNumber+",vip,"+demo.Mom) {
		t.Errorf("export --output via daemon: %q, %v", b, err)
	}
	out = c.ok("list", "show", "--owner", demo.AliceNumber, "--config", cliCfg)
	if !strings.Contains(out, "vip list of "+demo.AliceNumber+": 1 number(s)") || !strings.Contains(out, demo.Mom) {
		t.Errorf("list show via daemon:\n%s", out)
	}
	if exp := c.ok("export", "--config", cliCfg); !strings.Contains(exp, demo.AliceNumber+",blocked,"+demo.Telemarket) {
		t.Errorf("export via daemon:\n%s", exp)
	}
	// Errors of commands run through the daemon come back with their exit status.
	c.fails(1, "not found", "subscriber", "show", "nobody", "--config", cliCfg)
	c.fails(2, "presentation", "decide", "--called", demo.AliceNumber, "--presentation", "x", "--config", cliCfg)
	// A daemon serving another store does not answer for it, even when
	// the command's configuration names this daemon's socket.
	other := t.TempDir()
	(&cli{t: t, dir: other}).ok("demo")
	otherCfg := filepath.Join(other, "cli.yaml")
	os.WriteFile(otherCfg, []byte(fmt.Sprintf("api: {socket: %q}\n", filepath.Join(dir, config.SocketFile))), 0o600)
	c2 := &cli{t: t, dir: other}
	c2.fails(1, "this daemon serves "+filepath.Join(dir, config.StoreFile)+", not "+filepath.Join(other, config.StoreFile), "list", "show", "--owner", demo.Alice, "--config", otherCfg)
	// The admin listener runs no commands any more (issue 12: the CLI
	// goes through the management API).
	if resp, err := http.Post(admin+"/debug/cli", "application/json", strings.NewReader(`{"args":["list","show"]}`)); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /debug/cli: status %d, want it gone", resp.StatusCode)
	}

	// One more decision that only the shutdown flush can write (the flush
	// interval is an hour and nothing searches after it).
	if got := sipAsk(t, conn, demo.BobNumber, demo.Stranger, 9); !strings.HasPrefix(got, "SIP/2.0 302") {
		t.Errorf("INVITE to bob from a stranger: %q, want 302 to the B2BUA", got)
	}

	cancel() // what SIGTERM does
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit %d:\n%s", code, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not stop:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "stopped cleanly") {
		t.Errorf("no clean-stop log:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(dir, config.SocketFile)); !os.IsNotExist(err) {
		t.Errorf("the API's socket is left after a clean stop: %v", err)
	}

	st, err := store.Open(filepath.Join(dir, config.StoreFile), store.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("store does not reopen after shutdown: %v", err)
	}
	if _, err := st.GetSubscriber(store.Operator, demo.Alice); err != nil {
		t.Error(err)
	}
	st.Close()
	l, err := decisionlog.OpenReadOnly(filepath.Join(dir, config.DecisionLogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	recs, err := l.Search(decisionlog.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 || recs[0].Called.String() != demo.BobNumber || recs[0].Action != policy.ActionVoicemail {
		t.Errorf("decision log after shutdown: %d records, newest %v", len(recs), recs)
	}
	b, _ := json.Marshal(recs[0])
	if !strings.Contains(string(b), `"rule":"unknown"`) {
		t.Errorf("record lacks its trace: %s", b)
	}
}

// A tier that cannot start (its port is taken) stops the daemon with a
// clear error, and the store is closed again.
func TestServeFailsCleanlyWhenAPortIsBusy(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfgFile := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf("admin: {listen: '127.0.0.1:0'}\nsip: {udp: %q, tcp: ''}\nb2bua: {udp: '127.0.0.1:0', tcp: '', rtp_port_min: 0, rtp_port_max: 0}\n", busy.LocalAddr())), 0o600)
	c := &cli{t: t, dir: dir}
	c.fails(1, "start sip tier", "serve", "--config", cfgFile)
	st, err := store.Open(filepath.Join(dir, config.StoreFile), store.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("store left locked after a failed start: %v", err)
	}
	st.Close()
}
