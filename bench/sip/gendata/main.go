// Command gendata writes the data set of the SIP benchmark (bench/sip): the
// same subscribers and list entries for callgate and for Kamailio, and the
// sipp injection file of calls to place against both.
//
// The data set is storetest.Large's layout, built with the same number
// helpers: subscribers (default 100,000) of provider "bulk" on numbers
// LargeSubscriberNumber(i), each with perSub (default 100) Blocked callers
// LargeBlocked(i, j) — 10,000,000 rows — and one VIP caller LargeVIP(i), a
// provider-wide Blocked list of LargeProviderBlockedRows numbers, and the
// default egress route "b2bua" whose SIP URI is the B2BUA's screening URI.
// Subscribers keep the platform defaults, so an unlisted caller is screened
// (302 to the B2BUA with a signed token).
//
// Outputs, each skipped when already present (delete to rebuild):
//
//	-store DIR      DIR/callgate.db, the callgate store (`callgate serve --data DIR`)
//	-kamailio FILE  an SQLite database with the four htable tables kamailio.cfg
//	                loads at start (sub, vip, blk, pblk), built with the sqlite3 CLI
//	-calls FILE     the sipp injection file (-inf), a deterministic mix of calls
//
// Example (what run.sh does):
//
//	go run ./bench/sip/gendata -store /var/tmp/sipbench/callgate \
//	    -kamailio /var/tmp/sipbench/htable.sqlite -calls /var/tmp/sipbench/calls.csv
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	var o options
	flag.StringVar(&o.storeDir, "store", "", "directory to write callgate.db into (skipped if empty)")
	flag.StringVar(&o.kamailio, "kamailio", "", "SQLite file to write Kamailio's htable tables into (skipped if empty)")
	flag.StringVar(&o.calls, "calls", "", "sipp injection file to write (skipped if empty)")
	flag.IntVar(&o.subs, "subscribers", 100000, "number of subscribers")
	flag.IntVar(&o.perSub, "per-subscriber", 100, "Blocked rows per subscriber")
	flag.IntVar(&o.nCalls, "n", 200000, "calls in the injection file (sipp loops over it)")
	flag.StringVar(&o.mix, "mix", defaultMix, "call mix: kind=weight,... with kinds "+kindList())
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the call mix")
	flag.BoolVar(&o.force, "force", false, "rebuild outputs that already exist")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "gendata: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if err := run(o, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "gendata: %v\n", err)
		os.Exit(1)
	}
}
