package config

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if got, want := c.StorePath(), filepath.Join("data", "callgate.db"); got != want {
		t.Errorf("StorePath = %q, want %q", got, want)
	}
	if got, want := c.DecisionLogPath(), filepath.Join("data", "decisions.db"); got != want {
		t.Errorf("DecisionLogPath = %q, want %q", got, want)
	}
	if !strings.HasPrefix(c.Admin.Listen, "127.0.0.1:") || !strings.HasPrefix(c.SIP.UDP, "127.0.0.1:") {
		t.Errorf("defaults must listen on loopback only: admin %q sip %q", c.Admin.Listen, c.SIP.UDP)
	}
}

func TestEmptyAndCommentOnlyGiveDefaults(t *testing.T) {
	for _, in := range []string{"", "# nothing here\n", "---\n"} {
		c, err := Parse([]byte(in), "x.yaml")
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("%q: got %+v, want defaults", in, c)
		}
	}
}

func TestEverySection(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "tok.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("f", 40)))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := `
data_dir: /var/lib/callgate
shutdown_timeout: 3s
gc_percent: 150
huge_pages: false
log: {level: debug, format: json}
admin: {listen: "0.0.0.0:9999", debug: false}
store:
  backend: etcd
  path: /srv/lists.db
  lock_timeout: 250ms
  etcd:
    endpoints: [https://10.0.0.1:2379, https://10.0.0.2:2379]
    prefix: cg/
    replica: /srv/replica.db
    ca_file: /etc/etcd/ca.pem
    cert_file: /etc/etcd/node.pem
    key_file: /etc/etcd/node.key
    username: callgate
    password_file: /etc/etcd/password
    dial_timeout: 2s
    request_timeout: 3s
    stale_after: 4s
decision_log:
  enabled: false
  path: /srv/dec.db
  max_records: -1
  max_age: 48h
  queue_size: 10
  batch_size: 5
  flush_interval: 1s
  no_sync: true
  writer_nice: 3
  writer_idle: true
  writer_slice: 0s
engine: {default_announcement: 7, no_route_fallback: block}
sip:
  enabled: true
  udp: "[::1]:5062"
  tcp: ""
  tls: "127.0.0.1:5061"
  tls_cert_file: /c.pem
  tls_key_file: /k.pem
  stateful: true
  udp_readers: 8
  continue_route: "sip:{called}@gw.example;user=phone"
  route_overrides: {east: "sip:{called}@east.example"}
  screening_uri: "sip:screen@b2bua.example"
  reject_608: true
  reject_info_url: "https://carrier.example/jcard"
  token_keys:
    - {id: 3, secret: "` + secret + `"}
    - {id: 4, secret_file: "` + keyFile + `"}
  token_key_id: 4
  token_lifetime: 30s
  max_in_flight: 500
  max_rate: 2000.5
  rate_burst: 100
  retry_after: 2s
  decide_timeout: 20ms
  server_name: "-"
  stir:
    verify: true
    trust_anchors: /sti-ca.pem
    intermediates: /inter.pem
    crl_file: /crl.pem
    freshness: 30s
    skew: 2s
    miss_wait: 10ms
    require_crl: true
    allow_http_x5u: true
    sign_key_file: /sp-key.pem
    sign_x5u: "http://certs.example/sp.pem"
    originators:
      - {name: pbx, sources: ["192.0.2.10", "198.51.100.0/24"], customer: initech, origid: o-1}
scp:
  enabled: true
  transport: sctp
  role: asp
  listen: []
  connect: ["10.0.0.1:2905", "10.0.1.1:2905"]
  point_code: "3-8-3"
  ssn: 12
  variant: itu
  routing_contexts: [1, 2]
  network_appearance: 8
  traffic_mode: override
  time_budget: 20ms
  safe_answer: forward
  acg: {capacity: 1000, gap_duration: 8s, gap_interval: 1s, remove_after: 3s}
  heartbeat_interval: 30s
  heartbeat_timeout: 5s
  home_area: fixed
  home_npa: "303"
keys: {enabled: false, dir: /srv/keys, max_keys: 5000, default_window: 30s, max_window: 1h, single_use: true,
  grace: 0s, clock_skew: 2s, flush_interval: 10ms, snapshot_interval: 1m, on_missing: screen, sip_enrolment_user: enrol}
reputation:
  enabled: true
  base_url: https://rep.example
  api_key_file: "` + keyFile + `"
  timeout: 1s
  budget: 10ms
  reserve: 2ms
  fresh_for: 10m
  stale_for: 1h
  cache_size: 100
  max_in_flight: 8
  max_waiting: 2
  breaker_failures: -1
  breaker_open: 3s
  actions: {low: continue, medium: challenge, high: block, exempt: allow, unknown: screen}
b2bua:
  enabled: true
  udp: "0.0.0.0:5070"
  tcp: ""
  tls: "0.0.0.0:5071"
  tls_cert_file: /srv/b2bua.pem
  tls_key_file: /srv/b2bua.key
  tls_ca_file: /srv/ca.pem
  tls_srtp: false
  advertise: 192.0.2.10
  rtp_port_min: 20000
  rtp_port_max: 20999
  max_sessions: 50
  retry_after: 2s
  continue_route: "sip:{called}@core.example"
  voicemail_route: "sip:{called}@vm.example"
  not_for_us: 403
  reject_mode: answer
  prompt_dir: /srv/prompts
  announcements: {101: a101.wav, 202: /srv/a202.wav}
  pin_max_digits: 6
  pin_tries: 2
  pin_lock_failures: 4
  pin_lock_window: 10m
  pin_lock_period: 1h
  challenge_digits: 4
  challenge_time: 7s
  challenge_tries: 2
  challenge_seed: 9
  name_max: 4s
  name_silence: 1s
  decide_timeout: 100ms
  pin_first_digit: 3s
  digit_timeout: 2s
  ring_timeout: 20s
  decision_timeout: 6s
  rtp_timeout: 20s
  pin_workers: 4
  pin_queue: 16
cluster: {name: scp-east-1, peers: ["http://10.0.0.2:9464"]}
`
	c, err := Parse([]byte(in), "full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	na := uint32(8)
	want := Config{
		DataDir: "/var/lib/callgate", ShutdownTimeout: 3 * time.Second, GCPercent: 150, HugePages: false,
		Log:   Log{Level: "debug", Format: "json"},
		Admin: Admin{Listen: "0.0.0.0:9999"},
		Store: Store{Backend: "etcd", Path: "/srv/lists.db", LockTimeout: 250 * time.Millisecond, Etcd: StoreEtcd{
			Endpoints: []string{"https://10.0.0.1:2379", "https://10.0.0.2:2379"}, Prefix: "cg/", Replica: "/srv/replica.db",
			CAFile: "/etc/etcd/ca.pem", CertFile: "/etc/etcd/node.pem", KeyFile: "/etc/etcd/node.key",
			Username: "callgate", PasswordFile: "/etc/etcd/password",
			DialTimeout: 2 * time.Second, RequestTimeout: 3 * time.Second, StaleAfter: 4 * time.Second}},
		DecisionLog: DecisionLog{Enabled: false, Path: "/srv/dec.db", MaxRecords: -1, MaxAge: 48 * time.Hour,
			QueueSize: 10, BatchSize: 5, FlushInterval: time.Second, NoSync: true, WriterNice: 3, WriterIdle: true, WriterSlice: 0},
		Engine: Engine{DefaultAnnouncement: 7, NoRouteFallback: "block"},
		SIP: SIP{Enabled: true, UDP: "[::1]:5062", TLS: "127.0.0.1:5061", TLSCertFile: "/c.pem", TLSKeyFile: "/k.pem",
			Stateful: true, UDPReaders: 8,
			ContinueRoute: "sip:{called}@gw.example;user=phone", RouteOverrides: map[string]string{"east": "sip:{called}@east.example"},
			ScreeningURI: "sip:screen@b2bua.example", Reject608: true, RejectInfoURL: "https://carrier.example/jcard",
			TokenKeys: []TokenKey{{ID: 3, Secret: secret}, {ID: 4, SecretFile: keyFile}}, TokenKeyID: 4,
			TokenLifetime: 30 * time.Second, MaxInFlight: 500, MaxRate: 2000.5, RateBurst: 100,
			RetryAfter: 2 * time.Second, DecideTimeout: 20 * time.Millisecond, ServerName: "-",
			Stir: SIPStir{Verify: true, TrustAnchors: "/sti-ca.pem", Intermediates: "/inter.pem", CRLFile: "/crl.pem",
				Freshness: 30 * time.Second, Skew: 2 * time.Second, MissWait: 10 * time.Millisecond, RequireCRL: true,
				AllowHTTPX5U: true, SignKeyFile: "/sp-key.pem", SignX5U: "http://certs.example/sp.pem",
				Originators: []SIPOriginator{{Name: "pbx", Sources: []string{"192.0.2.10", "198.51.100.0/24"}, Customer: "initech", OrigID: "o-1"}}}},
		SCP: SCP{Enabled: true, Transport: "sctp", Role: "asp", Listen: []string{}, Connect: []string{"10.0.0.1:2905", "10.0.1.1:2905"},
			PointCode: "3-8-3", SSN: 12, Variant: "itu", RoutingContexts: []uint32{1, 2}, NetworkAppearance: &na,
			TrafficMode: "override", TimeBudget: 20 * time.Millisecond, SafeAnswer: "forward",
			ACG:               ACG{Capacity: 1000, GapDuration: 8 * time.Second, GapInterval: time.Second, RemoveAfter: 3 * time.Second},
			HeartbeatInterval: 30 * time.Second, HeartbeatTimeout: 5 * time.Second, HomeArea: "fixed", HomeNPA: "303"},
		Keys: Keys{Dir: "/srv/keys", MaxKeys: 5000, DefaultWindow: 30 * time.Second, MaxWindow: time.Hour, SingleUse: true, ClockSkew: 2 * time.Second,
			FlushInterval: 10 * time.Millisecond, SnapshotInterval: time.Minute, OnMissing: "screen", SIPEnrolmentUser: "enrol"},
		Reputation: Reputation{Enabled: true, BaseURL: "https://rep.example", APIKeyFile: keyFile, Timeout: time.Second,
			Budget: 10 * time.Millisecond, Reserve: 2 * time.Millisecond, FreshFor: 10 * time.Minute, StaleFor: time.Hour,
			CacheSize: 100, MaxInFlight: 8, MaxWaiting: 2, BreakerFailures: -1, BreakerOpen: 3 * time.Second,
			Actions: ReputationActions{Low: "continue", Medium: "challenge", High: "block", Exempt: "allow", Unknown: "screen"}},
		Fraud: defaultFraud(), // fraud_test.go parses the section
		API:   defaultAPI(),
		B2BUA: B2BUA{Enabled: true, UDP: "0.0.0.0:5070", Advertise: "192.0.2.10",
			TLS: "0.0.0.0:5071", TLSCertFile: "/srv/b2bua.pem", TLSKeyFile: "/srv/b2bua.key", TLSCAFile: "/srv/ca.pem", RTPPortMin: 20000, RTPPortMax: 20999,
			MaxSessions: 50, RetryAfter: 2 * time.Second, ContinueRoute: "sip:{called}@core.example",
			VoicemailRoute: "sip:{called}@vm.example", NotForUs: 403, RejectMode: "answer", PromptDir: "/srv/prompts",
			Announcements: map[string]string{"101": "a101.wav", "202": "/srv/a202.wav"}, PINMaxDigits: 6, PINTries: 2,
			PINLockFailures: 4, PINLockWindow: 10 * time.Minute, PINLockPeriod: time.Hour,
			ChallengeDigits: 4, ChallengeTime: 7 * time.Second, ChallengeTries: 2, ChallengeSeed: 9,
			NameMax: 4 * time.Second, NameSilence: time.Second, DecideTimeout: 100 * time.Millisecond,
			PINFirstDigit: 3 * time.Second, DigitTimeout: 2 * time.Second, RingTimeout: 20 * time.Second,
			DecisionTimeout: 6 * time.Second, RTPTimeout: 20 * time.Second, PINWorkers: 4, PINQueue: 16},
		Cluster: Cluster{Name: "scp-east-1", Peers: []string{"http://10.0.0.2:9464"}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", c, want)
	}
	// With store.backend etcd the store's local file is the replica.
	if c.StorePath() != "/srv/replica.db" || c.DecisionLogPath() != "/srv/dec.db" {
		t.Errorf("explicit paths not used: %s %s", c.StorePath(), c.DecisionLogPath())
	}
	keys, err := c.SIP.TokenSecrets()
	if err != nil {
		t.Fatal(err)
	}
	if string(keys[3]) != strings.Repeat("k", 32) || string(keys[4]) != strings.Repeat("f", 40) {
		t.Errorf("token secrets: %q", keys)
	}
	pc, err := c.SCP.ParsedPointCode()
	if err != nil || pc != 3<<11|8<<3|3 {
		t.Errorf("point code = %d, %v", pc, err)
	}
}

func TestPartialFileKeepsOtherDefaults(t *testing.T) {
	c, err := Parse([]byte("log:\n  level: warn\nsip:\n  udp: 127.0.0.1:15060\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Log.Level = "warn"
	want.SIP.UDP = "127.0.0.1:15060"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v", c)
	}
}

func TestStrictErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"unknown top-level", "data_dir: x\nlistn: 1\n", []string{"p.yaml", "line 2", `unknown field "listn"`, "the top level", "admin"}},
		{"unknown nested", "log:\n  level: info\n  colour: true\n", []string{"line 3", `"colour"`, "in log", "format, level"}},
		{"unknown in list item", "sip:\n  token_keys:\n    - id: 1\n      secrte: abc\n", []string{"line 4", `"secrte"`, "sip.token_keys[0]", "secret_file"}},
		{"unknown deep", "scp:\n  acg:\n    capacty: 5\n", []string{"line 3", "scp.acg", "capacity"}},
		{"wrong type", "decision_log:\n  queue_size: lots\n", []string{"line 2", "lots"}},
		{"duration without unit", "shutdown_timeout: 10\n", []string{"line 1", "with a unit"}},
		{"bad level", "log: {level: loud}\n", []string{"log.level", "loud"}},
		{"bad format", "log: {format: xml}\n", []string{"log.format"}},
		{"bad admin addr", "admin: {listen: localhost}\n", []string{"admin.listen"}},
		{"api session idle", "api: {enabled: true, session_idle: 10ms}\n", []string{"api.session_idle", "at least 1s"}},
		{"api login burst", "api: {enabled: true, login_burst: 0}\n", []string{"api.login_burst"}},
		{"bad port", "admin: {listen: 'localhost:99999'}\n", []string{"admin.listen", "99999"}},
		{"zero records", "decision_log: {max_records: 0}\n", []string{"decision_log.max_records"}},
		{"gc percent", "gc_percent: 10\n", []string{"gc_percent", "10 is not between 25 and 10000"}},
		{"inline limit against workers", "scp: {workers: -1, inline_limit: -1ms}\n", []string{"scp.inline_limit", "contradicts workers: -1"}},
		{"unbounded log", "decision_log: {max_records: -1, max_age: -1s}\n", []string{"both unbounded"}},
		{"negative writer slice", "decision_log: {writer_slice: -1ms}\n", []string{"decision_log.writer_slice", "-1ms is negative"}},
		{"sip no listener", "sip: {udp: '', tcp: ''}\n", []string{"sip.enabled", "no listener"}},
		{"sip tls without cert", "sip: {tls: '127.0.0.1:5061'}\n", []string{"tls_cert_file"}},
		{"b2bua tls without cert", "b2bua: {tls: '127.0.0.1:5071'}\n", []string{"b2bua.tls", "tls_cert_file"}},
		{"b2bua tls address", "b2bua: {tls: '127.0.0.1'}\n", []string{"b2bua.tls"}},
		{"b2bua client CA without tls", "b2bua: {tls_client_ca_file: ca.pem}\n", []string{"b2bua.tls_client_ca_file", "no TLS listener"}},
		{"sip client CA without tls", "sip: {tls_client_ca_file: ca.pem}\n", []string{"sip.tls_client_ca_file", "no TLS listener"}},
		{"sip udp readers", "sip: {udp_readers: -1}\n", []string{"sip.udp_readers", "negative"}},
		{"sip bad route", "sip: {continue_route: 'gw.example'}\n", []string{"sip.continue_route"}},
		{"sip short secret", "sip: {token_keys: [{id: 1, secret: 'c2hvcnQ='}]}\n", []string{"sip.token_keys[0].secret", "at least 32"}},
		{"sip key id", "sip: {token_key_id: 9, token_keys: [{id: 1, secret: '" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "'}]}\n", []string{"token_key_id", "9"}},
		{"sip both secrets", "sip: {token_keys: [{id: 1, secret: 'x', secret_file: '/y'}]}\n", []string{"not both"}},
		{"scp transport", "scp: {transport: udp}\n", []string{"scp.transport"}},
		{"scp role", "scp: {role: stp}\n", []string{"scp.role"}},
		{"scp asp without connect", "scp: {enabled: true, role: asp}\n", []string{"scp.connect"}},
		{"scp point code", "scp: {point_code: '300-2-20'}\n", []string{"scp.point_code", "300-2-20"}},
		{"scp itu point code range", "scp: {variant: itu, point_code: '244-2-20'}\n", []string{"scp.point_code"}},
		{"scp ssn", "scp: {ssn: 0}\n", []string{"scp.ssn"}},
		{"scp variant", "scp: {variant: china}\n", []string{"scp.variant"}},
		{"scp traffic mode", "scp: {traffic_mode: roundrobin}\n", []string{"scp.traffic_mode"}},
		{"scp broadcast", "scp: {traffic_mode: broadcast}\n", []string{"scp.traffic_mode", "loadshare"}},
		{"scp tcp multi-homed", "scp: {listen: ['127.0.0.1:2905', '127.0.0.2:2905']}\n", []string{"scp.listen", "only SCTP"}},
		{"scp register as sg", "scp: {register: true}\n", []string{"scp.register", "role asp"}},
		{"scp register two rcs", "scp: {role: asp, connect: ['10.0.0.1:2905'], register: true, routing_contexts: [1, 2]}\n", []string{"scp.register", "one routing context"}},
		{"scp safe answer", "scp: {safe_answer: block}\n", []string{"scp.safe_answer"}},
		{"no-route fallback", "engine: {no_route_fallback: screen}\n", []string{"engine.no_route_fallback", "allow or block"}},
		{"scp gap", "scp: {acg: {gap_duration: 100ms}}\n", []string{"scp.acg.gap_duration"}},
		{"scp gap removal negative", "scp: {acg: {remove_after: -1s}}\n", []string{"scp.acg.remove_after", "0 leaves"}},
		{"scp gap removal too short", "scp: {acg: {remove_after: 10ms}}\n", []string{"scp.acg.remove_after", "100ms"}},
		{"scp gap removal after the gap", "scp: {acg: {gap_duration: 4s, remove_after: 4s}}\n", []string{"scp.acg.remove_after", "gap_duration 4s"}},
		{"scp heartbeat interval", "scp: {heartbeat_interval: 10ms}\n", []string{"scp.heartbeat_interval", "0 (BEAT off)"}},
		{"scp heartbeat timeout", "scp: {heartbeat_timeout: 0s}\n", []string{"scp.heartbeat_timeout", "100ms"}},
		{"scp home area", "scp: {home_area: npa}\n", []string{"scp.home_area", "line, called or fixed"}},
		{"scp home npa", "scp: {home_npa: '103'}\n", []string{"scp.home_npa", "first 2-9"}},
		{"scp fixed without npa", "scp: {home_area: fixed}\n", []string{"scp.home_npa", "home_area fixed"}},
		{"two documents", "log: {level: info}\n---\nlog: {level: debug}\n", []string{"more than one YAML document"}},
		{"syntax", "log: [\n", []string{"p.yaml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), "p.yaml")
			if err == nil {
				t.Fatalf("no error for %q", tc.in)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestSeveralProblemsReportedTogether(t *testing.T) {
	_, err := Parse([]byte("log: {level: loud, format: xml}\nscp: {ssn: 0}\n"), "p.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"log.level", "log.format", "scp.ssn"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %s", err, w)
		}
	}
}

// The example file at the repository root is the configuration's
// documentation: it must parse, state the real defaults, and mention every
// field.
func TestExampleFileDocumentsEveryField(t *testing.T) {
	const path = "../../callgate.example.yaml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	// YAML "[]" and "{}" decode to empty, non-nil values.
	c.SIP.RouteOverrides, want.SIP.RouteOverrides = nil, nil
	c.SIP.TokenKeys, want.SIP.TokenKeys = nil, nil
	c.SCP.Connect, want.SCP.Connect = nil, nil
	c.Store.Etcd.Endpoints, want.Store.Etcd.Endpoints = nil, nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("example file values differ from Default():\n%+v\n%+v", c, want)
	}
	text := string(data)
	var walk func(t reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeOf(time.Duration(0)) {
			return
		}
		for name, f := range yamlFields(typ) {
			if !strings.Contains(text, name+":") {
				t.Errorf("callgate.example.yaml does not document %s%s", path, name)
			}
			walk(f.Type, path+name+".")
		}
	}
	walk(reflect.TypeOf(Config{}), "")
}

func TestMarshalRoundTrip(t *testing.T) {
	b, err := Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(b, "defaults")
	if err != nil {
		t.Fatalf("defaults output does not parse back: %v\n%s", err, b)
	}
	want := Default()
	c.SIP.TokenKeys, want.SIP.TokenKeys = nil, nil
	c.SCP.Connect, want.SCP.Connect = nil, nil
	c.Store.Etcd.Endpoints, want.Store.Etcd.Endpoints = nil, nil
	c.SIP.RouteOverrides, want.SIP.RouteOverrides = nil, nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("round trip:\n%+v\n%+v", c, want)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("log: {level: debug}\n"))
	f.Add([]byte("sip:\n  token_keys:\n    - id: 1\n      secret: abc\n"))
	f.Add([]byte("scp: &a {ssn: 3}\nx: *a\n"))
	f.Add([]byte("<<: {data_dir: x}\n"))
	if b, err := os.ReadFile("../../callgate.example.yaml"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b, "fuzz")
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Parse accepted a config that does not validate: %v", verr)
			}
		}
	})
}

// Defect: a value of the wrong type was reported in yaml.v3's words ("line
// 3: cannot unmarshal !!str `lots` into int"), without the field, and the
// first kind of problem hid the others. Now each names its line and field
// and what the field takes, and every problem of the file is listed at
// once, unknown fields, types and validation together.
func TestTypeErrorsNameTheFieldAndEveryProblemIsListed(t *testing.T) {
	in := `shutdown_timeout: 10
log: {levle: debug, format: xml}
sip:
  max_in_flight: lots
  token_keys: abc
  route_overrides: {east: 5}
scp:
  ssn: 300
  listen: 127.0.0.1:2905
  acg: {capacity: [1]}
  network_appearance: x
admin: {debug: maybe}
`
	c, err := Parse([]byte(in), "p.yaml")
	var p *Problems
	if !errors.As(err, &p) {
		t.Fatalf("error %v is not the list of problems", err)
	}
	want := []string{
		`line 1: shutdown_timeout: want a duration with a unit ("500ms", "10s", "1h"), not "10"`,
		`line 2: unknown field "levle" in log (valid fields: format, level)`,
		`line 4: sip.max_in_flight: want a whole number, not "lots"`,
		`line 5: sip.token_keys: want a list ([a, b] or - lines), not "abc"`,
		`line 8: scp.ssn: want a whole number from 0 to 255, not "300"`,
		`line 9: scp.listen: want a list ([a, b] or - lines), not "127.0.0.1:2905"`,
		`line 10: scp.acg.capacity: want a whole number, not a list`,
		`line 11: scp.network_appearance: want a whole number from 0 to 4294967295, not "x"`,
		`line 12: admin.debug: want true or false, not "maybe"`,
		`log.format: "xml" is not text or json`,
		`sip.route_overrides.east: "5" does not start with sip:, sips: or tel:`,
	}
	if len(p.List) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(p.List), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("report lacks %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "unmarshal") || strings.Contains(err.Error(), "!!") {
		t.Errorf("report speaks yaml.v3's language:\n%v", err)
	}
	// The rest of the file still applies (config check goes on with it);
	// the fields with problems keep their defaults.
	if c.SIP.MaxInFlight != Default().SIP.MaxInFlight || c.Log.Format != "xml" || c.SIP.RouteOverrides["east"] != "5" {
		t.Errorf("config returned with the problems: %+v", c)
	}
}

// TestSIPSecureRoutesMustBeSIPS: sip.secure_continue_route and
// sip.secure_screening_uri serve sips: INVITEs, so they must be sips:; the
// error names the key and the fix.
func TestSIPSecureRoutesMustBeSIPS(t *testing.T) {
	c := Default()
	c.SIP.SecureContinueRoute = "sip:{called}@gw.example;transport=tls"
	c.SIP.SecureScreeningURI = "tel:+13035550000"
	err := c.Validate()
	for _, want := range []string{`sip.secure_continue_route: "sip:{called}@gw.example;transport=tls" is not a sips: URI`, `sip.secure_screening_uri: "tel:+13035550000" is not a sips: URI`, "write it sips:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want %q", err, want)
		}
	}
	c.SIP.SecureContinueRoute, c.SIP.SecureScreeningURI = "sips:{called}@gw.example", "SIPS:screen@b2bua.example"
	if err := c.Validate(); err != nil {
		t.Errorf("sips: routes refused: %v", err)
	}
}
