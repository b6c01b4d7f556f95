package daemon

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/store"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The composition: tiers start in list order after the admin listener;
// shutdown drains every tier (last started first), then stops them in the
// same order, then closes the store, which reopens at once.
func TestStartAndShutdownOrder(t *testing.T) {
	ev := &events{}
	withTiers(t, &fakeTier{name: "one", ev: ev}, &fakeTier{name: "two", ev: ev})
	cfg := testConfig(t)
	stopping := 0
	d := New(cfg, Options{Logger: quietLogger(), Stopping: func() { stopping++ }})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, "http://"+d.AdminAddr()+"/readyz"); code != 200 || body != "ready\none: ok\ntwo: ok\nstore: ok\ndecision_log: ok\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	want := []string{"start one", "start two", "drain two", "drain one", "stop two", "stop one"}
	if got := ev.all(); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if stopping != 1 {
		t.Errorf("Stopping called %d times", stopping)
	}
	if err := d.Shutdown(); err != nil || stopping != 1 {
		t.Errorf("a second Shutdown: %v, Stopping called %d times", err, stopping)
	}
	st, err := store.Open(storeFile(cfg), store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("store not closed by Shutdown: %v", err)
	}
	st.Close()
}

// A tier that cannot start stops the daemon: the tiers started before it
// are drained and stopped, it is stopped, and the store is closed again.
func TestFailedStartUndoesEverything(t *testing.T) {
	ev := &events{}
	withTiers(t, &fakeTier{name: "one", ev: ev}, &fakeTier{name: "two", ev: ev, startErr: errBoom})
	cfg := testConfig(t)
	err := New(cfg, Options{Logger: quietLogger()}).Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start two tier: boom") {
		t.Fatalf("Start: %v", err)
	}
	want := []string{"start one", "start two", "drain two", "stop two", "drain one", "stop one"}
	if got := ev.all(); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	st, err := store.Open(storeFile(cfg), store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("store left locked after a failed start: %v", err)
	}
	st.Close()
}

// /readyz is 503 while any tier is not ready and says which and why.
func TestReadyzShowsEachTier(t *testing.T) {
	ev := &events{}
	withTiers(t, &fakeTier{name: "one", ev: ev}, &fakeTier{name: "two", ev: ev, ready: errBoom})
	d := New(testConfig(t), Options{Logger: quietLogger()})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown()
	if code, body := get(t, "http://"+d.AdminAddr()+"/readyz"); code != 503 || body != "not ready\none: ok\ntwo: boom\nstore: ok\ndecision_log: ok\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if code, body := get(t, "http://"+d.AdminAddr()+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
}

// The real tier list on loopback: both tiers start, say where they
// listen, are ready, and shut down cleanly; a tier's port clash with the
// admin listener is refused before anything is opened.
func TestRealTiers(t *testing.T) {
	cfg := testConfig(t)
	logs := &syncBuffer{}
	d := New(cfg, Options{Logger: NewLogger(logs, cfg.Log)})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range d.Tiers() {
		names = append(names, tr.Name())
		if err := tr.Ready(); err != nil {
			t.Errorf("%s not ready: %v", tr.Name(), err)
		}
	}
	if !slices.Equal(names, []string{"sip", "scp", "b2bua", "api"}) {
		t.Errorf("tiers %v, want the three call tiers on by default and the API (its socket, the CLI's way in)", names)
	}
	if code, body := get(t, "http://"+d.AdminAddr()+"/metrics"); code != 200 ||
		!strings.Contains(body, `callgate_sip_responses_total{kind="redirect"} 0`) ||
		!strings.Contains(body, "callgate_scp_backlog") || !strings.Contains(body, "callgate_ready 1") {
		t.Errorf("/metrics: %d, lacks a tier's collectors:\n%s", code, body)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`tier serving" tier=sip listen=udp/127.0.0.1:`, `tier serving" tier=scp listen="m3ua tcp/127.0.0.1:`, "stopped cleanly"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}

	clash := testConfig(t)
	clash.Admin.Listen = "127.0.0.1:5099"
	clash.SCP.Listen = []string{"0.0.0.0:5099"}
	err := New(clash, Options{Logger: quietLogger()}).Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "admin.listen (127.0.0.1:5099) and scp.listen[0] (0.0.0.0:5099) both listen on TCP port 5099") {
		t.Errorf("clashing ports: %v", err)
	}
}

// Go's profiler is served only with admin.pprof; the default has none.
func TestProfilerOnlyWhenSet(t *testing.T) {
	withTiers(t, &fakeTier{name: "one", ev: &events{}})
	for _, on := range []bool{false, true} {
		cfg := testConfig(t)
		cfg.Admin.Pprof = on
		d := New(cfg, Options{Logger: quietLogger()})
		if err := d.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		code, _ := get(t, "http://"+d.AdminAddr()+"/debug/pprof/cmdline")
		d.Shutdown()
		if want := map[bool]int{false: 404, true: 200}[on]; code != want {
			t.Errorf("admin.pprof %v: /debug/pprof/cmdline %d, want %d", on, code, want)
		}
	}
}
