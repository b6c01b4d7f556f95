package main

// callgate capture: a pcap of the running SCP's M3UA associations, taken by
// the daemon (GET /debug/capture on the admin listener) and written by the
// CLI, for Wireshark or sspsim replay. No tcpdump, no root, and the trace
// decodes as M3UA even when the associations run over TCP (the frames are
// written as SCTP, as sigtran/pcap does for every capture of ours).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"callgate/scp"
	"callgate/sigtran/pcap"
)

// capturer is a tier that can trace its associations (the SCP).
type capturer interface {
	Capture(ctx context.Context, d time.Duration, max int) ([]pcap.Seen, int, error)
}

// Capture limits of the endpoint.
const (
	defaultCaptureSeconds = 10
	maxCaptureSeconds     = 3600
	defaultCaptureMax     = 100_000
)

// loopbackOnly answers 403 and reports false unless r comes from this host.
func loopbackOnly(w http.ResponseWriter, r *http.Request) bool {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil && net.ParseIP(host).IsLoopback() {
		return true
	}
	http.Error(w, "operator commands are answered for clients on this host only", http.StatusForbidden)
	return false
}

// serveCapture is GET /debug/capture?seconds=N&max=M: it traces the SCP's
// associations for N seconds (or until M messages) and answers the pcap,
// with the counts in the headers Callgate-Messages and Callgate-Dropped.
func (s *server) serveCapture(w http.ResponseWriter, r *http.Request) {
	if !loopbackOnly(w, r) {
		return
	}
	q := r.URL.Query()
	seconds, max := defaultCaptureSeconds, defaultCaptureMax
	var err error
	if v := q.Get("seconds"); v != "" {
		if seconds, err = strconv.Atoi(v); err != nil || seconds < 1 || seconds > maxCaptureSeconds {
			http.Error(w, fmt.Sprintf("seconds=%q: want a whole number of seconds from 1 to %d", v, maxCaptureSeconds), http.StatusBadRequest)
			return
		}
	}
	if v := q.Get("max"); v != "" {
		if max, err = strconv.Atoi(v); err != nil || max < 1 || max > scp.MaxCapture {
			http.Error(w, fmt.Sprintf("max=%q: want a number of messages from 1 to %d", v, scp.MaxCapture), http.StatusBadRequest)
			return
		}
	}
	var c capturer
	for _, t := range s.tiers {
		if tc, ok := t.(capturer); ok {
			c = tc
		}
	}
	if c == nil {
		http.Error(w, "no tier to capture: the SCP is not enabled (scp.enabled)", http.StatusNotFound)
		return
	}
	msgs, dropped, err := c.Capture(r.Context(), time.Duration(seconds)*time.Second, max)
	if errors.Is(err, scp.ErrCaptureBusy) {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	pw, err := pcap.NewWriter(&buf)
	for i := 0; err == nil && i < len(msgs); i++ {
		err = pw.WriteSeen(&msgs[i])
	}
	if err != nil {
		http.Error(w, "writing the capture: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.tcpdump.pcap")
	w.Header().Set("Callgate-Messages", strconv.Itoa(len(msgs)))
	w.Header().Set("Callgate-Dropped", strconv.Itoa(dropped))
	w.Write(buf.Bytes())
}

func (e *env) captureCmd() *cobra.Command {
	var seconds, max int
	var output string
	c := &cobra.Command{
		Use:   "capture --output FILE.pcap [--seconds N] [--max N]",
		Short: "Capture the running SCP's M3UA traffic into a pcap (Wireshark, sspsim replay)",
		Long: `Asks the running daemon to trace every M3UA message of the SCP's associations (DATA and
ASP management, both directions) for --seconds, or until --max messages, and writes them as a
pcap: Ethernet/IPv4/SCTP frames, PPID 3, which Wireshark decodes down to AIN even when the
associations run over TCP. Read it with
  tshark -r FILE -o mtp3.standard:ANSI -o sccp.default_payload:tcap
or sspsim decode FILE; replay its queries against an SCP with sspsim replay FILE. '-' writes
the pcap to standard output (tshark -r - ...). Needs 'callgate serve' running with the SCP on
and admin.debug (the default); Ctrl-C abandons the capture.`,
		Example: `  callgate capture --output scp.pcap
  callgate capture --seconds 60 --max 500000 --output busy-hour.pcap
  callgate capture --seconds 5 -o - | tshark -r - -o mtp3.standard:ANSI -o sccp.default_payload:tcap`,
		Args: exactArgs(0, "no arguments"),
	}
	c.Flags().IntVar(&seconds, "seconds", defaultCaptureSeconds, fmt.Sprintf("how long to capture (1 to %d)", maxCaptureSeconds))
	c.Flags().IntVar(&max, "max", defaultCaptureMax, fmt.Sprintf("stop after this many messages (1 to %d)", scp.MaxCapture))
	c.Flags().StringVarP(&output, "output", "o", "", "the pcap file to write ('-' = standard output)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if output == "" {
			return usagef("--output FILE.pcap is required ('-' for standard output)")
		}
		if seconds < 1 || seconds > maxCaptureSeconds {
			return usagef("--seconds %d: want 1 to %d", seconds, maxCaptureSeconds)
		}
		if max < 1 || max > scp.MaxCapture {
			return usagef("--max %d: want 1 to %d", max, scp.MaxCapture)
		}
		cfg, err := e.loadConfig()
		if err != nil {
			return err
		}
		if cfg.Admin.Listen == "" {
			return errors.New("no admin listener is configured (admin.listen): the capture is taken by the running daemon through it")
		}
		u := "http://" + cfg.Admin.Listen + "/debug/capture?" + url.Values{
			"seconds": {strconv.Itoa(seconds)}, "max": {strconv.Itoa(max)}}.Encode()
		req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Capturing the SCP's associations for %d s (at most %d messages) ...\n", seconds, max)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("asking the daemon at %s: %w (is 'callgate serve' running?)", cfg.Admin.Listen, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return fmt.Errorf("the daemon at %s: %s %s", cfg.Admin.Listen, resp.Status, bytes.TrimSpace(msg))
		}
		if output == "-" {
			if _, err := io.Copy(e.stdout, resp.Body); err != nil {
				return fmt.Errorf("reading the capture: %w", err)
			}
		} else if err := writeFileFrom(output, resp.Body); err != nil {
			return err
		}
		n, dropped := resp.Header.Get("Callgate-Messages"), resp.Header.Get("Callgate-Dropped")
		where := output
		if output == "-" {
			where = "standard output"
		}
		fmt.Fprintf(e.stderr, "Wrote %s message(s) to %s", n, where)
		if dropped != "" && dropped != "0" {
			fmt.Fprintf(e.stderr, " (%s more left out: --max reached)", dropped)
		}
		fmt.Fprintln(e.stderr, ".")
		if output != "-" {
			fmt.Fprintf(e.stderr, "Read it with: tshark -r %s -o mtp3.standard:ANSI -o sccp.default_payload:tcap\n", output)
		}
		return nil
	}
	return c
}

// writeFileFrom writes r to path, removing the file if the copy fails.
func writeFileFrom(path string, r io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
