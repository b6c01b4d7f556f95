package m3ua

import (
	"errors"
	"io"
	"sync/atomic"
	"time"

	"callgate/sigtran/transport"
)

// readerState is one reader goroutine's: whether it is reading or inside
// the handling of a message, its read buffer and the DATA it decodes into.
type readerState struct {
	state atomic.Int32 // readerReading, readerHandling or readerReleased
	rx    Data
}

const (
	readerReading int32 = iota
	readerHandling
	readerReleased // ReleaseReader gave up on it: it ends when its Handler returns
)

// reader reads and handles the peer's messages in batches: those one read
// delivered (transport.ReadAhead; one at a time on SCTP). While it is in a
// batch, what is queued for sending waits; at its end, before the reader
// waits for the network, it is all written with one write (outbox.go).
func (a *Association) reader(r *readerState) {
	buf := make([]byte, a.ep.cfg.MaxMessage)
	ra, _ := a.conn.(transport.ReadAhead)
	inBatch := 0 // messages handled since the last write
	// The clock is read once per batch: the messages of a batch were all
	// waiting when its first read returned.
	var at time.Time
	newBatch := true
	// Leaving with a batch half handled (the association failed), the
	// Handler's owner still gets its batch end; a released reader leaves
	// that to the one that took over.
	released := false
	defer func() {
		if !released {
			a.batchEnd()
		}
	}()
	for {
		n, stream, err := a.conn.ReadMsg(buf)
		if newBatch {
			at, newBatch = time.Now(), false
		}
		if err != nil {
			if a.readFailed(err) {
				newBatch = true
				a.batchEnd()
				if err := a.endBatch(); err != nil {
					a.fail(err)
					return
				}
				continue
			}
			if err == io.EOF {
				err = errors.New("peer closed the association")
			}
			a.fail(err)
			return
		}
		if !a.readerBusy.Load() {
			a.readerBusy.Store(true)
		}
		a.tap(false, stream, buf[:n])
		r.state.Store(readerHandling)
		a.handle(buf[:n], stream, &r.rx, at)
		if !r.state.CompareAndSwap(readerHandling, readerReading) {
			// Released while the Handler held it: the association has
			// another reader, whose batches the answers go out with.
			released = true
			return
		}
		var more bool
		if ra != nil {
			more = ra.Buffered()
		}
		inBatch++
		switch {
		case !more:
			a.batchEnd()
			err, inBatch, newBatch = a.endBatch(), 0, true
		case inBatch%64 == 0 && a.out.size() >= maxBatch:
			// A long batch: what it has answered so far goes now.
			err, inBatch = a.flush(), 0
		}
		if err != nil {
			a.fail(err)
			return
		}
	}
}

// batchEnd tells the Handler's owner (Config.BatchEnd) that the reader
// handled every message of its batch, or is leaving the association
// with a batch half handled: what it held back must go on now.
func (a *Association) batchEnd() {
	if f := a.ep.cfg.BatchEnd; f != nil {
		f(a)
	}
}

// endBatch ends the reader's batch: from now on what is queued wakes the
// writer, and what was queued during the batch is written.
func (a *Association) endBatch() error {
	a.readerBusy.Store(false)
	return a.flush()
}

// ReleaseReader gives up on the reader goroutine when its Handler does not
// return (a decision stuck far past its time budget): a new reader goroutine
// takes over the association at once, so that what the peer sends next is
// read and answered, and the old one ends when its Handler returns (what
// that Handler sends still goes out). It reports false, doing nothing,
// when the reader is not inside the handling of a message. The caller must
// not let the new reader share state with the stuck Handler: the Data it
// was given stays the old reader's.
func (a *Association) ReleaseReader() bool {
	old := a.rd.Load()
	if old == nil || a.isClosed() || !old.state.CompareAndSwap(readerHandling, readerReleased) {
		return false
	}
	r := &readerState{}
	a.rd.Store(r)
	a.ep.log.Warn("m3ua reader released: the message handler has not returned; a new reader goroutine takes over the association",
		"assoc", a.id, "remote", a.conn.RemoteAddr().String())
	a.ep.wg.Add(1)
	go func() { defer a.ep.wg.Done(); a.reader(r) }()
	return true
}

// Value returns what SetValue stored with the association (nil before):
// a user of the endpoint keeps its per-association state there, such as
// the scratch state of a Handler that decides on the reader goroutine.
func (a *Association) Value() any { return a.value.Load() }

// SetValue stores v with the association (always of the same type).
func (a *Association) SetValue(v any) { a.value.Store(v) }
