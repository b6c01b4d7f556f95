package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"callgate/e164"
	"callgate/store"
	"callgate/store/storetest"
)

type options struct {
	storeDir, kamailio, calls string
	subs, perSub, nCalls      int
	mix                       string
	seed                      uint64
	force                     bool
}

func run(o options, log io.Writer) error {
	if o.subs < 1 || o.subs > 1000000 || o.perSub < 1 || o.perSub > 6000 {
		return fmt.Errorf("want 1..1000000 subscribers and 1..6000 rows each, got %d and %d", o.subs, o.perSub)
	}
	if o.storeDir != "" {
		path := filepath.Join(o.storeDir, "callgate.db")
		if err := once(path, o.force, log, func(tmp string) error { return buildStore(tmp, o.subs, o.perSub) }); err != nil {
			return fmt.Errorf("callgate store %s: %w", path, err)
		}
	}
	if o.kamailio != "" {
		if err := once(o.kamailio, o.force, log, func(tmp string) error { return buildKamailio(tmp, o.subs, o.perSub) }); err != nil {
			return fmt.Errorf("kamailio htable database %s: %w", o.kamailio, err)
		}
	}
	if o.calls != "" {
		mix, err := parseMix(o.mix)
		if err != nil {
			return err
		}
		err = once(o.calls, o.force, log, func(tmp string) error {
			f, err := os.Create(tmp)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(f)
			err = writeCalls(w, o.nCalls, o.subs, o.perSub, mix, o.seed)
			if err == nil {
				err = w.Flush()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("injection file %s: %w", o.calls, err)
		}
	}
	return nil
}

// once builds path through a temporary file renamed into place, so an
// interrupted build never leaves a file that looks complete; an existing
// path is kept unless force is set.
func once(path string, force bool, log io.Writer, build func(tmp string) error) error {
	if _, err := os.Stat(path); err == nil && !force {
		fmt.Fprintf(log, "gendata: %s exists, kept\n", path)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	os.Remove(tmp)
	start := time.Now()
	if err := build(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	fmt.Fprintf(log, "gendata: wrote %s in %s\n", path, time.Since(start).Round(time.Millisecond))
	return nil
}

// subscriberName is the name of subscriber i, as storetest.Large names them.
func subscriberName(i int) string { return fmt.Sprintf("sub%07d", i) }

// buildStore writes storetest.Large's data set with the bulk loader: the
// default route carrying the B2BUA's screening URI, provider
// storetest.LargeProvider owning the subscribers' numbers, each subscriber's
// Blocked and VIP rows, and the provider-wide Blocked list.
func buildStore(path string, subs, perSub int) error {
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.SetRoute(store.Operator, store.RouteSpec{Name: storetest.Route, RoutingNumber: storetest.RoutingNumber, SIPURI: storetest.RouteURI}); err != nil {
		return err
	}
	if err := s.SetDefaultRoute(store.Operator, storetest.Route); err != nil {
		return err
	}
	if _, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: storetest.LargeProvider}); err != nil {
		return err
	}
	all := store.Range{First: storetest.LargeSubscriberNumber(0), Last: storetest.LargeSubscriberNumber(subs - 1)}
	if err := s.AllocateNumbers(store.Operator, storetest.LargeProvider, all); err != nil {
		return err
	}
	err = s.BulkLoad(func(l *store.BulkLoader) error {
		blocked := make([]e164.Number, perSub)
		for i := range subs {
			name := subscriberName(i)
			if _, err := l.CreateSubscriber(store.SubscriberSpec{Name: name, Provider: storetest.LargeProvider,
				Numbers: []string{storetest.LargeSubscriberNumber(i).String()}}); err != nil {
				return err
			}
			for j := range blocked {
				blocked[j] = storetest.LargeBlocked(i, j)
			}
			if err := l.AddEntries(name, store.ListBlocked, blocked, ""); err != nil {
				return err
			}
			if err := l.AddEntries(name, store.ListVIP, []e164.Number{storetest.LargeVIP(i, perSub)}, ""); err != nil {
				return err
			}
		}
		pb := make([]e164.Number, storetest.LargeProviderBlockedRows)
		for k := range pb {
			pb[k] = storetest.LargeProviderBlocked(k)
		}
		return l.AddEntries(store.ProviderPrefix+storetest.LargeProvider, store.ListBlocked, pb, "")
	})
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	// NoSync skipped the fsyncs of the load; make the finished file durable
	// once before it is renamed into place.
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// The Kamailio side: four htables loaded from SQLite at start-up.
//
//	sub   key +E.164 subscriber number      value: subscriber index (int)
//	vip   key <called>:<calling>            value: 1
//	blk   key <called>:<calling>            value: 1 (10,000,000 rows)
//	pblk  key <provider>:<calling>          value: 1
//
// The sub value doubles as the provider key: every subscriber here belongs
// to the one provider, so kamailio.cfg looks up "bulk:<calling>" in pblk.
// htable's loader queries "ORDER BY key_name", so every table is WITHOUT
// ROWID keyed by key_name and the rows are written in key order: SQLite then
// streams them without a sort, and .import appends instead of inserting
// at random.
const kamSchema = `CREATE TABLE %[1]s (key_name TEXT PRIMARY KEY NOT NULL, key_type INTEGER NOT NULL DEFAULT 0,
  value_type INTEGER NOT NULL DEFAULT 0, key_value TEXT NOT NULL DEFAULT '',
  expires INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
`

// kamTables lists the tables and how to write their rows in key order.
func kamTables(subs, perSub int) []kamTable {
	return []kamTable{
		{"sub", func(emit func(key, value string) error) error {
			for i := range subs {
				if err := emit(storetest.LargeSubscriberNumber(i).String(), strconv.Itoa(i)); err != nil {
					return err
				}
			}
			return nil
		}},
		{"vip", func(emit func(key, value string) error) error {
			for i := range subs {
				key := storetest.LargeSubscriberNumber(i).String() + ":" + storetest.LargeVIP(i, perSub).String()
				if err := emit(key, "1"); err != nil {
					return err
				}
			}
			return nil
		}},
		{"blk", func(emit func(key, value string) error) error {
			row := make([]e164.Number, perSub)
			for i := range subs {
				for j := range row {
					row[j] = storetest.LargeBlocked(i, j)
				}
				// NANP +E.164 numbers all have 12 characters, so numeric
				// order is key order.
				slices.Sort(row)
				called := storetest.LargeSubscriberNumber(i).String() + ":"
				for _, n := range slices.Compact(row) {
					if err := emit(called+n.String(), "1"); err != nil {
						return err
					}
				}
			}
			return nil
		}},
		{"pblk", func(emit func(key, value string) error) error {
			for k := range storetest.LargeProviderBlockedRows {
				if err := emit(storetest.LargeProvider+":"+storetest.LargeProviderBlocked(k).String(), "1"); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

type kamTable struct {
	name string
	rows func(emit func(key, value string) error) error
}

// buildKamailio writes the htable tables as tab-separated files next to
// path and imports them with the sqlite3 CLI (no SQLite driver is among the
// module's dependencies).
func buildKamailio(path string, subs, perSub int) error {
	sqlite, err := exec.LookPath("sqlite3")
	if err != nil {
		return fmt.Errorf("the sqlite3 command is needed (apt-get install sqlite3): %w", err)
	}
	var script strings.Builder
	var tsvs []string
	defer func() {
		for _, f := range tsvs {
			os.Remove(f)
		}
	}()
	// A throw-away build: no journal, no fsync, a 256 MiB page cache.
	script.WriteString("PRAGMA journal_mode=OFF;\nPRAGMA synchronous=OFF;\nPRAGMA cache_size=-262144;\n.mode tabs\n")
	for _, t := range kamTables(subs, perSub) {
		tsv := path + "." + t.name + ".tsv"
		tsvs = append(tsvs, tsv)
		if err := writeTSV(tsv, t); err != nil {
			return err
		}
		fmt.Fprintf(&script, kamSchema, t.name)
		fmt.Fprintf(&script, ".import %s %s\n", tsv, t.name)
	}
	script.WriteString("SELECT 'rows', (SELECT count(*) FROM sub), (SELECT count(*) FROM vip), (SELECT count(*) FROM blk), (SELECT count(*) FROM pblk);\n")
	cmd := exec.Command(sqlite, path)
	cmd.Stdin = strings.NewReader(script.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("sqlite3 import: %w: %s", err, out)
	}
	want := fmt.Sprintf("rows\t%d\t%d\t%d\t%d", subs, subs, subs*perSub, storetest.LargeProviderBlockedRows)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if got := lines[len(lines)-1]; got != want {
		return fmt.Errorf("sqlite3 import: row counts %q, want %q", got, want)
	}
	return nil
}

// writeTSV writes one table's rows in the column order of kamSchema.
func writeTSV(path string, t kamTable) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	last := ""
	err = t.rows(func(key, value string) error {
		if key <= last {
			return fmt.Errorf("table %s: key %q after %q: rows out of order", t.name, key, last)
		}
		last = key
		// key_type 0 (plain key), value_type 1 (integer), expires 0.
		_, err := fmt.Fprintf(w, "%s\t0\t1\t%s\t0\n", key, value)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("table %s: %w", t.name, err)
	}
	return nil
}

// Call kinds of the injection file, with the answer both servers must give.
type kind int

const (
	kindBlocked         kind = iota // caller on the subscriber's Blocked list: 603
	kindProviderBlocked             // caller on the provider's Blocked list: 603
	kindVIP                         // caller on the subscriber's VIP list: 302 continue
	kindUnknown                     // caller on no list: 302 to the B2BUA (screen)
	kindNotSubscriber               // called number not a subscriber: 302 continue
	numKinds
)

var kindNames = [numKinds]string{"blocked", "provider-blocked", "vip", "unknown", "not-subscriber"}

// expect is the response each kind must get (the third injection field).
var expect = [numKinds]string{"603", "603", "302-continue", "302-screen", "302-continue"}

func kindList() string { return strings.Join(kindNames[:], ", ") }

const defaultMix = "blocked=40,provider-blocked=5,vip=10,unknown=25,not-subscriber=20"

func parseMix(s string) ([numKinds]int, error) {
	var w [numKinds]int
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(val)
		if !ok || err != nil || n < 0 {
			return w, fmt.Errorf("mix %q: want kind=weight with a whole weight >= 0, got %q", s, part)
		}
		i := slices.Index(kindNames[:], name)
		if i < 0 {
			return w, fmt.Errorf("mix %q: unknown kind %q (kinds: %s)", s, name, kindList())
		}
		w[i] += n
		total += n
	}
	if total == 0 {
		return w, errors.New("mix: all weights are zero")
	}
	return w, nil
}

// writeCalls writes a sipp injection file: the SEQUENTIAL header (sipp takes
// the lines in order, so every run places the same calls), then
// calling;called;expected per line, with kinds drawn with the mix's weights
// from a seeded generator.
func writeCalls(w io.Writer, n, subs, perSub int, mix [numKinds]int, seed uint64) error {
	if n < 1 {
		return fmt.Errorf("want at least one call, got %d", n)
	}
	total := 0
	for _, v := range mix {
		total += v
	}
	rng := rand.New(rand.NewPCG(seed, 0x5ca1ab1e))
	if _, err := io.WriteString(w, "SEQUENTIAL\n"); err != nil {
		return err
	}
	for range n {
		k := kind(0)
		for r := rng.IntN(total); r >= mix[k]; k++ {
			r -= mix[k]
		}
		calling, called := pick(k, rng, subs, perSub)
		if _, err := fmt.Fprintf(w, "%s;%s;%s\n", calling, called, expect[k]); err != nil {
			return err
		}
	}
	return nil
}

// pick returns the calling and called numbers of one call of kind k.
func pick(k kind, rng *rand.Rand, subs, perSub int) (calling, called e164.Number) {
	i := rng.IntN(subs)
	called = storetest.LargeSubscriberNumber(i)
	switch k {
	case kindBlocked:
		calling = storetest.LargeBlocked(i, rng.IntN(perSub))
	case kindProviderBlocked:
		calling = storetest.LargeProviderBlocked(rng.IntN(storetest.LargeProviderBlockedRows))
	case kindVIP:
		calling = storetest.LargeVIP(i, perSub)
	case kindUnknown:
		calling = storetest.LargeUnlisted(i, perSub)
	case kindNotSubscriber:
		// Just past the subscribers' block: allocated to nobody.
		called = storetest.LargeSubscriberNumber(subs + i)
		calling = storetest.LargeBlocked(i, rng.IntN(perSub))
	}
	return calling, called
}
