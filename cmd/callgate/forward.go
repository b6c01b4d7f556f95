package main

// While `callgate serve` runs it holds the store and the decision log
// (bbolt allows one process per file). Read-only operator commands are then
// forwarded to the daemon, which runs the same command against the files it
// has open and streams the output back, so `list show`, `decide`,
// `log search` and the like work the same with and without a daemon.
// Commands that write are refused by the daemon and told to stop it.
//
// Wire: POST /debug/cli on the admin listener, body {"args": [...]} (the
// command line without --config and --data: the daemon uses its own
// files); the response body is the command's standard output; its standard
// error and exit status come in the trailers Callgate-Stderr
// (URL-encoded) and Callgate-Exit.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"callgate/internal/config"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// shared is the daemon's open files, given to forwarded commands.
type shared struct {
	st   *store.Store
	dlog *decisionlog.Log // nil when the decision log is off
}

// forwardable lists the commands the daemon runs for the CLI: exactly the
// read-only ones that neither read nor write files on the caller's side.
var forwardable = map[string]bool{
	"callgate decide":            true,
	"callgate log search":        true,
	"callgate list show":         true,
	"callgate subscriber show":   true,
	"callgate subscriber list":   true,
	"callgate provider show":     true,
	"callgate provider list":     true,
	"callgate provider defaults": true, // read-only without flags; a change is refused
	"callgate route list":        true,
	"callgate enterprise list":   true,
	"callgate treatment show":    true,
	"callgate export":            true, // without --output (checked on both sides)
}

var errForwardWrite = errors.New("this command changes the store, which the running daemon holds; stop 'callgate serve' (Ctrl-C, or kill -TERM its pid) and run it again")

// canForward reports whether the current command may be sent to the daemon.
func (e *env) canForward() bool {
	if !forwardable[e.cmdPath] {
		return false
	}
	return !(e.cmdPath == "callgate export" && hasFlag(e.args, "output", "o"))
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
	body, _ := json.Marshal(cliRequest{Args: stripFileFlags(e.args), Store: storePath})
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, "http://"+cfg.Admin.Listen+"/debug/cli", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w (asking the daemon at %s failed too: %v)", busy, cfg.Admin.Listen, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%w (the daemon at %s refused: %s %s)", busy, cfg.Admin.Listen, resp.Status, strings.TrimSpace(string(msg)))
	}
	if _, err := io.Copy(e.stdout, resp.Body); err != nil {
		return fmt.Errorf("reading the daemon's answer: %w", err)
	}
	if s, err := url.QueryUnescape(resp.Trailer.Get("Callgate-Stderr")); err == nil && s != "" {
		io.WriteString(e.stderr, s)
	}
	code, err := strconv.Atoi(resp.Trailer.Get("Callgate-Exit"))
	if err != nil {
		return errors.New("the daemon's answer was cut short (no exit status)")
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// cliRequest is the body of POST /debug/cli.
type cliRequest struct {
	Args  []string `json:"args"`
	Store string   `json:"store,omitempty"` // the store file the caller means (absolute path)
}

// serveCLI is the daemon's side: POST /debug/cli.
func (s *server) serveCLI(w http.ResponseWriter, r *http.Request) {
	var in cliRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil {
		http.Error(w, "body: want {\"args\": [...]}: "+err.Error(), http.StatusBadRequest)
		return
	}
	if in.Store != "" {
		mine, err1 := os.Stat(s.st.Path())
		theirs, err2 := os.Stat(in.Store)
		if err1 != nil || err2 != nil || !os.SameFile(mine, theirs) {
			http.Error(w, "this daemon serves "+s.st.Path()+", not "+in.Store, http.StatusConflict)
			return
		}
	}
	e := &env{stdin: strings.NewReader(""), ctx: r.Context(), shared: &shared{st: s.st, dlog: s.dlog}, daemonCfg: &s.cfg}
	root := e.rootCmd()
	cmd, _, err := root.Find(in.Args)
	if err != nil || !forwardable[cmd.CommandPath()] || hasFlag(in.Args, "output", "o") ||
		hasFlag(in.Args, "config", "") || hasFlag(in.Args, "data", "") {
		http.Error(w, "only read-only commands (list show, decide, log search, ...) run in the daemon", http.StatusForbidden)
		return
	}
	var stderr bytes.Buffer
	w.Header().Set("Trailer", "Callgate-Exit, Callgate-Stderr")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	e.stdout, e.stderr = w, &stderr
	code := e.run(in.Args)
	w.Header().Set("Callgate-Stderr", url.QueryEscape(stderr.String()))
	w.Header().Set("Callgate-Exit", strconv.Itoa(code))
}
