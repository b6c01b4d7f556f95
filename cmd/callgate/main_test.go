package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"callgate/internal/config"
	"callgate/internal/demo"
	"callgate/store"
)

// cli runs one callgate command in-process against data dir dir.
type cli struct {
	t     *testing.T
	dir   string
	stdin string
	tty   bool // pretend stdin is a terminal (PIN prompt)
}

type result struct {
	out, err string
	code     int
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(c.stdin), stdout: &out, stderr: &errb, pinCost: bcrypt.MinCost}
	if c.tty {
		lines := strings.Split(c.stdin, "\n")
		e.isTTY = func(io.Reader) bool { return true }
		e.readPass = func(io.Reader) (string, error) {
			l := lines[0]
			lines = lines[1:]
			return l, nil
		}
	}
	full := args
	if c.dir != "" {
		full = append(append([]string{}, args...), "--data", c.dir)
	}
	code := e.run(full)
	return result{out.String(), errb.String(), code}
}

// ok runs a command that must succeed.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("callgate %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// fails runs a command that must exit with code and say want on stderr.
func (c *cli) fails(code int, want string, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Fatalf("callgate %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.out, r.err)
	}
	if !strings.Contains(r.err, want) {
		c.t.Fatalf("callgate %s: stderr %q does not say %q", strings.Join(args, " "), r.err, want)
	}
	return r
}

func jsonOf(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
}

func newCLI(t *testing.T) *cli { return &cli{t: t, dir: t.TempDir()} }

func TestDemoIsIdempotentAndItsSuggestionsHold(t *testing.T) {
	c := newCLI(t)
	first := c.ok("demo")
	for _, want := range []string{"created:", "provider demo-telco", "What to try", "decide --calling " + demo.Telemarket} {
		if !strings.Contains(first, want) {
			t.Errorf("demo output lacks %q:\n%s", want, first)
		}
	}
	second := c.ok("demo")
	if strings.Contains(second, "created:") {
		t.Errorf("second demo run created something again:\n%s", second)
	}
	// Each suggested decide line gives the decision the demo promises.
	for _, try := range demo.Decisions {
		args := strings.Fields(demo.DecideCommand("callgate", "", try))[1:]
		var res struct {
			Decision struct {
				Action string `json:"action"`
			} `json:"decision"`
			Subscriber string `json:"subscriber"`
			Source     string `json:"source"`
		}
		jsonOf(t, c.ok(append(args, "--json")...), &res)
		if res.Decision.Action != try.Expect {
			t.Errorf("%s: %v gives %s, want %s", try.What, args, res.Decision.Action, try.Expect)
		}
		if res.Source != "store" {
			t.Errorf("source = %q", res.Source)
		}
	}
	// Lists survive the second run once, not twice.
	var ls struct {
		Lists []struct {
			List    string `json:"list"`
			Total   int    `json:"total"`
			Entries []struct {
				Number string `json:"number"`
			} `json:"entries"`
		} `json:"lists"`
	}
	jsonOf(t, c.ok("list", "show", "--owner", demo.Alice, "--json"), &ls)
	if len(ls.Lists) != 2 || ls.Lists[0].List != "vip" || ls.Lists[0].Total != 1 || ls.Lists[1].Entries[0].Number != demo.Telemarket {
		t.Errorf("alice's lists: %+v", ls)
	}
}

func TestDecideText(t *testing.T) {
	c := newCLI(t)
	c.ok("demo")
	out := c.ok("decide", "--calling", demo.Stranger, "--called", demo.AliceNumber)
	for _, want := range []string{
		"decision:      screen", "subscriber:    alice", "route:         sip-tier", "PIN:",
		"1. subscriber        yes", "2. provider-vip      no", "7. unknown           apply", "9. pin               yes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("decide output lacks %q:\n%s", want, out)
		}
	}
	out = c.ok("decide", "--called", demo.CarolNumber, "--presentation", "restricted")
	if !strings.Contains(out, "anonymous -> "+demo.CarolNumber) || !strings.Contains(out, "decision:      block") {
		t.Errorf("anonymous decide:\n%s", out)
	}
	if out := c.ok("decide", "--calling", demo.Stranger, "--called", demo.AliceNumber, "--origin", "ain"); !strings.Contains(out, "asked as an AIN call") {
		t.Errorf("ain decide:\n%s", out)
	}
	if !strings.Contains(c.ok("decide", "--calling", demo.Stranger, "--called", demo.AliceNumber), "asked as a SIP call") {
		t.Error("sip decide does not say it was asked as a SIP call")
	}
	// AIN needs the routing number half of the route.
	var res struct {
		Decision struct {
			Route struct {
				RoutingNumber string `json:"routing_number"`
			} `json:"route"`
		} `json:"decision"`
	}
	jsonOf(t, c.ok("decide", "--calling", demo.Stranger, "--called", demo.AliceNumber, "--origin", "ain", "--json"), &res)
	if res.Decision.Route.RoutingNumber != demo.RoutingNumber {
		t.Errorf("ain route: %+v", res)
	}
	c.fails(2, "presentation", "decide", "--called", demo.AliceNumber, "--presentation", "secret")
	c.fails(2, "called number", "decide", "--called", "hello")
	c.fails(2, `"called" not set`, "decide", "--calling", demo.Stranger)
}

