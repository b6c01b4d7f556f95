package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"callgate/store"
)

// fakeOperator runs "echo ARGS..." (reading standard input too) and
// reports a change for "change ...".
type fakeOperator struct{ files Files }

func (f *fakeOperator) Allow(args []string) error {
	if len(args) == 0 || args[0] == "serve" {
		return fmt.Errorf("not an operator command")
	}
	return nil
}

func (f *fakeOperator) Run(ctx context.Context, c *OperatorCommand) OperatorResult {
	f.files = c.Files
	in, _ := io.ReadAll(c.Stdin)
	fmt.Fprintf(c.Stdout, "out %s %s", strings.Join(c.Args, " "), in)
	fmt.Fprint(c.Stderr, "err line\n")
	code := 0
	if c.Args[0] == "fail" {
		code = 3
	}
	return OperatorResult{Code: code, Changed: c.Args[0] == "change", Line: "callgate " + strings.Join(c.Args, " ") + " --pin=***"}
}

func cliPost(t *testing.T, admin string, req CLIRequest, stdin string) (int, string, string, int) {
	t.Helper()
	line, _ := json.Marshal(req)
	resp, err := http.Post("http://"+admin+"/debug/cli", "application/x-callgate-cli", strings.NewReader(string(line)+"\n"+stdin))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), "", -1
	}
	var out, errb bytes.Buffer
	code, err := ReadAnswer(resp.Body, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out.String(), errb.String(), code
}

// Forwarded commands: the operator runs on the daemon's files, the answer
// carries both streams and the exit status, and every change is logged
// with who asked (the kernel's word for the loopback connection's owner)
// and the command line the operator gives (without secrets).
func TestCLIForwardingAndChangeLog(t *testing.T) {
	withTiers(t)
	cfg := testConfig(t)
	logs := &syncBuffer{}
	op := &fakeOperator{}
	d := New(cfg, Options{Logger: NewLogger(logs, cfg.Log), Operator: op})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown()
	storePath, _ := filepath.Abs(storeFile(cfg))

	// The probe: this store, yes; another, no (and says which it holds).
	if code, body := get(t, "http://"+d.AdminAddr()+"/debug/cli?"+url.Values{"store": {storePath}}.Encode()); code != 200 {
		t.Errorf("probe for its own store: %d %s", code, body)
	}
	other := filepath.Join(t.TempDir(), "other.db")
	os.WriteFile(other, nil, 0o600)
	if code, body := get(t, "http://"+d.AdminAddr()+"/debug/cli?"+url.Values{"store": {other}}.Encode()); code != 409 || !strings.Contains(body, "this daemon serves") {
		t.Errorf("probe for another store: %d %s", code, body)
	}

	code, out, errs, exit := cliPost(t, d.AdminAddr(), CLIRequest{Args: []string{"show", "x"}, Store: storePath}, "input")
	if code != 200 || out != "out show x input" || errs != "err line\n" || exit != 0 {
		t.Errorf("show: %d %q %q %d", code, out, errs, exit)
	}
	if op.files.Store != d.Store() || op.files.Config.DataDir != cfg.DataDir {
		t.Errorf("operator did not get the daemon's files: %+v", op.files)
	}
	if strings.Contains(logs.String(), "operator change") {
		t.Errorf("a read was logged as a change:\n%s", logs)
	}
	if _, _, _, exit := cliPost(t, d.AdminAddr(), CLIRequest{Args: []string{"change", "y"}, User: "mallory"}, ""); exit != 0 {
		t.Errorf("change: exit %d", exit)
	}
	if _, _, _, exit := cliPost(t, d.AdminAddr(), CLIRequest{Args: []string{"fail"}}, ""); exit != 3 {
		t.Errorf("fail: exit %d, want 3", exit)
	}
	if code, body, _, _ := cliPost(t, d.AdminAddr(), CLIRequest{Args: []string{"serve"}}, ""); code != http.StatusForbidden || !strings.Contains(body, "not an operator command") {
		t.Errorf("serve: %d %s", code, body)
	}
	me, _ := user.Current()
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "operator change") {
			line = l
		}
	}
	for _, want := range []string{`command="callgate change y --pin=***"`, "peer=127.0.0.1:", "exit=0",
		fmt.Sprintf(`user="%s (uid %d)"`, me.Username, os.Getuid())} {
		if !strings.Contains(line, want) {
			t.Errorf("change log line lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs.String(), "mallory") {
		t.Errorf("the client's claimed name was logged though the kernel knows the user:\n%s", logs)
	}
}

// The operator endpoints answer loopback clients only: the admin listener
// may face a management network for /metrics.
func TestCLILoopbackOnly(t *testing.T) {
	d := &Daemon{opts: Options{Operator: &fakeOperator{}}}
	for _, tc := range []struct {
		remote string
		want   int
	}{
		{"192.0.2.7:40000", http.StatusForbidden},
		{"[2001:db8::1]:40000", http.StatusForbidden},
		{"127.0.0.1:40000", http.StatusBadRequest}, // past the check: the body is not a request
		{"[::1]:40000", http.StatusBadRequest},
	} {
		req := httptest.NewRequest(http.MethodPost, "/debug/cli", strings.NewReader("not json"))
		req.RemoteAddr = tc.remote
		w := httptest.NewRecorder()
		d.serveCLI(w, req)
		if w.Code != tc.want {
			t.Errorf("from %s: status %d, want %d (%s)", tc.remote, w.Code, tc.want, w.Body)
		}
	}
}

// A daemon whose store file was deleted or replaced since it started does
// not answer for the new file at the same path.
func TestCLIReplacedStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "callgate.db")
	old := filepath.Join(dir, "old.db")
	os.WriteFile(old, []byte("x"), 0o600)
	oldFI, err := os.Stat(old)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := &Daemon{st: st, stFile: oldFI, opts: Options{Operator: &fakeOperator{}}}
	body, _ := json.Marshal(CLIRequest{Args: []string{"list", "show", "--owner", "x"}, Store: path})
	req := httptest.NewRequest(http.MethodPost, "/debug/cli", bytes.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40000"
	w := httptest.NewRecorder()
	d.serveCLI(w, req)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "restart it") {
		t.Errorf("status %d: %s", w.Code, w.Body)
	}
}
