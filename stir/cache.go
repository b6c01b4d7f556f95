package stir

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// CacheConfig sets how long fetched certificates and CRLs are kept.
type CacheConfig struct {
	Fetch       FetchConfig
	DefaultTTL  time.Duration // certificate lifetime in the cache when HTTP gives none (1 h)
	MinTTL      time.Duration // floor under HTTP's no-store/no-cache/max-age=0 (1 min)
	MaxTTL      time.Duration // ceiling (24 h); never past the certificate's notAfter
	NegativeTTL time.Duration // how long a failed fetch is remembered (1 min)
	CRLRefresh  time.Duration // background CRL refresh period (1 h; sooner at nextUpdate)
	MaxEntries  int           // certificates kept (10,000); a full cache drops one per new URL
}

func (c *CacheConfig) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.DefaultTTL, time.Hour)
	def(&c.MinTTL, time.Minute)
	def(&c.MaxTTL, 24*time.Hour)
	def(&c.NegativeTTL, time.Minute)
	def(&c.CRLRefresh, time.Hour)
	if c.MaxEntries <= 0 {
		c.MaxEntries = 10000
	}
}

// Cache holds x5u certificates and CRLs by URL. Lookups on the call path
// never touch the network: a miss starts a fetch in the background (one per
// URL however many calls want it) and waits for it at most as long as the
// caller allows. Entries are served until they expire and refreshed in the
// background after that (the stale value keeps serving meanwhile).
type Cache struct {
	cfg     CacheConfig
	fetcher *Fetcher
	now     func() time.Time

	mu     sync.RWMutex
	certs  map[string]*certEntry
	crls   map[string]*crlEntry
	static []*crlList // CRLs given by configuration (not fetched)

	fetches, fetchFailures, fetchBusy atomic.Uint64
}

// NewCache returns an empty cache fetching with cfg.Fetch.
func NewCache(cfg CacheConfig) *Cache {
	cfg.defaults()
	return &Cache{
		cfg: cfg, fetcher: NewFetcher(cfg.Fetch), now: time.Now,
		certs: map[string]*certEntry{}, crls: map[string]*crlEntry{},
	}
}

type certEntry struct {
	done       chan struct{} // closed once the first fetch has ended
	val        atomic.Pointer[certValue]
	refreshing atomic.Bool
}

// certValue is one fetch's outcome: a parsed certificate and chain, or a
// failure. It is immutable once published, but for the verification memo.
type certValue struct {
	leaf    *x509.Certificate
	extra   []*x509.Certificate // further certificates served with the leaf
	serial  string              // leaf serial, decimal (the CRL index key)
	leafErr *fail               // leaf checks that do not depend on time or trust
	err     *fail               // the fetch or parse failed
	expires time.Time
	memo    atomic.Pointer[chainMemo]
}

type crlEntry struct {
	done       chan struct{}
	val        atomic.Pointer[crlValue]
	refreshing atomic.Bool
}

type crlValue struct {
	list    *crlList
	err     error
	fetched time.Time
}

// crlList is a parsed CRL with its revoked serials indexed and its
// signature check remembered per issuer, so a call costs a map look-up.
type crlList struct {
	*x509.RevocationList
	revoked map[string]time.Time // serial (decimal) -> revocation time
	sigOK   sync.Map             // *x509.Certificate -> error (nil: verified)
}

func newCRLList(l *x509.RevocationList) *crlList {
	c := &crlList{RevocationList: l, revoked: make(map[string]time.Time, len(l.RevokedCertificateEntries))}
	for _, r := range l.RevokedCertificateEntries {
		c.revoked[r.SerialNumber.String()] = r.RevocationTime
	}
	return c
}

func (c *crlList) checkSignature(issuer *x509.Certificate) error {
	if v, ok := c.sigOK.Load(issuer); ok {
		err, _ := v.(error)
		return err
	}
	err := c.CheckSignatureFrom(issuer)
	if err != nil {
		c.sigOK.Store(issuer, err)
	} else {
		c.sigOK.Store(issuer, nil)
	}
	return err
}

// Stats are the cache's counters.
type Stats struct {
	Certs, CRLs            int
	Fetches, FetchFailures uint64
	FetchBusy              uint64 // certificate fetches not started: no slot free (ErrFetchBusy)
}

