package daemon

// The wire of the operator commands the CLI forwards to the daemon.
//
// GET /debug/cli?store=PATH asks whether this daemon holds the store file
// at PATH: 200 if it does, 409 saying which file it holds otherwise. The
// CLI asks it first, so a command reaches a running daemon at once instead
// of waiting out the store's lock_timeout.
//
// POST /debug/cli runs one command. The body is one JSON line (CLIRequest:
// the command line without --config and --data, since the daemon uses its
// own files), followed by what the command reads on standard input (an
// import's CSV, a PIN). The response body is a sequence of frames,
// kind(1) length(4, big-endian) payload: 'o' standard output, 'e' standard
// error, and last 'x' the exit status in decimal. Frames keep the two
// streams apart and in order, of any size, as the command writes them.
//
// Both answer clients on this host only.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// CLIRequest is the first line of the body of POST /debug/cli.
type CLIRequest struct {
	Args  []string `json:"args"`
	Store string   `json:"store,omitempty"` // the store file the caller means (absolute path)
	// Output is the file the caller writes the standard output to (export
	// --output), for the command's messages; the daemon writes no file.
	Output string `json:"output,omitempty"`
	// Input is the file the caller sends as standard input (import FILE),
	// to name it in messages.
	Input string `json:"input,omitempty"`
	// User is the caller's login name as the caller sees it, for the
	// daemon's log where the kernel cannot say who owns the connection.
	User string `json:"user,omitempty"`
}

// Frame kinds of the answer.
const (
	frameStdout = 'o'
	frameStderr = 'e'
	frameExit   = 'x'
)

// ReadAnswer copies the framed answer of a forwarded command: standard
// output to stdout, standard error to stderr. It returns the command's
// exit status, or an error when the answer is cut short or garbled.
func ReadAnswer(body io.Reader, stdout, stderr io.Writer) (int, error) {
	br := bufio.NewReader(body)
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return 0, fmt.Errorf("the daemon's answer was cut short (no exit status): %v", err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[1:]))
		switch hdr[0] {
		case frameStdout:
			if _, err := io.CopyN(stdout, br, n); err != nil {
				return 0, fmt.Errorf("copying the daemon's answer: %w", err)
			}
		case frameStderr:
			if _, err := io.CopyN(stderr, br, n); err != nil {
				return 0, fmt.Errorf("copying the daemon's answer: %w", err)
			}
		case frameExit:
			b := make([]byte, min(n, 16))
			if _, err := io.ReadFull(br, b); err != nil {
				return 0, fmt.Errorf("the daemon's answer was cut short: %v", err)
			}
			code, err := strconv.Atoi(string(b))
			if err != nil {
				return 0, fmt.Errorf("the daemon's exit status %q is not a number", b)
			}
			return code, nil
		default:
			return 0, fmt.Errorf("the daemon's answer has an unknown frame kind %q (a different callgate version?)", hdr[0])
		}
	}
}

// frameWriter writes each Write as one or more frames of its kind.
type frameWriter struct {
	w    io.Writer
	kind byte
}

func (f frameWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		n := min(len(p), 1<<20)
		var hdr [5]byte
		hdr[0] = f.kind
		binary.BigEndian.PutUint32(hdr[1:], uint32(n))
		if _, err := f.w.Write(hdr[:]); err != nil {
			return 0, err
		}
		if _, err := f.w.Write(p[:n]); err != nil {
			return 0, err
		}
		p = p[n:]
	}
	return total, nil
}

// answer is the framed response of one forwarded command. Standard output
// is buffered into big frames; standard error goes out as written (after
// the output before it, so the caller sees both in the order written).
type answer struct {
	mu  sync.Mutex
	w   http.ResponseWriter
	out *bufio.Writer
}

func newAnswer(w http.ResponseWriter) *answer {
	a := &answer{w: w}
	a.out = bufio.NewWriterSize(frameWriter{w: w, kind: frameStdout}, 32<<10)
	return a
}

type answerStdout struct{ a *answer }

func (o answerStdout) Write(p []byte) (int, error) {
	o.a.mu.Lock()
	defer o.a.mu.Unlock()
	return o.a.out.Write(p)
}

type answerStderr struct{ a *answer }

func (e answerStderr) Write(p []byte) (int, error) {
	a := e.a
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.out.Flush(); err != nil {
		return 0, err
	}
	n, err := frameWriter{w: a.w, kind: frameStderr}.Write(p)
	if fl, ok := a.w.(http.Flusher); ok && err == nil {
		fl.Flush()
	}
	return n, err
}

// exit ends the answer with the exit status.
func (a *answer) exit(code int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.out.Flush() == nil {
		frameWriter{w: a.w, kind: frameExit}.Write([]byte(strconv.Itoa(code)))
	}
}
