package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"callgate/daemon"
	"callgate/internal/config"
)

func (e *env) configCmd() *cobra.Command {
	defaults := &cobra.Command{
		Use:   "defaults",
		Short: "Print the built-in configuration (a valid config file)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := config.Default()
			if e.jsonOut {
				return e.emitConfigJSON(c)
			}
			b, err := config.Marshal(c)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "# callgate built-in defaults: what 'callgate serve' uses without --config.")
			fmt.Fprintln(e.stdout, "# Every field is explained in callgate.example.yaml.")
			_, err = e.stdout.Write(b)
			return err
		},
	}
	check := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Check a configuration file as serve would, and print the effective configuration",
		Long: `Reads FILE as 'callgate serve' would and runs every check serve runs, without opening a
socket or the store: unknown fields and values of the wrong type (with their line), every
value's validation, listeners of different tiers or the admin listener on one port, and each
enabled tier's own checks (TLS certificate and key files, Contact templates, token keys, the
SCP's M3UA and SCCP settings, the fraud webhook's secret file). Every problem is listed at once; the exit status is 1 if
there is any.`,
		Example: "  callgate config check /etc/callgate/callgate.yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				e.configPath = args[0]
			}
			if e.configPath == "" {
				return usagef("give a FILE to check (or --config FILE)")
			}
			c, err := e.loadConfig()
			var probs *config.Problems
			if err != nil && !errors.As(err, &probs) {
				return err // not readable as YAML at all
			}
			if err := daemon.Check(&c); err != nil {
				if probs == nil {
					probs = &config.Problems{File: e.configPath}
				}
				probs.List = append(probs.List, unjoin(err)...)
			}
			if probs != nil {
				return probs
			}
			if e.jsonOut {
				return e.emitConfigJSON(c)
			}
			b, err := config.Marshal(c)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "%s: OK\n", e.configPath)
			_, err = e.stdout.Write(b)
			return err
		},
	}
	return group("config", "The daemon configuration: defaults, check", defaults, check)
}

// emitConfigJSON prints c as JSON with the YAML key names (durations as
// "10s"), so scripts see the same shape as the file.
func (e *env) emitConfigJSON(c config.Config) error {
	b, err := config.Marshal(c)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return err
	}
	return e.emit(m, nil)
}

// binName is the callgate binary as the user typed it ("bin/callgate"), or
// "callgate" when run some other way (tests).
func binName() string {
	if a := os.Args[0]; filepath.Base(a) == "callgate" {
		return a
	}
	return "callgate"
}

func joinList(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// unjoin returns the errors joined in err (errors.Join), or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
