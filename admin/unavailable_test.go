package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/boltkv"
	"callgate/store/kv"

	"golang.org/x/crypto/bcrypt"
)

// downKV is a backend whose system of record can be made unreachable, as
// etcd is to a node cut off from it: reads answer, writes fail.
type downKV struct {
	kv.Backend
	down atomic.Bool
}

func (d *downKV) Txn(ctx context.Context, cmps []kv.Cmp, ops []kv.Op) (int64, error) {
	if d.down.Load() {
		return 0, kv.ErrUnavailable
	}
	return d.Backend.Txn(ctx, cmps, ops)
}

// A write while etcd cannot be reached is 503 with what went wrong, not
// 500 "internal error": the operator (or the CLI) is told to retry once
// etcd answers, and nothing was written.
func TestWriteWithStoreUnavailable(t *testing.T) {
	var b *downKV
	f := operatorOn(t, boltkv.Options{NoSync: true}, func(db kv.Backend) kv.Backend { b = &downKV{Backend: db}; return b },
		"+12025550100..+12025550199")
	if _, err := f.st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "alice", Provider: "acme", Numbers: []string{"+12025550100"}}); err != nil {
		t.Fatal(err)
	}

	b.down.Store(true)
	status, body, h := f.do(t, "operator", "POST", "/api/v1/lists/alice/blocked", map[string]any{"numbers": []string{"+13125550199"}})
	var p problem
	_ = json.Unmarshal(body, &p)
	if status != 503 || h.Get("Content-Type") != "application/problem+json" || !strings.Contains(p.Detail, "unavailable") {
		t.Fatalf("write with the store unavailable: %d %s %s, want 503 saying the store is unavailable", status, h.Get("Content-Type"), body)
	}
	// RFC 9110 §15.6.4: a 503 may say when to try again; the request
	// itself was fine, so no field of it is named.
	if h.Get("Retry-After") == "" || p.Field != "" {
		t.Fatalf("write with the store unavailable: Retry-After %q, field %q; want a Retry-After and no field (the request was not at fault): %s",
			h.Get("Retry-After"), p.Field, body)
	}
	// Reads go on.
	f.want(t, 200, "operator", "GET", "/api/v1/lists/alice/blocked", nil, nil)
	b.down.Store(false)
	f.want(t, 200, "operator", "POST", "/api/v1/lists/alice/blocked", map[string]any{"numbers": []string{"+13125550199"}}, nil)
}

// A change larger than one transaction of the backend (etcd's 1.5 MiB
// request: an enterprise of 100,000 numbers, one record) is 413 with the
// limit it broke, not 500 "internal error". A subscriber created with a
// few hundred numbers (one key each) is not such a change: 201.
func TestChangeTooLargeForOneTransaction(t *testing.T) {
	f := operatorOn(t, boltkv.Options{NoSync: true, Limits: kv.EtcdDefaults}, nil, "+12022000000..+12022000999")
	var nums []string
	for i := range 100000 {
		nums = append(nums, fmt.Sprintf("+1202%03d%04d", 200+i/10000, i%10000))
	}
	status, body, _ := f.do(t, "operator", "POST", "/api/v1/enterprises", map[string]any{"name": "initech", "numbers": nums})
	var p problem
	_ = json.Unmarshal(body, &p)
	if status != 413 || !strings.Contains(p.Detail, "limit") {
		t.Fatalf("enterprise with 100,000 numbers over etcd's limits: %d %.300s, want 413 naming the limit", status, body)
	}
	f.want(t, 201, "operator", "POST", "/api/v1/subscribers", map[string]any{"name": "pbx", "provider": "acme", "numbers": nums[:300]}, nil)
}

// operatorOn is an API over a bbolt store opened with opts (wrap, when
// set, stands between the store and the file), with provider acme holding
// the numbers of rng, answering the operator's token.
func operatorOn(t *testing.T, opts boltkv.Options, wrap func(kv.Backend) kv.Backend, rng string) *fixture {
	t.Helper()
	db, err := boltkv.Open(filepath.Join(t.TempDir(), "kv.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var backend kv.Backend = db
	if wrap != nil {
		backend = wrap(db)
	}
	st, err := store.New(backend, store.Options{PINCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	op := store.Operator
	if _, err := st.CreateProvider(op, store.ProviderSpec{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	r, err := store.ParseRange(rng)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AllocateNumbers(op, "acme", r); err != nil {
		t.Fatal(err)
	}
	_, tok, err := st.CreateAPIToken(op, op, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tier, err := New(Config{Listen: "127.0.0.1:0"}, st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tier.Handler())
	t.Cleanup(srv.Close)
	return &fixture{st: st, srv: srv, tokens: map[string]string{"operator": tok}}
}
