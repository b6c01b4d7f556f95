package reputation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"callgate/e164"
	"callgate/policy"
)

// HTTPProvider asks a reputation API over HTTP:
//
//	GET {BaseURL}/v1/reputation/{digits}     digits: E.164 without '+'
//	Authorization: Bearer {APIKey}           (when APIKey is set)
//
//	200 {"number":"13035550100","band":"low"|"medium"|"high","score":0..100}
//
// Any other status, a body over 4 KiB or without a known band is an error,
// and so is an answer naming another number than the one asked (a
// provider's or a proxy's mix-up would otherwise be cached for hours as
// this caller's band).
// Connections are kept alive (the SCP asks at thousands per second).
type HTTPProvider struct {
	base   string
	key    string
	client *http.Client
}

// HTTPConfig sets up an HTTPProvider.
type HTTPConfig struct {
	BaseURL string        // e.g. https://reputation.example.net
	APIKey  string        // sent as a bearer token; "" = none
	Timeout time.Duration // one look-up, connection included (default 2 s)
	// MaxConns bounds the connections to the service (default 64).
	MaxConns int
}

// NewHTTPProvider checks cfg and builds the provider.
func NewHTTPProvider(cfg HTTPConfig) (*HTTPProvider, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("reputation base_url %q: want an http:// or https:// URL with a host", cfg.BaseURL)
	}
	if cfg.Timeout < 0 || cfg.MaxConns < 0 {
		return nil, fmt.Errorf("reputation: timeout %s and max_conns %d must not be negative", cfg.Timeout, cfg.MaxConns)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 64
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.MaxConns,
		MaxIdleConnsPerHost: cfg.MaxConns,
		MaxConnsPerHost:     cfg.MaxConns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: cfg.Timeout,
		ForceAttemptHTTP2:   true,
	}
	return &HTTPProvider{base: strings.TrimRight(cfg.BaseURL, "/"), key: cfg.APIKey,
		client: &http.Client{Transport: tr, Timeout: cfg.Timeout}}, nil
}

// answer is the body of a 200.
type answer struct {
	Number string `json:"number"`
	Band   string `json:"band"`
	Score  *int   `json:"score,omitempty"`
}

// Lookup implements Provider.
func (p *HTTPProvider) Lookup(ctx context.Context, n e164.Number) (policy.Reputation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/v1/reputation/"+n.Digits(), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	if p.key != "" {
		req.Header.Set("Authorization", "Bearer "+p.key)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10+1))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("reputation: %s answered %s", p.base, resp.Status)
	}
	return decodeAnswer(body, n)
}

// decodeAnswer reads a 200 body answering for n.
func decodeAnswer(body []byte, n e164.Number) (policy.Reputation, error) {
	if len(body) > 4<<10 {
		return 0, fmt.Errorf("%w: body over 4 KiB", ErrBadAnswer)
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadAnswer, err)
	}
	if a.Number != "" && strings.TrimPrefix(a.Number, "+") != n.Digits() {
		return 0, fmt.Errorf("%w: answer for number %q, asked for %s", ErrBadAnswer, a.Number, n.Digits())
	}
	if a.Score != nil && (*a.Score < 0 || *a.Score > 100) {
		return 0, fmt.Errorf("%w: score %d outside 0..100", ErrBadAnswer, *a.Score)
	}
	return ParseBand(a.Band)
}

// Close drops the idle connections.
func (p *HTTPProvider) Close() { p.client.CloseIdleConnections() }
