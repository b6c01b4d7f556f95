package daemon

// The cluster's state for `callgate cluster status`, on the admin listener:
//
//	GET /cluster/node    this node: its store revision, and with etcd its
//	                     replica (fresh or stale, revision, age, resyncs)
//	GET /cluster/status  the whole view: etcd's members (each asked for its
//	                     status), etcd's current revision, this node and
//	                     every node of cluster.peers (their /cluster/node),
//	                     each with its revision lag
//
// Both are read-only and carry no subscriber data, so, like /metrics, they
// answer any client of the admin listener: the nodes of a platform ask each
// other for /cluster/node over their management network.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"callgate/internal/config"
)

// NodeStatus is one callgate node's state (GET /cluster/node).
type NodeStatus struct {
	// Name is cluster.name, else the host name; Admin the URL it was asked
	// at (its own admin listener for the node answering).
	Name  string `json:"name"`
	Admin string `json:"admin"`
	// Self marks the node that answered GET /cluster/status.
	Self bool `json:"self,omitempty"`
	// Error says why the node could not be asked (then nothing else is
	// known about it).
	Error string `json:"error,omitempty"`
	// Backend is bbolt or etcd.
	Backend string `json:"backend,omitempty"`
	// Ready: every tier serves (what /readyz answers 200 for).
	Ready bool `json:"ready"`
	// Revision is the store revision the node's index has applied.
	Revision int64 `json:"revision"`
	// Replica is the node's etcd replica (store.backend etcd only).
	Replica *ReplicaStatus `json:"replica,omitempty"`
	// RevisionLag is etcd's current revision (as the answering node read
	// it) minus the replica's: changes this node has not applied yet.
	// Writes outside the store's prefix count too, so a node that has
	// everything may show a small lag until the next change under it.
	// Set by GET /cluster/status.
	RevisionLag int64 `json:"revision_lag"`
}

// ReplicaStatus is a node's etcd replica (etcdkv.Health).
type ReplicaStatus struct {
	// Stale: no quorum of etcd answered within store.etcd.stale_after (or
	// the watch is down, or catching up): the node answers from what it has.
	Stale    bool `json:"stale"`
	Watching bool `json:"watching"`
	// CatchingUp: the watch was re-established and has not yet delivered
	// the changes made while it was down.
	CatchingUp bool `json:"catching_up,omitempty"`
	// Revision is the etcd revision the replica has applied;
	// ClusterRevision the latest the node has heard of.
	Revision        int64 `json:"revision"`
	ClusterRevision int64 `json:"cluster_revision"`
	// LastContact is when a quorum last answered; AgeSeconds how long ago
	// that was when the node answered.
	LastContact time.Time `json:"last_contact"`
	AgeSeconds  float64   `json:"age_seconds"`
	// Resyncs counts full resynchronisations since the node started.
	Resyncs   int    `json:"resyncs"`
	LastError string `json:"last_error,omitempty"`
}

// MemberStatus is one etcd member: from the member list, and what the
// member said when asked for its status.
type MemberStatus struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	ClientURLs []string `json:"client_urls"`
	PeerURLs   []string `json:"peer_urls"`
	Learner    bool     `json:"learner,omitempty"`
	// Error says why the member did not answer; then the fields below
	// are unknown.
	Error     string `json:"error,omitempty"`
	Leader    bool   `json:"leader"`
	Version   string `json:"version,omitempty"`
	DBSize    int64  `json:"db_size,omitempty"`
	RaftIndex uint64 `json:"raft_index,omitempty"`
	RaftTerm  uint64 `json:"raft_term,omitempty"`
	Revision  int64  `json:"revision,omitempty"`
}

// ClusterStatus is GET /cluster/status.
type ClusterStatus struct {
	Backend   string   `json:"backend"`
	Endpoints []string `json:"endpoints,omitempty"`
	Prefix    string   `json:"prefix,omitempty"`
	// Revision is etcd's current revision as the answering node read it
	// (0: etcd did not answer).
	Revision int64 `json:"revision"`
	// Members are etcd's members, by name; MembersError says why they could not
	// be listed (etcd unreachable).
	Members      []MemberStatus `json:"members,omitempty"`
	MembersError string         `json:"members_error,omitempty"`
	// Nodes are the callgate nodes: the one answering first, then
	// cluster.peers in order.
	Nodes []NodeStatus `json:"nodes"`
}

// Problems lists what needs an operator's attention, one line each
// (callgate cluster status exits 1 when there is any).
func (s *ClusterStatus) Problems() []string {
	var out []string
	if s.MembersError != "" {
		out = append(out, "etcd: "+s.MembersError)
	}
	for _, m := range s.Members {
		if m.Error != "" {
			name := m.Name
			if len(m.ClientURLs) > 0 {
				name += " (" + strings.Join(m.ClientURLs, ",") + ")"
			}
			out = append(out, fmt.Sprintf("etcd member %s: %s", name, m.Error))
		}
	}
	for _, n := range s.Nodes {
		switch {
		case n.Error != "":
			out = append(out, fmt.Sprintf("node %s: %s", n.Admin, n.Error))
		case !n.Ready:
			out = append(out, fmt.Sprintf("node %s: not ready", n.Name))
		case n.Replica != nil && n.Replica.Stale:
			since := fmt.Sprintf("etcd last answered %.1fs ago", n.Replica.AgeSeconds)
			if n.Replica.LastContact.IsZero() {
				since = "etcd not reached since the node started"
			}
			l := fmt.Sprintf("node %s: replica stale at revision %d (%s)", n.Name, n.Replica.Revision, since)
			if n.Replica.LastError != "" {
				l += ": " + n.Replica.LastError
			}
			out = append(out, l)
		}
	}
	return out
}

