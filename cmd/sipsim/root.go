package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emiago/diago/media"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"callgate/internal/cli"
	"callgate/simulators/sip"
)

// env is one invocation: its streams and test hooks. Tests run commands
// in-process through env.run with buffers for the streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	ctx            context.Context

	jsonOut bool
	verbose bool
	ranPre  bool
	// isTTY reports whether w is a terminal (progress line); tests
	// override it.
	isTTY func(w io.Writer) bool
	// onListen is told the address an answering phone listens on (tests).
	onListen func(addr string)
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
	return cli.Status(e.stderr, "sipsim", err, e.ranPre, "")
}

func (e *env) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sipsim",
		Short: "SIP phone simulator with real RTP: calls with prompts recognised, the subscriber's phone, voicemail, load",
		Long: `sipsim is a SIP phone with real G.711 RTP (diago). As a caller it places a
call the way an SBC would (to the redirect server, following its 302 to the
B2BUA) or as a TDM gateway would after an AIN forwardCall (to a routing
number, with Diversion or History-Info naming the original called number);
it says a name, keys DTMF on cue and prints a timeline of what it heard:
every SIP event, early media, each prompt recognised by name (from a
directory of the prompt WAVs), the digits sent and the outcome. As the
called party it is the subscriber's phone (rings, answers or not, hears the
prompts and the caller's name, keys 1/2/3) or a voicemail platform (records,
reports the mailbox the redirection headers name). After a call is bridged
both ends send a probe tone and report whether they heard the other's: the
proof that audio flows both ways. load runs many such calls at once and
reports RTP jitter and loss. replay re-sends the INVITEs of a capture to a
live server and compares its answers with the captured ones.

Scripts (--on-prompt, --script) say what to do when:
  TRIGGER[*[N]][+DELAY]=STEP [STEP...]
TRIGGER is a prompt name (the WAV's base name) or an event: @start @ringing
@early @answer @media @speech @tone @dtmf. STEPs: digits (1234#), info:12
info-dtmf:3 rfc4733:4 (a DTMF mode for those digits), FILE.wav, say (the
name), wait:500ms, probe, echo-digits (key back the digits announced),
rtp-off, rtp-on, hangup. See 'sipsim help call' for examples.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			e.ranPre = true
			e.setLogging()
		},
	}
	root.PersistentFlags().BoolVar(&e.jsonOut, "json", false, "print JSON instead of text")
	root.PersistentFlags().BoolVarP(&e.verbose, "verbose", "v", false, "log SIP and RTP library messages to stderr")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{Err: err} })
	root.AddCommand(e.callCmd(), e.answerCmd(), e.loadCmd(), e.replayCmd())
	return root
}

// logger returns the logger for diago and sipgo: stderr at debug level
// with -v, else nothing (what matters is in the timelines; the libraries
// log expected events such as RTCP writes failing at hang-up as errors).
func (e *env) logger() *slog.Logger {
	if !e.verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// libLevel is the level of the SIP and media libraries' package loggers,
// which main points at stderr (they log retransmissions and RTP events to
// slog's default otherwise): nothing unless -v. It is atomic, so commands
// run in parallel in tests do not race on it.
var libLevel = func() *slog.LevelVar {
	v := new(slog.LevelVar)
	v.Set(slog.LevelError + 100)
	return v
}()

// setLibraryLoggers points the libraries' package loggers at stderr,
// filtered by libLevel (main does it once).
func setLibraryLoggers(w io.Writer) {
	l := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: libLevel}))
	gosip.SetDefaultLogger(l)
	media.SetDefaultLogger(l)
}

func (e *env) setLogging() {
	if e.verbose {
		libLevel.Set(slog.LevelDebug)
	}
}

// phoneFlags are a phone's SIP and RTP set-up.
type phoneFlags struct {
	listen, transport      string
	codecs                 []string
	tlsCert, tlsKey, tlsCA string
	tlsInsecure, srtp      bool
}

func (f *phoneFlags) add(cmd *cobra.Command, listen string) {
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", listen, "SIP address to listen on, IP:PORT (port 0: any free one); RTP uses the same IP")
	fl.StringVar(&f.transport, "transport", "udp", "SIP transport: udp, tcp or tls")
	fl.StringSliceVar(&f.codecs, "codecs", []string{"PCMU", "PCMA"}, "audio codecs in preference order: PCMU, PCMA")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS: the phone's certificate chain, PEM (default: a self-signed one for its IP, made at start)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS: the key of --tls-cert, PEM")
	fl.StringVar(&f.tlsCA, "tls-ca", "", "TLS: PEM file of the authorities the peer's certificate is checked against (default: the system's)")
	fl.BoolVar(&f.tlsInsecure, "tls-insecure", false, "TLS: do not check the peer's certificate")
	fl.BoolVar(&f.srtp, "srtp", false, "offer SRTP (RTP/SAVP with an SDES key) on calls placed, take it on calls answered; meant for --transport tls")
}

func (f *phoneFlags) config(e *env) (sip.PhoneConfig, error) {
	if _, err := sip.ParseCodecs(f.codecs); err != nil {
		return sip.PhoneConfig{}, usagef("--codecs: %v", err)
	}
	tls := strings.EqualFold(f.transport, "tls")
	switch strings.ToLower(f.transport) {
	case "udp", "tcp", "tls":
	default:
		return sip.PhoneConfig{}, usagef("--transport %q: want udp, tcp or tls", f.transport)
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return sip.PhoneConfig{}, usagef("--tls-cert and --tls-key go together")
	}
	if !tls && (f.tlsCert != "" || f.tlsCA != "" || f.tlsInsecure) {
		return sip.PhoneConfig{}, usagef("--tls-cert, --tls-key, --tls-ca and --tls-insecure need --transport tls")
	}
	return sip.PhoneConfig{Listen: f.listen, Transport: f.transport, Codecs: f.codecs, Logger: e.logger(),
		TLSCertFile: f.tlsCert, TLSKeyFile: f.tlsKey, TLSCAFile: f.tlsCA, TLSInsecure: f.tlsInsecure, SRTP: f.srtp}, nil
}

// behaviourFlags are what a phone does with a call's media.
type behaviourFlags struct {
	prompts       string
	refs          []string
	onPrompt      []string
	script        string
	digitsAfter   []string
	dtmf          string
	dtmfDur       time.Duration
	dtmfGap       time.Duration
	name          string
	probe         bool
	probeHz       float64
	expectHz      float64
	probeDuration time.Duration
	noSilence     bool
}

func (f *behaviourFlags) add(cmd *cobra.Command, caller bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.prompts, "prompts", "", "directory of the prompt WAVs (8 kHz mono) to recognise, each named by its file's base name")
	fl.StringArrayVar(&f.refs, "ref", nil, "another recording to recognise, NAME=FILE.wav (e.g. the caller's name; repeatable)")
	fl.StringArrayVar(&f.onPrompt, "on-prompt", nil, "a cue: TRIGGER[*[N]][+DELAY]=STEPS, e.g. enter-pin=1234# or 'say-name=wait:300ms say' (repeatable)")
	fl.StringVar(&f.script, "script", "", "a file of cues, one per line ('#' comments)")
	fl.StringArrayVar(&f.digitsAfter, "digits-after", nil, "a fallback DELAY=STEPS carried out that long after media starts if no cue has fired, e.g. 4s=1234# (repeatable)")
	fl.StringVar(&f.dtmf, "dtmf", "rfc4733", "how digits are keyed: rfc4733 (RTP telephone-events), info (SIP INFO application/dtmf-relay) or info-dtmf (application/dtmf)")
	fl.DurationVar(&f.dtmfDur, "dtmf-duration", 100*time.Millisecond, "how long each digit lasts")
	fl.DurationVar(&f.dtmfGap, "dtmf-gap", 100*time.Millisecond, "pause after each digit")
	fl.StringVar(&f.name, "name", "", "WAV file the 'say' step plays (8 kHz mono; default a generated voice)")
	fl.BoolVar(&f.probe, "probe", true, "do the probe-tone exchange after the answer (--probe=false: only on a 'probe' step)")
	mine, theirs := float64(sip.DefaultCalleeToneHz), float64(sip.DefaultCallerToneHz)
	if caller {
		mine, theirs = theirs, mine
	}
	fl.Float64Var(&f.probeHz, "probe-hz", mine, "this side's probe tone, Hz")
	fl.Float64Var(&f.expectHz, "expect-hz", theirs, "the other side's probe tone to listen for, Hz")
	fl.DurationVar(&f.probeDuration, "probe-duration", sip.DefaultToneDuration, "how long the probe tone lasts")
	fl.BoolVar(&f.noSilence, "no-silence", false, "send no RTP while there is nothing to say (default: silence every 20 ms, as phones do)")
}

func (f *behaviourFlags) behaviour() (sip.Behaviour, error) {
	b := sip.Behaviour{DTMFDuration: f.dtmfDur, DTMFGap: f.dtmfGap, NoSilence: f.noSilence,
		Probe: sip.Probe{Off: !f.probe, SendHz: f.probeHz, ExpectHz: f.expectHz, Duration: f.probeDuration}}
	mode, err := sip.ParseDTMFMode(f.dtmf)
	if err != nil {
		return b, usagef("--dtmf: %v", err)
	}
	b.DTMFMode = mode
	if f.prompts != "" || len(f.refs) > 0 {
		p := &sip.Prompts{}
		if f.prompts != "" {
			if p, err = sip.LoadPrompts(f.prompts); err != nil {
				return b, usagef("--prompts: %v", err)
			}
		}
		for _, r := range f.refs {
			name, file, ok := strings.Cut(r, "=")
			if !ok {
				name, file = strings.TrimSuffix(filepath.Base(r), filepath.Ext(r)), r
			}
			pcm, err := sip.ReadWAVFile(file)
			if err != nil {
				return b, usagef("--ref: %v", err)
			}
			if err := p.Add(name, pcm); err != nil {
				return b, usagef("--ref %s: %v", r, err)
			}
		}
		b.Prompts = p
	}
	if f.script != "" {
		text, err := os.ReadFile(f.script)
		if err != nil {
			return b, usagef("--script: %v", err)
		}
		cues, err := sip.ParseScript(string(text))
		if err != nil {
			return b, usagef("--script %s: %v", f.script, err)
		}
		b.Script.Cues = append(b.Script.Cues, cues...)
	}
	for _, s := range f.onPrompt {
		c, err := sip.ParseCue(s)
		if err != nil {
			return b, usagef("--on-prompt: %v", err)
		}
		b.Script.Cues = append(b.Script.Cues, c)
	}
	for _, s := range f.digitsAfter {
		fb, err := sip.ParseFallback(s)
		if err != nil {
			return b, usagef("--digits-after: %v", err)
		}
		b.Script.Fallbacks = append(b.Script.Fallbacks, fb)
	}
	if b.Prompts != nil {
		for _, c := range b.Script.Cues {
			if !strings.HasPrefix(c.Trigger, "@") && !hasPrompt(b.Prompts, c.Trigger) {
				return b, usagef("cue %q waits for prompt %q, which is not among the prompts (%s)", c.Text, c.Trigger, strings.Join(b.Prompts.Names(), ", "))
			}
		}
	} else {
		for _, c := range b.Script.Cues {
			if !strings.HasPrefix(c.Trigger, "@") {
				return b, usagef("cue %q waits for a prompt, but no --prompts directory was given", c.Text)
			}
		}
	}
	if f.name != "" {
		pcm, err := sip.ReadWAVFile(f.name)
		if err != nil {
			return b, usagef("--name: %v", err)
		}
		b.Name = pcm
	}
	return b, nil
}

func hasPrompt(p *sip.Prompts, name string) bool {
	for _, n := range p.Names() {
		if n == name {
			return true
		}
	}
	return false
}
