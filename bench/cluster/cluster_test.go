// Package cluster_test measures callgate's store on etcd against the bbolt
// default: the decision engine's cost on each (it reads the same in-memory
// index either way), and a large import through a real three-member etcd
// on loopback (time, etcd's size, when a second node has it all). See
// README.md for how to run it and the numbers.
package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
	"callgate/store/etcdkv"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/storetest"

	"golang.org/x/crypto/bcrypt"
)

func openEtcdStore(tb testing.TB, c *etcdtest.Cluster, prefix, replica string) (*store.Store, *etcdkv.Backend) {
	tb.Helper()
	be, err := etcdkv.Open(etcdkv.Config{Endpoints: c.Endpoints(), Prefix: prefix, ReplicaPath: replica, NoSync: true,
		RequestTimeout: 30 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.New(be, store.Options{PINCost: bcrypt.MinCost, GCInterval: -1, ApplyTimeout: time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close(); be.Close() })
	return st, be
}

var sink policy.Decision

// BenchmarkDecide runs the engine over the demo data on a bbolt store and
// on an etcd node (the index fed by its replica): the same code reads the
// same index, so the two must cost the same.
func BenchmarkDecide(b *testing.B) {
	c := etcdtest.Start(b, 3)
	onEtcd, _ := openEtcdStore(b, c, "decide/", filepath.Join(b.TempDir(), "replica.db"))
	if err := storetest.Populate(onEtcd); err != nil {
		b.Fatal(err)
	}
	n := e164.MustParse
	calls := []struct {
		name string
		call policy.Call
	}{
		{"allow-vip", policy.Call{Calling: n(storetest.VIPCaller), Called: n(storetest.AliceNumber), Origin: policy.OriginAIN}},
		{"block", policy.Call{Calling: n(storetest.BlockedCaller), Called: n(storetest.AliceNumber), Origin: policy.OriginAIN}},
		{"provider-block", policy.Call{Calling: n(storetest.ProviderBlocked), Called: n(storetest.AliceNumber), Origin: policy.OriginAIN}},
		{"unknown", policy.Call{Calling: n(storetest.UnknownCaller), Called: n(storetest.AliceNumber), Origin: policy.OriginAIN}},
		{"not-subscriber", policy.Call{Calling: n(storetest.UnknownCaller), Called: n("+13035550199"), Origin: policy.OriginAIN}},
	}
	ctx := context.Background()
	for _, mode := range []struct {
		name string
		st   *store.Store
	}{{"bbolt", storetest.Fixture(b)}, {"etcd", onEtcd}} {
		e := policy.New(mode.st)
		for _, bc := range calls {
			b.Run(mode.name+"/"+bc.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					sink = e.Decide(ctx, bc.call)
				}
			})
		}
	}
}

// importRows is the size of BenchmarkImportEtcd's import:
// CALLGATE_CLUSTER_ROWS, default 1,000,000.
func importRows(b *testing.B) int {
	if v := os.Getenv("CALLGATE_CLUSTER_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("CALLGATE_CLUSTER_ROWS=%q: want a whole number of at least 1000", v)
		}
		return n
	}
	return 1000000
}

// BenchmarkImportEtcd imports rows over 1,000 subscribers' Blocked lists
// through node A of a three-member etcd cluster, and reports the import's
// rate, etcd's database size and when node B has every row. Run it with
// -benchtime=1x.
func BenchmarkImportEtcd(b *testing.B) {
	const subs = 1000
	rows := importRows(b)
	per := rows / subs
	var csv bytes.Buffer
	csv.Grow(rows * 34)
	for i := range rows {
		fmt.Fprintf(&csv, "imp%06d,blocked,+1212%07d\n", i/per%subs, 2000000+(i%per)*7)
	}
	for b.Loop() {
		b.StopTimer()
		c := etcdtest.Start(b, 3)
		dir := b.TempDir()
		a, _ := openEtcdStore(b, c, "imp/", filepath.Join(dir, "a.db"))
		if _, err := a.CreateProvider(store.Operator, store.ProviderSpec{Name: "imp"}); err != nil {
			b.Fatal(err)
		}
		if err := a.AllocateNumbers(store.Operator, "imp", store.Range{First: e164.MustParse("+13122000000"), Last: e164.MustParse("+13122099999")}); err != nil {
			b.Fatal(err)
		}
		err := a.BulkLoad(func(l *store.BulkLoader) error {
			for i := range subs {
				if _, err := l.CreateSubscriber(store.SubscriberSpec{Name: fmt.Sprintf("imp%06d", i), Provider: "imp",
					Numbers: []string{fmt.Sprintf("+1312%07d", 2000000+i)}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		bnode, _ := openEtcdStore(b, c, "imp/", filepath.Join(dir, "b.db"))
		sizeBefore := dbSize(b, c)
		b.StartTimer()
		start := time.Now()
		rep, err := a.Import(bytes.NewReader(csv.Bytes()), store.ImportOptions{Actor: store.Operator})
		took := time.Since(start)
		if err != nil || rep.Added != per*subs {
			b.Fatalf("import: added %d of %d: %v", rep.Added, per*subs, err)
		}
		for bnode.Counts().BlockedEntries != per*subs {
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("node B has %d of %d rows after 10 minutes", bnode.Counts().BlockedEntries, per*subs)
			}
			time.Sleep(time.Millisecond)
		}
		onB := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
		b.ReportMetric(took.Seconds(), "import-s")
		b.ReportMetric(onB.Seconds(), "on-node-B-s")
		b.ReportMetric(float64(dbSize(b, c)-sizeBefore)/(1<<20), "etcd-MiB")
		rsize, _ := bnode.FileSize()
		b.ReportMetric(float64(rsize)/(1<<20), "replica-MiB")
		b.StartTimer()
	}
}

// dbSize is the largest etcd member database.
func dbSize(tb testing.TB, c *etcdtest.Cluster) int64 {
	tb.Helper()
	cli := c.Client()
	var size int64
	for _, m := range c.Members {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := cli.Status(ctx, m.Client)
		cancel()
		if err != nil {
			tb.Fatal(err)
		}
		size = max(size, st.DbSize)
	}
	return size
}
