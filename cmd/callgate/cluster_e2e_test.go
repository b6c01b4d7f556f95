package main

// A mated pair on etcd, end to end: two callgate nodes, each a child
// process of this test binary running as the callgate CLI (`callgate serve`,
// see TestMain), so a kill -9 is real, on one three-member etcd started on
// loopback, serving the same switch: the SSP simulator load-shares its AIN
// queries over an association to each (M3UA, both SCPs on point code
// 244-2-20, routing context 10). Operator commands go to node A through
// its admin listener, as `callgate list add --config node-a.yaml` would.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"callgate/daemon"
	"callgate/e164"
	"callgate/simulators/ssp"
	"callgate/store/etcdkv/etcdtest"
)

// node is one callgate serve running as a child process.
type node struct {
	t              *testing.T
	name, dir, cfg string
	admin, scp     string // host:port
	cmd            *exec.Cmd
	done           chan struct{}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// newNode writes the node's configuration: its own data directory, admin
// listener and SCP listener; the store on etcd; peer's admin listener in
// cluster.peers.
func newNode(t *testing.T, name string) *node {
	n := &node{t: t, name: name, dir: t.TempDir(), admin: freePort(t), scp: freePort(t)}
	n.cfg = filepath.Join(n.dir, name+".yaml")
	return n
}

func (n *node) writeConfig(c *etcdtest.Cluster, peers ...*node) {
	var eps, ps []string
	for _, e := range c.Endpoints() {
		eps = append(eps, fmt.Sprintf("%q", e))
	}
	for _, p := range peers {
		ps = append(ps, fmt.Sprintf("%q", "http://"+p.admin))
	}
	yaml := fmt.Sprintf(`data_dir: %q
shutdown_timeout: 5s
admin: {listen: %q}
decision_log: {no_sync: true}
sip: {enabled: false}
b2bua: {enabled: false}
scp: {listen: [%q]}
store:
  backend: etcd
  etcd: {endpoints: [%s], stale_after: 1s, request_timeout: 2s}
cluster: {name: %s, peers: [%s]}
`, n.dir, n.admin, n.scp, strings.Join(eps, ", "), n.name, strings.Join(ps, ", "))
	if err := os.WriteFile(n.cfg, []byte(yaml), 0o600); err != nil {
		n.t.Fatal(err)
	}
}

// start runs `callgate serve --config` as a child process (this test
// binary as the CLI), killed when the test ends.
func (n *node) start() {
	n.t.Helper()
	logf, err := os.Create(filepath.Join(n.dir, "serve.log"))
	if err != nil {
		n.t.Fatal(err)
	}
	n.cmd = exec.Command(os.Args[0], "serve", "--config", n.cfg)
	n.cmd.Env = append(os.Environ(), "CALLGATE_TEST_AS_CLI=1")
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func() { n.cmd.Wait(); logf.Close(); close(n.done) }()
	n.t.Cleanup(func() { n.kill() })
}

// kill ends the node at once (SIGKILL): no drain, no goodbye to anyone.
func (n *node) kill() {
	if n.cmd != nil && n.cmd.Process != nil {
		n.cmd.Process.Kill()
		<-n.done
	}
}

func (n *node) logs() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "serve.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return fmt.Sprintf("--- %s's log ---\n%s", n.name, b)
}

