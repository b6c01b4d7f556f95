package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// subscriberImportCmd is `callgate subscriber import FILE [--dry-run]`:
// bulk provisioning (store.ImportSubscribers).
func (e *env) subscriberImportCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "import FILE.csv|-",
		Short: "Create subscribers in bulk from CSV (name,provider,numbers[,permissions]), all or nothing",
		Long: `Reads rows "name,provider,numbers[,permissions]": numbers are separated by spaces or ';'
and must lie in the provider's allocations; permissions as for "subscriber permissions"
(empty: the provider's default). A header row and '#' comments are skipped. Every row is
checked first; any bad row is reported with its line number and reason and nothing is
created (exit status 1). The audit log gets one record for the whole file (counts and its
SHA-256). '-' reads standard input.`,
		Example: `  callgate subscriber import customers.csv
  callgate subscriber import --dry-run customers.csv   # check only`,
		Args: exactArgs(1, "one CSV file (or - for standard input)"),
	}
	var dry bool
	var maxErrors int
	c.Flags().BoolVar(&dry, "dry-run", false, "validate and count only; write nothing")
	c.Flags().IntVar(&maxErrors, "max-errors", 100, "bad rows listed in the report (all are counted)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		var in io.Reader = e.stdin
		name := "standard input"
		if args[0] != "-" {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			in, name = f, args[0]
		}
		return e.withBackend(dry, func(b backend) error {
			rep, err := b.ImportSubscribers(in, dry, maxErrors)
			if err != nil {
				return fmt.Errorf("subscriber import %s: %w", name, err)
			}
			if err := e.emit(rep, func(w io.Writer) {
				switch {
				case rep.Refused:
					fmt.Fprintf(w, "Nothing imported from %s: %d row(s) read, %d bad:\n", name, rep.Rows, rep.ErrorCount)
					for _, re := range rep.Errors {
						fmt.Fprintf(w, "  %s:%d: %s\n", name, re.Line, re.Err)
					}
				case dry:
					fmt.Fprintf(w, "Checked %s (dry run, nothing written): %d subscriber(s), %d number(s), all valid.\n", name, rep.Valid, rep.Numbers)
				default:
					fmt.Fprintf(w, "Imported %s: %d subscriber(s) with %d number(s) created (sha256 %s).\n", name, rep.Written, rep.Numbers, rep.SHA256)
				}
			}); err != nil {
				return err
			}
			if rep.Refused {
				return exitError{Code: 1}
			}
			return nil
		})
	}
	return c
}
