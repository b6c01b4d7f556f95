package daemon

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"callgate/internal/config"
	"callgate/internal/metrics"
	"callgate/store"
	"callgate/store/etcdkv"
)

// openStore opens the list store the configuration names (store.backend):
// the bbolt file, or etcd with this node's local replica. It returns the
// local file the store lives in (bbolt file or replica), which operator
// commands name to reach this daemon.
func (d *Daemon) openStore() (string, error) {
	cfg := &d.cfg
	path := cfg.StorePath()
	switch cfg.Store.Backend {
	case config.BackendEtcd:
		ec, err := EtcdConfig(cfg)
		if err != nil {
			return "", err
		}
		ec.OnError = func(err error) { d.log.Warn("store: etcd", "err", err) }
		b, err := etcdkv.Open(ec)
		if err != nil {
			return "", fmt.Errorf("store (store.etcd): %w", err)
		}
		d.etcd = b
		d.undo = append(d.undo, func() { b.Close() })
		d.st, err = store.New(b, store.Options{OnError: d.storeError})
		if err != nil {
			return "", err
		}
		if h := b.Health(); h.Stale {
			d.log.Warn("store: etcd not reached; serving the replica, stale", "replica", path, "revision", h.ReplicaRev, "err", h.LastError)
		}
	default:
		var err error
		d.st, err = store.Open(path, store.Options{Timeout: cfg.Store.LockTimeout, OnError: d.storeError})
		if err != nil {
			if errors.Is(err, store.ErrDatabaseBusy) {
				return "", fmt.Errorf("%s is in use by another process: is another 'callgate serve' running, or an operator command (import) still working? Stop it, or give this daemon its own --data directory", path)
			}
			return "", err
		}
	}
	// Closed before the backend (undo runs in reverse).
	d.undo = append(d.undo, func() { d.st.Close() })
	return path, nil
}

func (d *Daemon) storeError(err error) { d.log.Warn("store", "err", err) }

// EtcdConfig maps the store.etcd section onto the etcd backend's Config
// (the password is read from store.etcd.password_file).
func EtcdConfig(cfg *config.Config) (etcdkv.Config, error) {
	e := cfg.Store.Etcd
	ec := etcdkv.Config{
		Endpoints: e.Endpoints, Prefix: e.Prefix, ReplicaPath: cfg.ReplicaPath(),
		CAFile: e.CAFile, CertFile: e.CertFile, KeyFile: e.KeyFile, Username: e.Username,
		DialTimeout: e.DialTimeout, RequestTimeout: e.RequestTimeout, StaleAfter: e.StaleAfter,
		ProbeInterval: max(e.StaleAfter/3, 100*time.Millisecond),
	}
	if e.PasswordFile != "" {
		pw, err := os.ReadFile(e.PasswordFile)
		if err != nil {
			return ec, fmt.Errorf("store.etcd.password_file: %w", err)
		}
		ec.Password = strings.TrimRight(string(pw), "\r\n")
	}
	return ec, nil
}

// storeHealth is the store's line of /readyz: with etcd, whether the
// replica is fresh. Not critical: a stale replica still answers calls.
func (d *Daemon) storeHealth() error {
	if n, err := d.st.FeedErrors(); n > 0 {
		return fmt.Errorf("%d change(s) of the store not applied here, last: %v", n, err)
	}
	if d.etcd == nil {
		return nil
	}
	h := d.etcd.Health()
	switch {
	case !h.Stale:
	case h.Watching && h.CatchingUp:
		return fmt.Errorf("stale: catching up with etcd's changes made while this node was not watching: replica at revision %d, etcd at %d",
			h.ReplicaRev, h.ClusterRev)
	default:
		return fmt.Errorf("stale: answering from the replica at revision %d, %s (%s)",
			h.ReplicaRev, lastAnswered(d.etcd, h), h.LastError)
	}
	return nil
}

// lastAnswered says when a quorum of etcd last answered this node; a node
// started while etcd was out of reach has never heard from it (its
// LastContact is the zero time, not 2562047h ago).
func lastAnswered(b *etcdkv.Backend, h etcdkv.Health) string {
	d, _ := b.Outage()
	if h.LastContact.IsZero() {
		return fmt.Sprintf("etcd not reached since this node started %s ago", d.Round(time.Millisecond))
	}
	return fmt.Sprintf("etcd last answered %s ago", d.Round(time.Millisecond))
}

// watchStoreHealth exports the replica's state with etcd.
func (d *Daemon) watchStoreHealth(m *metrics.Metrics) {
	m.GaugeFunc("store_revision", "The store revision this node's index has applied.", nil, func() float64 {
		return float64(d.st.Revision())
	})
	if d.etcd == nil {
		return
	}
	b := d.etcd
	m.GaugeFunc("store_stale", "1 while the etcd replica may be behind (no quorum answered within store.etcd.stale_after, or catching up after its watch was re-established); reads still answer from it.", nil, func() float64 {
		if b.Health().Stale {
			return 1
		}
		return 0
	})
	m.GaugeFunc("store_revision_lag", "etcd's latest revision minus the replica's (changes outside the prefix count too).", nil, func() float64 {
		h := b.Health()
		return float64(max(h.ClusterRev-h.ReplicaRev, 0))
	})
	m.GaugeFunc("store_replica_age_seconds", "Seconds since a quorum of etcd last answered this node (since it started, when none has yet).", nil, func() float64 {
		d, _ := b.Outage()
		return d.Seconds()
	})
	m.GaugeFunc("store_resyncs", "Full reloads of the replica from etcd since start: the first load of an empty or foreign replica, then after etcd compacted past its revision or went back below it (restored from an older snapshot).", nil, func() float64 {
		return float64(b.Health().Resyncs)
	})
}
