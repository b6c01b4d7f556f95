package daemon

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
)

// adminMux serves the admin listener: /metrics, /healthz, /readyz, the
// cluster's state (/cluster/node, /cluster/status: cluster.go), the
// fraud monitor's CDR feed (POST /fraud/cdrs, fraud.go) and, with
// admin.debug, `callgate capture` (capture.go), and with admin.pprof Go's
// profiler. The
// CLI's operator commands go to the management API on its socket
// (admin_tier.go), not here.
func (d *Daemon) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", d.serveReady)
	mux.HandleFunc("GET /cluster/node", d.serveNodeStatus)
	mux.HandleFunc("GET /cluster/status", d.serveClusterStatus)
	d.sig.mount(mux) // POST /api/v1/keys
	d.mountFraud(mux)
	if d.cfg.Admin.Debug {
		mux.HandleFunc("GET /debug/capture", d.serveCapture)
	}
	if d.cfg.Admin.Pprof {
		// Go's profiler, for finding where a loaded server spends its time
		// (go tool pprof http://127.0.0.1:9464/debug/pprof/profile?seconds=20).
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// healthSource is one line of /readyz. A critical source that is not
// healthy makes the daemon not ready (503: load balancers move traffic
// away); the others are reported but do not stop calls being answered.
type healthSource struct {
	name     string
	check    func() error
	critical bool
}

// healthSources are the tiers (critical: each tier's Ready), the store
// and the decision log (not critical: calls are answered from a stale
// replica, and while the log fails).
func (d *Daemon) healthSources() []healthSource {
	var hs []healthSource
	for _, t := range d.tiers {
		hs = append(hs, healthSource{t.Name(), t.Ready, true})
	}
	if d.st != nil {
		hs = append(hs, healthSource{"store", d.storeHealth, false})
	}
	if l := d.dlog; l != nil {
		hs = append(hs, healthSource{"decision_log", l.Health, false})
	}
	return hs
}

// serveReady answers /readyz: 200 "ready" while the daemon serves and
// every tier is ready, else 503; then one line per health source,
// "name: ok" or "name: why not".
func (d *Daemon) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !d.ready.Load() {
		http.Error(w, "not ready: starting or shutting down", http.StatusServiceUnavailable)
		return
	}
	var b strings.Builder
	ready := true
	for _, h := range d.healthSources() {
		if err := h.check(); err != nil {
			ready = ready && !h.critical
			fmt.Fprintf(&b, "%s: %v\n", h.name, err)
		} else {
			fmt.Fprintf(&b, "%s: ok\n", h.name)
		}
	}
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "not ready\n"+b.String())
		return
	}
	fmt.Fprint(w, "ready\n"+b.String())
}

// loopbackOnly answers 403 and reports false unless r comes from this
// host: the admin listener may face a management network for /metrics,
// and a capture shows subscribers' calls.
func loopbackOnly(w http.ResponseWriter, r *http.Request) bool {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil && net.ParseIP(host).IsLoopback() {
		return true
	}
	http.Error(w, "debug endpoints are answered for clients on this host only", http.StatusForbidden)
	return false
}
