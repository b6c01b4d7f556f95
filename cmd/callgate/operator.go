package main

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"callgate/daemon"
)

// operator is the daemon's side of a forwarded command (daemon.Operator):
// it runs the command tree the CLI runs, on the daemon's open files.
type operator struct {
	pinCost int // bcrypt cost for new PINs (tests; 0 = store default)
}

var _ daemon.Operator = operator{}

// Allow accepts the forwardable commands, without the flags that name
// files on the caller's side.
func (operator) Allow(args []string) error {
	cmd, _, err := (&env{}).rootCmd().Find(args)
	if err != nil || !forwardable[cmd.CommandPath()] || hasFlag(args, "output", "o") ||
		hasFlag(args, "config", "") || hasFlag(args, "data", "") {
		return errors.New("only the operator commands on the store and the decision log run in the daemon (not serve, demo or config; no --output, --config or --data)")
	}
	return nil
}

// Run runs one forwarded command.
func (o operator) Run(ctx context.Context, c *daemon.OperatorCommand) daemon.OperatorResult {
	files := c.Files
	e := &env{
		ctx: ctx, stdin: c.Stdin, stdout: c.Stdout, stderr: c.Stderr,
		shared: &files, daemonCfg: files.Config, fwdOutput: c.OutputName, fwdInputName: c.InputName, operatorUser: c.User,
		pinCost: o.pinCost,
	}
	code := e.run(c.Args)
	return daemon.OperatorResult{Code: code, Changed: e.changed, Line: commandLine(e.rootCmd(), c.Args)}
}

// secretFlag marks a flag whose value never goes to a log (a PIN).
const secretFlag = "callgate-secret"

func markSecret(c *cobra.Command, name string) {
	_ = c.Flags().SetAnnotation(name, secretFlag, []string{"true"})
}

// commandLine is args as a command line for the daemon's log, with the
// values of secret flags replaced by "***".
func commandLine(root *cobra.Command, args []string) string {
	cmd, _, err := root.Find(args)
	out := []string{"callgate"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if name, ok := strings.CutPrefix(a, "--"); ok && err == nil {
			name, _, inline := strings.Cut(name, "=")
			if f := cmd.Flags().Lookup(name); f != nil && f.Annotations[secretFlag] != nil {
				out = append(out, "--"+name+"=***")
				if !inline {
					i++ // the value is the next argument
				}
				continue
			}
		}
		out = append(out, a)
	}
	for i, a := range out {
		if a == "" || strings.ContainsAny(a, " \t\"'\\") {
			out[i] = strconv.Quote(a)
		}
	}
	return strings.Join(out, " ")
}
