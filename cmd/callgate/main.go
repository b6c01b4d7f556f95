// Command callgate is the call-screening daemon (`callgate serve`) and the
// operator's tool for its store: tenants, lists, PINs, treatments, routes,
// CSV import and export, decision-log search and one-off decisions.
//
// Operator commands open the store file directly. bbolt allows one writer
// per file, so while `callgate serve` runs they report the file in use;
// the read-only `decide` and `log search` then ask the running daemon over
// its admin listener instead.
//
// Exit status: 0 success, 1 failure, 2 usage error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, ctx: ctx, signalStop: stop}
	code := e.run(os.Args[1:])
	stop()
	os.Exit(code)
}
