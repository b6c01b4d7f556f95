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
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("transport: bad M3UA framing at stream offset %d: %s", e.Offset, e.What)
}

// FrameReader splits a byte stream into M3UA messages using the common
// header: version 1, length at least 8 and at most the configured maximum.
type FrameReader struct {
	r   *bufio.Reader
	max int
	off int64
	err error // sticky: after a framing error the stream is unusable
}

// NewFrameReader reads messages of at most max octets from r.
func NewFrameReader(r io.Reader, max int) *FrameReader {
	if max < 8 {
		max = DefaultMaxMessage
	}
	size := 16 * 1024
	if max < size {
		size = max
	}
	return &FrameReader{r: bufio.NewReaderSize(r, size), max: max}
}

// ReadFrame reads the next message into buf and returns its length. It
// returns io.EOF at a clean end of stream, io.ErrUnexpectedEOF inside a
// message, and a *FrameError for a header that cannot be an M3UA message
// or a message larger than the maximum or than buf.
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
	bad := func(off int64, format string, args ...any) error {
		e := &FrameError{Offset: off, What: fmt.Sprintf(format, args...)}
		copy(e.Header[:], buf[:8])
		return e
	}
	if buf[0] != 1 {
		return 0, bad(f.off, "version %d, want 1", buf[0])
	}
	l := binary.BigEndian.Uint32(buf[4:8])
	if l < 8 {
		return 0, bad(f.off+4, "message length %d shorter than the header", l)
	}
	if uint64(l) > uint64(f.max) {
		return 0, bad(f.off+4, "message length %d over the %d-octet maximum", l, f.max)
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
