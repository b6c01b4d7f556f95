package fraud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
)

// fileOffset is how far a CDR file has been read (offset/PATH): the file
// by inode, the byte offset after the last complete line applied, and
// that line's number. It is stored with the day totals in one checkpoint,
// so after a crash the file is read again from exactly where the stored
// totals stop: no CDR is counted twice or lost.
type fileOffset struct {
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
	Line   int    `json:"line"`
}

const offsetPrefix = "offset/"

func offsetKey(path string) string { return offsetPrefix + path }

func (m *Monitor) loadOffsets() error {
	return m.state.Scan(offsetPrefix, func(k string, v []byte) error {
		var o fileOffset
		if err := json.Unmarshal(v, &o); err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
		m.omu.Lock()
		m.offsets[strings.TrimPrefix(k, offsetPrefix)] = o
		m.omu.Unlock()
		return nil
	})
}

// offsetOps returns the writes of the offsets (ingest held alone).
func (m *Monitor) offsetOps() []Op {
	m.omu.Lock()
	defer m.omu.Unlock()
	if !m.odirty {
		return nil
	}
	m.odirty = false
	ops := make([]Op, 0, len(m.offsets))
	for p, o := range m.offsets {
		v, _ := json.Marshal(o)
		ops = append(ops, Op{Key: offsetKey(p), Value: v})
	}
	return ops
}

func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// Tail follows a CDR file in the line form (a mediation system appending
// to it) until ctx ends: every complete line is applied as it appears. It
// resumes where the last checkpoint left it; it follows a rotation (the
// path now names a new file: the old one is read to its end first) and a
// truncation (read again from the start). A bad line is logged with its
// file and line number, counted, and skipped: a feed cannot be refused.
func (m *Monitor) Tail(ctx context.Context, path string, poll time.Duration) error {
	if poll <= 0 {
		poll = time.Second
	}
	t := &tailer{m: m, path: path, buf: make([]byte, 64<<10)}
	defer t.close()
	for {
		if err := t.step(); err != nil && !errors.Is(err, os.ErrNotExist) {
			m.warnf("fraud: CDR file unreadable; retrying", "path", path, "error", err)
		} else if errors.Is(err, os.ErrNotExist) {
			m.warnf("fraud: CDR file does not exist yet; waiting for it", "path", path)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}

type tailer struct {
	m    *Monitor
	path string
	f    *os.File
	pos  fileOffset
	part []byte // a line not yet complete
	skip bool   // the line being read is too long: skip to its end
	buf  []byte
}

func (t *tailer) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

// step opens or reopens the file as needed and applies what it can read.
func (t *tailer) step() error {
	if t.f == nil {
		if err := t.open(); err != nil {
			return err
		}
	}
	if err := t.drain(); err != nil {
		return err
	}
	fi, err := os.Stat(t.path)
	if err != nil {
		return nil // rotated away, the new file not there yet: keep the old
	}
	cur, _ := t.f.Stat()
	switch {
	case cur != nil && !os.SameFile(fi, cur):
		// rotated: the old file is read to its end (drain above); a line
		// it left unfinished is lost with it
		if len(t.part) > 0 {
			t.m.warnf("fraud: CDR file rotated with an unfinished last line; line dropped", "path", t.path, "line", t.pos.Line+1)
		}
		t.close()
		t.part, t.skip = t.part[:0], false
		return t.openAt(fileOffset{Inode: inode(fi)})
	case fi.Size() < t.pos.Offset+int64(len(t.part)):
		t.skip = false
		t.m.log.Warn("fraud: CDR file truncated; reading it again from the start", "path", t.path)
		t.part = t.part[:0]
		t.close()
		return t.openAt(fileOffset{Inode: inode(fi)})
	}
	return nil
}

// open opens the file where the stored offset says (the start for a
// different file than the one the offset is about).
func (t *tailer) open() error {
	fi, err := os.Stat(t.path)
	if err != nil {
		return err
	}
	t.m.omu.Lock()
	saved, ok := t.m.offsets[t.path]
	t.m.omu.Unlock()
	at := fileOffset{Inode: inode(fi)}
	if ok && saved.Inode == at.Inode && saved.Offset <= fi.Size() {
		at = saved
	} else if ok {
		t.m.log.Warn("fraud: CDR file is not the one read before (rotated or truncated while stopped); reading it from the start", "path", t.path)
	}
	return t.openAt(at)
}

func (t *tailer) openAt(at fileOffset) error {
	f, err := os.Open(t.path)
	if err != nil {
		return err
	}
	if _, err := f.Seek(at.Offset, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	t.f, t.pos = f, at
	t.setOffset()
	return nil
}

// drain reads to the end of the file, applying complete lines.
func (t *tailer) drain() error {
	for {
		n, err := t.f.Read(t.buf)
		if n > 0 {
			t.feed(t.buf[:n])
		}
		if err == io.EOF || n == 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// feed applies the complete lines in b (after the unfinished part).
func (t *tailer) feed(b []byte) {
	m := t.m
	m.ingest.RLock()
	defer m.ingest.RUnlock()
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if t.skip || len(t.part)+len(b) > maxLine {
				if !t.skip {
					m.st.invalid.Add(1)
					m.warnf("fraud: CDR line longer than 4096 bytes; skipped", "path", t.path, "line", t.pos.Line+1)
				}
				t.skip = true
				t.pos.Offset += int64(len(t.part) + len(b))
				t.part = t.part[:0]
			} else {
				t.part = append(t.part, b...)
			}
			break
		}
		line := b[:i]
		t.pos.Offset += int64(len(t.part) + i + 1)
		t.pos.Line++
		if len(t.part) > 0 {
			line = append(t.part, line...)
			t.part = t.part[:0]
		}
		b = b[i+1:]
		if t.skip {
			t.skip = false
			continue
		}
		t.apply(line)
	}
	t.setOffset()
}

// maxLine bounds a CDR line.
const maxLine = 4096

// apply applies one line (ingest held shared).
func (t *tailer) apply(line []byte) {
	m := t.m
	if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
		return
	}
	c, err := ParseCDR(line)
	if errors.Is(err, errHeader) {
		return
	}
	if err == nil {
		err = m.check(c)
	}
	if err != nil {
		m.st.invalid.Add(1)
		m.warnf("fraud: bad CDR line skipped", "path", t.path, "line", t.pos.Line, "error", err)
		return
	}
	m.apply(&c)
}

func (t *tailer) setOffset() {
	t.m.omu.Lock()
	t.m.offsets[t.path] = t.pos
	t.m.odirty = true
	t.m.omu.Unlock()
}
