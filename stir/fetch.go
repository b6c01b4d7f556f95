package stir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FetchConfig bounds the x5u and CRL fetcher. The x5u URL comes from the
// caller's PASSporT, so the fetcher is attacker-steered: every field limits
// what an attacker can make us do.
type FetchConfig struct {
	// AllowHTTP lets x5u use plain http (labs). CRLs may always use http:
	// they are signed by the CA we already trust, and RFC 5280 publishes
	// them over http.
	AllowHTTP bool
	// AllowPrivate lets fetches reach loopback, private (RFC 1918, ULA),
	// link-local, CGNAT and unspecified addresses (labs only). Without it
	// such an address is refused at connect time, for the first request
	// and for every redirect, whatever DNS says.
	AllowPrivate   bool
	MaxBytes       int64         // body size cap (default 64 KiB)
	ConnectTimeout time.Duration // TCP+TLS connect (default 2 s)
	Timeout        time.Duration // whole request, redirects included (default 5 s)
	MaxConcurrent  int           // fetches in flight at once (default 8)
	MaxRedirects   int           // default 3
}

func (c *FetchConfig) defaults() {
	if c.MaxBytes <= 0 {
		c.MaxBytes = 64 << 10
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 2 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 8
	}
	if c.MaxRedirects <= 0 {
		c.MaxRedirects = 3
	}
}

// Fetcher gets certificates and CRLs over HTTP(S) within FetchConfig.
type Fetcher struct {
	cfg    FetchConfig
	client *http.Client
	sem    chan struct{}
}

// NewFetcher returns a fetcher. It never uses proxies from the environment
// (a proxy would hide the address check).
func NewFetcher(cfg FetchConfig) *Fetcher {
	cfg.defaults()
	f := &Fetcher{cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent)}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, Control: f.checkAddr}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true, // the size cap counts what arrives
	}
	f.client = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	return f
}

// errAddrRefused marks a connection to an address the fetcher may not reach.
var errAddrRefused = errors.New("address refused")

// checkAddr runs after DNS, on the address actually dialled.
func (f *Fetcher) checkAddr(network, address string, _ syscall.RawConn) error {
	if f.cfg.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", errAddrRefused, address, err)
	}
	if !PublicAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s is loopback, private, link-local or unspecified", errAddrRefused, ap.Addr())
	}
	return nil
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// PublicAddr reports whether a may be fetched from without the lab setting.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && !a.IsLoopback() && !a.IsPrivate() && !a.IsLinkLocalUnicast() &&
		!a.IsLinkLocalMulticast() && !a.IsInterfaceLocalMulticast() && !a.IsMulticast() &&
		!a.IsUnspecified() && !cgnat.Contains(a)
}

// checkScheme says whether u may be fetched as an x5u (crl: as a CRL).
func (f *Fetcher) checkScheme(u *url.URL, crl bool) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if f.cfg.AllowHTTP || crl {
			return nil
		}
		return &SchemeError{URL: u.Redacted(), Scheme: u.Scheme}
	}
	return &SchemeError{URL: u.Redacted(), Scheme: u.Scheme}
}

// SchemeError is a URL refused for its scheme.
type SchemeError struct{ URL, Scheme string }

func (e *SchemeError) Error() string {
	if e.Scheme == "http" {
		return e.URL + ": plain http x5u refused (https only; the lab setting allow_http_x5u permits http)"
	}
	return fmt.Sprintf("%s: scheme %q refused (https only)", e.URL, e.Scheme)
}

// ErrFetchBusy is a fetch not started: all MaxConcurrent fetches stayed
// busy for Timeout. It says nothing of the URL, so it is not cached.
var ErrFetchBusy = errors.New("no fetch slot free (fetches at max_concurrent for the whole time-out)")

// fetched is one HTTP answer: its body and how long it may be cached.
type fetched struct {
	body   []byte
	maxAge time.Duration // from Cache-Control max-age / Expires; -1 when the server said nothing
}

// Fetch gets rawURL. crl selects the CRL scheme rule.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, crl bool) (fetched, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fetched{}, fmt.Errorf("%q is not an absolute URL", rawURL)
	}
	if err := f.checkScheme(u, crl); err != nil {
		return fetched{}, err
	}
	// A slot is waited for at most Timeout: the URLs come from unsigned
	// PASSporTs, so without a bound a flood of them pointing at a server
	// that never answers would queue goroutines without end.
	slot := time.NewTimer(f.cfg.Timeout)
	select {
	case f.sem <- struct{}{}:
		slot.Stop()
		defer func() { <-f.sem }()
	case <-slot.C:
		return fetched{}, fmt.Errorf("%s: %w", u.Redacted(), ErrFetchBusy)
	case <-ctx.Done():
		slot.Stop()
		return fetched{}, fmt.Errorf("%s: waiting for a fetch slot: %w", u.Redacted(), ctx.Err())
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fetched{}, err
	}
	redirects := 0
	client := *f.client
	client.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		redirects++
		if redirects > f.cfg.MaxRedirects {
			return fmt.Errorf("more than %d redirects", f.cfg.MaxRedirects)
		}
		return f.checkScheme(r.URL, crl)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fetched{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fetched{}, fmt.Errorf("%s: HTTP %d", u.Redacted(), resp.StatusCode)
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return fetched{}, fmt.Errorf("%s: body of %d bytes over the %d-byte cap", u.Redacted(), resp.ContentLength, f.cfg.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return fetched{}, fmt.Errorf("%s: %w", u.Redacted(), err)
	}
	if int64(len(body)) > f.cfg.MaxBytes {
		return fetched{}, fmt.Errorf("%s: body over the %d-byte cap", u.Redacted(), f.cfg.MaxBytes)
	}
	return fetched{body: body, maxAge: cacheLifetime(resp.Header, time.Now())}, nil
}

// cacheLifetime reads Cache-Control (no-store, no-cache, max-age) and
// Expires; -1 means the server gave no lifetime.
func cacheLifetime(h http.Header, now time.Time) time.Duration {
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		d = strings.TrimSpace(strings.ToLower(d))
		switch {
		case d == "no-store", d == "no-cache":
			return 0
		case strings.HasPrefix(d, "max-age="):
			if n, err := strconv.Atoi(strings.TrimPrefix(d, "max-age=")); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if e := h.Get("Expires"); e != "" {
		if t, err := http.ParseTime(e); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
			return 0
		}
	}
	return -1
}
