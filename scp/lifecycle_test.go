package scp

import (
	"context"
	"strings"
	"testing"
	"time"

	"callgate/sigtran/m3ua"
)

// tier is daemon.Tier, repeated here because a tier package does not
// import the daemon; the daemon's own test holds *Service to the real one.
type tier interface {
	Name() string
	Start(ctx context.Context) error
	Ready() error
	Drain(ctx context.Context) error
	Stop(ctx context.Context) error
	Describe() string
}

var _ tier = (*Service)(nil)

// TestReadyByRole: an SCP that dials (ASP) is ready only with an
// association active, and says towards whom it has none; one that accepts
// (SG) is ready while it listens. Neither is ready before Start or once
// draining; Drain and Stop may be called again, and Stop without Drain.
func TestReadyByRole(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cfg := testConfig()
	cfg.Role, cfg.Listen, cfg.Connect = m3ua.RoleASP, "", []string{"127.0.0.1:1"} // nobody there
	asp := newHarness(t, cfg, &recorder{}).s
	if err := asp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	err := asp.Ready()
	if err == nil || !strings.Contains(err.Error(), "no M3UA association active towards [127.0.0.1:1]") {
		t.Fatalf("ASP with no association: Ready() = %v", err)
	}
	if err := asp.Stop(ctx); err != nil { // no Drain first
		t.Fatal(err)
	}
	if err := asp.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	sg := newHarness(t, testConfig(), &recorder{}).s
	if err := sg.Ready(); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Fatalf("before Start: %v", err)
	}
	if err := sg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sg.Ready(); err != nil {
		t.Fatalf("listening SG with no switch: %v", err)
	}
	if err := sg.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sg.Ready(); err == nil || !strings.Contains(err.Error(), "draining") {
		t.Fatalf("draining: %v", err)
	}
	if err := sg.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sg.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sg.Ready(); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("stopped: %v", err)
	}
}
