package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"callgate/e164"
	"callgate/internal/demo"
	"callgate/keys"
	"callgate/redirect"
	"callgate/store"

	repsim "callgate/simulators/reputation"
)

// TestProviderSignalsCommand: `provider signals` shows each setting with
// whose it is, changes the ones given ("default" hands one back to the
// platform), and refuses a bad action naming the flag.
func TestProviderSignalsCommand(t *testing.T) {
	c := newCLI(t)
	c.ok("demo")
	out := c.ok("provider", "signals", demo.Provider)
	for _, want := range []string{"reputation.medium:  challenge  (platform)", "key_missing:        block      (platform)"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	out = c.ok("provider", "signals", demo.Provider, "--medium", "block", "--unknown", "challenge", "--key-missing", "tag")
	for _, want := range []string{"reputation.medium:  block      (provider)", "reputation.unknown: challenge  (provider)",
		"reputation.high:    challenge  (platform)", "key_missing:        continue   (provider)"} {
		if !strings.Contains(out, want) {
			t.Errorf("set lacks %q:\n%s", want, out)
		}
	}
	var j providerSignalsJSON
	jsonOf(t, c.ok("provider", "signals", demo.Provider, "--unknown", "default", "--json"), &j)
	if j.Signals != (store.ProviderSignals{Reputation: store.ReputationActions{Medium: store.SignalBlock}, KeyMissing: store.SignalContinue}) ||
		j.Effective[4] != (effectiveSignal{"reputation.unknown", "continue", "platform"}) {
		t.Errorf("JSON: %+v", j)
	}
	c.fails(2, "--medium", "provider", "signals", demo.Provider, "--medium", "drop")
	c.fails(1, "key_missing allow", "provider", "signals", demo.Provider, "--key-missing", "allow")
	c.fails(1, "not found", "provider", "signals", "nobody")
	if out := c.ok("audit", "search", "--object", "provider/"+demo.Provider); !strings.Contains(out, "provider.signals") {
		t.Errorf("the change is not audited:\n%s", out)
	}
}

// TestDecideRunsTheSignalStage: `decide` checks call keys and looks the
// caller up for spam risk as serve does (keys saved in keys.dir, the
// configured reputation provider), answers what-if questions with the
// signals given by hand, and shows whose setting applied.
func TestDecideRunsTheSignalStage(t *testing.T) {
	c := newCLI(t)
	sim, err := repsim.New(repsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	high := "+16175550103"
	sim.SetBand(e164.MustParse(high), "high")
	cfg := filepath.Join(c.dir, "callgate.yaml")
	// keys.single_use: asking must not use a key up. The budget is long
	// so a loaded machine still gets the simulator's answer.
	if err := os.WriteFile(cfg, []byte("data_dir: "+c.dir+"\nkeys:\n  single_use: true\nreputation:\n  enabled: true\n  base_url: "+sim.URL()+
		"\n  budget: 5s\n  actions:\n    high: block\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.ok("demo", "--config", cfg)
	ent := "+15125550100"
	c.ok("enterprise", "create", "initech", "--provider", demo.Provider, "--number", ent, "--config", cfg)
	c.ok("enterprise", "brand", "initech", "--name", "Initech", "--config", cfg)

	decide := func(args ...string) string {
		t.Helper()
		return c.ok(append([]string{"decide", "--called", demo.AliceNumber, "--config", cfg}, args...)...)
	}
	expect := func(out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("decide lacks %q:\n%s", w, out)
			}
		}
	}
	// No key registered: spoofed, blocked by the platform's keys.on_missing.
	expect(decide("--calling", ent), "call key:      missing", "decision:      block", "key               missing", "setting           platform")

	// A key saved by the registry serve runs (the daemon is not running).
	st, err := store.Open(filepath.Join(c.dir, "callgate.db"), store.Options{PINCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	en, err := st.GetEnterprise(store.Operator, "initech")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := keys.Open(keys.Config{Dir: filepath.Join(c.dir, "keys"), SingleUse: true}, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Register(en.ID, keys.Key{Calling: e164.MustParse(ent), Called: e164.MustParse(demo.AliceNumber)}); err != nil {
		t.Fatal(err)
	}
	reg.Close()
	st.Close()
	for i := 0; i < 2; i++ { // single-use: asking twice still finds it
		expect(decide("--calling", ent), `call key:      matched, brand "Initech"`, "decision:      allow", "brand             yes")
	}
	expect(decide("--calling", ent, "--key", "missing"), "call key:      missing: an enrolled number without a key in its window (given by hand)", "decision:      block")

	// Reputation from the configured provider: high -> the platform's block.
	out := decide("--calling", high)
	expect(out, "reputation:    high (cache=miss latency=", "decision:      block", "reputation        high", "setting           platform")
	if sim.Requests(e164.MustParse(high)) != 1 {
		t.Errorf("the provider was asked %d times", sim.Requests(e164.MustParse(high)))
	}
	// What-if: a band given by hand is not looked up; the provider's own
	// setting then decides.
	expect(decide("--calling", demo.Stranger, "--reputation", "medium"), "reputation:    medium (why=given) (given by hand)", "decision:      challenge")
	c.ok("provider", "signals", demo.Provider, "--medium", "allow", "--config", cfg)
	expect(decide("--calling", demo.Stranger, "--reputation", "medium"), "decision:      allow", "setting           provider")
	if n := sim.Requests(e164.MustParse(demo.Stranger)); n != 0 {
		t.Errorf("a band given by hand was looked up %d times", n)
	}
	var res decideResult
	jsonOf(t, decide("--calling", demo.Stranger, "--reputation", "medium", "--key", "none", "--json"), &res)
	if res.Call.Reputation.String() != "medium" || len(res.Given) != 2 || res.Decision.Action.String() != "allow" {
		t.Errorf("JSON: %+v", res)
	}
	c.fails(2, "--key \"maybe\"", "decide", "--called", demo.AliceNumber, "--key", "maybe")
	c.fails(2, "--reputation \"severe\"", "decide", "--called", demo.AliceNumber, "--reputation", "severe")
}

// TestDecideAsksTheDaemonsSignals: while the daemon runs, decide asks its
// signal stage (its call keys), and asking does not use up a single-use
// key: the call it was registered for still matches it, once.
func TestDecideAsksTheDaemonsSignals(t *testing.T) {
	dir := t.TempDir()
	c := &cli{t: t, dir: dir}
	c.ok("demo")
	ent := "+15125550100"
	c.ok("enterprise", "create", "initech", "--provider", demo.Provider, "--number", ent)
	var tok struct {
		Token string `json:"token"`
	}
	jsonOf(t, c.ok("enterprise", "token", "initech", "--json"), &tok)
	r := startDaemonWith(t, dir, `
admin: {listen: "127.0.0.1:0"}
shutdown_timeout: 5s
decision_log: {no_sync: true}
sip: {udp: "127.0.0.1:0", tcp: ""}
b2bua: {udp: "127.0.0.1:0", tcp: "", rtp_port_min: 0, rtp_port_max: 0}
scp: {listen: ["127.0.0.1:0"]}
keys: {single_use: true, grace: 0s}
`, "")
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.d.AdminAddr()+"/api/v1/keys",
		strings.NewReader(`{"calling":"`+ent+`","called":"`+demo.AliceNumber+`"}`))
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/keys: %d", resp.StatusCode)
	}
	asker := &cli{t: t}
	for i := 0; i < 2; i++ {
		out := asker.ok("decide", "--calling", ent, "--called", demo.AliceNumber, "--config", r.cliCfg)
		if !strings.Contains(out, "call key:      matched") || !strings.Contains(out, "answered by the running daemon") {
			t.Fatalf("decide %d via the daemon:\n%s", i+1, out)
		}
	}
	var sipAddr net.Addr
	for _, tr := range r.d.Tiers() {
		if st, ok := tr.(*redirect.Server); ok {
			sipAddr = st.Addr("udp")
		}
	}
	conn, err := net.Dial("udp", sipAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := sipAsk(t, conn, demo.AliceNumber, ent, 1); !strings.HasPrefix(got, "SIP/2.0 302") {
		t.Errorf("the call the key was registered for: %q, want 302 (delivered)", got)
	}
	if got := sipAsk(t, conn, demo.AliceNumber, ent, 2); !strings.HasPrefix(got, "SIP/2.0 603") {
		t.Errorf("a second call on the used single-use key: %q, want 603", got)
	}
	if out := asker.ok("decide", "--calling", ent, "--called", demo.AliceNumber, "--config", r.cliCfg); !strings.Contains(out, "call key:      missing") {
		t.Errorf("decide after the call used the key:\n%s", out)
	}
}
