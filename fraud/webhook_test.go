package fraud

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef-secret")

// hookServer answers with the given codes in turn (200 after they run
// out) and keeps every verified delivery.
type hookServer struct {
	mu    sync.Mutex
	codes []int
	tries int
	got   []Event
	bad   int // deliveries whose signature did not verify
	want  int // deliveries (or refusals) before done
	done  chan struct{}
}

func (h *hookServer) count() {
	h.want--
	if h.want == 0 {
		close(h.done)
	}
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tries++
	if !VerifySignature(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body) {
		h.bad++
	}
	if len(h.codes) > 0 {
		code := h.codes[0]
		h.codes = h.codes[1:]
		if code != http.StatusOK {
			w.WriteHeader(code)
			if code < 500 && code != 429 {
				h.count() // refused: no retry comes
			}
			return
		}
	}
	var e Event
	_ = json.Unmarshal(body, &e)
	if r.Header.Get(HeaderEvent) != string(e.Kind) || r.Header.Get(HeaderDelivery) == "" {
		h.bad++
	}
	h.got = append(h.got, e)
	h.count()
}

func newHook(t *testing.T, want int, codes ...int) (*hookServer, *Webhook) {
	t.Helper()
	h := &hookServer{codes: codes, want: want, done: make(chan struct{})}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Secret: secret, Attempts: 4, Backoff: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h, w
}

// The alert reaches the webhook, signed, after two failed attempts; the
// lockdown after it.
func TestWebhookRetriesAndSigns(t *testing.T) {
	h, w := newHook(t, 2, 500, 503)
	f := newFixture(t)
	f.m.notify = w
	lockDave(t, f)
	<-h.done
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bad != 0 || h.tries != 4 || kinds(h.got) != "alert,lockdown" || h.got[1].Seq != h.got[0].Seq+1 {
		t.Fatalf("tries %d, bad signatures %d, delivered %+v", h.tries, h.bad, h.got)
	}
	if s := w.Stats(); s.Retries != 2 || s.Delivered != 2 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
	if !VerifySignature(secret, "1", Sign(secret, 1, []byte("x")), []byte("x")) || VerifySignature(secret, "1", Sign(secret, 2, []byte("x")), []byte("x")) {
		t.Fatal("a signature over another timestamp verified")
	}
}

// A refusal (4xx) is not retried; the event stays in the audit log.
func TestWebhookRefusalNotRetried(t *testing.T) {
	h, w := newHook(t, 1, 400)
	w.Notify(Event{Seq: 7, Kind: EventAlert})
	<-h.done
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Failed != 1 || s.Delivered != 0 || h.tries != 1 {
		t.Fatalf("stats %+v, tries %d", s, h.tries)
	}
	w.Notify(Event{Seq: 8}) // after Close: dropped, no panic
	if w.Stats().Dropped != 1 {
		t.Fatal("notify after close not counted")
	}
}

func TestWebhookConfig(t *testing.T) {
	if _, err := NewWebhook(WebhookConfig{URL: "ftp://x", Secret: secret}, nil); err == nil {
		t.Error("ftp URL accepted")
	}
	if _, err := NewWebhook(WebhookConfig{URL: "https://x.example/hook", Secret: []byte("short")}, nil); err == nil {
		t.Error("short secret accepted")
	}
}
