package m3ua

import (
	"fmt"
	"sync"
)

// Writing. Every message an association sends — DATA from any goroutine,
// management from the reader, the timers or a drain — is encoded straight
// into the association's outbox, in the order the senders queue them, and
// leaves in that order: the outbox is taken whole and written by one
// flusher at a time (wmu), so batches cannot overtake each other.
//
// Who writes. The reader goroutine marks itself busy while it handles a
// batch of messages it read (all those one read system call delivered,
// transport.ReadAhead); what is queued meanwhile — the answers a Handler
// deciding inline gives, and those of other goroutines — waits for the
// end of the batch, when the reader writes it all with one write before
// it waits for the network again. Anything queued while the reader is not
// busy wakes the writer goroutine, which writes it at once: a query that
// arrives alone is answered as soon as it is decided, at any rate. Over
// TCP a batch is one write; over SCTP each message is sent on its own
// stream, one send each.
//
// Bounds. DATA is refused with ErrSendQueueFull once Config.SendQueue
// DATA messages wait (as when the peer stops reading); management is
// never refused. A batch that grows past maxBatch octets during a long
// read batch is written at once. A reader writing its batch's answers
// waits, like the writer, while the socket has no room: it reads nothing
// meanwhile, so TCP's flow control holds back a peer that sends queries
// but does not read the answers, instead of the answers being dropped;
// a peer that stops reading altogether loses the association to the
// heartbeat (its BEAT Ack cannot be read), which closes the socket and
// ends the wait.
type outbox struct {
	mu   sync.Mutex
	buf  []byte   // the queued messages, back to back
	msgs []outRef // where each ends, its stream and class
	data int      // DATA messages among them

	// wmu is held by the flusher, from taking the batch to the end of its
	// write; spare and spareMsgs are the buffers the last batch was
	// written from, swapped in at the next take (under wmu).
	wmu       sync.Mutex
	spare     []byte
	spareMsgs []outRef
}

// outRef locates one message in the outbox's buffer.
type outRef struct {
	end    int
	stream uint16
	class  Class
}

// maxBatch is the size at which a reader in a long batch writes what it
// has queued without waiting for the batch's end.
const maxBatch = 32 * 1024

// keepBuffer bounds the buffer kept for reuse after a burst.
const keepBuffer = 256 * 1024

// queueData encodes DATA carrying pd, with the association's routing
// context and the endpoint's network appearance, into the outbox on
// stream, unless limit DATA messages wait already (ErrSendQueueFull).
func (a *Association) queueData(pd *ProtocolData, stream uint16, limit int) error {
	rc, hasRC := a.routingContext()
	var na uint32
	hasNA := false
	if p := a.ep.cfg.NetworkAppearance; p != nil {
		na, hasNA = *p, true
	}
	ob := &a.out
	ob.mu.Lock()
	if ob.data >= limit {
		ob.mu.Unlock()
		return ErrSendQueueFull
	}
	start := len(ob.buf)
	b, err := appendData(ob.buf, pd, na, hasNA, rc, hasRC, 0, false)
	return a.queuedLocked(b, start, err, stream, ClassTransfer, true)
}

// queueMsg encodes a management (or any) message into the outbox on
// stream, without limit.
func (a *Association) queueMsg(m Message, stream uint16) error {
	ob := &a.out
	ob.mu.Lock()
	start := len(ob.buf)
	b, err := m.AppendTo(ob.buf)
	return a.queuedLocked(b, start, err, stream, m.MessageClass(), false)
}

// queuedLocked completes a queueData or queueMsg: b is the buffer with
// the message appended from start, unless err. It releases ob.mu and wakes
// the writer when the outbox was empty and the reader is not in a batch
// (whose end writes it).
func (a *Association) queuedLocked(b []byte, start int, err error, stream uint16, class Class, data bool) error {
	ob := &a.out
	if err != nil {
		ob.buf = b[:start]
		ob.mu.Unlock()
		return err
	}
	ob.buf = b
	ob.msgs = append(ob.msgs, outRef{end: len(b), stream: stream, class: class})
	if data {
		ob.data++
	}
	first := len(ob.msgs) == 1
	ob.mu.Unlock()
	if first && !a.readerBusy.Load() {
		select {
		case a.kick <- struct{}{}:
		default: // woken already
		}
	}
	return nil
}

// queued returns the messages waiting to be written.
func (ob *outbox) queued() int {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return len(ob.msgs)
}

// size returns the octets waiting to be written.
func (ob *outbox) size() int {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return len(ob.buf)
}

// flush writes everything queued: one write on a single-stream transport
// (TCP), one send per message on SCTP. An error means the association is
// broken (the caller fails it).
func (a *Association) flush() error {
	ob := &a.out
	ob.wmu.Lock()
	defer ob.wmu.Unlock()
	ob.mu.Lock()
	if len(ob.msgs) == 0 {
		ob.mu.Unlock()
		return nil
	}
	buf, msgs := ob.buf, ob.msgs
	ob.buf, ob.msgs, ob.data = ob.spare[:0], ob.spareMsgs[:0], 0
	ob.mu.Unlock()
	err := a.writeBatch(buf, msgs)
	if cap(buf) <= keepBuffer {
		ob.spare, ob.spareMsgs = buf[:0], msgs[:0]
	} else {
		ob.spare, ob.spareMsgs = nil, nil
	}
	return err
}

// writeBatch writes the messages of buf, tapping and counting each.
// ob.wmu is held.
func (a *Association) writeBatch(buf []byte, msgs []outRef) error {
	single := a.conn.Streams() == 1
	start := 0
	for _, m := range msgs {
		b := buf[start:m.end]
		a.tap(true, m.stream, b)
		a.count(m.class)
		if !single {
			if err := a.conn.WriteMsg(b, m.stream); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		start = m.end
	}
	if single {
		if err := a.conn.WriteMsg(buf, 0); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}

// writer writes what other goroutines queue while the reader is waiting
// for the network (see the comment at the top of this file).
func (a *Association) writer() {
	for {
		select {
		case <-a.kick:
		case <-a.done:
			return
		}
		if err := a.flush(); err != nil {
			a.fail(err)
			return
		}
	}
}