func TestTenantsListsAndSettings(t *testing.T) {
	c := newCLIWithStore(t)
	var p struct {
		Name        string   `json:"name"`
		Allocations []string `json:"allocations"`
	}
	jsonOf(t, c.ok("provider", "create", "acme", "--unknown", "block", "--json"), &p)
	if p.Name != "acme" || len(p.Allocations) != 0 {
		t.Errorf("provider create json: %+v", p)
	}
	c.fails(1, "already exists", "provider", "create", "acme")
	jsonOf(t, c.ok("provider", "allocate", "acme", "+17205550100..+17205550199", "3035550000", "--json"), &p)
	if len(p.Allocations) != 2 {
		t.Errorf("allocations: %+v", p)
	}
	c.fails(1, "overlaps", "provider", "allocate", "acme", "7205550150")
	out := c.ok("provider", "defaults", "acme", "--anonymous", "screen", "--permissions", "vip,blocked,pin")
	if !strings.Contains(out, "anonymous callers:  screen") || !strings.Contains(out, "unknown callers:    block") || !strings.Contains(out, "vip,blocked") {
		t.Errorf("provider defaults:\n%s", out)
	}

	var s struct {
		ID          int      `json:"id"`
		Name        string   `json:"name"`
		Provider    string   `json:"provider"`
		Numbers     []string `json:"numbers"`
		Permissions string   `json:"permissions"`
		HasPIN      bool     `json:"has_pin"`
		Effective   *struct {
			Unknown         string `json:"unknown"`
			RejectWithMedia bool   `json:"reject_with_media"`
			HasPIN          bool   `json:"has_pin"`
		} `json:"effective"`
		VIP     *int `json:"vip"`
		Blocked *int `json:"blocked"`
	}
	jsonOf(t, c.ok("subscriber", "create", "dave", "--provider", "acme", "--number", "720-555-0101", "--json"), &s)
	if s.Name != "dave" || s.Provider != "acme" || len(s.Numbers) != 1 || s.Numbers[0] != "+17205550101" || s.Permissions != "pin,vip,blocked" {
		t.Errorf("subscriber create json: %+v", s)
	}
	c.fails(1, "+12125550100", "subscriber", "create", "erin", "--provider", "acme", "--number", "+12125550100")
	c.fails(2, `"provider" not set`, "subscriber", "create", "erin", "--number", "+17205550102")

	out = c.ok("list", "add", "--owner", "+17205550101", "--list", "blocked", "+17195551212", "(719) 555-1313", "--note", "spam")
	if !strings.Contains(out, "Added 2 number(s)") {
		t.Errorf("list add: %s", out)
	}
	out = c.ok("list", "add", "--owner", "dave", "--list", "blocked", "+17195551212")
	if !strings.Contains(out, "1 already there") || !strings.Contains(out, "now holds 2") {
		t.Errorf("list add again: %s", out)
	}
	c.fails(1, "not-a-number", "list", "add", "--owner", "dave", "--list", "vip", "+17195550001", "not-a-number")
	c.fails(2, "vip or blocked", "list", "add", "--owner", "dave", "--list", "grey", "+17195550001")
	c.fails(2, "--list is required", "list", "add", "--owner", "dave", "+17195550001")
	c.ok("list", "add", "--owner", "provider:acme", "--list", "blocked", "+19005550100")
	c.ok("list", "add", "--owner", "provider:acme", "--list", "vip", "+12025550911", "--note", "PSAP")
	out = c.ok("list", "show", "--owner", "provider:acme")
	if !strings.Contains(out, "vip list of provider:acme: 1 number(s)") || !strings.Contains(out, "blocked list of provider:acme: 1 number(s)") {
		t.Errorf("list show of a provider's two lists:\n%s", out)
	}

	out = c.ok("list", "show", "--owner", "dave", "--list", "blocked")
	if !strings.Contains(out, "blocked list of dave: 2 number(s)") || !regexp.MustCompile(`\+17195551313 +spam`).MatchString(out) {
		t.Errorf("list show:\n%s", out)
	}
	out = c.ok("list", "remove", "--owner", "dave", "--list", "blocked", "+17195551313", "+17195559999")
	if !strings.Contains(out, "Removed 1") || !strings.Contains(out, "1 were not on it") {
		t.Errorf("list remove: %s", out)
	}

	// Treatments: the provider locked unknown-caller for dave (permissions
	// vip,blocked,pin), but what the operator sets for dave applies
	// whatever dave may change himself, and the output says who set it.
	r := c.run("treatment", "set", "dave", "--unknown", "allow", "--reject-with-media", "on", "--announcement", "55")
	if r.code != 0 || !strings.Contains(r.out, "unknown callers:    allow") || !strings.Contains(r.out, "from: unknown provider,") ||
		!strings.Contains(r.out, "set by the provider: unknown,reject-with-media,announcement") {
		t.Errorf("the operator's setting for dave should take effect: exit %d\n%s", r.code, r.out)
	}
	if r.err != "" {
		t.Errorf("a note on stderr: %q", r.err)
	}
	c.ok("subscriber", "permissions", "dave", "all")
	jsonOf(t, c.ok("subscriber", "show", "+17205550101", "--json"), &s)
	if s.Effective == nil || s.Effective.Unknown != "allow" || !s.Effective.RejectWithMedia || s.VIP == nil || *s.VIP != 0 || *s.Blocked != 1 {
		t.Errorf("subscriber show json: %+v %+v", s, s.Effective)
	}
	c.fails(2, "nothing to set", "treatment", "set", "dave")
	c.fails(2, "--unknown", "treatment", "set", "dave", "--unknown", "maybe")

	// PIN from a pipe, from the (fake) terminal prompt, and mismatched.
	c.stdin = "1234\n"
	c.ok("pin", "set", "dave")
	jsonOf(t, c.ok("subscriber", "show", "dave", "--json"), &s)
	if !s.HasPIN || !s.Effective.HasPIN {
		t.Errorf("PIN not set: %+v", s)
	}
	c.tty, c.stdin = true, "5678\n5678\n"
	c.ok("pin", "set", "dave")
	c.stdin = "5678\n9999\n"
	c.fails(1, "differ", "pin", "set", "dave")
	c.tty, c.stdin = false, ""
	c.fails(2, "no PIN", "pin", "set", "dave")
	c.fails(1, "4 to 8 digits", "pin", "set", "dave", "--pin", "12")
	c.ok("pin", "clear", "dave")

	// Routes.
	c.ok("route", "set", "east", "--routing-number", "+13035559999", "--sip-uri", "sip:screen@b2bua.example", "--default")
	var routes []struct {
		Name    string `json:"name"`
		Default bool   `json:"default"`
	}
	jsonOf(t, c.ok("route", "list", "--json"), &routes)
	if len(routes) != 1 || routes[0].Name != "east" || !routes[0].Default {
		t.Errorf("routes: %+v", routes)
	}
	c.fails(2, "give --routing-number", "route", "set", "west")
	c.fails(1, "east", "route", "delete", "east") // it is the default
	c.ok("route", "default", "--none")
	c.ok("route", "delete", "east")

	// Enterprises.
	c.ok("enterprise", "create", "initech", "--number", "+15125550100")
	var ens []struct {
		Name    string   `json:"name"`
		Numbers []string `json:"numbers"`
	}
	jsonOf(t, c.ok("enterprise", "list", "--json"), &ens)
	if len(ens) != 1 || ens[0].Numbers[0] != "+15125550100" {
		t.Errorf("enterprises: %+v", ens)
	}

	// Deletion order is enforced by the store and explained.
	c.fails(1, "acme", "provider", "delete", "acme")
	c.ok("subscriber", "delete", "dave")
	c.ok("provider", "delete", "acme")
	var provs []any
	jsonOf(t, c.ok("provider", "list", "--json"), &provs)
	if len(provs) != 0 {
		t.Errorf("providers left: %v", provs)
	}
}

