package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"callgate/sigtran/sccp"
)

// Load reads the YAML file at path over the defaults and validates the
// result. Errors name the file, the line and the field. When the file was
// read as YAML but has problems, the error is a *Problems listing every
// one, and the Config is returned with it (fields with problems keep their
// defaults), so `config check` can go on to the daemon's own checks.
//
// The paths the file names (data_dir, default "data", store.path and
// decision_log.path when set, and every certificate, key, secret and
// prompt file or folder) are taken relative to the file's folder when
// relative, not to the working directory: `serve --config FILE` and an
// operator command given the same FILE then open the same store wherever
// they are run from (a command run from another folder used to create a
// new, empty store there).
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, perr := Parse(data, path)
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.resolveDataPaths(dir)
	return cfg, perr
}

// resolveDataPaths makes the relative data paths relative to dir: every
// file or folder a configuration names.
func (c *Config) resolveDataPaths(dir string) {
	paths := append([]*string{&c.DataDir, &c.DecisionLog.Path, &c.Keys.Dir, &c.Reputation.APIKeyFile, &c.API.TLSCert, &c.API.TLSKey, &c.API.Socket, &c.B2BUA.PromptDir,
		&c.B2BUA.TLSCertFile, &c.B2BUA.TLSKeyFile, &c.B2BUA.TLSCAFile, &c.SIP.TLSCertFile, &c.SIP.TLSKeyFile, &c.SIP.TLSClientCAFile, &c.B2BUA.TLSClientCAFile,
		&c.SIP.Stir.TrustAnchors, &c.SIP.Stir.Intermediates, &c.SIP.Stir.CRLFile, &c.SIP.Stir.SignKeyFile, &c.Fraud.Webhook.SecretFile}, c.Store.storePaths()...)
	for i := range c.SIP.TokenKeys {
		paths = append(paths, &c.SIP.TokenKeys[i].SecretFile)
	}
	for _, p := range paths {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// Problems are every problem of one configuration file: unknown fields,
// values of the wrong type (each naming its line and field) and values
// that fail validation (each naming its field).
type Problems struct {
	File string
	List []error
}

func (p *Problems) Error() string {
	if len(p.List) == 1 {
		return fmt.Sprintf("config %s: %v", p.File, p.List[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: %d problems:", p.File, len(p.List))
	for _, e := range p.List {
		b.WriteString("\n  ")
		b.WriteString(strings.ReplaceAll(e.Error(), "\n", "\n  "))
	}
	return b.String()
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (p *Problems) Unwrap() []error { return p.List }

// Parse reads YAML data (named name in errors) over the defaults and
// validates the result. An empty document gives the defaults. Problems are
// returned as for Load.
func Parse(data []byte, name string) (Config, error) {
	cfg := Default()
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, problems(name, unjoin(cfg.Validate()))
		}
		return Config{}, fmt.Errorf("config %s: %s", name, yamlMessage(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config %s: more than one YAML document (a second \"---\" section); put everything in one", name)
	}
	var fc fieldChecker
	fc.check(&root, reflect.TypeOf(cfg), "")
	errs := fc.errs
	// A document holding only comments decodes to an empty node.
	if len(root.Content) > 0 && !(root.Kind == yaml.DocumentNode && root.Content[0].Tag == "!!null") {
		// yaml.v3 decodes every field it can and reports the rest; the
		// field checker has already named those, by field.
		if err := root.Decode(&cfg); err != nil {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				return Config{}, fmt.Errorf("config %s: %s", name, yamlMessage(err))
			}
			for _, m := range te.Errors {
				if !fc.lines[lineOf(m)] {
					errs = append(errs, errors.New(yamlMessage(&yaml.TypeError{Errors: []string{m}})))
				}
			}
		}
	}
	errs = append(errs, unjoin(cfg.Validate())...)
	return cfg, problems(name, errs)
}

// problems is nil without errs, else a *Problems.
func problems(file string, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return &Problems{File: file, List: errs}
}

// unjoin returns the errors joined in err (errors.Join), or err alone.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// lineOf is the line number of a yaml.v3 message "line N: ...", or 0.
func lineOf(msg string) int {
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return 0
	}
	n, _, _ := strings.Cut(rest, ":")
	line, _ := strconv.Atoi(n)
	return line
}

// yamlMessage turns yaml.v3's "yaml: unmarshal errors:\n  line 3: ..." into
// "line 3: ...; line 7: ...", and adds what a duration looks like, the most
// common mistake.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			if strings.Contains(m, "time.Duration") {
				m += ` (write durations with a unit: "500ms", "10s", "1h")`
			}
			msgs[i] = m
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// fieldChecker walks the YAML tree alongside the Go type and collects a
// problem for every key the type does not have (naming the line, the
// section and the keys that would have been valid) and for every value
// that does not fit its field (naming the line, the field and what it
// takes). yaml.v3's own messages name Go types ("not found in type
// config.SIP", "cannot unmarshal !!str into int"), which an operator
// should not have to decode.
type fieldChecker struct {
	errs  []error
	lines map[int]bool // lines with a type problem reported
}

func (fc *fieldChecker) add(line int, format string, args ...any) {
	fc.errs = append(fc.errs, fmt.Errorf("line %d: "+format, append([]any{line}, args...)...))
}

func (fc *fieldChecker) check(n *yaml.Node, t reflect.Type, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind != yaml.DocumentNode && n.Tag == "!!null" {
		return // an empty value leaves the default
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			fc.check(c, t, path)
		}
	case yaml.MappingNode:
		switch t.Kind() {
		case reflect.Struct:
			fields := yamlFields(t)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "<<" { // merge key: check what it merges
					fc.check(v, t, path)
					continue
				}
				f, ok := fields[k.Value]
				if !ok {
					fc.add(k.Line, "unknown field %q in %s (valid fields: %s)",
						k.Value, section(path), strings.Join(sortedKeys(fields), ", "))
					continue
				}
				fc.check(v, f.Type, join(path, k.Value))
			}
		case reflect.Map:
			for i := 0; i+1 < len(n.Content); i += 2 {
				fc.check(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
			}
		default:
			fc.typeProblem(n, path, "a single value ("+kindWord(t)+"), not a section")
		}
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice {
			fc.typeProblem(n, path, kindWord(t)+", not a list")
			return
		}
		for i, c := range n.Content {
			fc.check(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case yaml.ScalarNode:
		switch t.Kind() {
		case reflect.Struct, reflect.Map:
			fc.typeProblem(n, path, fmt.Sprintf("a section of key: value lines, not %q", n.Value))
			return
		case reflect.Slice:
			fc.typeProblem(n, path, fmt.Sprintf("a list ([a, b] or - lines), not %q", n.Value))
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			fc.typeProblem(n, path, fmt.Sprintf("%s, not %q", kindWord(t), n.Value))
		}
	}
}

func (fc *fieldChecker) typeProblem(n *yaml.Node, path, want string) {
	if fc.lines == nil {
		fc.lines = map[int]bool{}
	}
	fc.lines[n.Line] = true
	fc.add(n.Line, "%s: want %s", section(path), want)
}

// kindWord says in words what a field of type t takes.
func kindWord(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(time.Duration(0)) {
		return `a duration with a unit ("500ms", "10s", "1h")`
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Uint8:
		return "a whole number from 0 to 255"
	case reflect.Uint16:
		return "a whole number from 0 to 65535"
	case reflect.Uint32:
		return "a whole number from 0 to 4294967295"
	case reflect.Uint, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "text"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a section"
	}
	return t.String()
}

func section(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps a struct's YAML keys to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := make(map[string]reflect.StructField, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f
	}
	return m
}

func sortedKeys(m map[string]reflect.StructField) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Marshal renders c as YAML (what `callgate config defaults` prints).
func Marshal(c Config) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("config: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: encode: %w", err)
	}
	return b.Bytes(), nil
}

// StorePath is where the list store lives on this node: store.path, else
// DATA_DIR/callgate.db; with store.backend etcd, the local replica
// (ReplicaPath).
func (c *Config) StorePath() string {
	if c.Store.Backend == BackendEtcd {
		return c.ReplicaPath()
	}
	if c.Store.Path != "" {
		return c.Store.Path
	}
	return filepath.Join(c.DataDir, StoreFile)
}

// DecisionLogPath is where the decision log lives: decision_log.path, else
// DATA_DIR/decisions.db.
func (c *Config) DecisionLogPath() string {
	if c.DecisionLog.Path != "" {
		return c.DecisionLog.Path
	}
	return filepath.Join(c.DataDir, DecisionLogFile)
}

// Validate checks every field and returns all problems at once, one per
// line, each naming the field ("sip.udp: ...").
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.DataDir == "" && (c.Store.Path == "" || c.DecisionLog.Path == "") {
		bad("data_dir", "empty (set it, or set store.path and decision_log.path)")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "%s is not positive", c.ShutdownTimeout)
	}
	if c.GCPercent != -1 && (c.GCPercent < 25 || c.GCPercent > 10000) {
		bad("gc_percent", "%d is not between 25 and 10000, or -1 (no collection)", c.GCPercent)
	}
	if _, err := ParseLevel(c.Log.Level); err != nil {
		bad("log.level", "%v", err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if c.Admin.Listen != "" {
		if err := checkAddr(c.Admin.Listen); err != nil {
			bad("admin.listen", "%v", err)
		}
	}
	dl := &c.DecisionLog
	if dl.MaxRecords == 0 {
		bad("decision_log.max_records", "0 would keep nothing; use a positive bound, or -1 for none")
	}
	if dl.MaxAge == 0 {
		bad("decision_log.max_age", "0 would keep nothing; use a duration such as 720h, or -1s for none")
	}
	if dl.MaxRecords < 0 && dl.MaxAge < 0 {
		bad("decision_log", "max_records and max_age are both unbounded; the log would grow without limit")
	}
	if dl.QueueSize <= 0 || dl.BatchSize <= 0 {
		bad("decision_log", "queue_size (%d) and batch_size (%d) must be positive", dl.QueueSize, dl.BatchSize)
	}
	if dl.FlushInterval <= 0 {
		bad("decision_log.flush_interval", "%s is not positive", dl.FlushInterval)
	}
	if dl.WriterNice < 0 || dl.WriterNice > 19 {
		bad("decision_log.writer_nice", "%d: want 0 (a goroutine like any other) to 19 (the lowest priority)", dl.WriterNice)
	}
	if dl.WriterSlice < 0 {
		bad("decision_log.writer_slice", "%s is negative; use a duration such as 150us, or 0 for no pauses", dl.WriterSlice)
	}
	if f := c.Engine.NoRouteFallback; f != "allow" && f != "block" {
		bad("engine.no_route_fallback", "%q is not allow or block", f)
	}
	errs = append(errs, c.Store.validate()...)
	errs = append(errs, c.SIP.validate()...)
	errs = append(errs, c.SCP.validate()...)
	errs = append(errs, c.validateSignals()...)
	errs = append(errs, c.Fraud.validate()...)
	errs = append(errs, c.API.validate()...)
	errs = append(errs, c.B2BUA.validate()...)
	errs = append(errs, c.B2BUA.validateTLSLegs(c.SIP.ContinueRoute)...)
	errs = append(errs, c.Cluster.validate()...)
	errs = append(errs, c.validateSharedTokenKeys()...)
	return errors.Join(errs...)
}

// ParseLevel maps a log.level value to a slog level value (debug -4, info
// 0, warn 4, error 8).
func ParseLevel(s string) (int, error) {
	switch strings.ToLower(s) {
	case "debug":
		return -4, nil
	case "info":
		return 0, nil
	case "warn", "warning":
		return 4, nil
	case "error":
		return 8, nil
	}
	return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
}

// checkAddr checks a host:port listen or connect address.
func checkAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%q is not host:port (%v)", a, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: port %q is not a number 0-65535", a, port)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q: host %q is not a host name or IP address", a, host)
	}
	return nil
}

