package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"callgate/daemon"
	clikit "callgate/internal/cli" // main_test.go has a cli helper
	"callgate/internal/config"
	"callgate/store"
)

// env is one invocation: its streams, global flags and test hooks. Tests
// run commands in-process through env.run with buffers for the streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	ctx            context.Context
	signalStop     func() // undoes the first-signal handler (nil in tests)

	configPath string
	dataDir    string
	jsonOut    bool
	// createStore lets openStore create a missing store (demo); the other
	// operator commands refuse to, see noStoreError.
	createStore bool

	// ranPre is set once cobra has parsed flags and arguments; an error
	// before that is a usage error (exit 2).
	ranPre bool

	// Test hooks.
	pinCost   int                             // bcrypt cost for new PINs (0 = store default)
	isTTY     func(io.Reader) bool            // stdin is a terminal (PIN prompt)
	readPass  func(io.Reader) (string, error) // read a PIN without echo
	serveHook func(*daemon.Daemon)            // called when serve is ready
}

// usageError is a mistake in how a command was invoked (exit status 2);
// exitError ends with a status, the command having said what went wrong.
type (
	usageError = clikit.UsageError
	exitError  = clikit.ExitError
)

var usagef = clikit.Usagef

// run executes args and returns the exit status.
func (e *env) run(args []string) int {
	if e.ctx == nil {
		e.ctx = context.Background()
	}
	err := clikit.Execute(e.ctx, e.rootCmd(), args, e.stdin, e.stdout, e.stderr)
	return clikit.Status(e.stderr, "callgate", err, e.ranPre, "Run 'callgate --help' or 'callgate COMMAND --help' for usage.")
}