// Stats reports the cache's size and fetch counters.
func (c *Cache) Stats() Stats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return Stats{Certs: len(c.certs), CRLs: len(c.crls), Fetches: c.fetches.Load(), FetchFailures: c.fetchFailures.Load(), FetchBusy: c.fetchBusy.Load()}
}

// Seed puts a certificate body (PEM or DER, leaf first) in the cache under
// url as if it had been fetched; a seeded certificate is never refetched
// (its own validity is still checked on every call).
func (c *Cache) Seed(url string, body []byte) error {
	v := c.parseCert(fetched{body: body, maxAge: -1})
	if v.err != nil {
		return fmt.Errorf("seeding %s: %s", url, v.err.detail)
	}
	v.expires = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	e := &certEntry{done: make(chan struct{})}
	e.val.Store(v)
	close(e.done)
	c.mu.Lock()
	c.certs[url] = e
	c.mu.Unlock()
	return nil
}

// AddCRL adds a CRL given by configuration; it is used for certificates of
// its issuer whatever their distribution point says.
func (c *Cache) AddCRL(pemOrDER []byte) error {
	der := pemOrDER
	if b, _ := pem.Decode(pemOrDER); b != nil {
		der = b.Bytes
	}
	l, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("CRL: %w", err)
	}
	c.mu.Lock()
	c.static = append(c.static, newCRLList(l))
	c.mu.Unlock()
	return nil
}

// cert returns the certificate behind url, waiting at most wait for a fetch
// in progress; nil means not available within the wait.
func (c *Cache) cert(ctx context.Context, url string, wait time.Duration) *certValue {
	c.mu.RLock()
	e := c.certs[url]
	c.mu.RUnlock()
	if e == nil {
		c.mu.Lock()
		if e = c.certs[url]; e == nil {
			if len(c.certs) >= c.cfg.MaxEntries {
				for k := range c.certs { // map order: an arbitrary victim
					delete(c.certs, k)
					break
				}
			}
			e = &certEntry{done: make(chan struct{})}
			c.certs[url] = e
			e.refreshing.Store(true)
			go c.fetchCert(e, url)
		}
		c.mu.Unlock()
	}
	if v := e.val.Load(); v != nil {
		if c.now().After(v.expires) && e.refreshing.CompareAndSwap(false, true) {
			go c.fetchCert(e, url)
		}
		return v
	}
	return waitFor(ctx, e.done, wait, &e.val)
}

func waitFor[T any](ctx context.Context, done chan struct{}, wait time.Duration, p *atomic.Pointer[T]) *T {
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
		return p.Load()
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

func (c *Cache) fetchCert(e *certEntry, url string) {
	defer e.refreshing.Store(false)
	c.fetches.Add(1)
	f, err := c.fetcher.Fetch(context.Background(), url, false)
	if errors.Is(err, ErrFetchBusy) {
		// Not the URL's failure: nothing is remembered. A first fetch's
		// entry goes (its waiters and the calls meanwhile get x5u-pending)
		// so that a later call starts another; a refresh keeps serving the
		// certificate it has and is tried again by the next call.
		c.fetchBusy.Add(1)
		if e.val.Load() == nil {
			c.mu.Lock()
			if c.certs[url] == e {
				delete(c.certs, url)
			}
			c.mu.Unlock()
			close(e.done)
		}
		return
	}
	var v *certValue
	now := c.now()
	if err != nil {
		c.fetchFailures.Add(1)
		r := ReasonX5uFetch
		if isSchemeErr(err) {
			r = ReasonX5uScheme
		}
		v = &certValue{err: failf(r, "x5u %s", err), expires: now.Add(c.cfg.NegativeTTL)}
	} else {
		v = c.parseCert(f)
		if v.err != nil {
			c.fetchFailures.Add(1)
			v.expires = now.Add(c.cfg.NegativeTTL)
		} else {
			ttl := f.maxAge
			if ttl < 0 {
				ttl = c.cfg.DefaultTTL
			}
			ttl = max(c.cfg.MinTTL, min(ttl, c.cfg.MaxTTL))
			// Never past the certificate's notAfter (a renewed one may be
			// published), but never sooner than MinTTL either (an expired
			// certificate must not be refetched on every call).
			v.expires = maxTime(now.Add(c.cfg.MinTTL), minTime(now.Add(ttl), v.leaf.NotAfter))
		}
	}
	if old := e.val.Load(); v.err != nil && old != nil && old.err == nil && now.Before(old.leaf.NotAfter) {
		// A refresh failed: keep serving the certificate we have (its own
		// validity still bounds it) and try again after NegativeTTL.
		v = &certValue{leaf: old.leaf, extra: old.extra, serial: old.serial, leafErr: old.leafErr,
			expires: now.Add(c.cfg.NegativeTTL)}
	}
	if e.val.Swap(v) == nil {
		close(e.done)
	}
}

func isSchemeErr(err error) bool {
	var se *SchemeError
	return errors.As(err, &se)
}

// parseCert reads PEM certificates (leaf first) or one DER certificate and
// runs the leaf checks that depend neither on time nor on trust.
func (c *Cache) parseCert(f fetched) *certValue {
	certs, err := parseCertificates(f.body)
	if err != nil {
		return &certValue{err: failf(ReasonX5uContent, "x5u body: %v", err)}
	}
	v := &certValue{leaf: certs[0], extra: certs[1:], serial: certs[0].SerialNumber.String()}
	v.leafErr = checkLeaf(v.leaf)
	return v
}

// parseCertificates reads every CERTIFICATE block of a PEM text, or one DER
// certificate.
func parseCertificates(body []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := body
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, cert)
	}
	if len(out) == 0 {
		cert, err := x509.ParseCertificate(body)
		if err != nil {
			return nil, errors.New("no PEM CERTIFICATE block and not a DER certificate")
		}
		out = append(out, cert)
	}
	return out, nil
}

