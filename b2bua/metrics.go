package b2bua

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the B2BUA's collectors (callgate_b2bua_*). A call is counted
// once when it is admitted or refused, and every treatment step once.
type metrics struct {
	invites   *prometheus.CounterVec // by path: token, gateway, other
	refused   *prometheus.CounterVec // by reason
	malformed *prometheus.CounterVec // unparsable datagrams, by answer (udpfilter.go)
	sipT      *prometheus.CounterVec // encapsulated IAMs, by outcome (sipt.go)
	steps     *prometheus.CounterVec // by step and outcome
	ended     *prometheus.CounterVec // by reason
	overload  *prometheus.CounterVec // by kind: sessions, ports
	faults    *prometheus.CounterVec // decision faults by kind
	active    prometheus.GaugeFunc
	dropped   prometheus.Counter // steps not logged (queue full or log error)
	fallbacks prometheus.Counter // announcements played as call_rejected
	lateness  prometheus.Histogram
	stalls    prometheus.Counter
	relay     relayCounts // bridged audio dropped or re-placed (relay.go)
	// The PIN lockout (pinlock.go).
	pinLockouts   *prometheus.CounterVec // locks imposed here, by prompt
	pinRefused    *prometheus.CounterVec // PINs keyed and not checked, by prompt and reason
	pinLockErrors *prometheus.CounterVec // lockout store failures, by operation
	relayDropped  *prometheus.CounterVec // by reason: late, key
	relayResyncs  prometheus.Counter
	tlsFailures   prometheus.Counter // TLS handshakes that failed on the listener (tls.go)
}

func newMetrics(reg prometheus.Registerer, active func() float64) (*metrics, error) {
	const ns, sub = "callgate", "b2bua"
	m := &metrics{
		invites: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "invites_total",
			Help: "New INVITEs by the way they came in: token (redirected with a screening token), gateway (after an AIN forwardCall), ivr (the subscribers' IVR), other."},
			[]string{"path"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "refused_total",
			Help: "INVITEs refused before any treatment, by reason (token-forged, token-expired, token-unknown-key, token-malformed, token-mismatch, not-for-us, sdp-malformed, sdp-not-acceptable, body-unsupported: a required body part other than SDP or ISUP, or a content coding, bad-extension: Require, too-many-hops: Max-Forwards 0, no-contact: no Contact header, draining)."},
			[]string{"reason"}),
		malformed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "malformed_total",
			Help: "SIP datagrams that could not be parsed, by answer: answered (a request, answered 400, or 513 when over the size limit) or dropped (a response, an ACK, or a request without the headers to answer it)."},
			[]string{"answer"}),
		sipT: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "isup_iams_total",
			Help: "New INVITEs carrying an ISUP IAM (SIP-T, SIP-I), by outcome: mapped (a number or the privacy the headers lacked was taken from it), unused (the headers had all of it), malformed (optional and unreadable: ignored)."},
			[]string{"outcome"}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "steps_total",
			Help: "Treatment steps by step (token, isup: what a SIP-T IAM gave the call, pin, name, subscriber, screen, challenge, voicemail, reject, bridge, ivr) and outcome."},
			[]string{"step", "outcome"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "calls_ended_total",
			Help: "Calls ended, by reason (completed, caller-hangup, subscriber-hangup, rtp-timeout, no-prack: a reliable provisional response never acknowledged, released, rejected, shutdown, failed)."},
			[]string{"reason"}),
		overload: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "overload_total",
			Help: "INVITEs answered 503 with Retry-After: session limit reached (sessions) or no RTP port free (ports)."},
			[]string{"kind"}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "decision_faults_total",
			Help: "Gateway calls whose decision could not be used (late -> 503, panic or invalid -> 500)."},
			[]string{"fault"}),
		active: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "sessions",
			Help: "Calls being handled now."}, active),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "steps_unlogged_total",
			Help: "Treatment steps counted here but not added to the decision log (its queue full, or a write error)."}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "announcement_fallbacks_total",
			Help: "Announcements whose ID has no file in b2bua.announcements, played as the prompt call_rejected."}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "pacer_wakeup_lateness_seconds",
			Help:    "How late the prompt pacer woke for its next 2 ms send slot (scheduling delay; a packet's send jitter is the difference of two).",
			Buckets: []float64{0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1}}),
		stalls: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "pacer_stalls_total",
			Help: "Times a prompt pacer shard fell more than 100 ms behind and skipped the backlog (its streams' timestamps jump over the gap)."}),
		relayDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "relay_dropped_total",
			Help: "Bridged audio packets not relayed, by reason: late (behind the last one relayed: reordered, late or duplicated), key (arrived while a key was being relayed to the other leg as an RFC 4733 event)."},
			[]string{"reason"}),
		relayResyncs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "relay_resyncs_total",
			Help: "Bridged audio packets whose source's RTP clock jumped (another SSRC, or a leap past the time that passed), placed by arrival time instead."}),
		pinLockouts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "pin_lockouts_total",
			Help: "Subscribers' PINs locked by a wrong PIN keyed here (b2bua.pin_lock_failures within pin_lock_window, across calls and nodes), by the prompt it was keyed at (ivr, override); each lock is also in the audit log (subscriber.pin.lockout)."},
			[]string{"prompt"}),
		pinRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "pin_refused_total",
			Help: "PINs keyed but not checked, by prompt (ivr, override) and reason: locked (the subscriber's PIN is locked), unavailable (the lockout state could not be read or kept, so PIN entry fails closed)."},
			[]string{"prompt", "reason"}),
		pinLockErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "pin_lockout_errors_total",
			Help: "PIN lockout store operations that failed, by operation (read, count, reset); read and count fail closed (PIN entry refused for the call)."},
			[]string{"op"}),
		tlsFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "tls_handshake_failures_total",
			Help: "TLS connections to the B2BUA's listener whose handshake failed or did not end within 10 s (a peer that does not trust our certificate, or that we refuse)."}),
	}
	for _, c := range []prometheus.Collector{m.invites, m.refused, m.malformed, m.sipT, m.steps, m.ended, m.overload, m.faults, m.active, m.dropped, m.fallbacks, m.lateness, m.stalls,
		m.pinLockouts, m.pinRefused, m.pinLockErrors, m.relayDropped, m.relayResyncs, m.tlsFailures} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.relay = relayCounts{late: m.relayDropped.WithLabelValues("late"), key: m.relayDropped.WithLabelValues("key"), resync: m.relayResyncs}
	return m, nil
}