func (s *SIP) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("sip.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	for _, a := range []struct{ name, addr string }{{"udp", s.UDP}, {"tcp", s.TCP}, {"tls", s.TLS}} {
		if a.addr != "" {
			if err := checkAddr(a.addr); err != nil {
				bad(a.name, "%v", err)
			}
		}
	}
	if s.Enabled && s.UDP == "" && s.TCP == "" && s.TLS == "" {
		bad("enabled", "the SIP tier is enabled but has no listener (set udp, tcp or tls)")
	}
	if s.TLS != "" && (s.TLSCertFile == "" || s.TLSKeyFile == "") {
		bad("tls", "a TLS listener needs tls_cert_file and tls_key_file")
	}
	if s.TLSClientCAFile != "" && s.TLS == "" {
		bad("tls_client_ca_file", "set, but there is no TLS listener (tls) for it to check clients on")
	}
	if s.UDPReaders < 0 {
		bad("udp_readers", "%d is negative (0 = GOMAXPROCS, at least 4)", s.UDPReaders)
	}
	for _, u := range []struct {
		name, v  string
		required bool
	}{{"continue_route", s.ContinueRoute, true}, {"screening_uri", s.ScreeningURI, false}} {
		if s.Enabled && u.required && u.v == "" {
			bad(u.name, "required when the SIP tier is enabled")
		} else if u.v != "" && !hasURIScheme(u.v) {
			bad(u.name, "%q does not start with sip:, sips: or tel:", u.v)
		}
	}
	for _, u := range []struct{ name, v string }{{"secure_continue_route", s.SecureContinueRoute}, {"secure_screening_uri", s.SecureScreeningURI}} {
		if u.v != "" && !strings.HasPrefix(strings.ToLower(u.v), "sips:") {
			bad(u.name, "%q is not a sips: URI; it serves INVITEs to a sips: Request-URI, which must stay on TLS (RFC 5630): write it sips:, or leave it empty", u.v)
		}
	}
	for name, v := range s.RouteOverrides {
		if !hasURIScheme(v) {
			bad("route_overrides."+name, "%q does not start with sip:, sips: or tel:", v)
		}
	}
	errs = append(errs, s.Stir.validate()...)
	if s.RejectInfoURL != "" && !strings.HasPrefix(s.RejectInfoURL, "https://") {
		bad("reject_info_url", "%q is not an https URL", s.RejectInfoURL)
	}
	seen := map[uint8]bool{}
	for i, k := range s.TokenKeys {
		f := fmt.Sprintf("token_keys[%d]", i)
		if seen[k.ID] {
			bad(f+".id", "key ID %d is used twice", k.ID)
		}
		seen[k.ID] = true
		switch {
		case k.Secret != "" && k.SecretFile != "":
			bad(f, "set secret or secret_file, not both")
		case k.Secret == "" && k.SecretFile == "":
			bad(f, "needs secret (base64) or secret_file")
		case k.Secret != "":
			if b, err := base64.StdEncoding.DecodeString(k.Secret); err != nil {
				bad(f+".secret", "not base64: %v", err)
			} else if len(b) < 32 {
				bad(f+".secret", "%d bytes; use at least 32 (e.g. `openssl rand -base64 32`)", len(b))
			}
		}
	}
	if len(s.TokenKeys) > 0 && !seen[s.TokenKeyID] {
		bad("token_key_id", "no key with ID %d in token_keys", s.TokenKeyID)
	}
	if s.TokenLifetime < time.Second {
		bad("token_lifetime", "%s is under one second", s.TokenLifetime)
	}
	if s.MaxInFlight < 0 || s.MaxRate < 0 || s.RateBurst < 0 || s.RetryAfter < 0 || s.DecideTimeout < 0 {
		bad("max_in_flight", "overload limits and timeouts (max_in_flight, max_rate, rate_burst, retry_after, decide_timeout) cannot be negative")
	}
	return errs
}

