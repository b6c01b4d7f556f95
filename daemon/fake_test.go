package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"callgate/internal/config"
)

// events records what fake tiers were asked, in order.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(format string, args ...any) {
	e.mu.Lock()
	e.list = append(e.list, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

func (e *events) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.list...)
}

// fakeTier is a Tier that records its calls.
type fakeTier struct {
	name     string
	ev       *events
	startErr error
	ready    error
}

func (f *fakeTier) Name() string { return f.name }
func (f *fakeTier) Start(context.Context) error {
	f.ev.add("start %s", f.name)
	return f.startErr
}
func (f *fakeTier) Ready() error { return f.ready }
func (f *fakeTier) Drain(context.Context) error {
	f.ev.add("drain %s", f.name)
	return nil
}
func (f *fakeTier) Stop(context.Context) error {
	f.ev.add("stop %s", f.name)
	return nil
}
func (f *fakeTier) Describe() string { return f.name + " somewhere" }

// withTiers replaces the tier list for one test.
func withTiers(t *testing.T, tiers ...*fakeTier) {
	t.Helper()
	saved := tierList
	t.Cleanup(func() { tierList = saved })
	tierList = nil
	for _, ft := range tiers {
		tierList = append(tierList, tierSpec{
			name: ft.name, section: ft.name,
			enabled:   func(*config.Config) bool { return true },
			listeners: func(*config.Config) []listener { return nil },
			build:     func(*config.Config, *Deps) (Tier, error) { return ft, nil },
		})
	}
}

// testConfig is a configuration on free loopback ports in a temporary
// data directory.
func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.DecisionLog.NoSync = true
	cfg.SIP.UDP, cfg.SIP.TCP = "127.0.0.1:0", ""
	cfg.SCP.Listen = []string{"127.0.0.1:0"}
	cfg.B2BUA.UDP, cfg.B2BUA.TCP = "127.0.0.1:0", ""
	cfg.B2BUA.RTPPortMin, cfg.B2BUA.RTPPortMax = 0, 0
	return cfg
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// syncBuffer is a log destination safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

var errBoom = errors.New("boom")

func storeFile(cfg config.Config) string { return filepath.Join(cfg.DataDir, config.StoreFile) }
