package daemon

import (
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"callgate/internal/config"
	"callgate/store"
	"callgate/store/etcdkv/etcdtest"
)

// etcdConfig is testConfig on c's etcd, quick to call the replica stale
// (500 ms) and to give up on a request (1 s).
func etcdConfig(t *testing.T, c *etcdtest.Cluster) config.Config {
	cfg := testConfig(t)
	cfg.Store.Backend = config.BackendEtcd
	cfg.Store.Etcd.Endpoints = c.Endpoints()
	cfg.Store.Etcd.StaleAfter = 500 * time.Millisecond
	cfg.Store.Etcd.RequestTimeout = time.Second
	return cfg
}

// etcdNode starts a daemon on etcd (one fake tier) with cluster name name
// and peers.
func etcdNode(t *testing.T, c *etcdtest.Cluster, name string, peers ...string) *Daemon {
	t.Helper()
	cfg := etcdConfig(t, c)
	cfg.Cluster = config.Cluster{Name: name, Peers: peers}
	d := New(cfg, Options{Logger: quietLogger()})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown() })
	return d
}

func clusterStatus(t *testing.T, d *Daemon) ClusterStatus {
	t.Helper()
	code, body := get(t, "http://"+d.AdminAddr()+"/cluster/status")
	if code != 200 {
		t.Fatalf("/cluster/status: %d %s", code, body)
	}
	var s ClusterStatus
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("/cluster/status: %v\n%s", err, body)
	}
	return s
}

