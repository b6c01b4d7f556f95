// Package etcdtest starts real etcd clusters on loopback for tests and
// benchmarks: members are the etcd binary (Debian's etcd-server, installed
// by scripts/test-deps.sh) on random ports with data in a temporary
// directory, on tmpfs when the machine has room there. A test that needs
// etcd fails when the binary is missing; it never skips.
package etcdtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Binary is the etcd executable looked up on PATH.
const Binary = "etcd"

// Cluster is a running etcd cluster.
type Cluster struct {
	tb      testing.TB
	Members []*Member
}

// Member is one etcd process.
type Member struct {
	Name   string
	Client string // client URL
	Peer   string // peer URL
	Dir    string // data directory
	args   []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// Start starts an n-member cluster and waits until it has a leader and
// answers. It is stopped when the test ends.
//
// Ports are picked free and then handed to etcd, so another process can
// take one in between (the machine runs other tests): a member that
// cannot bind its port makes Start begin again on fresh ports, a few
// times, before it fails the test.
func Start(tb testing.TB, n int) *Cluster {
	tb.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		tb.Fatalf("etcd is not installed (%v): run scripts/test-deps.sh (Debian: apt-get install etcd-server)", err)
	}
	const attempts = 4
	for attempt := 1; ; attempt++ {
		c := start(tb, bin, n)
		err := c.waitHealthy(30 * time.Second)
		if err == nil {
			tb.Cleanup(func() {
				c.Stop()
				if tb.Failed() {
					tb.Logf("etcd members' logs (the test failed):\n%s", c.Logs())
				}
			})
			return c
		}
		logs := c.Logs()
		c.Stop()
		if attempt == attempts || !strings.Contains(logs, "address already in use") {
			tb.Fatalf("%v\n%s", err, logs)
		}
		tb.Logf("etcd: a port was taken between picking and binding it; starting again on fresh ports (attempt %d)", attempt+1)
	}
}

// start starts the members of a new cluster on fresh ports.
func start(tb testing.TB, bin string, n int) *Cluster {
	dir := dataDir(tb, n)
	c := &Cluster{tb: tb}
	var initial []string
	for i := range n {
		m := &Member{Name: fmt.Sprintf("m%d", i+1), Client: "http://" + freeAddr(tb), Peer: "http://" + freeAddr(tb),
			Dir: filepath.Join(dir, fmt.Sprintf("m%d", i+1))}
		c.Members = append(c.Members, m)
		initial = append(initial, m.Name+"="+m.Peer)
	}
	token := fmt.Sprintf("callgate-test-%d", time.Now().UnixNano())
	for _, m := range c.Members {
		m.args = []string{
			"--name", m.Name, "--data-dir", m.Dir,
			"--listen-client-urls", m.Client, "--advertise-client-urls", m.Client,
			"--listen-peer-urls", m.Peer, "--initial-advertise-peer-urls", m.Peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", token,
			// Fast elections on loopback, so a killed leader is replaced
			// within about a second; pre-vote, so that a follower starved
			// of CPU by the rest of the suite past the election timeout
			// does not depose a working leader when it wakes (without it,
			// each such wake-up is an election, and reads wait for it).
			"--heartbeat-interval", "50", "--election-timeout", "500", "--pre-vote",
		}
		m.start(tb, bin)
	}
	return c
}

// tmpfs is where members keep their data when it has room for them.
const tmpfs = "/dev/shm"

// memberRoom is what one member may need on tmpfs: a 64 MiB WAL segment,
// preallocated, plus a spare segment, the database and snapshots.
const memberRoom = 256 << 20

// dataDir returns the directory for n members' data. etcd fsyncs its WAL
// before it answers, so on a slow disk every answer waits for it (with
// writes throttled to a few IOPS, reads through a healthy cluster timed
// out for seconds). What these tests exercise is callgate, not etcd's
// durability, so the data goes to tmpfs when it has room, else to the
// test's temporary directory (and the test says so).
func dataDir(tb testing.TB, n int) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(tmpfs, &st); err != nil || st.Bavail*uint64(st.Bsize) < uint64(n)*memberRoom {
		tb.Logf("etcd: %s missing or short of %d MiB (%v): members keep their data on the test's disk, where a slow fsync delays every answer", tmpfs, n*memberRoom>>20, err)
		return tb.TempDir()
	}
	dir, err := os.MkdirTemp(tmpfs, "callgate-etcd-")
	if err != nil {
		tb.Logf("etcd: %v: members keep their data on the test's disk", err)
		return tb.TempDir()
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func freeAddr(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (m *Member) start(tb testing.TB, bin string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	logf, err := os.OpenFile(m.Dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, m.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start etcd %s: %v", m.Name, err)
	}
	m.cmd, m.log, m.done = cmd, logf, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); logf.Close(); close(done) }(m.done)
}

// Kill stops the member at once (SIGKILL).
func (m *Member) Kill() {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// Restart starts a killed member again on its data directory.
func (c *Cluster) Restart(m *Member) {
	c.tb.Helper()
	bin, _ := exec.LookPath(Binary)
	m.start(c.tb, bin)
}

// Running reports whether the member's process is up.
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cmd != nil
}

// Stop kills every member.
func (c *Cluster) Stop() {
	for _, m := range c.Members {
		m.Kill()
	}
}

// Endpoints returns every member's client URL.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, m.Client)
	}
	return out
}

// Client returns a client of the whole cluster, closed when the test ends.
func (c *Cluster) Client() *clientv3.Client {
	c.tb.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		c.tb.Fatal(err)
	}
	c.tb.Cleanup(func() { cli.Close() })
	return cli
}

// WaitHealthy waits until a linearizable read succeeds through every
// running member.
func (c *Cluster) WaitHealthy(within time.Duration) {
	c.tb.Helper()
	if err := c.waitHealthy(within); err != nil {
		c.tb.Fatalf("%v\n%s", err, c.Logs())
	}
}

func (c *Cluster) waitHealthy(within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, m := range c.Members {
		if !m.Running() {
			continue
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{m.Client}, DialTimeout: time.Second, Logger: zap.NewNop()})
		if err != nil {
			return err
		}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err = cli.Get(ctx, "health")
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) || m.exited() {
				cli.Close()
				return fmt.Errorf("etcd member %s not healthy within %v: %v", m.Name, within, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		cli.Close()
	}
	return nil
}

// exited reports whether the member's process has ended by itself.
func (m *Member) exited() bool {
	m.mu.Lock()
	done := m.done
	m.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// Logs returns the tail of every member's log, for failure messages.
func (c *Cluster) Logs() string {
	var b bytes.Buffer
	for _, m := range c.Members {
		data, _ := os.ReadFile(m.Dir + ".log")
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		fmt.Fprintf(&b, "--- %s ---\n%s\n", m.Name, data)
	}
	return b.String()
}
