// Command sipsim is a SIP phone simulator with real RTP (G.711) for the
// callgate SIP tiers: it places calls the way an SBC or a TDM gateway
// would and prints a timeline of what it heard, each prompt recognised
// (`sipsim call`); it is the subscriber's phone or a voicemail platform
// (`sipsim answer`); and it runs many concurrent media calls and reports
// RTP jitter, loss and its own CPU and memory (`sipsim load`). The library
// behind it is simulators/sip.
//
// Exit status: 0 the call(s) ran (a rejection is an outcome, not a
// failure), 1 failure (a call that failed or timed out, a load run with no
// completed call), 2 usage error. replay exits as diff(1) does: 0 every
// answer as captured, 1 some differ, 2 trouble (a usage error, an
// unreadable capture, an unreachable server; cli.ReplayHelp).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	setLibraryLoggers(os.Stderr)
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, ctx: ctx}
	code := e.run(os.Args[1:])
	stop()
	os.Exit(code)
}