// NodeName is this node's name among the platform's nodes: cluster.name,
// else the host name.
func NodeName(cfg *config.Config) string {
	if cfg.Cluster.Name != "" {
		return cfg.Cluster.Name
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "callgate"
}

// NodeStatus returns this node's state.
func (d *Daemon) NodeStatus() NodeStatus {
	n := NodeStatus{Name: NodeName(&d.cfg), Backend: d.cfg.Store.Backend, Revision: d.st.Revision(), Ready: d.ready.Load()}
	if a := d.AdminAddr(); a != "" {
		n.Admin = "http://" + a
	}
	for _, h := range d.healthSources() {
		if h.critical && h.check() != nil {
			n.Ready = false
		}
	}
	if d.etcd != nil {
		h := d.etcd.Health()
		n.Replica = &ReplicaStatus{Stale: h.Stale, Watching: h.Watching, CatchingUp: h.CatchingUp, Revision: h.ReplicaRev, ClusterRevision: h.ClusterRev,
			LastContact: h.LastContact, Resyncs: h.Resyncs, LastError: h.LastError}
		if !h.LastContact.IsZero() {
			n.Replica.AgeSeconds = time.Since(h.LastContact).Seconds()
		}
		n.RevisionLag = max(h.ClusterRev-h.ReplicaRev, 0)
	}
	return n
}

func (d *Daemon) serveNodeStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, d.NodeStatus())
}

func (d *Daemon) serveClusterStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, d.ClusterStatus(r.Context()))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// statusTimeout bounds each question GET /cluster/status asks (an etcd
// member's status, a peer's /cluster/node): one that does not answer is
// reported as such, never waited for.
const statusTimeout = 2 * time.Second

// ClusterStatus asks etcd for its members and their status, and every
// node of cluster.peers for its state, all at once.
func (d *Daemon) ClusterStatus(ctx context.Context) ClusterStatus {
	s := ClusterStatus{Backend: d.cfg.Store.Backend}
	self := d.NodeStatus()
	self.Self = true
	s.Nodes = make([]NodeStatus, 1+len(d.cfg.Cluster.Peers))
	s.Nodes[0] = self
	var wg sync.WaitGroup
	for i, p := range d.cfg.Cluster.Peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Nodes[1+i] = askNode(ctx, p)
		}()
	}
	if d.etcd != nil {
		e := d.cfg.Store.Etcd
		s.Endpoints, s.Prefix = e.Endpoints, e.Prefix
		d.etcdMembers(ctx, &s)
	}
	wg.Wait()
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if n.Replica != nil && s.Revision > 0 {
			n.RevisionLag = max(s.Revision-n.Replica.Revision, 0)
		}
	}
	return s
}

// etcdMembers fills in etcd's revision and members, each member asked for
// its own status.
func (d *Daemon) etcdMembers(ctx context.Context, s *ClusterStatus) {
	cli := d.etcd.Client()
	lctx, cancel := context.WithTimeout(ctx, statusTimeout)
	list, err := cli.MemberList(lctx)
	cancel()
	if err != nil {
		s.MembersError = fmt.Sprintf("member list: %v", err)
		return
	}
	s.Revision = list.Header.Revision
	s.Members = make([]MemberStatus, len(list.Members))
	var wg sync.WaitGroup
	for i, m := range list.Members {
		ms := &s.Members[i]
		*ms = MemberStatus{ID: fmt.Sprintf("%016x", m.ID), Name: m.Name, ClientURLs: m.ClientURLs, PeerURLs: m.PeerURLs, Learner: m.IsLearner}
		if len(m.ClientURLs) == 0 {
			ms.Error = "no client URL (not started yet)"
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, statusTimeout)
			defer cancel()
			st, err := cli.Status(sctx, m.ClientURLs[0])
			if err != nil {
				ms.Error = err.Error()
				return
			}
			ms.Leader = st.Leader == m.ID
			ms.Version, ms.DBSize, ms.RaftIndex, ms.RaftTerm = st.Version, st.DbSize, st.RaftIndex, st.RaftTerm
			if st.Header != nil {
				ms.Revision = st.Header.Revision
			}
			if len(st.Errors) > 0 {
				ms.Error = strings.Join(st.Errors, "; ")
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(s.Members, func(a, b MemberStatus) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	// The member list's header is one member's view; the highest revision
	// any member reported is the cluster's.
	for _, m := range s.Members {
		s.Revision = max(s.Revision, m.Revision)
	}
}

// nodeClient asks peers for their state; each question is bounded by its
// context.
var nodeClient = &http.Client{}

// askNode asks the node whose admin listener is at base for its state.
func askNode(ctx context.Context, base string) NodeStatus {
	base = strings.TrimRight(base, "/")
	n := NodeStatus{Admin: base}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/cluster/node", nil)
	if err != nil {
		n.Error = err.Error()
		return n
	}
	resp, err := nodeClient.Do(req)
	if err != nil {
		n.Error = fmt.Sprintf("not reached: %v", err)
		return n
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		n.Error = fmt.Sprintf("reading its answer: %v", err)
		return n
	}
	if resp.StatusCode != http.StatusOK {
		n.Error = fmt.Sprintf("GET /cluster/node answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
		return n
	}
	if err := json.Unmarshal(body, &n); err != nil {
		n = NodeStatus{Admin: base, Error: fmt.Sprintf("GET /cluster/node: not a node's status (%v)", err)}
		return n
	}
	n.Admin, n.Self = base, false
	return n
}
