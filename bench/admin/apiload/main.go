// Command apiload is the management-API side of bench/admin/run.sh: many
// concurrent API clients editing subscribers' lists through /api/v1, each
// its own subscriber, while the SCP is under load. Each client, once per
// --interval (the first at a random moment of it), does the next step of
// add a number to the subscriber's Blocked list (POST), read the list's
// first page (GET), remove the number (DELETE). It prints, per operation
// and in all, the requests, the errors (any answer but 2xx, or no answer)
// and the latency distribution.
//
// Latency is measured from the moment a request was due, not from when it
// was sent: when the API falls behind, a client's next request starts late
// and the wait counts (no coordinated omission). With --interval 0 each
// client sends as fast as it gets answers.
//
//	apiload --api http://127.0.0.1:8481 --token-file token --clients 200 --duration 20s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type options struct {
	api, token     string
	clients        int
	duration       time.Duration
	interval       time.Duration
	owner          string // fmt format of the subscriber name from the client's index
	firstOwner     int
	list           string
	jsonOut        bool
	callerBase     int64 // first listed number: +1 and 10 digits
	seed           uint64
	requestTimeout time.Duration
}

func main() {
	var o options
	var tokenFile string
	flag.StringVar(&o.api, "api", "http://127.0.0.1:8480", "the API's base URL")
	flag.StringVar(&tokenFile, "token-file", "", "file holding a platform-owner API token (else $CALLGATE_TOKEN)")
	flag.IntVar(&o.clients, "clients", 200, "concurrent clients, one subscriber each")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "how long the clients run")
	flag.DurationVar(&o.interval, "interval", time.Second, "each client's time between requests (0: back to back)")
	flag.StringVar(&o.owner, "owner", "sub%07d", "subscriber name of client i (a fmt format of i + --first)")
	flag.IntVar(&o.firstOwner, "first", 0, "index of the first client's subscriber")
	flag.StringVar(&o.list, "list", "blocked", "the list edited: blocked or vip")
	flag.DurationVar(&o.requestTimeout, "request-timeout", 30*time.Second, "a request unanswered this long is an error")
	flag.BoolVar(&o.jsonOut, "json", false, "print the summary as JSON")
	flag.Int64Var(&o.callerBase, "caller-base", 16467000000, "numbers added are +<caller-base + client*10000 + step>")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the clients' start offsets")
	flag.Parse()
	o.token = os.Getenv("CALLGATE_TOKEN")
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			fail(err)
		}
		o.token = strings.TrimSpace(string(b))
	}
	if o.token == "" {
		fail(errors.New("no token: give --token-file or set CALLGATE_TOKEN (callgate admin bootstrap prints one)"))
	}
	if o.clients < 1 || o.duration <= 0 || o.interval < 0 {
		fail(errors.New("--clients, --duration must be positive, --interval not negative"))
	}
	sum, err := run(context.Background(), o)
	if err != nil {
		fail(err)
	}
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sum)
	} else {
		sum.print(os.Stdout)
	}
	if sum.All.Requests == 0 || sum.All.Errors*100 > sum.All.Requests {
		fmt.Fprintf(os.Stderr, "apiload: %d of %d requests failed; first: %s\n", sum.All.Errors, sum.All.Requests, sum.FirstError)
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "apiload:", err)
	os.Exit(2)
}

// sample is one request's outcome.
type sample struct {
	op      int
	latency time.Duration
	err     bool
}

var opNames = []string{"add", "read", "remove"}

// stats summarise one operation's samples.
type stats struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	P999ms   float64 `json:"p999_ms"`
	MaxMs    float64 `json:"max_ms"`
}

type summary struct {
	Clients    int              `json:"clients"`
	Seconds    float64          `json:"seconds"`
	PerSecond  float64          `json:"requests_per_second"`
	Ops        map[string]stats `json:"ops"`
	All        stats            `json:"all"`
	FirstError string           `json:"first_error,omitempty"`
}