// crl returns the CRL at url (fetched in the background on a miss).
func (c *Cache) crl(ctx context.Context, url string, wait time.Duration) *crlValue {
	c.mu.RLock()
	e := c.crls[url]
	c.mu.RUnlock()
	if e == nil {
		c.mu.Lock()
		if e = c.crls[url]; e == nil {
			e = &crlEntry{done: make(chan struct{})}
			c.crls[url] = e
			e.refreshing.Store(true)
			go c.fetchCRL(e, url)
		}
		c.mu.Unlock()
	}
	if v := e.val.Load(); v != nil {
		return v
	}
	return waitFor(ctx, e.done, wait, &e.val)
}

func (c *Cache) fetchCRL(e *crlEntry, url string) {
	defer e.refreshing.Store(false)
	c.fetches.Add(1)
	v := &crlValue{fetched: c.now()}
	f, err := c.fetcher.Fetch(context.Background(), url, true)
	if err == nil {
		der := f.body
		if b, _ := pem.Decode(f.body); b != nil {
			der = b.Bytes
		}
		var l *x509.RevocationList
		if l, err = x509.ParseRevocationList(der); err == nil {
			v.list = newCRLList(l)
		}
	}
	if err != nil {
		c.fetchFailures.Add(1)
		v.err = err
		if old := e.val.Load(); old != nil && old.list != nil {
			// Keep serving the last good CRL: past its nextUpdate it still
			// proves revocations, and otherwise counts as no CRL (certs.go).
			v.list = old.list
		}
	}
	if e.val.Swap(v) == nil {
		close(e.done)
	}
}

// RefreshCRLs refetches every CRL that is due: past its refresh period, at
// or after its nextUpdate, or failed last time (after NegativeTTL).
func (c *Cache) RefreshCRLs() {
	now := c.now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	for url, e := range c.crls {
		v := e.val.Load()
		if v == nil {
			continue
		}
		due := now.Sub(v.fetched) >= c.cfg.CRLRefresh ||
			v.list != nil && !v.list.NextUpdate.IsZero() && !now.Before(v.list.NextUpdate) ||
			v.err != nil && now.Sub(v.fetched) >= c.cfg.NegativeTTL
		if due && e.refreshing.CompareAndSwap(false, true) {
			go c.fetchCRL(e, url)
		}
	}
}

// Run refreshes CRLs in the background until ctx ends.
func (c *Cache) Run(ctx context.Context) {
	period := min(c.cfg.CRLRefresh, c.cfg.NegativeTTL, time.Minute)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.RefreshCRLs()
		}
	}
}

// staticCRLs returns the configured CRLs issued by issuer.
func (c *Cache) staticCRLs(issuer *x509.Certificate) []*crlList {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*crlList
	for _, l := range c.static {
		if bytes.Equal(l.RawIssuer, issuer.RawSubject) {
			out = append(out, l)
		}
	}
	return out
}
