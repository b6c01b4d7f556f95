package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"callgate/scp/ain"
	"callgate/sigtran/m3ua"
	"callgate/simulators/ssp/ssptest"
)

func (e *env) responderCmd() *cobra.Command {
	var listen, transport, role, answer, forwardTo, rc string
	cmd := &cobra.Command{
		Use:   "responder [--listen 127.0.0.1:2905] [--answer authorizeTermination|disconnect|forwardCall]",
		Short: "Run a trivial SCP that answers every query the same way (for smoke tests and measuring the generator)",
		Long: `responder listens as an M3UA SG (or IPSP server) and answers every
terminationAttempt with one fixed AIN operation, with no screening logic at
all (package simulators/ssp/ssptest). It is the peer to measure sspsim load
against when the question is what the generator itself can do, and a
stand-in SCP for checking a switch's SIGTRAN configuration. It runs until
interrupted.`,
		Example: `  sspsim responder --listen 127.0.0.1:2905 &
  sspsim load --connect 127.0.0.1:2905 --rate 0 --concurrency 256 --duration 10s --called +13035550100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := ssptest.Config{Network: transport, Listen: listen, RoutingContexts: []uint32{}}
			switch strings.ToLower(role) {
			case "sg":
				cfg.Role = m3ua.RoleSG
			case "ipsp":
				cfg.Role = m3ua.RoleIPSP
			default:
				return usagef("--role %q: want sg or ipsp", role)
			}
			if rc != "none" {
				var v uint32
				if _, err := fmt.Sscanf(rc, "%d", &v); err != nil {
					return usagef("--rc %q: want a number or none", rc)
				}
				cfg.RoutingContexts = []uint32{v}
			}
			var reply ssptest.Reply
			switch strings.ToLower(answer) {
			case "authorizetermination", "authorize":
				reply.Op = ain.OpAuthorizeTermination
			case "disconnect":
				reply.Op = ain.OpDisconnect
			case "forwardcall", "forward":
				n, err := parseNumber("forward-to", forwardTo)
				if err != nil {
					return err
				}
				d, err := ain.DigitsFromE164(n, ain.NOANational)
				if err != nil {
					return usagef("--forward-to: %v", err)
				}
				reply.Op, reply.Arg = ain.OpForwardCall, &ain.ForwardCallArg{CalledPartyID: ain.Some(d)}
			default:
				return usagef("--answer %q: want authorizeTermination, disconnect or forwardCall", answer)
			}
			cfg.Decide = func(*ain.TerminationAttemptArg) ssptest.Reply { return reply }
			r, err := ssptest.Start(cfg)
			if err != nil {
				return err
			}
			defer r.Close()
			fmt.Fprintf(e.stderr, "responder listening on %s (%s), answering %s\n", r.Addr(), transport, ain.OpName(reply.Op))
			<-cmd.Context().Done()
			fmt.Fprintf(e.stderr, "responder: %d queries, %d answers, %d bad\n", r.Queries(), r.Answered(), r.Bad())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:2905", "address to accept associations on")
	fl.StringVar(&transport, "transport", "tcp", "tcp or sctp")
	fl.StringVar(&role, "role", "sg", "sg or ipsp")
	fl.StringVar(&rc, "rc", "10", `routing context served ("none" for none)`)
	fl.StringVar(&answer, "answer", "authorizeTermination", "authorizeTermination, disconnect or forwardCall")
	fl.StringVar(&forwardTo, "forward-to", "+17205550123", "routing number for --answer forwardCall")
	return cmd
}
