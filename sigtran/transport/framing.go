package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// FrameError is a violation of the M3UA framing on a byte stream. The
// stream cannot be resynchronised after one, so the connection must be
// closed.
type FrameError struct {
	Offset int64 // stream offset of the offending octet
	What   string
	// Header is the offending common header (zero when the failure is not
	// about a header), so the M3UA layer can answer with ERR before the
	// connection closes.
	Header [8]byte
	// Err is the underlying condition when it has a type of its own (a
	// *MessageTooLongError); errors.As finds it through Unwrap.
	Err error
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("transport: bad M3UA framing at stream offset %d: %s", e.Offset, e.What)
}

func (e *FrameError) Unwrap() error { return e.Err }

// MessageTooLongError is a message longer than the configured maximum
// (Config.MaxMessage, 64 KiB by default). Over SCTP, whose messages are
// delimited by the transport, the message has been read out and discarded
// and the association can carry on; over TCP it comes inside a *FrameError,
// because the length that frames the stream is the thing in doubt (a
// length that large is far likelier a lost framing than a real message).
type MessageTooLongError struct {
	// Header is the message's common header as received.
	Header [8]byte
	// Length is the message's length: what its header announces (TCP), or
	// the octets the transport delivered (SCTP).
	Length int64
	// Max is the limit it broke.
	Max int
}

func (e *MessageTooLongError) Error() string {
	return fmt.Sprintf("transport: M3UA message of %d octets over the %d-octet maximum", e.Length, e.Max)
}

// FrameReader splits a byte stream into M3UA messages using the common
// header's length: at least 8 and at most the configured maximum. It does
// not judge the version: a message of another version is still framed by
// its length, and RFC 4666 §3.8.1 has the M3UA layer answer it with ERR
// (Invalid Version) and carry on.
type FrameReader struct {
	r   *bufio.Reader
	max int
	off int64
	err error // sticky: after a framing error the stream is unusable
}

// readAhead is the most one read system call takes from the stream: at
// 50,000 queries/s of some 150 octets a busy association delivers a few
// kilobytes per wake-up, a burst up to this much.
const readAhead = 64 * 1024

// NewFrameReader reads messages of at most max octets from r.
func NewFrameReader(r io.Reader, max int) *FrameReader {
	if max < 8 {
		max = DefaultMaxMessage
	}
	return &FrameReader{r: bufio.NewReaderSize(r, min(readAhead, max)), max: max}
}

// Buffered reports whether the next ReadFrame can return without reading
// from the stream: a whole message (or a header that ReadFrame will
// refuse, or a sticky error) is already in the read-ahead buffer. A
// reader that answers what it reads flushes its answers when this turns
// false, so that one read and one write serve a whole batch.
func (f *FrameReader) Buffered() bool {
	if f.err != nil {
		return true
	}
	n := f.r.Buffered()
	if n < 8 {
		return false
	}
	h, _ := f.r.Peek(8) // buffered: does not read
	l := binary.BigEndian.Uint32(h[4:8])
	if l < 8 || uint64(l) > uint64(f.max) {
		return true // ReadFrame reports it at once
	}
	return uint64(n) >= uint64(l)
}

// ReadFrame reads the next message into buf and returns its length. It
// returns io.EOF at a clean end of stream, io.ErrUnexpectedEOF inside a
// message, and a *FrameError for a length that cannot be an M3UA message's
// or a message larger than the maximum (wrapping a *MessageTooLongError)
// or than buf.
func (f *FrameReader) ReadFrame(buf []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.readFrame(buf)
	if err != nil {
		f.err = err
	}
	return n, err
}

func (f *FrameReader) readFrame(buf []byte) (int, error) {
	if len(buf) < 8 {
		return 0, &FrameError{Offset: f.off, What: fmt.Sprintf("read buffer of %d octets cannot hold a header", len(buf))}
	}
	if n, err := io.ReadFull(f.r, buf[:8]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || (n > 0 && err == io.EOF) {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, err
	}
	bad := func(off int64, format string, args ...any) *FrameError {
		e := &FrameError{Offset: off, What: fmt.Sprintf(format, args...)}
		copy(e.Header[:], buf[:8])
		return e
	}
	l := binary.BigEndian.Uint32(buf[4:8])
	if l < 8 {
		return 0, bad(f.off+4, "message length %d shorter than the header", l)
	}
	if uint64(l) > uint64(f.max) {
		e := bad(f.off+4, "message length %d over the %d-octet maximum", l, f.max)
		e.Err = &MessageTooLongError{Header: e.Header, Length: int64(l), Max: f.max}
		return 0, e
	}
	if uint64(l) > uint64(len(buf)) {
		return 0, bad(f.off+4, "message length %d over the %d-octet read buffer", l, len(buf))
	}
	if _, err := io.ReadFull(f.r, buf[8:l]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	f.off += int64(l)
	return int(l), nil
}
