package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"callgate/e164"
	"callgate/internal/config"
	"callgate/internal/demo"
	"callgate/store"
)

// Every operator command prints the same, and exits the same, whether it
// works on the store file (no daemon) or goes through a running daemon's
// management API on its socket (issue 12: the CLI uses the API; local
// shell use stays as it was). Two stores are seeded alike; the same
// commands run against the file of one and the daemon of the other, and
// their standard output, standard error and exit status are compared,
// with what differs by nature made equal: times, random secrets, the two
// folders, and decide's note that the daemon answered.
func TestCommandsSameThroughTheDaemon(t *testing.T) {
	local, served := t.TempDir(), t.TempDir()
	for _, dir := range []string{local, served} {
		(&cli{t: t, dir: dir}).ok("demo")
		wrongPINs(t, dir)
	}
	// The local side gets a decision log as serve leaves one.
	startDaemon(t, local, "").stop()
	startDaemon(t, served, "")

	inputs := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(inputs, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lists := write("lists.csv", "owner,list,number,note\n"+
		"dave,blocked,+17195550001,\"robo, caller\"\n"+
		"dave,vip,not-a-number\n"+
		"provider:acme,vip,+12025550911,PSAP\n")
	goodLists := write("good.csv", "owner,list,number\ndave,vip,+17195550002\n")
	subs := write("subs.csv", "name,provider,numbers,permissions\nfrank,acme,+13125550120 +13125550121,vip\ngina,acme,12\n")
	goodSubs := write("goodsubs.csv", "name,provider,numbers\nfrank,acme,+13125550120;+13125550121\n")
	rates := write("rates.csv", "prefix,category,price_per_minute,description\n1,domestic,0.01,US\n1900,premium,3.00,NANP premium\n44,international,x,UK\n")
	goodRates := write("goodrates.csv", "prefix,category,price_per_minute,description\n1,domestic,0.01,US\n1900,premium,3.00,NANP premium\n")

	type step struct {
		args  []string
		stdin string
		want  string // in the output on both sides, when set
	}
	cmd := func(args ...string) step { return step{args: args} }
	// wants is a command whose output must hold want: one that is the same
	// both ways only because it works.
	wants := func(want string, args ...string) step { return step{args: args, want: want} }
	steps := []step{
		cmd("provider", "create", "acme", "--unknown", "screen", "--permissions", "vip,blocked,pin"),
		cmd("provider", "create", "acme"),
		cmd("provider", "allocate", "acme", "+13125550100..+13125550199"),
		cmd("provider", "allocate", "acme", "+13125550100..+13125550199"),
		cmd("provider", "defaults", "acme", "--anonymous", "block"),
		cmd("provider", "defaults", "acme", "--permissions", "all", "--unknown", "unset"),
		cmd("provider", "defaults", "acme"),
		cmd("provider", "list"),
		cmd("provider", "list", "--json"),
		cmd("provider", "show", "acme"),
		cmd("provider", "show", demo.Provider, "--json"),
		cmd("provider", "route", "acme", "sip-tier"),
		cmd("provider", "stir", "acme", "--on-c", "screen", "--on-failed", "reject", "--tag", "on"),
		cmd("provider", "stir", "acme", "--verified-tag", "[V]"),
		cmd("provider", "stir", "acme", "--json"),
		cmd("provider", "stir", "acme", "--on-c", "maybe"),
		cmd("provider", "show", "nobody"),
		cmd("provider", "signals", "acme"),
		cmd("provider", "signals", "acme", "--medium", "block", "--high", "block", "--key-missing", "screen"),
		cmd("provider", "signals", "acme", "--medium", "default", "--json"),
		cmd("provider", "signals", "acme", "--low", "sometimes"),
		cmd("subscriber", "create", "dave", "--provider", "acme", "--number", "+13125550103"),
		cmd("subscriber", "create", "dave", "--provider", "acme", "--number", "+13125550103"),
		cmd("subscriber", "create", "eve", "--provider", "acme", "--number", "+14045550100"),
		cmd("subscriber", "list"),
		cmd("subscriber", "list", "--provider", "acme", "--json"),
		cmd("subscriber", "list", "--limit", "2"),
		cmd("subscriber", "show", "dave"),
		cmd("subscriber", "show", "+13125550103", "--json"),
		cmd("subscriber", "show", "nobody"),
		cmd("subscriber", "assign", "dave", "+13125550104", "+13125550105"),
		cmd("subscriber", "unassign", "dave", "+13125550104", "+13125550105"),
		cmd("subscriber", "unassign", "dave", "12"),
		cmd("subscriber", "permissions", "dave", "vip,blocked,pin,unknown"),
		cmd("enterprise", "create", "initech", "--number", "+15125550100"),
		cmd("enterprise", "create", "globex", "--provider", "acme", "--number", "+13125550150"),
		cmd("enterprise", "list"),
		cmd("enterprise", "list", "--json"),
		cmd("enterprise", "brand", "initech", "--name", "Initech", "--reason", "Your order"),
		cmd("enterprise", "brand", "initech"),
		cmd("enterprise", "brand", "initech", "--logo", "http://not-https.example/x.png"),
		cmd("enterprise", "enrolment", "initech", "--trunk", "192.0.2.0/24", "--onward", "sip:{called}@carrier.example"),
		cmd("enterprise", "enrolment", "initech", "--off", "--json"),
		cmd("enterprise", "token", "initech"),
		cmd("enterprise", "brand", "initech", "--json"),
		cmd("subscriber", "create", "erin", "--provider", "acme", "--number", "+13125550106"),
		cmd("subscriber", "delete", "erin"),
		cmd("provider", "delete", "acme"),
		cmd("enterprise", "delete", "globex"),
		cmd("list", "add", "--owner", "+13125550103", "--list", "blocked", "+17195551212", "719-555-1313", "--note", "spam"),
		cmd("list", "add", "--owner", "dave", "--list", "blocked", "+17195551212"),
		cmd("list", "add", "--owner", "dave", "--list", "blocked", "12", "34"),
		cmd("list", "remove", "--owner", "dave", "--list", "blocked", "+17195551313", "+17195559999"),
		cmd("list", "add", "--owner", "dave", "--list", "vip", "+17195550100", "+17195550101", "+17195550102"),
		cmd("list", "show", "--owner", "dave"),
		cmd("list", "show", "--owner", "dave", "--list", "vip", "--limit", "2"),
		cmd("list", "show", "--owner", "dave", "--list", "vip", "--limit", "100", "--after", "+17195550100"),
		cmd("list", "show", "--owner", "dave", "--json"),
		cmd("list", "add", "--owner", "provider:acme", "--list", "blocked", "+19005550199"),
		cmd("list", "show", "--owner", "provider:acme"),
		cmd("list", "show", "--owner", "provider:nobody"),
		{args: []string{"pin", "set", "dave"}, stdin: "1357\n"},
		cmd("pin", "set", "dave", "--pin", "12"),
		cmd("pin", "clear", "dave", "--json"),
		wants("alice       demo-telco  locked until TIME", "pin", "lockouts"),
		wants(`"last_prompt": "override"`, "pin", "lockouts", "--json"),
		wants("PIN:            locked until TIME", "pin", "lockout", demo.Alice),
		wants(`"failures": 1`, "pin", "lockout", demo.BobNumber, "--json"),
		cmd("pin", "lockout", "nobody"),
		cmd("pin", "lockouts", "extra"),
		wants("Lifted the PIN lock of alice", "pin", "unlock", demo.Alice),
		wants(`"revision": 0`, "pin", "unlock", demo.Alice, "--json"),
		wants("(wrong PINs counted: 1)", "pin", "unlock", demo.Bob),
		cmd("pin", "unlock", "nobody"),
		wants("No PIN is locked", "pin", "lockouts"),
		wants("subscriber.pin.unlock", "audit", "search", "--object", "subscriber/"+demo.Alice+"/pin", "--limit", "2"),
		cmd("treatment", "set", "dave", "--unknown", "announce-voicemail", "--voicemail", "+13125550190", "--reject-with-media", "on", "--announcement", "101"),
		cmd("treatment", "set", "dave", "--voicemail", "none", "--anonymous", "block"),
		cmd("treatment", "show", "dave"),
		cmd("treatment", "show", "dave", "--json"),
		cmd("treatment", "set", "dave", "--voicemail", "ftp://x"),
		cmd("route", "set", "acme-b2bua", "--routing-number", "+13125550999", "--sip-uri", "sip:screen@127.0.0.1:5071"),
		cmd("route", "set", "other", "--sip-uri", "sip:screen@127.0.0.1:5072", "--default", "--json"),
		cmd("provider", "route", "acme", "acme-b2bua"),
		cmd("route", "default", "sip-tier"),
		cmd("route", "list"),
		cmd("route", "list", "--json"),
		cmd("route", "set", "old-route", "--routing-number", "+13125550998"),
		cmd("route", "delete", "old-route"),
		cmd("route", "delete", "sip-tier"),
		cmd("route", "default", "--none"),
		cmd("route", "default", "sip-tier"),
		cmd("export", "--owner", "dave"),
		cmd("export", "--owner", "dave", "--list", "blocked", "--output", "OUT/dave-blocked.csv"),
		cmd("export"),
		cmd("export", "--owner", "nobody"),
		cmd("import", lists, "--dry-run"),
		cmd("import", lists, "--replace"),
		cmd("import", lists),
		cmd("import", goodLists, "--replace", "--json"),
		{args: []string{"import", "-"}, stdin: "owner,list,number\ndave,blocked,+17195550003\n"},
		cmd("subscriber", "import", subs),
		cmd("subscriber", "import", goodSubs, "--dry-run"),
		cmd("subscriber", "import", goodSubs, "--json"),
		cmd("decide", "--calling", "+17195551212", "--called", "+13125550103"),
		cmd("decide", "--calling", "+17195551212", "--called", "+13125550103", "--presentation", "restricted", "--origin", "ain"),
		cmd("decide", "--calling", "+17195551212", "--called", demo.AliceNumber, "--attestation", "C", "--json"),
		cmd("decide", "--called", "12"),
		cmd("decide", "--calling", "+16175550102", "--called", "+13125550103", "--reputation", "high"),
		cmd("decide", "--calling", "+15125550100", "--called", "+13125550103", "--key", "missing", "--reputation", "low", "--json"),
		cmd("decide", "--calling", "+15125550100", "--called", "+13125550103", "--key", "matched"),
		cmd("log", "search", "--number", demo.AliceNumber, "--since", "1h"),
		cmd("log", "search", "--action", "none", "--since", "1h"),
		cmd("audit", "search", "--object", "subscriber/dave", "--limit", "5"),
		cmd("audit", "search", "--object", "list/subscriber/dave", "--since", "1h", "--json", "--limit", "3"),
		cmd("audit", "search", "--since", "soon"),
		cmd("fraud", "status"),
		cmd("fraud", "rates", "import", rates, "--dry-run"),
		cmd("fraud", "rates", "import", goodRates, "--dry-run"),
		cmd("fraud", "rates", "import", goodRates),
		cmd("fraud", "rates", "versions"),
		cmd("fraud", "rates", "versions", "--json"),
		cmd("fraud", "status", "--json"),
		cmd("fraud", "status", demo.Alice),
		cmd("fraud", "history", demo.Alice, "--events", "0"),
		cmd("fraud", "history", "nobody"),
		cmd("fraud", "unlock", demo.Alice, "--reason", "nothing to unlock, checked twice"),
		cmd("admin", "bootstrap"),
		cmd("admin", "bootstrap"),
		cmd("admin", "bootstrap", "--another", "--ttl", "90m", "--json"),
		{args: []string{"user", "create", "dave-web", "--role", "subscriber", "--tenant", "dave"}, stdin: "correct horse battery\n"},
		{args: []string{"user", "create", "dave-web", "--role", "subscriber", "--tenant", "dave"}, stdin: "correct horse battery\n"},
		cmd("user", "delete", "dave-web"),
		cmd("subscriber", "delete", "dave"),
	}
	norm := func(s, dir, out string) string {
		s = strings.ReplaceAll(s, dir, "DIR")
		s = strings.ReplaceAll(s, out, "OUT")
		for _, re := range normalise {
			s = re.re.ReplaceAllString(s, re.with)
		}
		return s
	}
	outLocal, outServed := t.TempDir(), t.TempDir()
	for _, st := range steps {
		var got [2]result
		for i, side := range []struct{ dir, out string }{{local, outLocal}, {served, outServed}} {
			args := make([]string, len(st.args))
			for j, a := range st.args {
				args[j] = strings.Replace(a, "OUT", side.out, 1)
			}
			r := (&cli{t: t, dir: side.dir, stdin: st.stdin}).run(args...)
			r.out, r.err = norm(r.out, side.dir, side.out), norm(r.err, side.dir, side.out)
			got[i] = r
		}
		line := "callgate " + strings.Join(st.args, " ")
		if got[0] != got[1] {
			t.Errorf("%s differs through the daemon:\n--- on the file: exit %d\n%s%s--- through the daemon: exit %d\n%s%s",
				line, got[0].code, got[0].out, got[0].err, got[1].code, got[1].out, got[1].err)
		}
		for i, side := range []string{"on the file", "through the daemon"} {
			if st.want != "" && (got[i].code != 0 || !strings.Contains(got[i].out, st.want)) {
				t.Errorf("%s %s: exit %d\n%s%s\nwant exit 0 and %q", line, side, got[i].code, got[i].out, got[i].err, st.want)
			}
		}
	}
	// The files export --output wrote are the same too.
	a, errA := os.ReadFile(filepath.Join(outLocal, "dave-blocked.csv"))
	b, errB := os.ReadFile(filepath.Join(outServed, "dave-blocked.csv"))
	if errA != nil || errB != nil || string(a) != string(b) || !strings.Contains(string(a), "+17195551212") {
		t.Errorf("export --output: %q %v / %q %v", a, errA, b, errB)
	}
}

// wrongPINs keys wrong PINs for the demo's subscribers, as the B2BUA
// would: alice's PIN locked (from the IVR), one wrong for bob (at the
// override prompt, from a withheld number).
func wrongPINs(t *testing.T, dir string) {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, config.StoreFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pol := store.PINLockPolicy{MaxFailures: 3, Window: time.Hour, Period: time.Hour}
	for _, w := range []struct {
		number, prompt string
		n              int
	}{{demo.AliceNumber, store.PINPromptIVR, 3}, {demo.BobNumber, store.PINPromptOverride, 1}} {
		v, ok := st.Subscriber(e164.MustParse(w.number))
		if !ok {
			t.Fatalf("no subscriber at %s", w.number)
		}
		calling := e164.Number(0)
		if w.prompt == store.PINPromptIVR {
			calling = e164.MustParse(w.number)
		}
		for range w.n {
			if _, _, err := st.PINFailed(v.ID, store.PINFailure{Prompt: w.prompt, Calling: calling,
				Actor: store.Operator.By("ivr "+w.number, "ivr"), Policy: pol}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// normalise makes equal what differs by nature between two runs.
var normalise = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "TIME"},
	{regexp.MustCompile(`cgt_[A-Za-z0-9_-]+`), "TOKEN"},
	{regexp.MustCompile(`initech\.[A-Za-z0-9_-]{20,}`), "ENTERPRISE-TOKEN"},
	{regexp.MustCompile(`\b[0-9a-f]{16,32}\b`), "ID"},
	{regexp.MustCompile(`"source": "(store|daemon)"`), `"source": "SOURCE"`},
	{regexp.MustCompile(`"platform_from": "(config|daemon)"`), `"platform_from": "SOURCE"`},
	{regexp.MustCompile(`\(platform defaults: [^\n]*\):\n`), "(platform defaults: SOURCE):\n"},
	{regexp.MustCompile(`\(answered by the running daemon: the store file is in use\)\n`), ""},
	{regexp.MustCompile(`[0-9a-f]{64}`), "SHA256"},
}

// Only the daemon's user (and root) may use its socket: the file is the
// daemon user's with mode 0600, so another user's connect is refused by
// the kernel; and were the mode loosened by hand, the daemon itself
// refuses any other uid the kernel names (SO_PEERCRED). Nothing the other
// user asked for is done. The test runs the CLI as uid 65534 (nobody),
// which needs root, as a peer test needs its peer.
func TestNonOwnerCannotUseTheSocket(t *testing.T) {
	dir := t.TempDir()
	(&cli{t: t, dir: dir}).ok("demo")
	startDaemon(t, dir, "")
	sock := filepath.Join(dir, config.SocketFile)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
		t.Fatalf("socket %v owned by uid %d, want a socket, 0600, the daemon's user's", fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("this test runs the CLI as another user (uid 65534), which needs root; the socket itself is %v", fi.Mode())
	}
	// Let nobody reach the socket (but not the store file, 0600 too) and
	// run this test binary as the CLI.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binDir := t.TempDir()
	bin := filepath.Join(binDir, "callgate")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Dir(dir), binDir, filepath.Dir(binDir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(binDir, "cli.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir: %q\n", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	asNobody := func(args ...string) (int, string) {
		cmd := exec.Command(bin, append(args, "--config", cfg)...)
		cmd.Env = append(os.Environ(), "CALLGATE_TEST_AS_CLI=1")
		cmd.Dir = binDir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("running the CLI as uid 65534: %v", err)
		}
		return cmd.ProcessState.ExitCode(), out.String()
	}
	add := []string{"list", "add", "--owner", demo.Alice, "--list", "blocked", "+17195550999"}
	if code, out := asNobody(add...); code != 1 || !strings.Contains(out, "socket "+sock+" refuses you") || !strings.Contains(out, "permission denied") {
		t.Errorf("uid 65534 on the 0600 socket: exit %d\n%s", code, out)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	if code, out := asNobody(add...); code != 1 || !strings.Contains(out, "(uid 65534) may not use "+sock) {
		t.Errorf("uid 65534 on a socket loosened to 0666: exit %d\n%s", code, out)
	}
	os.Chmod(sock, 0o600)
	if out := (&cli{t: t, dir: dir}).ok("list", "show", "--owner", demo.Alice, "--list", "blocked"); strings.Contains(out, "+17195550999") {
		t.Errorf("another user's change was made:\n%s", out)
	}
}