func TestImportReportsBadRowsAndExportRoundTrips(t *testing.T) {
	c := newCLI(t)
	c.ok("demo")
	csv := filepath.Join(t.TempDir(), "in.csv")
	rows := "owner,list,number,note\n" +
		demo.AliceNumber + ",blocked,+17195550011,robocaller\n" +
		demo.AliceNumber + ",blocked,not-a-number\n" + // line 3
		"# a comment\n" +
		"bob,vip,7195550022\n" +
		"nobody,vip,7195550033\n" + // line 6
		"provider:" + demo.Provider + ",blocked,+19005550200\n"
	if err := os.WriteFile(csv, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.fails(1, "in.csv:3:", "import", csv)
	if !strings.Contains(r.err, "in.csv:6:") || !strings.Contains(r.err, "2 bad row(s)") {
		t.Errorf("stderr does not report both bad rows:\n%s", r.err)
	}
	if !strings.Contains(r.out, "3 imported") {
		t.Errorf("stdout does not say how many were imported:\n%s", r.out)
	}
	// The good rows are in.
	out := c.ok("decide", "--calling", "+17195550011", "--called", demo.AliceNumber)
	if !strings.Contains(out, "decision:      block") {
		t.Errorf("imported block not effective:\n%s", out)
	}
	// --json report shape.
	var rep struct {
		Rows       int `json:"rows"`
		Valid      int `json:"valid"`
		ErrorCount int `json:"error_count"`
		Errors     []struct {
			Line int    `json:"line"`
			Err  string `json:"error"`
		} `json:"errors"`
	}
	r = c.run("import", "--dry-run", csv, "--json")
	if r.code != 1 {
		t.Fatalf("dry run exit %d", r.code)
	}
	jsonOf(t, r.out, &rep)
	if rep.Rows != 5 || rep.Valid != 3 || rep.ErrorCount != 2 || rep.Errors[0].Line != 3 {
		t.Errorf("import report: %+v", rep)
	}

	// Export, import into a fresh copy of the demo, export again: same CSV.
	exp := c.ok("export")
	if !strings.HasPrefix(exp, "owner,list,number,note\n") || !strings.Contains(exp, demo.AliceNumber+",blocked,+17195550011,robocaller") {
		t.Errorf("export:\n%s", exp)
	}
	c2 := newCLI(t)
	c2.ok("demo")
	c2.stdin = exp
	c2.ok("import", "-")
	if exp2 := c2.ok("export"); exp2 != exp {
		t.Errorf("round trip differs:\n%s\nvs\n%s", exp, exp2)
	}
	// Export to a file, one owner and list.
	f := filepath.Join(t.TempDir(), "alice.csv")
	r = c.run("export", "--owner", demo.AliceNumber, "--list", "vip", "-o", f)
	if r.code != 0 || !strings.Contains(r.err, "Exported 1 row(s)") {
		t.Fatalf("export -o: %+v", r)
	}
	b, _ := os.ReadFile(f)
	if got := strings.Count(string(b), "\n"); got != 2 || !strings.Contains(string(b), demo.Mom) {
		t.Errorf("alice vip export:\n%s", b)
	}
	c.fails(1, "no such file", "import", filepath.Join(t.TempDir(), "missing.csv"))
}

func TestUsageErrors(t *testing.T) {
	c := newCLI(t)
	c.fails(2, `unknown command "frobnicate"`, "frobnicate")
	c.fails(2, "unknown flag", "demo", "--colour")
	c.fails(2, "needs a subcommand", "provider")
	c.fails(2, `unknown command "explode"`, "provider", "explode")
	c.fails(2, "expects a provider name", "provider", "create")
	c.fails(2, "range", "provider", "allocate", "x", "12")
	c.fails(2, "--since", "log", "search", "--since", "yesterday-ish")
	// Failures that are not usage: exit 1.
	c.fails(1, "no store at", "subscriber", "list")
	newCLIWithStore(t).fails(1, "not found", "provider", "defaults", "nobody", "--unknown", "block")
	if r := c.run("--help"); r.code != 0 || !strings.Contains(r.out, "serve") {
		t.Errorf("--help: %+v", r)
	}
}

func TestConfigCommands(t *testing.T) {
	c := &cli{t: t}
	out := c.ok("config", "defaults")
	if !strings.Contains(out, "listen: 127.0.0.1:9464") || !strings.Contains(out, "point_code: 244-2-20") {
		t.Errorf("config defaults:\n%s", out)
	}
	f := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(f, []byte(out), 0o600)
	c.ok("config", "check", f)
	os.WriteFile(f, []byte("log:\n  levle: debug\n"), 0o600)
	c.fails(1, `line 2: unknown field "levle" in log`, "config", "check", f)
	c.fails(1, "unknown field", "serve", "--config", f)
	var m map[string]any
	jsonOf(t, c.ok("config", "defaults", "--json"), &m)
	if sip, ok := m["sip"].(map[string]any); !ok || sip["token_lifetime"] != "1m0s" {
		t.Errorf("config defaults --json: %v", m)
	}
}

func TestStoreInUseSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "callgate.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := filepath.Join(dir, "fast.yaml")
	os.WriteFile(cfg, []byte("store: {lock_timeout: 50ms}\nadmin: {listen: ''}\n"), 0o600)
	c := &cli{t: t, dir: dir}
	sock := filepath.Join(dir, config.SocketFile)
	c.fails(1, "most likely 'callgate serve'. Operator commands go to a running daemon through its socket "+sock+", where none answers", "list", "add", "--owner", "x", "--list", "vip", "+17195550001", "--config", cfg)
	c.fails(1, "in use by another process", "decide", "--called", "+13035550100", "--config", cfg)
}

