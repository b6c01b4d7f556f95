package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/storetest"
)

// socketTier starts a tier serving only the owner's socket over a fresh
// store with subscriber alice; it is stopped when the test ends.
func socketTier(t *testing.T, opts ...Option) (*Tier, *store.Store, string) {
	t.Helper()
	st := storetest.Open(t)
	if _, err := st.CreateProvider(store.Operator, store.ProviderSpec{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	r, _ := store.ParseRange("+12025550100..+12025550199")
	if err := st.AllocateNumbers(store.Operator, "acme", r); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "alice", Provider: "acme", Numbers: []string{"+12025550100"}}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "callgate.sock")
	tier, err := New(Config{Socket: sock}, st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := tier.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tier.Stop(context.Background()) })
	return tier, st, sock
}

// unixClient is an HTTP client that dials sock.
func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

// On the socket, without a token, the caller acts as the platform owner,
// named in the audit log by the kernel's word for its user (cli:USER, via
// cli); the socket is the daemon user's, mode 0600, and gone after Stop.
func TestSocketActsAsTheOwnerNamedByTheKernel(t *testing.T) {
	tier, st, sock := socketTier(t)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	hc := unixClient(sock)
	resp, err := hc.Post("http://x/api/v1/lists/alice/blocked", "application/json", strings.NewReader(`{"numbers":["+13125550199"]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("add on the socket: %d %s", resp.StatusCode, body)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.SearchAudit(store.Operator, store.AuditQuery{Object: "list/subscriber/alice/blocked", Limit: 1})
	if err != nil || len(recs) != 1 {
		t.Fatalf("audit: %v %v", recs, err)
	}
	if r := recs[0]; r.Principal != "cli:"+me.Username || r.Via != "cli" || r.Role != "operator" {
		t.Errorf("audit record %+v: want principal cli:%s via cli as operator", r, me.Username)
	}
	// The TCP listener's rule is unchanged: no token, no answer.
	srv := httptest.NewServer(tier.Handler())
	defer srv.Close()
	if resp, err := http.Get(srv.URL + "/api/v1/providers"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("TCP without a token: %d, want 401", resp.StatusCode)
	}
	if err := tier.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after Stop: %v", err)
	}
}

// A client whose uid is neither the daemon's nor root's is refused even
// if the socket's mode was loosened; so is one the kernel cannot name.
func TestSocketRefusesOtherUsers(t *testing.T) {
	tier := &Tier{cfg: Config{Socket: "/run/callgate.sock"}, ownerUID: 1000}
	for _, tc := range []struct {
		peer localPeer
		ok   bool
		want string
	}{
		{localPeer{uid: 1000, name: "cg"}, true, ""},
		{localPeer{uid: 0, name: "root"}, true, ""},
		{localPeer{uid: 1001, name: "mallory"}, false, "mallory (uid 1001) may not use /run/callgate.sock"},
		{localPeer{err: errors.New("no credentials")}, false, "cannot tell who is connected"},
	} {
		w := httptest.NewRecorder()
		p, ok := tier.authenticateLocal(w, tc.peer)
		if ok != tc.ok || ok && p.local != tc.peer.name {
			t.Errorf("%+v: admitted %v as %q", tc.peer, ok, p.local)
		}
		if !tc.ok && (w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), tc.want)) {
			t.Errorf("%+v: %d %s, want 403 saying %q", tc.peer, w.Code, w.Body, tc.want)
		}
		if ok && actorOf(p) != store.Operator.By("cli:"+tc.peer.name, "cli") {
			t.Errorf("%+v acts as %+v", tc.peer, actorOf(p))
		}
	}
}

// The socket answers only for the store the CLI names (StoreHeader): 409
// with the check's reason otherwise; no header, no check.
func TestSocketStoreCheck(t *testing.T) {
	_, _, sock := socketTier(t, WithStoreCheck(func(path string) error {
		if path != "/data/callgate.db" {
			return errors.New("this daemon serves /data/callgate.db, not " + path)
		}
		return nil
	}))
	hc := unixClient(sock)
	for _, tc := range []struct {
		header string
		status int
	}{{"/data/callgate.db", 200}, {"/other/callgate.db", 409}, {"", 200}} {
		req, _ := http.NewRequest("GET", "http://x/api/v1/providers", nil)
		if tc.header != "" {
			req.Header.Set(StoreHeader, tc.header)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p problem
		json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != tc.status || tc.status == 409 && (p.Field != StoreHeader || !strings.Contains(p.Detail, "not /other/callgate.db")) {
			t.Errorf("store %q: %d %+v, want %d", tc.header, resp.StatusCode, p, tc.status)
		}
	}
}

// A socket left by a daemon that died is replaced; one a live daemon
// answers on, or a file that is not a socket, is not touched.
func TestSocketStartReplacesOnlyStaleSockets(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "callgate.sock")
	dead, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	dead.(*net.UnixListener).SetUnlinkOnClose(false)
	dead.Close() // the file stays, nobody answers: a daemon killed -9
	st := storetest.Open(t)
	a, err := New(Config{Socket: sock}, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatalf("start over a stale socket: %v", err)
	}
	defer a.Stop(context.Background())
	b, _ := New(Config{Socket: sock}, st)
	if err := b.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "another callgate daemon answers there") {
		t.Errorf("second daemon on a live socket: %v", err)
	}
	file := filepath.Join(dir, "notes.txt")
	os.WriteFile(file, []byte("mine"), 0o600)
	c, _ := New(Config{Socket: file}, st)
	if err := c.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("socket path on a regular file: %v", err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "mine" {
		t.Errorf("the file was touched: %q %v", b, err)
	}
	// Only a's socket answers, and only until a stops.
	if c, err := net.DialTimeout("unix", sock, time.Second); err != nil {
		t.Errorf("a's socket: %v", err)
	} else {
		c.Close()
	}
}

// A socket path the kernel cannot bind is refused when the tier is built
// (config check), naming api.socket and the fix.
func TestSocketPathChecked(t *testing.T) {
	for _, p := range []string{"relative.sock", "/" + strings.Repeat("d", 120) + "/callgate.sock"} {
		if _, err := New(Config{Socket: p}, nil); err == nil || !strings.Contains(err.Error(), "api.socket") {
			t.Errorf("socket %q: %v", p, err)
		}
	}
}
