package sip

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// gateLog is a log handler that holds the goroutine logging msg until
// release is closed: diago logs "Listening on transport" on the serve
// goroutine after it has reported the listener ready and before sipgo
// serves it, so holding that line holds the phone in between.
type gateLog struct {
	msg     string
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gateLog) Enabled(context.Context, slog.Level) bool { return true }
func (g *gateLog) WithAttrs([]slog.Attr) slog.Handler       { return g }
func (g *gateLog) WithGroup(string) slog.Handler            { return g }
func (g *gateLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == g.msg {
		g.once.Do(func() { close(g.entered) })
		<-g.release
	}
	return nil
}

// A call placed the moment NewPhone returns goes out even when the
// listener's serve goroutine is slow to start serving: sipgo reports a UDP
// listener ready before it is in the connection pool, and a request sent
// then failed with "bind: address already in use" (the INVITE never left,
// the answering phone never saw a call).
func TestCallRightAfterNewPhone(t *testing.T) {
	t.Parallel()
	a := answerer(t, AnswerConfig{Respond: 486})
	gate := &gateLog{msg: "Listening on transport", entered: make(chan struct{}), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(gate.release) }) }
	t.Cleanup(release)
	ctx := callCtx(t)
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		p, err := NewPhone(ctx, PhoneConfig{Logger: slog.New(gate)})
		if err != nil {
			done <- outcome{nil, err}
			return
		}
		defer p.Close()
		res, err := p.Call(ctx, CallConfig{Target: a.URI("+13035550100")})
		done <- outcome{res, err}
	}()
	<-gate.entered // the serve goroutine is between "ready" and serving
	// Hold it there a while: before the fix the call failed in that time.
	// (Released later, the fixed phone simply starts later; nothing here
	// depends on how long anything takes.)
	hold := time.NewTimer(300 * time.Millisecond)
	defer hold.Stop()
	var o outcome
	select {
	case o = <-done:
	case <-hold.C:
		release()
		o = <-done
	}
	if o.err != nil {
		t.Fatal(o.err)
	}
	if o.res.Outcome != OutcomeRejected || o.res.Status != 486 {
		t.Fatalf("outcome %s %d, want rejected 486 (the call must go out)\n%s", o.res.Outcome, o.res.Status, o.res)
	}
	got := next(t, a)
	if got.Status != 486 {
		t.Errorf("the answering phone saw %s %d, want 486\n%s", got.Outcome, got.Status, got)
	}
}
