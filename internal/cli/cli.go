// Package cli is the scaffolding the command-line programs share: usage
// and exit-status errors, running a cobra root command in-process, and
// mapping its error to an exit status.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// UsageError is a mistake in how a command was invoked (exit status 2).
type UsageError struct{ Err error }

func (u UsageError) Error() string { return u.Err.Error() }
func (u UsageError) Unwrap() error { return u.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error { return UsageError{fmt.Errorf(format, args...)} }

// ExitError ends with a status and no further message (the command has
// already said what went wrong).
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// StatusError ends with Code after Err is printed like any other error:
// a command whose failures have more than one status (see ReplayStatus).
type StatusError struct {
	Code int
	Err  error
}

func (e StatusError) Error() string { return e.Err.Error() }
func (e StatusError) Unwrap() error { return e.Err }

// Execute runs root with args and the given streams.
func Execute(ctx context.Context, root *cobra.Command, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// Status maps a command's error to an exit status, printing it as
// "prog: err" to stderr unless it is an ExitError: 0 for none, the code of
// an ExitError or a StatusError, 2 for a UsageError or an error before any
// command ran (ranPre false; followed by hint if not empty), else 1.
func Status(stderr io.Writer, prog string, err error, ranPre bool, hint string) int {
	if err == nil {
		return 0
	}
	var ee ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	fmt.Fprintf(stderr, "%s: %v\n", prog, err)
	var se StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	var ue UsageError
	if errors.As(err, &ue) || !ranPre {
		if hint != "" {
			fmt.Fprintln(stderr, hint)
		}
		return 2
	}
	return 1
}
