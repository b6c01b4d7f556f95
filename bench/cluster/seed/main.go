// Command seed loads the SCP benchmark's data set (storetest.Large's
// layout: subscribers of provider "bulk" on +12122000000.., each with
// -per-subscriber Blocked rows and one VIP row, a 1,000-row provider
// Blocked list, the default route) into an empty store, on bbolt or on
// etcd, so bench/cluster/scp.sh compares the two backends on the same data.
//
//	go run ./bench/cluster/seed -store /var/tmp/clusterbench/bbolt/callgate.db -subscribers 10000
//	go run ./bench/cluster/seed -etcd http://127.0.0.1:21379,http://127.0.0.1:22379 \
//	    -replica /var/tmp/clusterbench/seed-replica.db -subscribers 10000
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"callgate/store"
	"callgate/store/etcdkv"
	"callgate/store/storetest"
)

func main() {
	var (
		path, endpoints, prefix, replica string
		subs, perSub                     int
	)
	flag.StringVar(&path, "store", "", "bbolt store file to create")
	flag.StringVar(&endpoints, "etcd", "", "etcd client URLs, comma-separated (instead of -store)")
	flag.StringVar(&prefix, "prefix", "callgate/", "key prefix in etcd (store.etcd.prefix)")
	flag.StringVar(&replica, "replica", "", "the local replica this loader keeps while writing to etcd (a scratch file)")
	flag.IntVar(&subs, "subscribers", 10000, "subscribers")
	flag.IntVar(&perSub, "per-subscriber", 100, "Blocked rows per subscriber")
	flag.Parse()
	if err := run(path, endpoints, prefix, replica, subs, perSub); err != nil {
		fmt.Fprintf(os.Stderr, "seed: %v\n", err)
		os.Exit(1)
	}
}

func run(path, endpoints, prefix, replica string, subs, perSub int) error {
	var st *store.Store
	switch {
	case (path == "") == (endpoints == ""):
		return errors.New("give -store FILE or -etcd URLS")
	case path != "":
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists; seed writes a new store", path)
		}
		s, err := store.Open(path, store.Options{NoSync: true})
		if err != nil {
			return err
		}
		st = s
	default:
		if replica == "" {
			return errors.New("-etcd needs -replica FILE (a scratch replica for the loader)")
		}
		b, err := etcdkv.Open(etcdkv.Config{Endpoints: strings.Split(endpoints, ","), Prefix: prefix, ReplicaPath: replica,
			NoSync: true, RequestTimeout: time.Minute})
		if err != nil {
			return err
		}
		defer b.Close()
		s, err := store.New(b, store.Options{ApplyTimeout: 5 * time.Minute, GCInterval: -1})
		if err != nil {
			return err
		}
		if c := s.Counts(); c.Subscribers > 0 {
			s.Close()
			return fmt.Errorf("etcd prefix %q already holds %d subscribers; seed writes a new store", prefix, c.Subscribers)
		}
		st = s
	}
	start := time.Now()
	if err := storetest.PopulateLarge(st, subs, perSub); err != nil {
		st.Close()
		return err
	}
	c := st.Counts()
	fmt.Printf("seeded %s: %d subscribers, %d Blocked, %d VIP and %d provider Blocked entries in %v\n", st.Path(),
		c.Subscribers, c.BlockedEntries, c.VIPEntries, c.ProviderBlockedEntries, time.Since(start).Round(time.Millisecond))
	return st.Close()
}
