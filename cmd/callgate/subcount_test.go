package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"callgate/internal/config"
	"callgate/internal/demo"
)

// Defect: `provider list` and `provider show`, through a running daemon,
// counted a provider's subscribers by paging through every one of them
// over the API (a thousand a request: a thousand requests for a provider
// of a million). Now they ask GET /api/v1/subscribers:count once per
// provider; the output is what the same commands print on the store file.
func TestProviderCountsWithoutPagingSubscribers(t *testing.T) {
	dir := t.TempDir()
	c := &cli{t: t}
	(&cli{t: t, dir: dir}).ok("demo")
	r := startDaemon(t, dir, "")
	const extra = 2500 // three pages of the old listing
	c.ok("provider", "allocate", demo.Provider, "+13125000000..+13125009999", "--config", r.cliCfg)
	var csv strings.Builder
	csv.WriteString("name,provider,numbers\n")
	for i := range extra {
		fmt.Fprintf(&csv, "bulk%04d,%s,+1312500%04d\n", i, demo.Provider, i)
	}
	file := filepath.Join(t.TempDir(), "subs.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("subscriber", "import", file, "--config", r.cliCfg)

	// A proxy in front of the daemon's socket counts the requests the
	// commands make.
	proxySock := filepath.Join(t.TempDir(), "proxy.sock")
	ln, err := net.Listen("unix", proxySock)
	if err != nil {
		t.Fatal(err)
	}
	daemonSock := filepath.Join(dir, config.SocketFile)
	var mu sync.Mutex
	requests := map[string]int{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: "daemon"})
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{Dial: func(string, string) (net.Conn, error) { return net.Dial("unix", daemonSock) }},
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		requests[req.Method+" "+req.URL.Path]++
		mu.Unlock()
		proxy.ServeHTTP(w, req)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	proxyCfg := filepath.Join(dir, "proxy.yaml")
	if err := os.WriteFile(proxyCfg, []byte(fmt.Sprintf("data_dir: %q\napi: {socket: %q}\n", dir, proxySock)), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{{"provider", "list"}, {"provider", "show", demo.Provider}, {"provider", "list", "--json"}} {
		viaProxy := c.ok(append(args, "--config", proxyCfg)...)
		direct := c.ok(append(args, "--config", r.cliCfg)...)
		if viaProxy != direct {
			t.Fatalf("%v differs through the proxy:\n%s\nwant\n%s", args, viaProxy, direct)
		}
		if !strings.Contains(viaProxy, fmt.Sprint(3+extra)) {
			t.Errorf("%v does not count the %d subscribers:\n%s", args, 3+extra, viaProxy)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n := requests["GET /api/v1/subscribers"]; n != 0 || requests["GET /api/v1/subscribers:count"] != 3 {
		t.Errorf("requests %v: want one count per command and no listing of subscribers", requests)
	}
	// The same output on the store file, without the daemon.
	r.stop()
	local := c.ok("provider", "show", demo.Provider, "--config", r.cliCfg)
	if !strings.Contains(local, fmt.Sprint(3+extra)) {
		t.Errorf("provider show on the file:\n%s", local)
	}
}
