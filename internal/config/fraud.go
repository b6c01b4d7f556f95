package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"callgate/fraud"
)

// Fraud is the toll-fraud monitor (package fraud): outbound calls rated,
// each group's (enterprise or subscriber) spend for the day recomputed
// every interval against thresholds learned from its own history, an
// alert and then a lockdown that refuses its international and premium
// calls until an operator unlocks it (callgate fraud unlock). Amounts are
// decimals in the account currency ("10.00"); multipliers decimals ("1.5").
type Fraud struct {
	// Enabled turns the monitor on: originating calls are watched and
	// locked groups refused. Off, no call is ever fraud-locked.
	Enabled bool `yaml:"enabled"`
	// Interval is how often the spend is recomputed (5m).
	Interval time.Duration `yaml:"interval"`
	// HistoryDays is how many days the baseline (the highest daily spend)
	// looks back (30).
	HistoryDays int `yaml:"history_days"`
	// DefaultAlert and DefaultLockdown are a new group's thresholds and
	// the floor of every group's ("10.00", "11.00").
	DefaultAlert    string `yaml:"default_alert"`
	DefaultLockdown string `yaml:"default_lockdown"`
	// Scale turns the baseline into thresholds, band by band (each band's
	// multipliers apply to the slice of the baseline up to its up_to; the
	// last band has none). See package fraud for worked examples.
	Scale []FraudBand `yaml:"scale"`
	// Currency is the account currency's code, for people and webhooks.
	Currency string `yaml:"currency"`
	// TimeZone is where a group's day starts ("UTC", "America/Chicago");
	// Zones overrides it by tenant: "provider:NAME", "subscriber:NAME",
	// "enterprise:NAME" -> zone.
	TimeZone string            `yaml:"time_zone"`
	Zones    map[string]string `yaml:"zones,omitempty"`
	// MaxCallDuration is how long a call without a CDR is valued as in
	// progress (4h); MaxOpenCalls bounds the calls in progress (1000000).
	MaxCallDuration time.Duration `yaml:"max_call_duration"`
	MaxOpenCalls    int           `yaml:"max_open_calls"`
	// CDRDedupWindow is how long a CDR is remembered (15m): a copy of it
	// arriving on any node within the window is dropped.
	CDRDedupWindow time.Duration `yaml:"cdr_dedup_window"`
	// UnratedPricePerMinute prices a call no rate table row matches ("0":
	// free, counted and warned about).
	UnratedPricePerMinute string `yaml:"unrated_price_per_minute"`
	// TopGroups bounds the per-group series in /metrics (20).
	TopGroups int `yaml:"top_groups"`
	// SyncInterval is how often the monitor reads back what other nodes
	// changed in the shared state (store.backend etcd): locks, unlocks,
	// the rate table in force and the CDRs they took (1s). A lockdown on
	// one node refuses the group's calls on the others within it, and a
	// CDR taken on one node closes its call on the node that decided it;
	// each read is a few etcd range requests, so a shorter interval costs
	// every node more load.
	SyncInterval time.Duration `yaml:"sync_interval"`
	// CDRFiles are CDR files to follow as a mediation system appends to
	// them (one line a call: calling,called,start,duration); CDRPoll is
	// how often they are checked (1s). CDRs are also taken by POST
	// /fraud/cdrs on the admin listener (text/csv or application/json).
	CDRFiles []string      `yaml:"cdr_files,omitempty"`
	CDRPoll  time.Duration `yaml:"cdr_poll"`
	// SIPOutboundSources are the addresses of the originating trunks
	// (enterprise PBXs, the outbound SBC): the SIP tier asks about their
	// INVITEs as outgoing calls, so a locked group's international and
	// premium calls get 603 ("192.0.2.10", "198.51.100.0/24").
	SIPOutboundSources []string `yaml:"sip_outbound_sources,omitempty"`
	// Webhook is where alerts, lockdowns and unlocks are POSTed.
	Webhook FraudWebhook `yaml:"webhook"`
}

// FraudBand is one band of the scale.
type FraudBand struct {
	UpTo     string `yaml:"up_to,omitempty"`
	Alert    string `yaml:"alert"`
	Lockdown string `yaml:"lockdown"`
}

// FraudWebhook is the signed alert webhook ("" url: none). SecretFile
// holds the HMAC-SHA256 key (at least 16 bytes) the receiver checks the
// X-Callgate-Signature header with.
type FraudWebhook struct {
	URL        string        `yaml:"url"`
	SecretFile string        `yaml:"secret_file"`
	Attempts   int           `yaml:"attempts"`
	Backoff    time.Duration `yaml:"backoff"`
	Timeout    time.Duration `yaml:"timeout"`
	QueueSize  int           `yaml:"queue_size"`
}

// defaultFraud is the fraud: section's defaults (package fraud's).
func defaultFraud() Fraud {
	d := fraud.DefaultConfig()
	f := Fraud{
		Enabled: true, Interval: d.Interval, HistoryDays: d.HistoryDays,
		DefaultAlert: d.DefaultAlert.String(), DefaultLockdown: d.DefaultLockdown.String(),
		Currency: d.Currency, TimeZone: "UTC", MaxCallDuration: d.MaxCallDuration, MaxOpenCalls: d.MaxOpenCalls, CDRDedupWindow: d.DedupWindow,
		UnratedPricePerMinute: d.UnratedPerMinute.String(), TopGroups: d.TopGroups, SyncInterval: d.SyncInterval, CDRPoll: time.Second,
		Webhook: FraudWebhook{Attempts: 5, Backoff: time.Second, Timeout: 10 * time.Second, QueueSize: 1024},
	}
	for _, b := range d.Scale {
		fb := FraudBand{Alert: b.Alert.String(), Lockdown: b.Lockdown.String()}
		if b.UpTo != 0 {
			fb.UpTo = b.UpTo.String()
		}
		f.Scale = append(f.Scale, fb)
	}
	return f
}

