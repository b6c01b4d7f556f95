package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"callgate/internal/cli"
	"callgate/sigtran/pcap"
	"callgate/simulators/sip"
)

func (e *env) replayCmd() *cobra.Command {
	var (
		server   string
		timeout  time.Duration
		volatile []string
	)
	cmd := &cobra.Command{
		Use:   "replay FILE.pcap --server HOST:PORT",
		Short: "Replay a capture's INVITEs against a live SIP server and compare the answers",
		Long: `replay reads a pcap or pcapng capture, takes every initial INVITE in it,
sent over UDP or TCP (a retransmission once), in capture order, sends each
one over UDP to the server given by --server as it was captured — but from
this host: its top Via names the replaying socket, with a new branch — and
prints the final answer found in the capture next to the live one, marking
differences. A captured answer belongs to the INVITE with its Call-ID, CSeq
and top Via branch. INVITEs are sent one at a time, retransmitted as a
client transaction would until the server answers, and every non-2xx final
answer is acknowledged.

Answers are the same when their status codes are, and for a 3xx their
Contact URIs too: callgate's screening tokens (the cgt parameter) by what
they say — the decision and the numbers it was made for — since each is
signed with its own expiry; the values of the URI parameters named by
--ignore-param not at all; the rest as written. Reason phrases are not
compared.

What the capture holds but cannot be read (frames cut by the snap length,
an interface of another link type, IP fragments without the rest of their
datagram, a file cut short, bytes a TCP flow lacks or that were skipped to
the next message start) is named, by frame, in a warning on standard
error; the rest is replayed. A TCP flow that lost a segment, or whose
capture starts inside a message, is read on from the next message start.

A live answer differs when it is not the captured one, when the server sent
none within --timeout, or when the capture has none. Over UDP a server that
is not there may be silent: a replay in which no INVITE got any live answer
is trouble (the server unreachable), not a difference; so is one the
server's host refused (ICMP port unreachable).

` + cli.ReplayHelp,
		Example: `  # Does today's redirect server decide a day of an SBC's INVITEs as before?
  sipsim replay sbc-invites.pcap --server 127.0.0.1:5060

  # Machine-readable comparison, another server
  sipsim replay capture.pcapng --server 10.0.0.5:5060 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := net.SplitHostPort(server); err != nil {
				return usagef("--server %q: want HOST:PORT", server)
			}
			return cli.Trouble(e.replay(cmd.Context(), args[0], sip.ReplayConfig{Server: server, Timeout: timeout, Volatile: volatile}))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&server, "server", "127.0.0.1:5060", "the live SIP server, HOST:PORT (UDP)")
	fl.DurationVar(&timeout, "timeout", 4*time.Second, "the longest wait for each INVITE's final answer")
	fl.StringArrayVar(&volatile, "ignore-param", nil, "a Contact URI parameter whose value is not compared (repeatable)")
	return cmd
}

// replay runs one replay; an error returned is trouble (exit status 2),
// a difference is ExitError 1 (cli.ReplayStatus).
func (e *env) replay(ctx context.Context, file string, cfg sip.ReplayConfig) error {
	ds, err := pcap.ReadSIPFile(file)
	if err != nil && len(ds) == 0 {
		return err
	}
	if err != nil { // what could not be read: the replay is of the rest
		fmt.Fprintln(e.stderr, "sipsim: warning:", err)
	}
	invites := sip.InvitesOf(ds)
	if len(invites) == 0 {
		return fmt.Errorf("%s: no INVITE in the capture (SIP over UDP or TCP)", file)
	}
	results, trouble := sip.Replay(ctx, cfg, invites)
	if trouble == nil && !slices.ContainsFunc(results, func(r sip.ReplayResult) bool { return r.Live != nil }) {
		trouble = fmt.Errorf("no INVITE got a live answer from %s within %v: is the server there?", cfg.Server, cfg.Timeout)
	}
	differ, err := cli.WriteReplay(e.stdout, e.jsonOut, "INVITEs", results,
		func(r *sip.ReplayResult) bool { return r.Same }, writeReplayed)
	if err != nil {
		return err
	}
	return cli.ReplayStatus(differ, trouble)
}

func writeReplayed(w io.Writer, r *sip.ReplayResult) {
	mark := "SAME"
	if !r.Same {
		mark = "DIFFERENT"
	}
	fmt.Fprintf(w, "frame %d INVITE %s from %s: %s\n", r.Frame, r.RequestURI, r.From, mark)
	captured, live := "(no answer in the capture)", "(no answer: "+r.LiveError+")"
	if r.Captured != nil {
		captured = r.Captured.String()
	}
	if r.Live != nil {
		live = r.Live.String()
	}
	fmt.Fprintf(w, "  captured: %s\n", captured)
	if r.Captured != nil {
		for _, t := range r.Captured.Tokens {
			fmt.Fprintf(w, "            token: %s\n", t)
		}
	}
	fmt.Fprintf(w, "  live:     %s\n", live)
	if r.Live != nil {
		for _, t := range r.Live.Tokens {
			fmt.Fprintf(w, "            token: %s\n", t)
		}
	}
}