func hasURIScheme(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "sip:") || strings.HasPrefix(l, "sips:") || strings.HasPrefix(l, "tel:")
}

// TokenSecrets resolves the token keys' secrets (reading secret files).
func (s *SIP) TokenSecrets() (map[uint8][]byte, error) {
	out := make(map[uint8][]byte, len(s.TokenKeys))
	for i, k := range s.TokenKeys {
		if k.SecretFile == "" {
			b, err := base64.StdEncoding.DecodeString(k.Secret)
			if err != nil {
				return nil, fmt.Errorf("sip.token_keys[%d].secret: not base64: %w", i, err)
			}
			out[k.ID] = b
			continue
		}
		raw, err := os.ReadFile(k.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("sip.token_keys[%d].secret_file: %w", i, err)
		}
		b := bytes.TrimSpace(raw)
		// A file written by `openssl rand -base64 32` holds base64 text.
		if d, err := base64.StdEncoding.DecodeString(string(b)); err == nil && len(d) >= 32 {
			b = d
		} else {
			b = raw
		}
		if len(b) < 32 {
			return nil, fmt.Errorf("sip.token_keys[%d].secret_file %s: %d bytes; use at least 32", i, k.SecretFile, len(b))
		}
		out[k.ID] = b
	}
	return out, nil
}

