package main

// While `callgate serve` runs it holds the store and the decision log
// (bbolt allows one process per file). Operator commands are then
// forwarded to the daemon, which runs the same command against the files
// it has open and streams the output back (the wire and the daemon's half
// are in package daemon: cliwire.go, cli.go), so every command works the
// same with and without a daemon, and lists, tenants and treatments change
// live, without stopping call processing.
//
// A command first asks the admin listener of its configuration whether a
// daemon holds its store (GET /debug/cli?store=...), and only opens the
// file itself when none does: a running daemon is reached at once, never
// after the store's lock_timeout.

import (
	"bytes"
	"callgate/store"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"callgate/daemon"
	"callgate/internal/config"
	"callgate/internal/progress"
)

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
	"callgate provider stir":          true,
	"callgate provider signals":       true, // providersignals.go
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
	"callgate enterprise token":       true, // enterprise_signals.go
	"callgate enterprise brand":       true,
	"callgate enterprise enrolment":   true,
	"callgate route set":              true,
	"callgate route list":             true,
	"callgate route delete":           true,
	"callgate route default":          true,
	"callgate fraud status":           true,
	"callgate fraud history":          true,
	"callgate fraud unlock":           true,
	"callgate fraud rates import":     true,
	"callgate fraud rates versions":   true,
	"callgate admin bootstrap":        true, // adminapi.go
	"callgate audit search":           true, // audit.go
	"callgate user create":            true, // webusers.go
	"callgate user delete":            true,
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
func (e *env) canForward() bool { return forwardable[e.cmdPath] && e.shared == nil }

// probeClient asks the admin listener whether a daemon holds the store. A
// daemon on loopback answers at once; the timeout only bounds an
// admin.listen that points at a host that does not answer.
var probeClient = &http.Client{Timeout: 2 * time.Second}

// daemonHolds reports whether a daemon at the configuration's admin
// listener holds its store. why says what answered instead, when it is
// worth telling (a daemon of another store).
func (e *env) daemonHolds(cfg *config.Config) (ok bool, why string) {
	if cfg.Admin.Listen == "" {
		return false, ""
	}
	storePath, _ := filepath.Abs(cfg.StorePath())
	u := "http://" + cfg.Admin.Listen + "/debug/cli?" + url.Values{"store": {storePath}}.Encode()
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, ""
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return false, "" // nothing listens: no daemon
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch resp.StatusCode {
	case http.StatusOK:
		return true, ""
	case http.StatusConflict:
		return false, strings.TrimSpace(string(msg))
	}
	return false, ""
}

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

// forward runs the current command in the daemon. busy, when not nil, is
// the error that made the command try (returned, with the reason, if the
// daemon cannot be reached).
func (e *env) forward(cfg *config.Config, busy error) error {
	if busy == nil {
		busy = errors.New("asking the running daemon")
	}
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
	in := daemon.CLIRequest{Store: storePath, Output: output, User: loginName()}
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
	return e.readAnswer(resp.Body, output)
}

// readAnswer copies the daemon's answer: standard output to ours (or to
// the file output), standard error to ours, and returns the exit status
// as the error.
func (e *env) readAnswer(body io.Reader, output string) (err error) {
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
	code, err := daemon.ReadAnswer(body, stdout, e.stderr)
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{Code: code}
	}
	return nil
}

// loginName is who runs this command, as this process sees it (the daemon
// prefers what the kernel says about the connection).
func loginName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
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

// op is the operator actor of this command, carrying who runs it for the
// audit log: the user the daemon names for a forwarded command, else this
// process's login name.
func (e *env) op() store.Actor {
	who := e.operatorUser
	if who == "" {
		who = loginName()
	}
	return store.Operator.By("user "+who, "cli")
}
