package redirect

import (
	"github.com/prometheus/client_golang/prometheus"

	"callgate/stir"
)

// stirCacheCollector exports the verification service's certificate and
// CRL cache (stir.Cache.Stats) as callgate_sip_stir_*, read once per
// scrape. Without it a certificate repository that stopped answering
// showed only as calls verified x5u-fetch or x5u-pending, and a flood of
// x5u URLs that took every fetch slot not at all.
type stirCacheCollector struct {
	c                     *stir.Cache
	cached                *prometheus.Desc
	fetches, fails, busys *prometheus.Desc
}

func newStirCacheCollector(c *stir.Cache) *stirCacheCollector {
	const ns, sub = "callgate", "sip"
	return &stirCacheCollector{
		c: c,
		cached: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "stir_cached"),
			"Entries in the STIR/SHAKEN verification cache, by kind: certificate (x5u, each with its chain; failed fetches kept for their negative time-to-live too) and crl.",
			[]string{"kind"}, nil),
		fetches: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "stir_fetches_total"),
			"Certificate (x5u) and CRL fetches started by the verification service, in the background of the calls that needed them.", nil, nil),
		fails: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "stir_fetch_failures_total"),
			"Certificate and CRL fetches that failed: no answer, an HTTP error, a refused address, or a body that is not a certificate or CRL.", nil, nil),
		busys: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "stir_fetches_busy_total"),
			"Certificate fetches given up because every fetch slot stayed busy for the fetch's time-out (the calls got x5u-pending; a later call tries again).", nil, nil),
	}
}

func (s *stirCacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.cached
	ch <- s.fetches
	ch <- s.fails
	ch <- s.busys
}

func (s *stirCacheCollector) Collect(ch chan<- prometheus.Metric) {
	st := s.c.Stats()
	ch <- prometheus.MustNewConstMetric(s.cached, prometheus.GaugeValue, float64(st.Certs), "certificate")
	ch <- prometheus.MustNewConstMetric(s.cached, prometheus.GaugeValue, float64(st.CRLs), "crl")
	ch <- prometheus.MustNewConstMetric(s.fetches, prometheus.CounterValue, float64(st.Fetches))
	ch <- prometheus.MustNewConstMetric(s.fails, prometheus.CounterValue, float64(st.FetchFailures))
	ch <- prometheus.MustNewConstMetric(s.busys, prometheus.CounterValue, float64(st.FetchBusy))
}