func (s *SCP) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("scp.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if s.Transport != "tcp" && s.Transport != "sctp" {
		bad("transport", "%q is not tcp or sctp", s.Transport)
	}
	if s.Workers < -1 || s.Workers > 1024 {
		bad("workers", "%d is not -1 (decide on the reader), 0 (one per CPU) or a pool size up to 1024", s.Workers)
	}
	if s.Workers == -1 && s.InlineLimit < 0 {
		bad("inline_limit", "%s (never decide on the reader) contradicts workers: -1 (always decide on the reader); set one of them", s.InlineLimit)
	}
	switch s.Role {
	case "sg":
		if s.Enabled && len(s.Listen) == 0 {
			bad("listen", "role sg needs at least one listen address")
		}
	case "asp":
		if s.Enabled && len(s.Connect) == 0 {
			bad("connect", "role asp needs at least one connect address (the SG or STP)")
		}
	case "ipsp":
		if s.Enabled && len(s.Listen) == 0 && len(s.Connect) == 0 {
			bad("listen", "role ipsp needs a listen or a connect address")
		}
	default:
		bad("role", "%q is not sg, asp or ipsp", s.Role)
	}
	for i, a := range s.Listen {
		if err := checkAddr(a); err != nil {
			bad(fmt.Sprintf("listen[%d]", i), "%v", err)
		}
	}
	for i, a := range s.Connect {
		if err := checkAddr(a); err != nil {
			bad(fmt.Sprintf("connect[%d]", i), "%v", err)
		}
	}
	v, err := s.ParsedVariant()
	if err != nil {
		bad("variant", "%v", err)
	} else if _, err := sccp.ParsePointCode(s.PointCode, v); err != nil {
		bad("point_code", "%v", strings.TrimPrefix(err.Error(), "sccp: "))
	}
	if s.SSN == 0 || s.SSN == 255 {
		bad("ssn", "%d is reserved; use 1-254", s.SSN)
	}
	switch s.TrafficMode {
	case "override", "loadshare":
	case "broadcast":
		// Broadcast hands every query to every ASP: each would be answered
		// once per ASP.
		bad("traffic_mode", "broadcast is not supported by an SCP (every ASP would answer each query); use loadshare or override")
	default:
		bad("traffic_mode", "%q is not override or loadshare", s.TrafficMode)
	}
	if s.Register && (s.Role == "sg" || s.Role == "ipsp" && len(s.Connect) == 0) {
		bad("register", "registers our routing key with an SG we dial: only with role asp, or ipsp with connect (as an SG, callgate answers registrations itself)")
	}
	if s.Register && len(s.RoutingContexts) > 1 {
		bad("register", "asks the SG for one routing context: give at most one in routing_contexts (%d given)", len(s.RoutingContexts))
	}
	if len(s.Listen) > 1 && s.Transport != "sctp" {
		bad("listen", "%d addresses: only SCTP binds several (multi-homing); give one with %s", len(s.Listen), s.Transport)
	}
	if s.TimeBudget <= 0 || s.TimeBudget > 10*time.Second {
		bad("time_budget", "%s is not between 0 and 10s", s.TimeBudget)
	}
	if s.SafeAnswer != "authorize" && s.SafeAnswer != "forward" {
		bad("safe_answer", "%q is not authorize or forward", s.SafeAnswer)
	}
	if s.HeartbeatInterval != 0 && (s.HeartbeatInterval < 100*time.Millisecond || s.HeartbeatInterval > 10*time.Minute) {
		bad("heartbeat_interval", "%s is not 0 (BEAT off) or between 100ms and 10m", s.HeartbeatInterval)
	}
	if s.HeartbeatInterval != 0 && (s.HeartbeatTimeout < 100*time.Millisecond || s.HeartbeatTimeout > 10*time.Minute) {
		bad("heartbeat_timeout", "%s is not between 100ms and 10m", s.HeartbeatTimeout)
	}
	switch s.HomeArea {
	case "line", "called", "fixed":
	default:
		bad("home_area", "%q is not line, called or fixed", s.HomeArea)
	}
	if h := s.HomeNPA; h != "" && (len(h) != 3 || h[0] < '2' || h[0] > '9' || h[1] < '0' || h[1] > '9' || h[2] < '0' || h[2] > '9') {
		bad("home_npa", "%q is not an area code: three digits, the first 2-9 (e.g. \"303\")", h)
	}
	if s.HomeArea == "fixed" && s.HomeNPA == "" {
		bad("home_npa", "home_area fixed needs the area code here (e.g. home_npa: \"303\")")
	}
	if s.ACG.Capacity < 0 {
		bad("acg.capacity", "%d is negative (0 disables ACG)", s.ACG.Capacity)
	}
	if s.ACG.Capacity > 0 {
		if s.ACG.GapDuration < time.Second || s.ACG.GapDuration > 2048*time.Second {
			bad("acg.gap_duration", "%s is not between 1s and 2048s", s.ACG.GapDuration)
		}
		if s.ACG.GapInterval < 0 || s.ACG.GapInterval > 600*time.Second {
			bad("acg.gap_interval", "%s is not between 0s and 600s", s.ACG.GapInterval)
		}
		switch r := s.ACG.RemoveAfter; {
		case r < 0:
			bad("acg.remove_after", "%s is negative (0 leaves the gaps to run their duration)", r)
		case r > 0 && r < 100*time.Millisecond:
			bad("acg.remove_after", "%s is shorter than the load meter's 100ms tick: use at least 100ms (default 2s)", r)
		case r > 0 && r >= s.ACG.GapDuration:
			bad("acg.remove_after", "%s is not shorter than gap_duration %s: every gap would run out before its removal; shorten it (default 2s), or 0 to leave gaps to run out", r, s.ACG.GapDuration)
		}
	}
	return errs
}