// waitStatus asks node d for the cluster's status until ok says it shows
// what the test waits for (the changes it waits for happen in the
// background: a watch catching up, a probe failing).
func waitStatus(t *testing.T, d *Daemon, what string, ok func(*ClusterStatus) bool) ClusterStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := clusterStatus(t, d)
		if ok(&s) {
			return s
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(s, "", "  ")
			t.Fatalf("the cluster status never showed %s:\n%s", what, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// GET /cluster/status on node A: etcd's three members (one leader), A
// itself and its peers: node B, caught up with A's change (no revision
// lag), and a peer that does not answer, named. One member killed: named,
// the nodes still fresh. All killed: the members cannot be listed, both
// nodes answer from a stale replica.
func TestClusterStatus(t *testing.T) {
	c := etcdtest.Start(t, 3)
	withTiers(t, &fakeTier{name: "one", ev: &events{}})
	b := etcdNode(t, c, "node-b")
	gone := "http://" + closedAddr(t)
	a := etcdNode(t, c, "node-a", "http://"+b.AdminAddr(), gone)
	if _, err := a.Store().CreateProvider(store.Operator, store.ProviderSpec{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	written := a.Store().Revision()

	s := waitStatus(t, a, "node B caught up with A's change", func(s *ClusterStatus) bool {
		return len(s.Nodes) == 3 && s.Nodes[1].Revision >= written && s.Nodes[0].RevisionLag == 0 && s.Nodes[1].RevisionLag == 0
	})
	if s.Backend != config.BackendEtcd || s.Revision < written || s.MembersError != "" || len(s.Members) != 3 {
		t.Fatalf("status: %+v", s)
	}
	leaders := 0
	for _, m := range s.Members {
		if m.Error != "" || m.Version == "" || m.DBSize == 0 || len(m.ClientURLs) != 1 || !strings.HasPrefix(m.Name, "m") {
			t.Errorf("member %+v", m)
		}
		if m.Leader {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("%d leaders among %+v", leaders, s.Members)
	}
	self, peer, missing := s.Nodes[0], s.Nodes[1], s.Nodes[2]
	if !self.Self || self.Name != "node-a" || self.Admin != "http://"+a.AdminAddr() || !self.Ready || self.Replica == nil || self.Replica.Stale {
		t.Errorf("self %+v %+v", self, self.Replica)
	}
	if peer.Self || peer.Name != "node-b" || peer.Admin != "http://"+b.AdminAddr() || !peer.Ready || peer.Error != "" ||
		peer.Replica == nil || peer.Replica.Stale || peer.Replica.Revision < written {
		t.Errorf("peer %+v %+v", peer, peer.Replica)
	}
	if missing.Admin != gone || !strings.Contains(missing.Error, "not reached") {
		t.Errorf("unreachable peer %+v", missing)
	}
	if p := s.Problems(); len(p) != 1 || !strings.Contains(p[0], "node "+gone+": not reached") {
		t.Errorf("problems %q, want only the unreachable peer", p)
	}

	// One member down: named in the status; the nodes stay fresh.
	c.Members[0].Kill()
	s = waitStatus(t, a, "member m1 unreachable", func(s *ClusterStatus) bool {
		return len(s.Members) == 3 && s.Members[0].Name == "m1" && s.Members[0].Error != ""
	})
	for _, n := range s.Nodes[:2] {
		if n.Replica == nil || n.Replica.Stale {
			t.Errorf("with one member down node %s is stale: %+v", n.Name, n.Replica)
		}
	}
	if p := strings.Join(s.Problems(), "\n"); !strings.Contains(p, "etcd member m1") {
		t.Errorf("problems %q do not name member m1", p)
	}

	// All down: no member list; both nodes answer from a stale replica.
	c.Stop()
	s = waitStatus(t, a, "both nodes stale", func(s *ClusterStatus) bool {
		return s.Nodes[0].Replica.Stale && s.Nodes[1].Replica != nil && s.Nodes[1].Replica.Stale
	})
	if s.MembersError == "" || s.Revision != 0 {
		t.Errorf("etcd down, yet members %+v, revision %d", s.Members, s.Revision)
	}
	p := strings.Join(s.Problems(), "\n")
	for _, want := range []string{"etcd: member list", "node node-a: replica stale", "node node-b: replica stale"} {
		if !strings.Contains(p, want) {
			t.Errorf("problems %q do not say %q", p, want)
		}
	}
	if _, err := b.Store().GetProvider(store.Operator, "acme"); err != nil {
		t.Errorf("node B does not answer from its replica: %v", err)
	}
}

// With bbolt the status is this one node, no members, no problem.
func TestClusterStatusBBolt(t *testing.T) {
	withTiers(t, &fakeTier{name: "one", ev: &events{}})
	d := New(testConfig(t), Options{Logger: quietLogger()})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown()
	s := clusterStatus(t, d)
	if s.Backend != config.BackendBBolt || len(s.Members) != 0 || len(s.Nodes) != 1 || !s.Nodes[0].Ready || s.Nodes[0].Replica != nil || len(s.Problems()) != 0 {
		t.Fatalf("bbolt status %+v", s)
	}
}

// The /cluster/* JSON names its fields in snake_case, as the REST API and
// the decision log do (it was camelCase: revisionLag, catchingUp, ...).
func TestClusterJSONSnakeCase(t *testing.T) {
	st := ClusterStatus{Backend: "etcd", Endpoints: []string{"http://e1"}, Prefix: "/cg/", Revision: 9, MembersError: "x",
		Members: []MemberStatus{{ID: "1", Name: "m1", ClientURLs: []string{"u"}, PeerURLs: []string{"p"}, Learner: true,
			Error: "e", Leader: true, Version: "3.6", DBSize: 1, RaftIndex: 2, RaftTerm: 3, Revision: 4}},
		Nodes: []NodeStatus{{Name: "a", Admin: "http://a", Self: true, Error: "e", Backend: "etcd", Ready: true, Revision: 5, RevisionLag: 1,
			Replica: &ReplicaStatus{Stale: true, Watching: true, CatchingUp: true, Revision: 5, ClusterRevision: 6,
				LastContact: time.Unix(1, 0), AgeSeconds: 1.5, Resyncs: 1, LastError: "e"}}}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if !snake.MatchString(k) {
					t.Errorf("key %q is not snake_case", k)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	for _, k := range []string{`"revision_lag":1`, `"catching_up":true`, `"cluster_revision":6`, `"last_contact":`, `"age_seconds":1.5`, `"last_error":"e"`, `"client_urls":["u"]`, `"members_error":"x"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("%s lacks %s", b, k)
		}
	}
}
