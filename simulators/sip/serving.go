package sip

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
)

// maxServingWait bounds how long a new phone waits for its UDP listener to
// serve; past it NewPhone fails (the listener never started reading).
const maxServingWait = 10 * time.Second

// awaitServing returns once the UDP listener on addr is in sipgo's
// connection pool, where requests the phone sends look for it.
//
// Why: sipgo (v1.7.3, emiago/sipgo#367) reports a listener ready, and so
// diago's ServeBackground returns, just before its serve goroutine puts the
// socket in the pool. diago sends every UDP request from the listener's
// address, so a request sent in that gap (a call placed right after
// NewPhone, on a busy machine) finds no connection for that address, binds
// it again and fails with "bind: address already in use": the INVITE never
// goes out and the far end never sees the call. There is no event to wait
// on, so this checks the pool, the condition itself, at short intervals.
func awaitServing(ctx context.Context, ua *sipgo.UserAgent, addr string) error {
	pool := ua.TransportLayer().Pool("udp")
	if pool == nil {
		return fmt.Errorf("listen on %s/udp: sipgo has no UDP transport", addr)
	}
	ctx, cancel := context.WithTimeout(ctx, maxServingWait)
	defer cancel()
	wait := 50 * time.Microsecond
	for {
		if c := pool.Get(addr); c != nil {
			c.TryClose() // Get took a reference; a listener is never closed by it
			return nil
		}
		if !sleep(ctx, wait) {
			return fmt.Errorf("listen on %s/udp: the listener did not start serving (%v)", addr, context.Cause(ctx))
		}
		wait = min(2*wait, 5*time.Millisecond)
	}
}
