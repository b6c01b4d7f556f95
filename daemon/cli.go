package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
)

// servesStore reports whether path names the store file this daemon holds
// (by identity: the path may since point at another file); if not, why.
func (d *Daemon) servesStore(path string) (bool, string) {
	theirs, err := os.Stat(path)
	if err != nil || d.stFile == nil {
		return false, "this daemon serves " + d.st.Path() + ", not " + path
	}
	if os.SameFile(d.stFile, theirs) {
		return true, ""
	}
	if now, err := os.Stat(d.st.Path()); err == nil && os.SameFile(now, theirs) {
		return false, "this daemon holds an older file that was at " + d.st.Path() +
			" (deleted or replaced since it started): restart it to serve the new one"
	}
	return false, "this daemon serves " + d.st.Path() + ", not " + path
}

// serveCLIProbe is GET /debug/cli?store=PATH: 200 when this daemon holds
// that store and runs operator commands, 409 (with the reason) when it
// holds another.
func (d *Daemon) serveCLIProbe(w http.ResponseWriter, r *http.Request) {
	if !loopbackOnly(w, r) {
		return
	}
	if d.opts.Operator == nil {
		http.Error(w, "this daemon runs no operator commands", http.StatusNotFound)
		return
	}
	if ok, why := d.servesStore(r.URL.Query().Get("store")); !ok {
		http.Error(w, why, http.StatusConflict)
		return
	}
	fmt.Fprintf(w, "callgate daemon serving %s\n", d.st.Path())
}

// serveCLI is POST /debug/cli: it runs one operator command for the CLI
// and logs every change it runs (who asked, and the command line without
// secrets).
func (d *Daemon) serveCLI(w http.ResponseWriter, r *http.Request) {
	if !loopbackOnly(w, r) {
		return
	}
	if d.opts.Operator == nil {
		http.Error(w, "this daemon runs no operator commands", http.StatusNotFound)
		return
	}
	var in CLIRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if err := dec.Decode(&in); err != nil {
		http.Error(w, "body: want a line {\"args\": [...]} then the standard input: "+err.Error(), http.StatusBadRequest)
		return
	}
	if in.Store != "" {
		if ok, why := d.servesStore(in.Store); !ok {
			http.Error(w, why, http.StatusConflict)
			return
		}
	}
	if err := d.opts.Operator.Allow(in.Args); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	// Standard input: what the decoder read past the request line, then the
	// rest of the body (unlimited: an import may be large), without the
	// newline that ends the request line.
	stdin := bufio.NewReader(io.MultiReader(dec.Buffered(), r.Body))
	if b, err := stdin.Peek(1); err == nil && b[0] == '\n' {
		stdin.Discard(1)
	}
	w.Header().Set("Content-Type", "application/x-callgate-cli-frames")
	ans := newAnswer(w)
	who := operatorOf(r, in.User)
	res := d.opts.Operator.Run(r.Context(), &OperatorCommand{
		Args: in.Args, InputName: in.Input, OutputName: in.Output,
		Stdin: stdin, Stdout: answerStdout{ans}, Stderr: answerStderr{ans},
		Files: Files{Store: d.st, DecisionLog: d.dlog, Config: &d.cfg, Fraud: d.Fraud(), Signals: d.sig},
		User:  who,
	})
	ans.exit(res.Code)
	if res.Changed {
		d.log.Info("operator change", "user", who, "peer", r.RemoteAddr, "command", res.Line, "exit", res.Code)
	} else {
		d.log.Debug("operator command", "user", who, "peer", r.RemoteAddr, "command", res.Line, "exit", res.Code)
	}
}
