package redirect

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// collector exports the server's counters (Stats) as callgate_sip_*,
// read once per scrape: the hot path only bumps its atomic counters.
type collector struct {
	s         *Server
	responses *prometheus.Desc
	invites   *prometheus.Desc
	parsed    *prometheus.Desc
	sendErrs  *prometheus.Desc
	fallback  *prometheus.Desc
	udpReads  *prometheus.Desc
	udpDgrams *prometheus.Desc
	deferred  *prometheus.Desc
	deferring *prometheus.Desc
	repeats   *prometheus.Desc
	iams      *prometheus.Desc
	tlsFails  *prometheus.Desc
}

func newCollector(s *Server) *collector {
	const ns, sub = "callgate", "sip"
	return &collector{
		s: s,
		responses: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "responses_total"),
			"SIP responses by kind: redirect (302 continue), screen (302 to the B2BUA), decline (603/608), overload (503, also while draining), malformed (4xx), options, other, decide_error (500), decide_panic (500), decide_late (503), sips_refused (480 + Warning 380: a sips: INVITE whose target is not sips:).",
			[]string{"kind"}, nil),
		invites: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "invites_total"),
			"INVITEs answered by the SIP redirect server.", nil, nil),
		parsed: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "requests_parsed_total"),
			"UDP requests by parser: fast (the stateless scanner) or fallback (the full SIP parser, for what the scanner does not take).",
			[]string{"parser"}, nil),
		sendErrs: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "send_errors_total"),
			"SIP responses the transport failed to send.", nil, nil),
		fallback: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "no_route_fallback_total"),
			"INVITEs answered with the engine's no-route fallback (engine.no_route_fallback): the treatment needed the B2BUA, the route has no SIP URI and sip.screening_uri is not set.", nil, nil),
		udpReads: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "udp_reads_total"),
			"System calls that read datagrams on the stateless UDP path (one recvmmsg reads every datagram waiting, up to a batch).", nil, nil),
		udpDgrams: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "udp_datagrams_total"),
			"Datagrams read on the stateless UDP path; divided by callgate_sip_udp_reads_total, the mean batch.", nil, nil),
		deferred: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "deferred_total"),
			"INVITEs whose decision would have waited for a signal's look-up (reputation) on a stateless UDP reader, decided and answered on a goroutine of their own instead.", nil, nil),
		deferring: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "deferred"),
			fmt.Sprintf("Deferred INVITEs being decided now (at most %d; past that a decision waits on its reader).", maxDeferred), nil, nil),
		repeats: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "enrolment_repeats_total"),
			"Retransmitted SIP enrolment INVITEs answered with their first 302, registering no second key.", nil, nil),
		iams: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "isup_iams_total"),
			"INVITEs carrying an ISUP IAM (SIP-T, SIP-I), by outcome: mapped (a number or the privacy the headers lacked was taken from it), unused (the headers had all of it), malformed (unreadable: ignored).",
			[]string{"outcome"}, nil),
		tlsFails: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "tls_handshake_failures_total"),
			"TLS connections to the SIP listener whose handshake failed or did not end within 10 s (a peer that does not trust our certificate, or that we refuse).", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.responses
	ch <- c.invites
	ch <- c.parsed
	ch <- c.sendErrs
	ch <- c.fallback
	ch <- c.udpReads
	ch <- c.udpDgrams
	ch <- c.deferred
	ch <- c.deferring
	ch <- c.repeats
	ch <- c.iams
	ch <- c.tlsFails
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, k := range []struct {
		kind string
		v    uint64
	}{
		{"redirect", st.Redirects}, {"screen", st.Screened}, {"decline", st.Declined},
		{"overload", st.Overload}, {"malformed", st.Malformed}, {"options", st.Options},
		{"other", st.Other}, {"decide_error", st.DecideErrors},
		{"decide_panic", st.DecidePanics}, {"decide_late", st.DecideLate}, {"sips_refused", st.SIPSRefused},
	} {
		counter(c.responses, k.v, k.kind)
	}
	counter(c.invites, st.Invites)
	counter(c.parsed, st.FastPath, "fast")
	counter(c.parsed, st.Fallback, "fallback")
	counter(c.sendErrs, st.SendErrors)
	counter(c.fallback, st.NoRouteFallback)
	counter(c.udpReads, st.UDPReads)
	counter(c.udpDgrams, st.UDPDatagrams)
	counter(c.deferred, st.Deferred)
	counter(c.repeats, st.EnrolRepeats)
	counter(c.iams, st.IAMsMapped, "mapped")
	counter(c.iams, st.IAMsUnused, "unused")
	counter(c.iams, st.IAMsMalformed, "malformed")
	counter(c.tlsFails, st.TLSFailures)
	ch <- prometheus.MustNewConstMetric(c.deferring, prometheus.GaugeValue, float64(st.Deferring))
}