// MonitorConfig is the section as package fraud's Config; every problem
// is reported, each naming its field.
func (f *Fraud) MonitorConfig() (fraud.Config, error) {
	var errs []error
	bad := func(field string, err error) { errs = append(errs, fmt.Errorf("fraud.%s: %w", field, err)) }
	c := fraud.Config{Interval: f.Interval, HistoryDays: f.HistoryDays, Currency: f.Currency,
		MaxCallDuration: f.MaxCallDuration, MaxOpenCalls: f.MaxOpenCalls, TopGroups: f.TopGroups, SyncInterval: f.SyncInterval,
		DedupWindow: f.CDRDedupWindow}
	var err error
	// Package fraud reads 0 as its default; here a 0 is a value written
	// (or a typo), refused rather than silently made 1s.
	if f.SyncInterval < 10*time.Millisecond || f.SyncInterval > time.Minute {
		bad("sync_interval", fmt.Errorf("%s: want 10ms to 1m (1s is the usual: a lockdown on one node reaches the others within it)", f.SyncInterval))
	}
	if c.DefaultAlert, err = fraud.ParseMoney(f.DefaultAlert); err != nil {
		bad("default_alert", err)
	}
	if c.DefaultLockdown, err = fraud.ParseMoney(f.DefaultLockdown); err != nil {
		bad("default_lockdown", err)
	}
	if c.UnratedPerMinute, err = fraud.ParseMoney(f.UnratedPricePerMinute); err != nil {
		bad("unrated_price_per_minute", err)
	}
	for i, b := range f.Scale {
		var band fraud.Band
		if b.UpTo != "" {
			if band.UpTo, err = fraud.ParseMoney(b.UpTo); err != nil {
				bad(fmt.Sprintf("scale[%d].up_to", i), err)
			}
		}
		if band.Alert, err = fraud.ParseMultiplier(b.Alert); err != nil {
			bad(fmt.Sprintf("scale[%d].alert", i), err)
		}
		if band.Lockdown, err = fraud.ParseMultiplier(b.Lockdown); err != nil {
			bad(fmt.Sprintf("scale[%d].lockdown", i), err)
		}
		c.Scale = append(c.Scale, band)
	}
	if c.TimeZone, err = time.LoadLocation(f.TimeZone); err != nil || f.TimeZone == "" {
		bad("time_zone", fmt.Errorf("%q is not a time zone (want an IANA name such as UTC or America/Chicago)", f.TimeZone))
	}
	for k, z := range f.Zones {
		loc, err := time.LoadLocation(z)
		if err != nil || z == "" {
			bad("zones."+k, fmt.Errorf("%q is not a time zone (want an IANA name such as America/Chicago)", z))
			continue
		}
		if c.Zones == nil {
			c.Zones = map[string]*time.Location{}
		}
		c.Zones[k] = loc
	}
	if len(errs) == 0 {
		if err := c.Validate(); err != nil {
			for _, e := range unjoin(err) {
				errs = append(errs, fmt.Errorf("fraud: %w", e))
			}
		}
	}
	return c, errors.Join(errs...)
}

// OutboundSources reads sip_outbound_sources.
func (f *Fraud) OutboundSources() ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, s := range f.SIPOutboundSources {
		p, err := ParsePrefix(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("fraud.sip_outbound_sources: %w", err))
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// WebhookConfig is the webhook as package fraud takes it, its secret read
// from secret_file; nil when no url is set.
func (f *Fraud) WebhookConfig() (*fraud.WebhookConfig, error) {
	w := &f.Webhook
	if w.URL == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(w.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("fraud.webhook.secret_file: %w", err)
	}
	return &fraud.WebhookConfig{URL: w.URL, Secret: bytes.TrimSpace(raw), Attempts: w.Attempts, Backoff: w.Backoff,
		Timeout: w.Timeout, QueueSize: w.QueueSize}, nil
}

// validate checks the section (files are read by the daemon, not here).
func (f *Fraud) validate() []error {
	if !f.Enabled {
		return nil
	}
	var errs []error
	if _, err := f.MonitorConfig(); err != nil {
		errs = append(errs, unjoin(err)...)
	}
	if _, err := f.OutboundSources(); err != nil {
		errs = append(errs, unjoin(err)...)
	}
	w := &f.Webhook
	if w.URL != "" {
		if !strings.HasPrefix(w.URL, "https://") && !strings.HasPrefix(w.URL, "http://") {
			errs = append(errs, fmt.Errorf("fraud.webhook.url: %q is not an http(s) URL", w.URL))
		}
		if w.SecretFile == "" {
			errs = append(errs, errors.New("fraud.webhook.secret_file: required with a url (the receiver checks each delivery's HMAC-SHA256 signature)"))
		}
		if w.Attempts < 1 || w.Backoff <= 0 || w.Timeout <= 0 || w.QueueSize < 1 {
			errs = append(errs, fmt.Errorf("fraud.webhook: attempts (%d), backoff (%s), timeout (%s) and queue_size (%d) must be positive", w.Attempts, w.Backoff, w.Timeout, w.QueueSize))
		}
	}
	if len(f.CDRFiles) > 0 && f.CDRPoll <= 0 {
		errs = append(errs, fmt.Errorf("fraud.cdr_poll: %s is not positive", f.CDRPoll))
	}
	return errs
}