func run(ctx context.Context, o options) (*summary, error) {
	tr := &http.Transport{MaxIdleConns: o.clients, MaxIdleConnsPerHost: o.clients, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: o.requestTimeout}
	// One request first: a wrong URL or token should not look like 200
	// clients failing.
	if err := probe(hc, o); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.seed, 7))
	offsets := make([]time.Duration, o.clients)
	for i := range offsets {
		if o.interval > 0 {
			offsets[i] = time.Duration(rng.Int64N(int64(o.interval)))
		}
	}
	var (
		mu       sync.Mutex
		samples  []sample
		firstErr string
		wg       sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(o.duration)
	for i := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client{hc: hc, o: o, owner: fmt.Sprintf(o.owner, o.firstOwner+i), base: o.callerBase + int64(i)*10000}
			var mine []sample
			due := start.Add(offsets[i])
			for step := 0; ; step++ {
				if o.interval > 0 {
					if due.After(end) {
						break
					}
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				} else {
					due = time.Now()
					if due.After(end) {
						break
					}
				}
				op := step % 3
				err := c.do(op, step/3)
				s := sample{op: op, latency: time.Since(due), err: err != nil}
				mine = append(mine, s)
				if err != nil {
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
				}
				due = due.Add(o.interval)
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sum := &summary{Clients: o.clients, Seconds: elapsed.Seconds(), Ops: map[string]stats{}, FirstError: firstErr}
	var all []sample
	for op, name := range opNames {
		var these []sample
		for _, s := range samples {
			if s.op == op {
				these = append(these, s)
			}
		}
		sum.Ops[name] = summarise(these)
		all = append(all, these...)
	}
	sum.All = summarise(all)
	sum.PerSecond = float64(len(all)) / elapsed.Seconds()
	return sum, nil
}

func summarise(s []sample) stats {
	var st stats
	lat := make([]time.Duration, 0, len(s))
	for _, x := range s {
		st.Requests++
		if x.err {
			st.Errors++
		}
		lat = append(lat, x.latency)
	}
	if len(lat) == 0 {
		return st
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		i := int(p * float64(len(lat)))
		if i >= len(lat) {
			i = len(lat) - 1
		}
		return float64(lat[i]) / 1e6
	}
	st.P50ms, st.P90ms, st.P99ms, st.P999ms, st.MaxMs = q(0.5), q(0.9), q(0.99), q(0.999), float64(lat[len(lat)-1])/1e6
	return st
}

func (s *summary) print(w io.Writer) {
	fmt.Fprintf(w, "%d clients, %.1f s, %.0f requests/s\n", s.Clients, s.Seconds, s.PerSecond)
	fmt.Fprintf(w, "%-7s %9s %7s %9s %9s %9s %9s %9s\n", "op", "requests", "errors", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms")
	line := func(name string, st stats) {
		fmt.Fprintf(w, "%-7s %9d %7d %9.2f %9.2f %9.2f %9.2f %9.2f\n", name, st.Requests, st.Errors, st.P50ms, st.P90ms, st.P99ms, st.P999ms, st.MaxMs)
	}
	for _, name := range opNames {
		line(name, s.Ops[name])
	}
	line("all", s.All)
	if s.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", s.FirstError)
	}
}

// client is one API client editing one subscriber's list.
type client struct {
	hc    *http.Client
	o     options
	owner string
	base  int64
}

// do runs operation op (add, read, remove) on the n-th number.
func (c *client) do(op, n int) error {
	number := fmt.Sprintf("+%d", c.base+int64(n%10000))
	path := c.o.api + "/api/v1/lists/" + c.owner + "/" + c.o.list
	var req *http.Request
	var err error
	switch op {
	case 0:
		body, _ := json.Marshal(map[string]any{"numbers": []string{number}, "note": "apiload"})
		req, err = http.NewRequest("POST", path, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	case 1:
		req, err = http.NewRequest("GET", path+"?limit=20", nil)
	default:
		req, err = http.NewRequest("DELETE", path+"/"+number, nil)
	}
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.o.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

func probe(hc *http.Client, o options) error {
	req, err := http.NewRequest("GET", o.api+"/api/v1/lists/"+fmt.Sprintf(o.owner, o.firstOwner)+"/"+o.list+"?limit=1", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("the API at %s: %w", o.api, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("the API at %s: GET %s: %d %s", o.api, req.URL.Path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}
