package daemon

import (
	"runtime"
	"strings"

	"callgate/internal/metrics"
	"callgate/store"
)

// summary logs what runs where, once the daemon serves.
func (d *Daemon) summary(storePath string) {
	sz := storeSizes(d.st)
	attrs := []any{
		"store", storePath, "providers", sz.Providers, "subscribers", sz.Subscribers,
		"list_entries", sz.ListEntries, "enterprises", sz.Enterprises,
	}
	if d.dlog != nil {
		attrs = append(attrs, "decision_log", d.dlog.Path())
	} else {
		attrs = append(attrs, "decision_log", "off")
	}
	attrs = append(attrs, "cli_socket", d.cfg.SocketPath(), "gomaxprocs", runtime.GOMAXPROCS(0))
	if hp := d.st.HugePages(); hp.Collapsed > 0 || hp.Err != nil {
		// The index on huge pages (store/hugepages.go), or why not.
		if hp.Err != nil {
			d.log.Info("store index: not (all) on huge pages; look-ups work the same, a little slower",
				"index_mib", hp.IndexBytes>>20, "huge_mib", hp.Collapsed>>20, "err", hp.Err.Error())
		}
		attrs = append(attrs, "index_huge_pages_mib", hp.Collapsed>>20)
	}
	if d.hugeHeap > 0 {
		attrs = append(attrs, "heap_huge_pages_mib", d.hugeHeap>>20)
	}
	if a := d.AdminAddr(); a != "" {
		attrs = append(attrs, "metrics", "http://"+a+"/metrics", "health", "http://"+a+"/healthz", "ready", "http://"+a+"/readyz")
	}
	names := make([]string, 0, len(d.tiers))
	for _, t := range d.tiers {
		names = append(names, t.Name())
		d.log.Info("tier serving", "tier", t.Name(), "listen", t.Describe())
	}
	if len(names) == 0 {
		names = append(names, "none")
	}
	attrs = append(attrs, "tiers", strings.Join(names, ","))
	if sz.Subscribers == 0 {
		d.log.Warn("the store has no subscribers: every call is allowed. Seed the demo with 'callgate demo' or create tenants (callgate provider create ...)")
	}
	d.log.Info("callgate serving", attrs...)
}

// storeSizes reports the store's tenants and list rows. store.Counts is
// O(1) from the in-memory index, so neither a scrape nor start-up walks the
// subscribers, however many there are.
func storeSizes(st *store.Store) metrics.StoreSizes {
	c := st.Counts()
	sz := metrics.StoreSizes{
		Providers:   c.Providers,
		Subscribers: c.Subscribers,
		Enterprises: c.Enterprises,
		ListEntries: c.ListEntries(),
	}
	if fb, err := st.FileSize(); err == nil {
		sz.FileBytes = fb
	}
	return sz
}