// ParsedVariant returns the SCCP variant named by scp.variant.
func (s *SCP) ParsedVariant() (sccp.Variant, error) {
	switch strings.ToLower(s.Variant) {
	case "ansi":
		return sccp.ANSI, nil
	case "itu":
		return sccp.ITU, nil
	}
	return 0, fmt.Errorf("%q is not ansi or itu", s.Variant)
}

// ParsedPointCode returns the SCP's point code in its variant.
func (s *SCP) ParsedPointCode() (sccp.PointCode, error) {
	v, err := s.ParsedVariant()
	if err != nil {
		return 0, fmt.Errorf("scp.variant: %w", err)
	}
	pc, err := sccp.ParsePointCode(s.PointCode, v)
	if err != nil {
		return 0, fmt.Errorf("scp.point_code: %w", err)
	}
	return pc, nil
}

func (s *SIPStir) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("sip.stir.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if s.Verify && s.TrustAnchors == "" {
		bad("trust_anchors", "required when verify is on (a PEM file of the STI-CA certificates to trust)")
	}
	if s.Freshness < 0 || s.Skew < 0 || s.MissWait < 0 {
		bad("freshness", "freshness, skew and miss_wait cannot be negative")
	}
	if (s.SignKeyFile == "") != (s.SignX5U == "") {
		bad("sign_key_file", "sign_key_file and sign_x5u go together (the key and where its certificate is published)")
	}
	if s.SignX5U != "" && !strings.HasPrefix(s.SignX5U, "https://") && !(s.AllowHTTPX5U && strings.HasPrefix(s.SignX5U, "http://")) {
		bad("sign_x5u", "%q is not an https URL (plain http only with allow_http_x5u)", s.SignX5U)
	}
	if len(s.Originators) > 0 && s.SignKeyFile == "" {
		bad("originators", "signing needs sign_key_file and sign_x5u")
	}
	for i, o := range s.Originators {
		f := fmt.Sprintf("originators[%d]", i)
		if len(o.Sources) == 0 {
			bad(f+".sources", "no source address")
		}
		for _, src := range o.Sources {
			if _, err := ParsePrefix(src); err != nil {
				bad(f+".sources", "%v", err)
			}
		}
	}
	return errs
}

// ParsePrefix reads an address ("192.0.2.10", a single host) or a prefix
// ("198.51.100.0/24").
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("%q is not an address or prefix (want 192.0.2.10 or 198.51.100.0/24)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or prefix (want 192.0.2.10 or 198.51.100.0/24)", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
