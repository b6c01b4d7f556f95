// Package reputation is a reputation-service simulator: the HTTP API
// reputation.HTTPProvider speaks (GET /v1/reputation/{digits} -> {"number",
// "band","score"}), with a band per number, and latency and failures that
// can be set while it runs. Tests use it to check what callgate asks (and
// does not ask: Requests counts every number looked up); `sspsim
// reputation` runs it for demos and load runs.
package reputation

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"callgate/e164"
)

// Config is the simulator's initial behaviour.
type Config struct {
	// APIKey, when set, must come as "Authorization: Bearer KEY" (else 401).
	APIKey string
	// Latency is added to every answer; Jitter adds up to that much more
	// at random.
	Latency, Jitter time.Duration
	// FailRate is the share of requests answered 503 (0..1).
	FailRate float64
	// DefaultBand is the band of numbers not in Bands ("low" when empty).
	DefaultBand string
	// Bands gives numbers their band ("low", "medium", "high").
	Bands map[e164.Number]string
}

// Sim is a running (or mountable) simulator. Its setters may be called
// while it serves.
type Sim struct {
	mu       sync.RWMutex
	cfg      Config
	down     bool
	requests map[e164.Number]int
	total    atomic.Uint64
	srv      *http.Server
	ln       net.Listener
}

// New makes a simulator; mount it as an http.Handler or Start it.
func New(cfg Config) (*Sim, error) {
	if cfg.FailRate < 0 || cfg.FailRate > 1 {
		return nil, fmt.Errorf("fail rate %v: want 0..1", cfg.FailRate)
	}
	if cfg.DefaultBand == "" {
		cfg.DefaultBand = "low"
	}
	if !validBand(cfg.DefaultBand) {
		return nil, fmt.Errorf("default band %q: want low, medium or high", cfg.DefaultBand)
	}
	bands := make(map[e164.Number]string, len(cfg.Bands))
	for n, b := range cfg.Bands {
		if !validBand(b) {
			return nil, fmt.Errorf("band %q of %s: want low, medium or high", b, n)
		}
		bands[n] = b
	}
	cfg.Bands = bands
	return &Sim{cfg: cfg, requests: make(map[e164.Number]int)}, nil
}

func validBand(b string) bool { return b == "low" || b == "medium" || b == "high" }

// Start serves on addr ("127.0.0.1:0" for any free port).
func (s *Sim) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	return nil
}

// URL is the base URL of a started simulator.
func (s *Sim) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops a started simulator.
func (s *Sim) Close() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}

// SetBand gives n a band.
func (s *Sim) SetBand(n e164.Number, band string) {
	s.mu.Lock()
	s.cfg.Bands[n] = band
	s.mu.Unlock()
}

// SetLatency changes the added latency.
func (s *Sim) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.cfg.Latency = d
	s.mu.Unlock()
}

// SetFailRate changes the share of 503 answers.
func (s *Sim) SetFailRate(r float64) {
	s.mu.Lock()
	s.cfg.FailRate = r
	s.mu.Unlock()
}

// SetDown makes every request fail (500) while down.
func (s *Sim) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// Requests says how often n was looked up.
func (s *Sim) Requests(n e164.Number) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.requests[n]
}

// Total is the number of requests served (any outcome).
func (s *Sim) Total() uint64 { return s.total.Load() }

// ServeHTTP implements the API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.total.Add(1)
	digits, ok := strings.CutPrefix(r.URL.Path, "/v1/reputation/")
	if !ok || r.Method != http.MethodGet {
		http.Error(w, "GET /v1/reputation/{digits}", http.StatusNotFound)
		return
	}
	n, err := e164.Parse("+" + digits)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests[n]++
	cfg, down := s.cfg, s.down
	band := cfg.Bands[n]
	s.mu.Unlock()
	if cfg.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+cfg.APIKey {
		http.Error(w, "bad API key", http.StatusUnauthorized)
		return
	}
	if d := cfg.Latency + time.Duration(rand.Int64N(int64(cfg.Jitter)+1)); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if down {
		http.Error(w, "simulated outage", http.StatusInternalServerError)
		return
	}
	if cfg.FailRate > 0 && rand.Float64() < cfg.FailRate {
		http.Error(w, "simulated failure", http.StatusServiceUnavailable)
		return
	}
	if band == "" {
		band = cfg.DefaultBand
	}
	score := map[string]int{"low": 10, "medium": 55, "high": 90}[band]
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Number string `json:"number"`
		Band   string `json:"band"`
		Score  int    `json:"score"`
	}{n.Digits(), band, score})
}
