package main

// callgate cluster status: the platform's nodes and etcd's members, as the
// running daemon sees them (GET /cluster/status on its admin listener,
// daemon/cluster.go): the daemon lists etcd's members and asks each for
// its status, and asks every node of cluster.peers for its own state.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callgate/daemon"
	"callgate/internal/config"
	"callgate/internal/progress"
)

func (e *env) clusterCmd() *cobra.Command {
	return group("cluster", "The platform's nodes and their shared store (store.backend etcd)", e.clusterStatusCmd())
}

// statusClient bounds the whole question: the daemon bounds each of its
// own (an etcd member, a peer) at 2 s.
var statusClient = &http.Client{Timeout: 15 * time.Second}

func (e *env) clusterStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "etcd's members and every node's store: revision lag, replica age, readiness",
		Long: `Asks the running daemon (its admin listener, admin.listen) for the cluster's state: etcd's
members, each asked for its status (leader, version, database size, raft index), etcd's
current revision, and every callgate node: this one and those listed in cluster.peers (their
admin listeners, each asked for GET /cluster/node). For each node: ready or not, the store
revision it has applied, its revision lag behind etcd, whether its replica is fresh or stale
and how long ago a quorum of etcd last answered it (the replica's age).

It exits 0 when all is well and 1 when something needs attention (listed under "problems"):
an etcd member that does not answer, a node not reached, not ready, or serving a stale
replica. With store.backend bbolt the daemon is a single node, which is all it shows.`,
		Example: `  callgate cluster status --config /etc/callgate/node-a.yaml
  callgate cluster status --json | jq '.nodes[] | {name, revision_lag}'`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := e.loadConfig()
			if err != nil {
				return err
			}
			s, err := e.askClusterStatus(&cfg)
			if err != nil {
				return err
			}
			if err := e.emit(s, func(w io.Writer) { writeClusterStatus(w, s) }); err != nil {
				return err
			}
			if len(s.Problems()) > 0 {
				return exitError{Code: 1}
			}
			return nil
		},
	}
}

// askClusterStatus asks the daemon of cfg for GET /cluster/status.
func (e *env) askClusterStatus(cfg *config.Config) (*daemon.ClusterStatus, error) {
	if cfg.Admin.Listen == "" {
		return nil, errors.New("no admin listener is configured (admin.listen): the cluster's state is asked of the running daemon through it")
	}
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, "http://"+cfg.Admin.Listen+"/cluster/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := statusClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking the daemon at %s (admin.listen): %w (is 'callgate serve' running with this configuration?)", cfg.Admin.Listen, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the daemon's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the daemon at %s answered %s: %s", cfg.Admin.Listen, resp.Status, strings.TrimSpace(string(body)))
	}
	var s daemon.ClusterStatus
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("the daemon at %s: not a cluster status (%v); a callgate of another version?", cfg.Admin.Listen, err)
	}
	return &s, nil
}

// writeClusterStatus prints the status for people: etcd and its members,
// then the nodes, then the problems. Every row has every column ("?"
// unknown, "-" not applicable), so that text/tabwriter aligns them all: a
// row with fewer cells ends the column block it falls in, and the rows
// after it were aligned on their own. Errors are long free text, so they
// go under problems, not into a column.
func writeClusterStatus(w io.Writer, s *daemon.ClusterStatus) {
	if s.Backend != config.BackendEtcd {
		fmt.Fprintf(w, "store: %s, this node only (store.backend etcd shares one store between nodes)\n\n", s.Backend)
	} else {
		fmt.Fprintf(w, "etcd: %s, prefix %s\n", strings.Join(s.Endpoints, ","), s.Prefix)
		if s.MembersError != "" {
			fmt.Fprintf(w, "members: unknown (%s)\n\n", s.MembersError)
		} else {
			fmt.Fprintf(w, "%d members, revision %d\n", len(s.Members), s.Revision)
			var rows [][]string
			for _, m := range s.Members {
				r := []string{m.Name, m.ID, orDash(strings.Join(m.ClientURLs, ","))}
				if m.Error != "" {
					// What it did not say is unknown; why is under problems.
					r = append(r, "unreachable", "?", "?", "?", "?")
				} else {
					r = append(r, "ok", yesNo(m.Leader), m.Version, progress.ByteSize(m.DBSize), strconv.FormatUint(m.RaftIndex, 10))
				}
				rows = append(rows, r)
			}
			table(w, "MEMBER\tID\tCLIENT URL\tSTATUS\tLEADER\tVERSION\tDB SIZE\tRAFT INDEX", rows)
			fmt.Fprintln(w)
		}
	}
	var rows [][]string
	for _, n := range s.Nodes {
		name := orDash(n.Name)
		if n.Self {
			name += " (this)"
		}
		if n.Error != "" {
			// Not reached: nothing is known of it; why is under problems.
			rows = append(rows, []string{name, n.Admin, "?", "?", "?", "?", "?", "?"})
			continue
		}
		r := []string{name, n.Admin, yesNo(n.Ready)}
		if rep := n.Replica; rep != nil {
			state := "fresh"
			if rep.Stale {
				state = "stale"
			}
			lag := strconv.FormatInt(n.RevisionLag, 10)
			if rep.Stale && !rep.CatchingUp {
				// No quorum answers the node: etcd's revision now is
				// unknown, and "0" would read as "nothing missing".
				lag = "?"
			}
			r = append(r, state, strconv.FormatInt(n.Revision, 10), lag,
				ageText(rep.AgeSeconds, rep.LastContact), strconv.Itoa(rep.Resyncs))
		} else {
			// No replica (bbolt): no lag, age or resyncs to show.
			r = append(r, orDash(n.Backend), strconv.FormatInt(n.Revision, 10), "-", "-", "-")
		}
		rows = append(rows, r)
	}
	table(w, "NODE\tADMIN\tREADY\tSTORE\tREVISION\tLAG\tREPLICA AGE\tRESYNCS", rows)
	if p := s.Problems(); len(p) > 0 {
		fmt.Fprintln(w, "\nproblems:")
		for _, l := range p {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ageText is a replica's age: how long ago a quorum last answered.
func ageText(sec float64, last time.Time) string {
	if last.IsZero() {
		return "never"
	}
	return (time.Duration(sec * float64(time.Second))).Round(100 * time.Millisecond).String()
}

// etcdOfflineError refuses to open the store file of a node on etcd
// directly: that file is the node's replica, which its daemon keeps in
// step with etcd; changed (or created) by an operator command it would
// hold changes no other node ever sees.
func etcdOfflineError(cfg *config.Config, seeding bool) error {
	where := "none answers at " + cfg.SocketPath() + " (its socket, api.socket)"
	if seeding {
		return fmt.Errorf("store.backend is etcd: callgate demo seeds an etcd platform through a running node only, and %s; start it (callgate serve --config FILE) and run callgate demo with the same --config", where)
	}
	return fmt.Errorf("store.backend is etcd: operator commands are run by a node's daemon, and %s; start it (callgate serve --config FILE) and run the command with the same --config. %s is that node's replica of etcd, not a store to open directly", where, cfg.ReplicaPath())
}
