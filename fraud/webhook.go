package fraud

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"callgate/policy"
)

// WebhookConfig configures the alert webhook: every event (alert,
// lockdown, unlock, rate import) is POSTed as JSON to URL, signed.
type WebhookConfig struct {
	URL string
	// Secret keys the signature (HMAC-SHA256); required.
	Secret []byte
	// Attempts is how many times one event is tried (5); Backoff the wait
	// after the first failure (1s), doubled after each, at most a minute.
	Attempts int
	Backoff  time.Duration
	// Timeout bounds one attempt (10s).
	Timeout time.Duration
	// QueueSize bounds the events waiting (1024); beyond it an event is
	// dropped (logged and counted: it is still in the audit log).
	QueueSize int
}

// The signature headers. A receiver recomputes
// HMAC-SHA256(secret, timestamp + "." + body), hex, compares it with the
// signature in constant time (VerifySignature), and refuses a timestamp
// far from its clock (a replay).
const (
	HeaderSignature = "X-Callgate-Signature" // "sha256=" + hex
	HeaderTimestamp = "X-Callgate-Timestamp" // Unix seconds
	HeaderEvent     = "X-Callgate-Event"     // the event kind
	HeaderDelivery  = "X-Callgate-Delivery"  // the audit record's number: the same on every retry
)

// Sign returns the signature header value of body sent at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a delivery's signature header against body and
// its timestamp header.
func VerifySignature(secret []byte, timestamp, signature string, body []byte) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}

// Webhook delivers events in the background, in order, with retries.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
	log    *slog.Logger
	queue  chan Event
	done   chan struct{}
	stop   context.CancelFunc
	ctx    context.Context
	mu     sync.RWMutex // closed and the queue's close
	closed bool
	warn   policy.LogLimiter

	delivered, failed, dropped, retries atomic.Uint64
}

// Check reports what NewWebhook would refuse in cfg, without starting
// anything (`config check` runs it).
func (cfg WebhookConfig) Check() error {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook url %q: want an http:// or https:// URL", cfg.URL)
	}
	if len(cfg.Secret) < 16 {
		return fmt.Errorf("webhook secret: %d bytes; want at least 16 (the receiver checks each delivery's HMAC-SHA256 signature with it)", len(cfg.Secret))
	}
	return nil
}

// NewWebhook checks cfg and starts the delivery goroutine.
func NewWebhook(cfg WebhookConfig, log *slog.Logger) (*Webhook, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1024
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	w := &Webhook{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}, log: log,
		queue: make(chan Event, cfg.QueueSize), done: make(chan struct{}), ctx: ctx, stop: stop}
	go w.run()
	return w, nil
}

// Notify implements Notifier: it queues e and never blocks.
func (w *Webhook) Notify(e Event) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		return
	}
	select {
	case w.queue <- e:
	default:
		w.dropped.Add(1)
		if ok, n := w.warn.Allow(time.Now(), time.Minute); ok {
			w.log.Error("fraud webhook: queue full, event not delivered (it is in the audit log)", "event", e.Kind, "audit", e.Seq, "suppressed_since_last", n)
		}
	}
}

func (w *Webhook) run() {
	defer close(w.done)
	for e := range w.queue {
		if w.ctx.Err() != nil {
			w.failed.Add(1) // shutdown cut delivery short
			continue
		}
		w.deliver(e)
	}
}

// deliver tries e up to Attempts times.
func (w *Webhook) deliver(e Event) {
	body, _ := json.Marshal(e)
	wait := w.cfg.Backoff
	var err error
	for attempt := 1; attempt <= w.cfg.Attempts; attempt++ {
		if attempt > 1 {
			w.retries.Add(1)
			select {
			case <-time.After(wait):
			case <-w.ctx.Done():
				w.failed.Add(1)
				w.log.Error("fraud webhook: shutdown before the event was delivered (it is in the audit log)", "event", e.Kind, "audit", e.Seq, "error", err)
				return
			}
			wait = min(2*wait, time.Minute)
		}
		var retry bool
		if retry, err = w.post(e, body); err == nil {
			w.delivered.Add(1)
			return
		}
		if !retry {
			break
		}
	}
	w.failed.Add(1)
	w.log.Error("fraud webhook: event not delivered (it is in the audit log)", "event", e.Kind, "audit", e.Seq, "url", w.cfg.URL, "error", err)
}

// post sends one attempt; retry says whether another may succeed.
func (w *Webhook) post(e Event, body []byte) (retry bool, err error) {
	ts := time.Now().Unix()
	req, err := http.NewRequest(http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(w.cfg.Secret, ts, body))
	req.Header.Set(HeaderEvent, string(e.Kind))
	req.Header.Set(HeaderDelivery, strconv.FormatUint(e.Seq, 10))
	resp, err := w.client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
		return true, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return false, fmt.Errorf("HTTP %d (refused: not retried)", resp.StatusCode)
}

// Close delivers what is queued (retries cut short once ctx ends) and
// stops.
func (w *Webhook) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		w.stop()
		<-w.done
		return fmt.Errorf("fraud webhook: %d event(s) undelivered at shutdown (in the audit log)", w.failed.Load())
	}
}

// WebhookStats are the webhook's counts.
type WebhookStats struct {
	Delivered, Failed, Dropped, Retries uint64
	Queued                              int
}

// Stats returns the counts.
func (w *Webhook) Stats() WebhookStats {
	return WebhookStats{Delivered: w.delivered.Load(), Failed: w.failed.Load(), Dropped: w.dropped.Load(),
		Retries: w.retries.Load(), Queued: len(w.queue)}
}
