package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callgate/simulators/sip"
)

// subscriberListen is answer's default address: the subscriber's phone
// where callgate's default continue route (sip:{called}@127.0.0.1:5080)
// calls it.
const subscriberListen = "127.0.0.1:5080"

func (e *env) answerCmd() *cobra.Command {
	var (
		pf                             phoneFlags
		bf                             behaviourFlags
		mode                           string
		ring, hangupAfter, maxDuration time.Duration
		noAnswer, busy                 bool
		respond, calls                 int
		record                         string
	)
	cmd := &cobra.Command{
		Use:   "answer [--listen IP:PORT] [--mode phone|voicemail] [flags]",
		Short: "Be the subscriber's phone or a voicemail platform: answer calls and print what they heard",
		Long: `answer listens for INVITEs and handles each call, printing its timeline when
it ends (with --json one JSON object per call, one per line).

As the subscriber's phone (--mode phone, the default) it sends 100 and 180,
rings for --ring, then answers; or refuses every call (--busy: 486, or
--respond CODE), or rings until the caller gives up (--no-answer: the
CANCEL shows in its timeline). Answered, it recognises the prompts it hears
(--prompts), reports the caller's recorded name as speech no prompt
explains (or by name with --ref name=FILE.wav), keys its choice on cue
(--on-prompt press-1=1) and, once its script is done and the line quiet,
sends its probe tone and listens for the caller's.

As a voicemail platform (--mode voicemail) it answers at once, records what
it hears (to --record DIR as WAV) and reports the Diversion and
History-Info headers it received and the mailbox they name (the oldest
Diversion entry, else the first History-Info entry, else the To user).

It stops after --calls calls (0: runs until interrupted).`,
		Example: `  # The subscriber callgate's B2BUA calls (sip.continue_route): ring 1 s, answer,
  # accept the call at the screening menu
  sipsim answer --listen 127.0.0.1:5080 --ring 1s --prompts b2bua/prompts/en --on-prompt screen_menu=1

  # Refuse (2) or send to voicemail (3); busy; never answer
  sipsim answer --listen 127.0.0.1:5080 --prompts b2bua/prompts/en --on-prompt screen_menu=2
  sipsim answer --listen 127.0.0.1:5080 --busy
  sipsim answer --listen 127.0.0.1:5080 --no-answer

  # The voicemail platform
  sipsim answer --listen 127.0.0.1:5080 --mode voicemail --record /tmp/vm --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := bf.behaviour()
			if err != nil {
				return err
			}
			pc, err := pf.config(e)
			if err != nil {
				return err
			}
			if busy {
				if respond != 0 {
					return usagef("give --busy or --respond, not both")
				}
				respond = 486
			}
			if calls < 0 {
				return usagef("--calls must not be negative")
			}
			cfg := sip.AnswerConfig{Mode: sip.AnswerMode(mode), Respond: respond, RingFor: ring, NoAnswer: noAnswer,
				HangupAfter: hangupAfter, MaxDuration: maxDuration, RecordDir: record, Behaviour: b}
			if cfg.Mode != sip.ModePhone && cfg.Mode != sip.ModeVoicemail {
				return usagef("--mode %q: want phone or voicemail", mode)
			}
			a, err := sip.Answer(cmd.Context(), pc, cfg)
			if err != nil {
				return err
			}
			defer a.Close()
			if e.onListen != nil {
				e.onListen(a.Addr())
			}
			if !e.jsonOut {
				fmt.Fprintf(e.stderr, "answering as %s on %s (%s)\n", mode, a.Addr(), a.URI("NUMBER"))
			}
			failed := false
			for n := 0; calls == 0 || n < calls; n++ {
				r, err := a.Next(cmd.Context())
				if err != nil {
					break // interrupted
				}
				if r.Outcome == sip.OutcomeFailed {
					failed = true
				}
				if e.jsonOut {
					if err := json.NewEncoder(e.stdout).Encode(r); err != nil {
						return err
					}
				} else {
					writeAnswer(e.stdout, r)
				}
			}
			if failed {
				return exitError{Code: 1}
			}
			return nil
		},
	}
	// Where callgate's default sip.continue_route sends the subscriber's
	// leg; 5070 is the B2BUA's own port.
	pf.add(cmd, subscriberListen)
	bf.add(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&mode, "mode", "phone", "phone (the subscriber) or voicemail")
	fl.DurationVar(&ring, "ring", 0, "ring (180) this long before answering")
	fl.BoolVar(&noAnswer, "no-answer", false, "ring until the caller gives up")
	fl.BoolVar(&busy, "busy", false, "refuse every call with 486 Busy Here")
	fl.IntVar(&respond, "respond", 0, "refuse every call with this final status (300-699)")
	fl.DurationVar(&hangupAfter, "hangup-after", 0, "hang up this long after answering")
	fl.DurationVar(&maxDuration, "max-duration", 60*time.Second, "hang up this long after answering if nobody has")
	fl.StringVar(&record, "record", "", "voicemail: write each recording as a WAV file in this directory")
	fl.IntVar(&calls, "calls", 1, "stop after this many calls (0: run until interrupted)")
	return cmd
}

func writeAnswer(w io.Writer, r *sip.AnswerResult) {
	fmt.Fprint(w, r.String())
	fmt.Fprintf(w, "outcome:  %s", r.Outcome)
	if r.Status != 0 {
		fmt.Fprintf(w, " (%d)", r.Status)
	}
	if r.EndedBy != "" {
		fmt.Fprintf(w, ", ended by the %s", map[string]string{"local": "callee", "remote": "far end"}[r.EndedBy])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "call:     %s from %s, To %s\n", r.RequestURI, r.From, r.To)
	if len(r.Diversion) > 0 {
		fmt.Fprintf(w, "diversion: %s\n", strings.Join(r.Diversion, " | "))
	}
	if len(r.HistoryInfo) > 0 {
		fmt.Fprintf(w, "history-info: %s\n", strings.Join(r.HistoryInfo, " | "))
	}
	fmt.Fprintf(w, "mailbox:  %s (from %s)\n", r.Mailbox.Number, r.Mailbox.Source)
	writeCommon(w, r.Prompts, r.DigitsSent, r.DigitsReceived, r.Probe, r.RTP, false, r.Media)
	if r.RecordedMs > 0 {
		fmt.Fprintf(w, "recorded: %.1f s", r.RecordedMs/1000)
		if r.RecordFile != "" {
			fmt.Fprintf(w, " in %s", r.RecordFile)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}