func (e *env) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "callgate",
		Short: "Carrier call screening: AIN SCP, SIP redirect server and B2BUA over one decision engine",
		Long: `callgate decides, for every incoming call, whether it rings, is blocked or is screened.

'callgate serve' runs the daemon: the AIN SCP, the SIP redirect server and the B2BUA that
carries out screening with media, over one decision engine and one store, with the
management API. The other commands are the operator's: tenants, lists, PINs,
treatments, routes, CSV import and export, one-off decisions and the decision log. While
serve runs it holds the store, and every one of them goes through the daemon's management
API on its socket (api.socket, next to the store; only the daemon's user may connect), so
changes take effect on the next call without a restart. Without a daemon they work on the
store file directly (data/callgate.db unless --data or --config say otherwise).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// cobra checks required flags after this hook; check them here
			// so a missing one is reported as the usage error it is.
			if err := cmd.ValidateRequiredFlags(); err != nil {
				return usageError{Err: err}
			}
			if err := cmd.ValidateFlagGroups(); err != nil {
				return usageError{Err: err}
			}
			e.ranPre = true
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q", args[0])
			}
			return cmd.Help()
		},
		Args: cobra.ArbitraryArgs,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVar(&e.configPath, "config", "", "daemon configuration file (YAML; see callgate.example.yaml)")
	pf.StringVar(&e.dataDir, "data", "", "data directory holding callgate.db and decisions.db (default \"data\", or data_dir from --config)")
	pf.BoolVar(&e.jsonOut, "json", false, "print JSON instead of text (for scripts)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{Err: err} })

	root.AddCommand(
		e.serveCmd(), e.demoCmd(), e.configCmd(),
		e.providerCmd(), e.subscriberCmd(), e.enterpriseCmd(),
		e.listCmd(), e.pinCmd(), e.treatmentCmd(), e.routeCmd(),
		e.importCmd(), e.exportCmd(), e.logCmd(), e.decideCmd(), e.captureCmd(),
		e.stirCmd(), e.fraudCmd(), e.adminCmd(), e.auditCmd(), e.userCmd(), e.clusterCmd(),
	)
	return root
}

// group makes a command that only holds subcommands: run bare it prints
// its help; with an unknown subcommand it is a usage error.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for \"%s\" (see '%s --help')", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			_ = cmd.Help()
			return usagef("%s needs a subcommand", cmd.CommandPath())
		},
	}
	c.AddCommand(subs...)
	return c
}

// exactArgs, minArgs and rangeArgs are cobra's validators with errors that
// say what is expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s expects %s (got %d argument(s))", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s expects %s", cmd.CommandPath(), what)
		}
		return nil
	}
}

// loadConfig returns the configuration: --config if given (else the
// defaults), with --data overriding data_dir.
func (e *env) loadConfig() (config.Config, error) {
	cfg := config.Default()
	if e.configPath != "" {
		var err error
		if cfg, err = config.Load(e.configPath); err != nil {
			return cfg, err
		}
	}
	if e.dataDir != "" {
		// store.path and decision_log.path, when the file sets them, still
		// win: they name files, --data a directory.
		cfg.DataDir = e.dataDir
	}
	return cfg, nil
}

// openStore opens the list store file for an operator command when no
// daemon holds it. Read-only commands take a shared lock, so several can
// run at once.
func (e *env) openStore(cfg *config.Config, readOnly bool) (*store.Store, error) {
	if cfg.Store.Backend == config.BackendEtcd {
		return nil, etcdOfflineError(cfg, e.createStore)
	}
	path := cfg.StorePath()
	if !e.createStore {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, e.noStoreError(path)
		}
	}
	st, err := store.Open(path, store.Options{ReadOnly: readOnly, PINCost: e.pinCost, Timeout: cfg.Store.LockTimeout})
	if err != nil {
		if errors.Is(err, store.ErrDatabaseBusy) {
			return nil, busyErr{path, cfg.SocketPath()}
		}
		return nil, err
	}
	return st, nil
}

// noStoreError refuses to create a new, empty store for an operator command
// (only serve and demo create one): a missing file is almost always the
// wrong folder or a forgotten --config, and a new empty store would take
// the changes where no daemon reads them.
func (e *env) noStoreError(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	var from string
	switch {
	case e.dataDir != "":
		from = fmt.Sprintf("--data %s", e.dataDir)
	case e.configPath != "":
		from = fmt.Sprintf("the data_dir of %s (relative data paths are relative to that file's folder)", e.configPath)
	default:
		wd, _ := os.Getwd()
		from = fmt.Sprintf("the default data_dir ./data in the current folder %s", wd)
	}
	return fmt.Errorf("no store at %s (from %s); operator commands do not create one. "+
		"Point at the daemon's store with --config FILE (the file 'callgate serve' uses) or --data DIR; "+
		"a new store is created by 'callgate serve' (empty) or 'callgate demo' (the demo platform)", abs, from)
}

// busyErr is "the store is held by another process" while no daemon
// answers on the socket.
type busyErr struct{ path, socket string }

func (b busyErr) Error() string {
	return b.path + " is in use by another process, most likely 'callgate serve'. " +
		"Operator commands go to a running daemon through its socket " + b.socket + ", where none answers: " +
		"the daemon may be starting or stopping, or use another --config or --data than this command; " +
		"otherwise stop it (Ctrl-C, or kill -TERM its pid) and run this command again"
}

// onStoreFile opens the store file, runs fn on it and closes it,
// reporting a close failure.
func (e *env) onStoreFile(cfg *config.Config, readOnly bool, fn func(*store.Store) error) (err error) {
	st, err := e.openStore(cfg, readOnly)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return fn(st)
}

// emit prints v as JSON with --json, else runs text.
func (e *env) emit(v any, text func(w io.Writer)) error {
	if e.jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(e.stdout)
	return nil
}

// table writes aligned columns.
func table(w io.Writer, header string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// deleteCmd is the "delete NAME" subcommand of a named thing (route,
// provider, enterprise): del removes it from the store, which refuses while
// something still uses it.
func (e *env) deleteCmd(kind, short, argName string, del func(backend, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: short,
		Args:  exactArgs(1, argName),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(false, func(b backend) error {
				if err := del(b, args[0]); err != nil {
					return err
				}
				return e.emit(map[string]string{"deleted": args[0]}, func(w io.Writer) {
					fmt.Fprintf(w, "Deleted %s %s.\n", kind, args[0])
				})
			})
		},
	}
}

// op is the operator actor of a command on the store file, named for the
// audit log as the daemon names the CLI's user on its socket: cli:USER.
func (e *env) op() store.Actor { return store.Operator.By("cli:"+loginName(), "cli") }

// loginName is who runs this command.
func loginName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}
