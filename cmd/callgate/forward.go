package main

// While `callgate serve` runs it holds the store and the decision log
// (bbolt allows one process per file). Operator commands are then
// forwarded to the daemon, which runs the same command against the files it
// has open and streams the output back, so every command works the same
// with and without a daemon — and lists, tenants and treatments change
// live, without stopping call processing: the daemon's store swaps its
// in-memory index after each commit, and both tiers see the change on
// their next query.
//
// Wire: POST /debug/cli on the admin listener, answered for loopback
// clients only. The body is one JSON line {"args": [...]} (the command line
// without --config and --data: the daemon uses its own files), followed by
// what the command reads on standard input (an import's CSV, a PIN). The
// response body is a sequence of frames, kind(1) length(4, big-endian)
// payload: 'o' standard output, 'e' standard error, and last 'x' the exit
// status in decimal. Frames keep the two streams apart and in order, of
// any size, as the command writes them.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"callgate/internal/config"
	"callgate/internal/progress"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// shared is the daemon's open files, given to forwarded commands.
type shared struct {
	st   *store.Store
	dlog *decisionlog.Log // nil when the decision log is off
}

// forwardable lists the commands the daemon runs for the CLI: every
// command on the store or the decision log. Files named on the command
// line stay on the caller's side: an import's CSV travels as standard
// input, an export's --output is written by the caller.
var forwardable = map[string]bool{
	"callgate decide":                 true,
	"callgate log search":             true,
	"callgate import":                 true,
	"callgate export":                 true,
	"callgate list add":               true,
	"callgate list remove":            true,
	"callgate list show":              true,
	"callgate pin set":                true,
	"callgate pin clear":              true,
	"callgate treatment set":          true,
	"callgate treatment show":         true,
	"callgate provider create":        true,
	"callgate provider list":          true,
	"callgate provider show":          true,
	"callgate provider defaults":      true,
	"callgate provider allocate":      true,
	"callgate provider route":         true,
	"callgate provider delete":        true,
	"callgate subscriber create":      true,
	"callgate subscriber list":        true,
	"callgate subscriber show":        true,
	"callgate subscriber assign":      true,
	"callgate subscriber unassign":    true,
	"callgate subscriber permissions": true,
	"callgate subscriber delete":      true,
	"callgate enterprise create":      true,
	"callgate enterprise list":        true,
	"callgate enterprise delete":      true,
	"callgate route set":              true,
	"callgate route list":             true,
	"callgate route delete":           true,
	"callgate route default":          true,
}

// fwdInput is what a forwarded command reads on the caller's side: it is
// sent after the request line as the daemon's standard input. arg, when
// set, is the file argument it came from, replaced by "-" in the
// forwarded command line.
type fwdInput struct {
	r    io.Reader
	size int64 // bytes, for the progress bar; 0 if unknown
	arg  string
	bar  bool // show the upload on a terminal (an import; not a PIN)
}

// canForward reports whether the current command may be sent to the daemon.
func (e *env) canForward() bool { return forwardable[e.cmdPath] }

// hasFlag reports whether args set --name or -short.
func hasFlag(args []string, name, short string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--"+name || strings.HasPrefix(a, "--"+name+"=") || (short != "" && (a == "-"+short || strings.HasPrefix(a, "-"+short+"="))) {
			return true
		}
	}
	return false
}

// stripFileFlags drops --config and --data (and their values).
func stripFileFlags(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if a == "--config" || a == "--data" {
			i++
			continue
		}
		if strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "--data=") {
			continue
		}
		out = append(out, a)
	}
	return out
}

// forward runs the current command in the daemon. busy is the error that
// made the command try (returned, with the reason, if the daemon cannot be
// reached).
func (e *env) forward(cfg *config.Config, busy error) error {
	if cfg.Admin.Listen == "" {
		return fmt.Errorf("%w (and no admin listener is configured to ask the daemon instead)", busy)
	}
	// The daemon checks it serves the store this command names, so a
	// daemon of another data directory never answers in its place.
	storePath, _ := filepath.Abs(cfg.StorePath())
	args := stripFileFlags(e.args)
	// An export's --output file is written here, from the daemon's
	// standard output.
	args, output := stripOutput(args)
	in := cliRequest{Store: storePath, Output: output}
	var body io.Reader
	var bar *progress.Bar
	if f := e.fwdIn; f != nil {
		if f.arg != "" {
			args = replaceLast(args, f.arg, "-")
			in.Input = f.arg
		}
		body = f.r
		if f.bar {
			bar = progress.New(e.stderr)
			body = &countingReader{r: f.r, fn: func(n int64) { bar.Set("send", progress.Bytes, n, f.size) }}
		}
	}
	in.Args = args
	line, _ := json.Marshal(in)
	line = append(line, '\n')
	if body == nil {
		body = bytes.NewReader(line)
	} else {
		body = io.MultiReader(bytes.NewReader(line), body)
	}
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, "http://"+cfg.Admin.Listen+"/debug/cli", body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-callgate-cli")
	resp, err := http.DefaultClient.Do(req)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return fmt.Errorf("%w (asking the daemon at %s failed too: %v)", busy, cfg.Admin.Listen, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%w (the daemon at %s refused: %s %s)", busy, cfg.Admin.Listen, resp.Status, strings.TrimSpace(string(msg)))
	}
	return e.readFrames(resp.Body, output)
}

