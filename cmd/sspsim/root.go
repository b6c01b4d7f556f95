package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"callgate/internal/cli"
	"callgate/sigtran/m3ua"
	"callgate/sigtran/sccp"
	"callgate/simulators/ssp"
)

// env is one invocation: its streams and test hooks. Tests run commands
// in-process through env.run with buffers for the streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	ctx            context.Context

	jsonOut bool
	ranPre  bool
	// isTTY reports whether w is a terminal (progress line); tests
	// override it.
	isTTY func(w io.Writer) bool
}

// usageError is a mistake in how a command was invoked (exit status 2);
// exitError ends with a status, the command having said what went wrong.
type (
	usageError = cli.UsageError
	exitError  = cli.ExitError
)

var usagef = cli.Usagef

func (e *env) run(args []string) int {
	if e.ctx == nil {
		e.ctx = context.Background()
	}
	if e.isTTY == nil {
		e.isTTY = func(w io.Writer) bool {
			f, ok := w.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		}
	}
	err := cli.Execute(e.ctx, e.rootCmd(), args, e.stdin, e.stdout, e.stderr)
	return cli.Status(e.stderr, "sspsim", err, e.ranPre, "")
}

func (e *env) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sspsim",
		Short: "AIN 0.2 switch simulator: Termination_Attempt calls, load, decode, replay; a reputation-service simulator",
		Long: `sspsim plays the switch (SSP) side of AIN 0.2 over SIGTRAN: it connects over
M3UA (TCP, or kernel SCTP) as an ASP towards the SCP's SG side (or as an IPSP
client), sends terminationAttempt queries in ANSI TCAP over ANSI SCCP, and
shows what the SCP answered. Like a real switch it honours the SCP's ACG
(automatic code gapping): calls to a gapped code are not queried.

The network defaults are those of the golden vectors: SSP 244-1-10 SSN 249,
SCP 244-2-20 SSN 248, routing context 10, network indicator national.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			e.ranPre = true
		},
	}
	root.PersistentFlags().BoolVar(&e.jsonOut, "json", false, "print JSON instead of text")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{Err: err} })
	root.AddCommand(e.callCmd(), e.loadCmd(), e.decodeCmd(), e.replayCmd(), e.responderCmd(), e.reputationCmd())
	return root
}

// connFlags are the flags of the commands that connect to an SCP.
type connFlags struct {
	connect        []string
	transport      string
	role           string
	opc, dpc       string
	ssn, scpSSN    uint8
	rc             string
	register       bool
	international  bool
	timeout        time.Duration
	connectTimeout time.Duration
	capture        string
	verbose        bool
}

func (f *connFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.connect, "connect", []string{"127.0.0.1:2905"}, "SCP side (SG or IPSP) address host:port; repeat or comma-separate for several associations")
	fl.StringVar(&f.transport, "transport", "tcp", "M3UA transport: tcp or sctp")
	fl.StringVar(&f.role, "role", "asp", "M3UA role of the switch: asp (towards an SG) or ipsp")
	fl.StringVar(&f.opc, "opc", "244-1-10", "the switch's ANSI point code (network-cluster-member)")
	fl.StringVar(&f.dpc, "dpc", "244-2-20", "the SCP's ANSI point code")
	fl.Uint8Var(&f.ssn, "ssn", ssp.DefaultSSN, "the switch's SCCP subsystem number")
	fl.Uint8Var(&f.scpSSN, "scp-ssn", ssp.DefaultSCPSSN, "the SCP's SCCP subsystem number")
	fl.StringVar(&f.rc, "rc", "10", `M3UA routing context ("none" to send none)`)
	fl.BoolVar(&f.register, "register", false, "register the routing key with M3UA RKM (REG REQ) instead of relying on a provisioned routing context")
	fl.BoolVar(&f.international, "international", false, "MTP network indicator international (default national)")
	fl.DurationVar(&f.timeout, "timeout", ssp.DefaultTimeout, "how long to wait for each answer")
	fl.DurationVar(&f.connectTimeout, "connect-timeout", ssp.DefaultConnectTimeout, "how long to wait for the association to become ASP-ACTIVE")
	fl.StringVar(&f.capture, "capture", "", "write every M3UA message of the association (ASP management and DATA) to this pcap file")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log M3UA association events to stderr")
}

func (f *connFlags) config(e *env, capture bool) (ssp.Config, error) {
	cfg := ssp.Config{Network: f.transport, Timeout: f.timeout, ConnectTimeout: f.connectTimeout,
		SSN: f.ssn, SCPSSN: f.scpSSN, International: f.international, Capture: capture && f.capture != "",
		Register: f.register}
	for _, c := range f.connect {
		if c = strings.TrimSpace(c); c != "" {
			cfg.Connect = append(cfg.Connect, c)
		}
	}
	if len(cfg.Connect) == 0 {
		return cfg, usagef("--connect: no address")
	}
	switch f.transport {
	case "tcp", "sctp":
	default:
		return cfg, usagef("--transport %q: want tcp or sctp", f.transport)
	}
	switch strings.ToLower(f.role) {
	case "asp":
		cfg.Role = m3ua.RoleASP
	case "ipsp":
		cfg.Role = m3ua.RoleIPSP
	default:
		return cfg, usagef("--role %q: want asp or ipsp", f.role)
	}
	var err error
	if cfg.OPC, err = sccp.ParsePointCode(f.opc, sccp.ANSI); err != nil {
		return cfg, usagef("--opc: %v", err)
	}
	if cfg.DPC, err = sccp.ParsePointCode(f.dpc, sccp.ANSI); err != nil {
		return cfg, usagef("--dpc: %v", err)
	}
	if f.rc != "none" && f.rc != "" {
		v, err := strconv.ParseUint(f.rc, 10, 32)
		if err != nil {
			return cfg, usagef("--rc %q: want a number or none", f.rc)
		}
		cfg.RoutingContexts = []uint32{uint32(v)}
	}
	if f.verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return cfg, nil
}

// writeCapture writes the client's capture when --capture was given.
func (f *connFlags) writeCapture(e *env, c *ssp.Client) error {
	if f.capture == "" {
		return nil
	}
	file, err := os.Create(f.capture)
	if err != nil {
		return err
	}
	if err := ssp.WritePcap(file, c.Capture()); err != nil {
		file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	if !e.jsonOut {
		fmt.Fprintf(e.stderr, "capture written to %s (tshark -r %s -o mtp3.standard:ANSI -o sccp.default_payload:tcap)\n", f.capture, f.capture)
	}
	return nil
}
