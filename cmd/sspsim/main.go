// Command sspsim is an AIN 0.2 switch (SSP) simulator for the callgate SCP:
// it sends Termination_Attempt queries over M3UA (TCP or SCTP) and shows
// the answers (`sspsim call`), drives load at a target rate and reports the
// latency distribution (`sspsim load`), decodes captures and hex dumps
// layer by layer (`sspsim decode`), and replays the queries of a capture
// against a live SCP (`sspsim replay`).
//
// Exit status: 0 success, 1 failure (including a message that did not
// decode, or a call without an answer), 2 usage error. replay exits as
// diff(1) does: 0 every answer as captured, 1 some differ, 2 trouble (a
// usage error, an unreadable capture, an unreachable SCP; cli.ReplayHelp).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, ctx: ctx}
	code := e.run(os.Args[1:])
	stop()
	os.Exit(code)
}