// Frame kinds of the daemon's answer.
const (
	frameStdout = 'o'
	frameStderr = 'e'
	frameExit   = 'x'
)

// readFrames copies the daemon's answer: standard output to ours (or to
// the file output), standard error to ours, and returns the exit status
// as the error.
func (e *env) readFrames(body io.Reader, output string) (err error) {
	stdout := e.stdout
	if output != "" {
		f, err := os.Create(output)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(output) // cut short or failed: no half file
			}
		}()
		stdout = f
	}
	br := bufio.NewReader(body)
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return fmt.Errorf("the daemon's answer was cut short (no exit status): %v", err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[1:]))
		switch hdr[0] {
		case frameStdout:
			if _, err := io.CopyN(stdout, br, n); err != nil {
				return fmt.Errorf("copying the daemon's answer: %w", err)
			}
		case frameStderr:
			if _, err := io.CopyN(e.stderr, br, n); err != nil {
				return fmt.Errorf("copying the daemon's answer: %w", err)
			}
		case frameExit:
			b := make([]byte, min(n, 16))
			if _, err := io.ReadFull(br, b); err != nil {
				return fmt.Errorf("the daemon's answer was cut short: %v", err)
			}
			code, err := strconv.Atoi(string(b))
			if err != nil {
				return fmt.Errorf("the daemon's exit status %q is not a number", b)
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		default:
			return fmt.Errorf("the daemon's answer has an unknown frame kind %q (a different callgate version?)", hdr[0])
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

// stripOutput removes --output/-o FILE from args and returns FILE.
func stripOutput(args []string) ([]string, string) {
	out := make([]string, 0, len(args))
	file := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...), file
		case (a == "--output" || a == "-o") && i+1 < len(args):
			file = args[i+1]
			i++
		case strings.HasPrefix(a, "--output="):
			file = strings.TrimPrefix(a, "--output=")
		case strings.HasPrefix(a, "-o="):
			file = strings.TrimPrefix(a, "-o=")
		default:
			out = append(out, a)
		}
	}
	return out, file
}

// replaceLast replaces the last element of args equal to old by new (the
// positional file argument: flags come first or use their own values).
func replaceLast(args []string, old, new string) []string {
	out := slices.Clone(args)
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] == old {
			out[i] = new
			break
		}
	}
	return out
}

// countingReader reports the bytes read so far to fn.
type countingReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.fn(c.n)
	return n, err
}

// cliRequest is the first line of the body of POST /debug/cli.
type cliRequest struct {
	Args  []string `json:"args"`
	Store string   `json:"store,omitempty"` // the store file the caller means (absolute path)
	// Output is the file the caller writes the standard output to (export
	// --output), for the command's messages; the daemon writes no file.
	Output string `json:"output,omitempty"`
	// Input is the file the caller sends as standard input (import FILE),
	// to name it in messages.
	Input string `json:"input,omitempty"`
}

// serveCLI is the daemon's side: POST /debug/cli. It answers loopback
// clients only: the admin listener may face a management network for
// /metrics, and these commands read and change subscriber data.
func (s *server) serveCLI(w http.ResponseWriter, r *http.Request) {
	if !loopbackOnly(w, r) {
		return
	}
	var in cliRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if err := dec.Decode(&in); err != nil {
		http.Error(w, "body: want a line {\"args\": [...]} then the standard input: "+err.Error(), http.StatusBadRequest)
		return
	}
	if in.Store != "" {
		theirs, err := os.Stat(in.Store)
		switch {
		case err != nil || s.stFile == nil:
			http.Error(w, "this daemon serves "+s.st.Path()+", not "+in.Store, http.StatusConflict)
			return
		case !os.SameFile(s.stFile, theirs):
			msg := "this daemon serves " + s.st.Path() + ", not " + in.Store
			if now, err := os.Stat(s.st.Path()); err == nil && os.SameFile(now, theirs) {
				msg = "this daemon holds an older file that was at " + s.st.Path() +
					" (deleted or replaced since it started): restart it to serve the new one"
			}
			http.Error(w, msg, http.StatusConflict)
			return
		}
	}
	e := &env{ctx: r.Context(), shared: &shared{st: s.st, dlog: s.dlog}, daemonCfg: &s.cfg, fwdOutput: in.Output, fwdInputName: in.Input}
	// Standard input: what the decoder read past the request line, then the
	// rest of the body (unlimited: an import may be large), without the
	// newline that ends the request line.
	stdin := bufio.NewReader(io.MultiReader(dec.Buffered(), r.Body))
	if b, err := stdin.Peek(1); err == nil && b[0] == '\n' {
		stdin.Discard(1)
	}
	e.stdin = stdin
	root := e.rootCmd()
	cmd, _, err := root.Find(in.Args)
	if err != nil || !forwardable[cmd.CommandPath()] || hasFlag(in.Args, "output", "o") ||
		hasFlag(in.Args, "config", "") || hasFlag(in.Args, "data", "") {
		http.Error(w, "only the operator commands on the store and the decision log run in the daemon (not serve, demo or config; no --output, --config or --data)", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/x-callgate-cli-frames")
	ans := newAnswer(w)
	e.stdout, e.stderr = answerStdout{ans}, answerStderr{ans}
	ans.exit(e.run(in.Args))
}