// readyz returns /readyz's status and body (0 when nothing answers).
func (n *node) readyz() (int, string) {
	resp, err := http.Get("http://" + n.admin + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// waitReadyz waits until /readyz answers 200 with a body containing want.
func (n *node) waitReadyz(want string) {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := n.readyz()
		if code == 200 && strings.Contains(body, want) {
			return
		}
		select {
		case <-n.done:
			n.t.Fatalf("%s exited before /readyz said %q:\n%s", n.name, want, n.logs())
		default:
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s: /readyz %d %q, never 200 with %q\n%s", n.name, code, body, want, n.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// status is the node's GET /cluster/node.
func (n *node) status() daemon.NodeStatus {
	n.t.Helper()
	resp, err := http.Get("http://" + n.admin + "/cluster/node")
	if err != nil {
		n.t.Fatalf("%s: %v\n%s", n.name, err, n.logs())
	}
	defer resp.Body.Close()
	var s daemon.NodeStatus
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		n.t.Fatal(err)
	}
	return s
}

// waitRevision waits until the node's index has applied revision rev.
func (n *node) waitRevision(rev int64) {
	n.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for n.status().Revision < rev {
		if time.Now().After(deadline) {
			n.t.Fatalf("%s never applied revision %d (at %d)\n%s", n.name, rev, n.status().Revision, n.logs())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pair is a mated pair on one etcd, provisioned through node A: provider
// acme (unknown callers allowed) with subscriber dave on +13125550103.
type pair struct {
	c    *etcdtest.Cluster
	a, b *node
	cli  *cli
}

const (
	daveNumber = "+13125550103"
	caller     = "+17195551212" // the caller the tests block and unblock
)

func startPair(t *testing.T) *pair {
	t.Helper()
	p := &pair{c: etcdtest.Start(t, 3), cli: &cli{t: t}}
	p.a, p.b = newNode(t, "node-a"), newNode(t, "node-b")
	p.a.writeConfig(p.c, p.b)
	p.b.writeConfig(p.c, p.a)
	p.a.start()
	p.b.start()
	p.a.waitReadyz("store: ok")
	p.b.waitReadyz("store: ok")
	p.onA("provider", "create", "acme", "--unknown", "allow")
	p.onA("provider", "allocate", "acme", "+13125550100..+13125550199")
	p.onA("subscriber", "create", "dave", "--provider", "acme", "--number", daveNumber)
	p.b.waitRevision(p.a.status().Revision)
	return p
}

// onA runs an operator command through node A (its daemon runs it).
func (p *pair) onA(args ...string) string {
	p.cli.t.Helper()
	return p.cli.ok(append(args, "--config", p.a.cfg)...)
}

// dial connects the switch to the given nodes (one association each).
func dial(t *testing.T, nodes ...*node) *ssp.Client {
	t.Helper()
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.scp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := ssp.Dial(ctx, ssp.Config{Connect: addrs, RoutingContexts: []uint32{10}, Timeout: time.Second, ConnectTimeout: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Endpoint().WaitActive(ctx, len(nodes)); err != nil {
		t.Fatal(err)
	}
	return c
}

// ask sends one Termination_Attempt from calling to called and returns
// the answer's operation.
func ask(t *testing.T, c *ssp.Client, calling, called string) string {
	t.Helper()
	a, err := c.TerminationAttempt(context.Background(), ssp.TA{Calling: e164.MustParse(calling), Called: e164.MustParse(called)})
	if err != nil {
		t.Fatalf("Termination_Attempt %s -> %s: %v", calling, called, err)
	}
	return a.Operation
}

// The answers: a caller on dave's Blocked list is disconnected, any other
// rings (acme lets unknown callers through).
const (
	opBlocked = "disconnect"
	opAllowed = "authorizeTermination"
)

// load runs the switch's load at rate over the given nodes' SCPs: calls
// to acme's numbers (dave among them) from many callers.
func load(t *testing.T, c *ssp.Client, rate float64, d time.Duration) chan *ssp.Summary {
	t.Helper()
	called, err := ssp.ParseRange("+13125550100-+13125550199")
	if err != nil {
		t.Fatal(err)
	}
	calling, err := ssp.ParseRange("+1719555xxxx")
	if err != nil {
		t.Fatal(err)
	}
	sc := ssp.Scenario{Name: "acme", TA: ssp.TA{Calling: calling.First, Called: called.First}, Called: &called, Calling: &calling}
	out := make(chan *ssp.Summary, 1)
	go func() {
		s, err := c.Load(context.Background(), ssp.LoadConfig{Rate: rate, Concurrency: 256, Duration: d, Scenarios: []ssp.Scenario{sc}})
		if err != nil {
			t.Errorf("load: %v", err)
		}
		out <- s
	}()
	return out
}

func logSummary(t *testing.T, s *ssp.Summary) {
	t.Logf("load: calls %d sent %d answered %d timeouts %d errors %d (not sent %d) associations lost %d; p50 %v p99 %v; %v",
		s.Calls, s.Sent, s.Answered, s.Timeouts, s.Errors, s.NotSent, s.AssociationLosses, s.Latency.P50, s.Latency.P99, s.Operations)
	for _, p := range s.Peers {
		t.Logf("  SCP %s: %+v", p.Address, p)
	}
	if len(s.ErrorSamples) > 0 {
		t.Logf("  errors: %q", s.ErrorSamples)
	}
}

// A list change made through node A is used by node B for the next call
// once B has applied A's revision, and (measured, logged) how long after
// the operator's command B's answers change.
func TestMatedPairListChangeOnAUsedByB(t *testing.T) {
	p := startPair(t)
	sw := dial(t, p.b)
	if op := ask(t, sw, caller, daveNumber); op != opAllowed {
		t.Fatalf("before the change node B answers %s, want %s", op, opAllowed)
	}
	p.onA("list", "add", "--owner", "dave", "--list", "blocked", caller)
	p.b.waitRevision(p.a.status().Revision)
	if op := ask(t, sw, caller, daveNumber); op != opBlocked {
		t.Fatalf("node B has applied node A's change and still answers %s, want %s", op, opBlocked)
	}

	// From the command on A to B's first answer with the change, 20 times
	// each way (no assertion on time: the numbers are logged and in
	// bench/cluster/README.md).
	var took []time.Duration
	for i := range 20 {
		verb, want := "remove", opAllowed
		if i%2 == 1 {
			verb, want = "add", opBlocked
		}
		start := time.Now()
		p.onA("list", verb, "--owner", "dave", "--list", "blocked", caller)
		for ask(t, sw, caller, daveNumber) != want {
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("list change through node A (CLI -> daemon A -> etcd -> watch -> node B) until node B's AIN answer changes, %d changes: min %v, p50 %v, max %v",
		len(took), took[0], took[len(took)/2], took[len(took)-1])
}

// Killing one etcd member (the leader) while the switch loads both nodes
// fails no query, and a list change through A still reaches B.
func TestMatedPairOneEtcdMemberKilledUnderLoad(t *testing.T) {
	p := startPair(t)
	sw := dial(t, p.a, p.b)
	done := load(t, sw, 2000, 6*time.Second)
	time.Sleep(1500 * time.Millisecond)
	var st daemon.ClusterStatus
	jsonOf(t, p.cli.ok("cluster", "status", "--json", "--config", p.a.cfg), &st)
	leader := -1
	for i, m := range p.c.Members {
		for _, sm := range st.Members {
			if sm.Name == m.Name && sm.Leader {
				leader = i
			}
		}
	}
	if leader < 0 {
		t.Fatalf("no leader in %+v", st.Members)
	}
	p.c.Members[leader].Kill()
	t.Logf("killed etcd member %s, the leader", p.c.Members[leader].Name)
	p.onA("list", "add", "--owner", "dave", "--list", "blocked", caller)
	p.b.waitRevision(p.a.status().Revision)
	s := <-done
	logSummary(t, s)
	if s.Sent == 0 || s.Answered != s.Sent || s.Timeouts != 0 || s.Errors != 0 || s.AssociationLosses != 0 {
		t.Fatalf("with one etcd member killed: sent %d, answered %d, timeouts %d, errors %d: want every query answered", s.Sent, s.Answered, s.Timeouts, s.Errors)
	}
	if op := ask(t, dial(t, p.b), caller, daveNumber); op != opBlocked {
		t.Fatalf("node B answers %s after the change made through A with a member down, want %s", op, opBlocked)
	}
}

// With all of etcd gone both nodes answer from their replicas (stale in
// /readyz, still ready), writes are refused; once etcd is back both catch
// up, fresh again, and a change through A reaches B.
func TestMatedPairEtcdGoneAnswersFromReplicas(t *testing.T) {
	p := startPair(t)
	p.onA("list", "add", "--owner", "dave", "--list", "blocked", caller)
	p.b.waitRevision(p.a.status().Revision)
	p.c.Stop()
	p.a.waitReadyz("store: stale")
	p.b.waitReadyz("store: stale")

	sw := dial(t, p.a, p.b)
	for _, n := range []*node{p.a, p.b} {
		one := dial(t, n)
		if op := ask(t, one, caller, daveNumber); op != opBlocked {
			t.Errorf("%s with etcd gone answers %s for a blocked caller, want %s", n.name, op, opBlocked)
		}
		if op := ask(t, one, "+17195550000", daveNumber); op != opAllowed {
			t.Errorf("%s with etcd gone answers %s for another caller, want %s", n.name, op, opAllowed)
		}
	}
	s := <-load(t, sw, 1000, 2*time.Second)
	logSummary(t, s)
	if s.Sent == 0 || s.Answered != s.Sent || s.Errors != 0 {
		t.Fatalf("with etcd gone: sent %d, answered %d, errors %d: want every query answered from the replicas", s.Sent, s.Answered, s.Errors)
	}
	if r := p.cli.run("list", "remove", "--owner", "dave", "--list", "blocked", caller, "--config", p.a.cfg); r.code == 0 {
		t.Fatalf("a change with etcd gone succeeded:\n%s", r.out)
	}

	for _, m := range p.c.Members {
		p.c.Restart(m)
	}
	p.c.WaitHealthy(30 * time.Second)
	p.a.waitReadyz("store: ok")
	p.b.waitReadyz("store: ok")
	p.onA("list", "remove", "--owner", "dave", "--list", "blocked", caller)
	p.b.waitRevision(p.a.status().Revision)
	if op := ask(t, sw, caller, daveNumber); op != opAllowed {
		t.Fatalf("after etcd came back a change through A is not used: %s, want %s", op, opAllowed)
	}
}

// A kill -9 of node A while the switch loads both nodes loses only the
// queries in flight at A: the switch (the SSP simulator) counts them lost
// with A's association; every other query, B's and A's before it died, is
// answered, and B takes all the traffic at once. B's cluster status then
// names A as not reached.
func TestMatedPairNodeKilledUnderLoad(t *testing.T) {
	p := startPair(t)
	sw := dial(t, p.a, p.b)
	done := load(t, sw, 3000, 5*time.Second)
	time.Sleep(1500 * time.Millisecond)
	p.a.kill()
	t.Logf("node A killed (SIGKILL)")
	s := <-done
	logSummary(t, s)
	var pa, pb ssp.PeerStats
	for _, ps := range s.Peers {
		switch ps.Address {
		case p.a.scp:
			pa = ps
		case p.b.scp:
			pb = ps
		}
	}
	if pb.Sent == 0 || pb.Answered != pb.Sent || pb.Timeouts != 0 || pb.LostInFlight != 0 {
		t.Errorf("node B: %+v, want every query it was sent answered", pb)
	}
	if pa.Sent == 0 || pa.AssociationsEnded != 1 || pa.Answered+pa.LostInFlight != pa.Sent || pa.Timeouts != 0 {
		t.Errorf("node A: %+v, want each query answered or lost in flight when it died", pa)
	}
	if pa.LostInFlight > pa.InFlightAtLoss {
		t.Errorf("node A: %d queries lost, but only %d were in flight when its association went", pa.LostInFlight, pa.InFlightAtLoss)
	}
	if s.Timeouts != pa.LostInFlight || s.Errors != 0 || s.Answered+s.Timeouts != s.Sent {
		t.Errorf("sent %d, answered %d, timeouts %d, errors %d: want only node A's in-flight queries (%d) lost",
			s.Sent, s.Answered, s.Timeouts, s.Errors, pa.LostInFlight)
	}
	r := p.cli.run("cluster", "status", "--config", p.b.cfg)
	if r.code != 1 || !strings.Contains(r.out, "node http://"+p.a.admin+": not reached") {
		t.Errorf("node B's cluster status after A died: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

// A graceful stop of node A (SIGTERM) while the switch loads both nodes
// loses nothing: A tells the switch to use its mate (NTFY AS-INACTIVE) and
// answers everything it received before it goes.
func TestMatedPairNodeStoppedUnderLoadLosesNothing(t *testing.T) {
	p := startPair(t)
	sw := dial(t, p.a, p.b)
	done := load(t, sw, 3000, 5*time.Second)
	time.Sleep(1500 * time.Millisecond)
	p.a.cmd.Process.Signal(syscall.SIGTERM)
	<-p.a.done
	if code := p.a.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("node A exited %d after SIGTERM, want 0\n%s", code, p.a.logs())
	}
	s := <-done
	logSummary(t, s)
	if s.Sent == 0 || s.Answered != s.Sent || s.Timeouts != 0 || s.Errors != 0 || s.AssociationLosses != 0 {
		t.Fatalf("node A stopped gracefully: sent %d, answered %d, timeouts %d, errors %d, associations lost %d: want every query answered",
			s.Sent, s.Answered, s.Timeouts, s.Errors, s.AssociationLosses)
	}
}
