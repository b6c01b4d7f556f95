// Command callgate is the call-screening daemon (`callgate serve`, which
// runs package daemon) and the operator's tool for its store: tenants,
// lists, PINs, treatments, routes, CSV import and export, decision-log
// search, one-off decisions, SCP captures and the cluster's status. This
// package holds only the command line: flags, output and the operator
// commands; the daemon's composition and its tiers live in package daemon.
//
// While `callgate serve` runs it holds the store and the decision log
// (bbolt allows one process per file), and every operator command goes
// through its management API (package admin) on the unix socket next to
// the store (backend.go: the same command code over the API or over the
// file): a command asks the daemon first and opens the files itself only
// when no daemon answers.
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
