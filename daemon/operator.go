package daemon

import (
	"context"
	"io"

	"callgate/fraud"
	"callgate/internal/config"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// Operator runs the CLI's operator commands inside the daemon
// (POST /debug/cli): while the daemon holds the store and the decision log
// (bbolt allows one process per file), every command on them is forwarded
// to it. cmd/callgate implements Operator with the command tree the CLI
// runs itself, so a forwarded command behaves exactly as it does on the
// files, and lists, tenants and treatments change live.
type Operator interface {
	// Allow reports whether args is an operator command the daemon runs
	// for the CLI: nil, or why not (answered 403).
	Allow(args []string) error
	// Run runs one command against the daemon's files.
	Run(ctx context.Context, c *OperatorCommand) OperatorResult
}

// OperatorCommand is one forwarded command.
type OperatorCommand struct {
	Args []string
	// InputName is the caller's file sent as standard input (import
	// FILE), OutputName the file the caller writes standard output to
	// (export --output): both for messages only; the daemon writes no file.
	InputName, OutputName string
	Stdin                 io.Reader
	Stdout, Stderr        io.Writer
	Files                 Files
	// User is who runs the command, as the kernel says about the
	// connection (else as the client claims): the operator an audit
	// record names (callgate fraud unlock).
	User string
}

// Files are the daemon's open files and configuration, which a forwarded
// command uses instead of opening its own.
type Files struct {
	Store       *store.Store
	DecisionLog *decisionlog.Log // nil when the log is off
	Config      *config.Config
	Fraud       *fraud.Monitor // nil when fraud.enabled is off
	// Signals is the daemon's signal stage (call keys, reputation), for
	// `callgate decide` to run the stage the tiers run.
	Signals *Signals
}

// OperatorResult is how a forwarded command ended, for the caller and the
// daemon's log.
type OperatorResult struct {
	Code int // exit status
	// Changed is set when the command changed the store, or tried to
	// (failed changes are logged too).
	Changed bool
	// Line is the command line with secrets (a PIN) left out.
	Line string
}
