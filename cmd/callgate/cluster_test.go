package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/daemon"
	"callgate/store/etcdkv/etcdtest"
)

// etcdServeYAML is serve's configuration of one node on etcd.
func etcdServeYAML(c *etcdtest.Cluster, name string, peers ...string) string {
	q := func(list []string) string {
		var out []string
		for _, s := range list {
			out = append(out, fmt.Sprintf("%q", s))
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	return fmt.Sprintf(`
admin: {listen: "127.0.0.1:0"}
shutdown_timeout: 5s
decision_log: {no_sync: true}
sip: {udp: "127.0.0.1:0", tcp: "", token_keys: [{id: 1, secret: "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}]}
b2bua: {udp: "127.0.0.1:0", tcp: "", rtp_port_min: 0, rtp_port_max: 0}
scp: {listen: ["127.0.0.1:0"]}
store: {backend: etcd, etcd: {endpoints: %s, stale_after: 500ms, request_timeout: 3s}}
cluster: {name: %s, peers: %s}
`, q(c.Endpoints()), name, q(peers))
}

// callgate cluster status asks the local daemon: etcd's members, this node
// and its peer, in text and JSON; exit 0 while all is well, 1 with the
// problems listed once etcd is gone (both nodes then stale).
func TestClusterStatusCommand(t *testing.T) {
	c := etcdtest.Start(t, 3)
	b := startDaemonWith(t, t.TempDir(), etcdServeYAML(c, "node-b"), "")
	a := startDaemonWith(t, t.TempDir(), etcdServeYAML(c, "node-a", "http://"+b.d.AdminAddr()), "")
	cl := &cli{t: t}

	out := cl.ok("cluster", "status", "--config", a.cliCfg)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^3 members, revision \d+$`),
		regexp.MustCompile(`(?m)^MEMBER\s+ID\s+CLIENT URL\s+STATUS\s+LEADER`),
		regexp.MustCompile(`(?m)^m1\s+[0-9a-f]{16}\s+http://127\.0\.0\.1:\d+\s+ok\s+(yes|no)\s+3\.`),
		regexp.MustCompile(`(?m)^node-a \(this\)\s+http://` + regexp.QuoteMeta(a.d.AdminAddr()) + `\s+yes\s+fresh\s+\d+\s+\d+\s+`),
		regexp.MustCompile(`(?m)^node-b\s+http://` + regexp.QuoteMeta(b.d.AdminAddr()) + `\s+yes\s+fresh\s+\d+\s+\d+\s+`),
	} {
		if !want.MatchString(out) {
			t.Errorf("cluster status does not match %s:\n%s", want, out)
		}
	}
	t.Logf("callgate cluster status:\n%s", out)
	if strings.Contains(out, "problems") {
		t.Errorf("problems with everything up:\n%s", out)
	}
	var s daemon.ClusterStatus
	jsonOf(t, cl.ok("cluster", "status", "--json", "--config", a.cliCfg), &s)
	if s.Backend != "etcd" || len(s.Members) != 3 || len(s.Nodes) != 2 || s.Nodes[1].Name != "node-b" || s.Nodes[1].Replica == nil {
		t.Fatalf("--json: %+v", s)
	}

	c.Stop()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := cl.run("cluster", "status", "--config", a.cliCfg)
		if r.code == 1 && strings.Count(r.out, "  stale  ") == 2 {
			// etcd's revision is unknown: the lag is not "0".
			if !regexp.MustCompile(`(?m)^node-a \(this\)\s+\S+\s+yes\s+stale\s+\d+\s+\?\s`).MatchString(r.out) {
				t.Errorf("etcd down: node-a's LAG is not '?':\n%s", r.out)
			}
			for _, want := range []string{"members: unknown", "problems:", "node node-a: replica stale", "node node-b: replica stale"} {
				if !strings.Contains(r.out, want) {
					t.Errorf("etcd down: the status does not say %q:\n%s", want, r.out)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd down: exit %d, never both nodes stale:\n%s%s", r.code, r.out, r.err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// No daemon: said so, exit 1.
	a.stop()
	cl.fails(1, "is 'callgate serve' running", "cluster", "status", "--config", a.cliCfg)
}

// Defect: with store.backend etcd and no daemon running, operator commands
// opened the node's replica as a plain store, and `callgate demo` created
// one there: changes no node would ever serve. Now they refuse and say
// how to reach the platform.
func TestEtcdOperatorCommandsNeedADaemon(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "node.yaml")
	yaml := fmt.Sprintf("data_dir: %q\nadmin: {listen: %q}\nstore: {backend: etcd, etcd: {endpoints: [\"http://127.0.0.1:1\"]}}\nsip: {enabled: false}\nb2bua: {enabled: false}\n", dir, freePort(t))
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cl := &cli{t: t}
	cl.fails(1, "operator commands are run by a node's daemon, and none answers at", "list", "show", "--owner", "dave", "--config", cfg)
	cl.fails(1, "callgate demo seeds an etcd platform through a running node only, and none answers at", "demo", "--config", cfg)
	if _, err := os.Stat(filepath.Join(dir, "callgate-replica.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a store file was created at the replica's path: %v", err)
	}
}

// Defect: a member or node that did not answer had its error in the
// STATUS or READY column and no cell after it, which ended tabwriter's
// column blocks there: the rows after it were aligned on their own and the
// columns shifted. Every row now has every column ("?" unknown, "-" not
// applicable), aligned under its header; the errors are under problems.
func TestClusterStatusTableAligned(t *testing.T) {
	last := time.Now().Add(-5 * time.Second)
	s := &daemon.ClusterStatus{Backend: "etcd", Endpoints: []string{"http://10.0.0.1:2379"}, Prefix: "callgate/", Revision: 120,
		Members: []daemon.MemberStatus{
			{ID: "69b38ac7138de88d", Name: "m1", ClientURLs: []string{"http://10.0.0.1:2379"}, Leader: true, Version: "3.5.16", DBSize: 20480, RaftIndex: 140},
			{ID: "9e737febb6b99eee", Name: "m2", ClientURLs: []string{"http://10.0.0.2:2379"}, Error: "context deadline exceeded"},
			{ID: "61f97220ab052a12", Name: "m3", ClientURLs: []string{"http://10.0.0.3:2379"}, Version: "3.5.16", DBSize: 20480, RaftIndex: 140},
			{ID: "0000000000000004", Name: "m4", Error: "no client URL (not started yet)"},
		},
		Nodes: []daemon.NodeStatus{
			{Name: "node-a", Admin: "http://10.0.1.10:9464", Self: true, Backend: "etcd", Ready: true, Revision: 120,
				Replica: &daemon.ReplicaStatus{Revision: 120, ClusterRevision: 120, LastContact: last, Resyncs: 1}},
			{Admin: "http://10.0.1.20:9464", Error: "not reached: dial tcp 10.0.1.20:9464: connect: connection refused"},
			{Name: "node-c", Admin: "http://10.0.1.30:9464", Backend: "etcd", Ready: true, Revision: 98, RevisionLag: 22,
				Replica: &daemon.ReplicaStatus{Stale: true, Revision: 98, LastContact: last, AgeSeconds: 5, Resyncs: 2,
					LastError: "etcd sync: watch closed"}},
			{Name: "node-d", Admin: "http://10.0.1.40:9464", Backend: "bbolt", Ready: true, Revision: 7},
		}}
	var buf strings.Builder
	writeClusterStatus(&buf, s)
	out := buf.String()
	t.Logf("\n%s", out)
	// A cell starts after two spaces or more (tabwriter's padding); the
	// header's cells say where each column starts.
	starts := func(line string) []int {
		var at []int
		for i := range line {
			if line[i] != ' ' && (i == 0 || (i >= 2 && line[i-1] == ' ' && line[i-2] == ' ')) {
				at = append(at, i)
			}
		}
		return at
	}
	tables := 0
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "MEMBER ") && !strings.HasPrefix(lines[i], "NODE ") {
			continue
		}
		tables++
		head := starts(lines[i])
		if len(head) != 8 {
			t.Fatalf("header %q: %d columns, want 8", lines[i], len(head))
		}
		rows := 0
		for i++; i < len(lines) && lines[i] != ""; i++ {
			rows++
			if got := starts(lines[i]); !slices.Equal(got, head) {
				t.Errorf("row %q: cells start at %v, the header's columns at %v", lines[i], got, head)
			}
		}
		if rows != 4 {
			t.Errorf("table %d: %d rows, want 4", tables, rows)
		}
	}
	if tables != 2 {
		t.Fatalf("%d tables, want members and nodes", tables)
	}
	for _, want := range []string{
		"etcd member m2 (http://10.0.0.2:2379): context deadline exceeded",
		"node http://10.0.1.20:9464: not reached: dial tcp",
		"node node-c: replica stale at revision 98 (etcd last answered 5.0s ago): etcd sync: watch closed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("problems do not say %q", want)
		}
	}
}
