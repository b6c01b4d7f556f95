package scp

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/sigtran/pcap"
	"callgate/simulators/ssp"
)

// A live capture sees the queries and answers of an association (the SCP
// sending the answer, receiving the query); one capture runs at a time;
// max bounds what is kept.
func TestCapture(t *testing.T) {
	svc, err := New(testConfig(), &recorder{d: policy.Decision{Action: policy.ActionAllow}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer svc.Shutdown(context.Background())
	cl, err := ssp.Dial(ctx, ssp.Config{Network: "tcp", Connect: []string{svc.Addr()}, RoutingContexts: []uint32{10}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	type result struct {
		msgs    []pcap.Seen
		dropped int
		err     error
	}
	done := make(chan result, 1)
	capCtx, stop := context.WithCancel(ctx)
	go func() {
		msgs, dropped, err := svc.Capture(capCtx, time.Minute, 0)
		done <- result{msgs, dropped, err}
	}()
	// Wait for the capture to be in place, then check a second is refused.
	for svc.capture.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	if _, _, err := svc.Capture(ctx, time.Second, 0); !errors.Is(err, ErrCaptureBusy) {
		t.Fatalf("second capture: %v, want ErrCaptureBusy", err)
	}
	ta := ssp.TA{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100")}
	if _, err := cl.TerminationAttempt(ctx, ta); err != nil {
		t.Fatal(err)
	}
	stop()
	r := <-done
	if r.err != nil || r.dropped != 0 || len(r.msgs) != 2 {
		t.Fatalf("capture: %d messages, %d dropped, %v", len(r.msgs), r.dropped, r.err)
	}
	in, out := r.msgs[0], r.msgs[1]
	if in.Out || !out.Out || in.Local != out.Local || !in.Local.Addr().IsLoopback() || in.Remote.Port() == 0 {
		t.Errorf("directions/addresses: in %+v out %+v", in, out)
	}
	var buf bytes.Buffer
	w, err := pcap.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.msgs {
		if err := w.WriteSeen(&r.msgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	back, err := pcap.Read(&buf)
	if err != nil || len(back) != 2 || !bytes.Equal(back[0].Payload, in.Message) || back[0].Stream != 1 {
		t.Fatalf("pcap read back: %d messages, %v", len(back), err)
	}

	// max: the first message is kept, the rest counted; the capture ends
	// when full, without waiting for its duration.
	go func() {
		msgs, dropped, err := svc.Capture(ctx, time.Minute, 1)
		done <- result{msgs, dropped, err}
	}()
	for svc.capture.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	if _, err := cl.TerminationAttempt(ctx, ta); err != nil {
		t.Fatal(err)
	}
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a full capture did not end")
	}
	if r.err != nil || len(r.msgs) != 1 || r.msgs[0].Out {
		t.Fatalf("capture of 1: %d messages, %d dropped, %v", len(r.msgs), r.dropped, r.err)
	}
	if svc.capture.Load() != nil {
		t.Error("capture still installed after it ended")
	}
}