// Defect: config check only parsed the file, so problems that only the
// tiers find (TLS files, Contact templates, token key files, a port used
// twice) surfaced at serve. Now config check runs the same checks and
// lists every problem at once, naming each field.
func TestConfigCheckRunsWhatServeRuns(t *testing.T) {
	c := &cli{t: t}
	f := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(f, []byte(`admin: {listen: "127.0.0.1:5061"}
sip:
  tls: "127.0.0.1:5061"
  tls_cert_file: /nonexistent/cert.pem
  tls_key_file: /nonexistent/key.pem
  continue_route: "sip:{calld}@gw.example"
  token_keys: [{id: 1, secret_file: /nonexistent/token.key}]
  token_key_id: 1
  max_in_flight: lots
`), 0o600)
	r := c.fails(1, "problems:", "config", "check", f)
	for _, want := range []string{
		`line 9: sip.max_in_flight: want a whole number, not "lots"`,
		"admin.listen (127.0.0.1:5061) and sip.tls (127.0.0.1:5061) both listen on TCP port 5061",
		"sip.token_keys[0].secret_file: open /nonexistent/token.key",
	} {
		if !strings.Contains(r.err, want) {
			t.Errorf("config check lacks %q:\n%s", want, r.err)
		}
	}
	// With the token key readable, the SIP tier's own checks run, and
	// report the template and the TLS files together.
	key := filepath.Join(t.TempDir(), "token.key")
	os.WriteFile(key, bytes.Repeat([]byte("k"), 32), 0o600)
	b, _ := os.ReadFile(f)
	os.WriteFile(f, bytes.ReplaceAll(b, []byte("/nonexistent/token.key"), []byte(key)), 0o600)
	r = c.fails(1, "problems:", "config", "check", f)
	for _, want := range []string{"unknown placeholder {calld}", "TLS certificate /nonexistent/cert.pem"} {
		if !strings.Contains(r.err, want) {
			t.Errorf("config check lacks %q:\n%s", want, r.err)
		}
	}
	// serve refuses the same file before opening anything.
	c.fails(1, "sip.max_in_flight", "serve", "--config", f)
}

// The help says what the daemon does by default, with the defaults'
// addresses, and that operator commands go through a serving daemon's API
// (it used to say the SCP was off and that changes needed serve stopped).
func TestHelpMatchesTheDefaults(t *testing.T) {
	c := &cli{t: t}
	d := config.Default()
	serve := c.ok("serve", "--help")
	for _, want := range []string{d.SIP.UDP, d.SCP.Listen[0], d.B2BUA.UDP, d.Admin.Listen, "all on by\ndefault", "goes through it"} {
		if !strings.Contains(serve, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, serve)
		}
	}
	if !d.SIP.Enabled || !d.SCP.Enabled || d.SCP.Transport != "tcp" || d.SCP.Role != "sg" {
		t.Errorf("serve --help describes SIP and the SCP (TCP, SG) on by default; the defaults are %+v %+v", d.SIP, d.SCP)
	}
	root := c.ok("--help")
	if !strings.Contains(root, "every one of them goes through the daemon's management\nAPI on its socket") || strings.Contains(root, "stop it before") {
		t.Errorf("callgate --help:\n%s", root)
	}
}
