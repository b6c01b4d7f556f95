// Command gen is the SIP benchmark's lean load generator (bench/sip): it
// places the calls of the sipp injection file (bench/sip/gendata's
// calls.csv) against a SIP redirect server at a fixed rate, with the same
// messages as the sipp scenario uac-mix.xml, and checks every answer against
// the file's expected one (603, 302 to the continue route, 302 to the
// B2BUA's sip:screen@ URI).
//
// Where sipp spends one thread and a system call per message, gen uses
// several UDP sockets and recvmmsg/sendmmsg (golang.org/x/net's ReadBatch
// and WriteBatch), so one core drives more calls than the server under test
// can answer: the benchmark then measures the server, not the generator.
//
// Pacing: every -tick, the calls due by then go out in one sendmmsg on one
// socket (the next socket at the next tick), as sipp sends the calls due at
// each of its scheduler ticks. An unanswered INVITE is retransmitted after
// -t1, doubling (RFC 3261 Timer A, uac-mix.xml's retrans="500"); a call
// without a final answer after -timeout fails. Every final response is
// ACKed from the socket it came to.
//
// SIP enrolment of call keys (bench/keys/sip-enrol.sh): with -ruri-user
// enrol every INVITE goes to sip:enrol@target, the called number only in
// To, and the calling number in From, as an enterprise's trunk sends them
// to keys.sip_enrolment_user. The enrolment's 302 to the enterprise's
// onward route has a Contact that is not sip:screen@, so the file's
// expected answer for it is 302-continue; a 403 (off the trunk, a number
// no enterprise enrolled) or 503 (the key table full) fails the call.
//
// Output: one key=value line (bench/sip/run.sh reads it) with the calls
// answered right and wrong, timed out, retransmissions, the answers by kind
// and by class (3xx, 6xx), the rate achieved, the response-time percentiles
// (10 µs buckets below 10 ms) and the generator's own CPU. With -out the
// result is also written as JSON, and `gen -merge A.json B.json ...` prints
// the line for several instances run at the same time.
//
//	gen -target 127.0.0.1:15060 -calls calls.csv -rate 20000 -duration 10s
//	gen -target 127.0.0.1:15060 -calls enrol.csv -rate 10000 -ruri-user enrol
//	gen -merge run/gen-*.json
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

func main() {
	var (
		cfg       config
		callsPath string
		duration  time.Duration
		out       string
		merge     bool
	)
	flag.StringVar(&cfg.target, "target", "127.0.0.1:15060", "the server's UDP address")
	flag.StringVar(&cfg.ruriUser, "ruri-user", "", "fixed Request-URI user, the called number then only in To (SIP enrolment: the server's keys.sip_enrolment_user, e.g. enrol); \"\": the called number")
	flag.StringVar(&cfg.localIP, "local", "127.0.0.1", "local address of the sockets")
	flag.StringVar(&callsPath, "calls", "calls.csv", "sipp injection file (calling;called;expected)")
	flag.Float64Var(&cfg.rate, "rate", 10000, "calls per second")
	flag.DurationVar(&duration, "duration", 10*time.Second, "how long to place calls (calls = rate x duration)")
	flag.IntVar(&cfg.calls, "n", 0, "calls to place (overrides -duration)")
	flag.IntVar(&cfg.offset, "offset", 0, "first line of the injection file to use (the file is used in a loop)")
	flag.IntVar(&cfg.sockets, "sockets", 4, "UDP sockets (each a distinct source port)")
	flag.IntVar(&cfg.batch, "batch", 64, "messages per sendmmsg/recvmmsg")
	flag.DurationVar(&cfg.tick, "tick", time.Millisecond, "pacing interval")
	flag.DurationVar(&cfg.t1, "t1", 500*time.Millisecond, "first INVITE retransmission (doubles after each)")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "a call without a final answer by then fails")
	flag.BoolVar(&cfg.ack, "ack", true, "ACK every final response")
	flag.StringVar(&cfg.id, "id", fmt.Sprintf("g%d", os.Getpid()), "names this instance's calls (Call-ID k-ID@local, From tag ID-k): distinct per concurrent instance")
	flag.IntVar(&cfg.sockBufs, "sockbuf", 4<<20, "socket send and receive buffer, bytes")
	flag.StringVar(&out, "out", "", "also write the result as JSON to this file")
	flag.BoolVar(&merge, "merge", false, "merge the JSON results named as arguments and print their line")
	flag.Parse()

	if merge {
		if flag.NArg() == 0 {
			fail(2, "-merge needs the JSON files of a run as arguments")
		}
		if err := mergeFiles(os.Stdout, flag.Args()); err != nil {
			fail(1, err.Error())
		}
		return
	}
	if flag.NArg() != 0 {
		fail(2, fmt.Sprintf("unexpected arguments %q", flag.Args()))
	}
	if cfg.calls == 0 {
		cfg.calls = int(cfg.rate * duration.Seconds())
	}
	f, err := os.Open(callsPath)
	if err != nil {
		fail(1, err.Error())
	}
	specs, err := loadCalls(f)
	f.Close()
	if err != nil {
		fail(1, fmt.Sprintf("%s: %v", callsPath, err))
	}
	g, err := newGen(cfg, specs)
	if err != nil {
		fail(2, err.Error())
	}
	runtime.GC() // the file's garbage, before the clock starts
	s := g.run()
	if out != "" {
		if err := writeSummary(out, &s); err != nil {
			fail(1, err.Error())
		}
	}
	fmt.Println(s.line())
}

func fail(code int, msg string) {
	fmt.Fprintln(os.Stderr, "gen:", msg)
	os.Exit(code)
}
