package main

// callgate capture: a pcap of the running SCP's M3UA associations, taken by
// the daemon (GET /debug/capture on the admin listener, daemon/capture.go)
// and written here, for Wireshark or sspsim replay. No tcpdump, no root,
// and the trace decodes as M3UA even when the associations run over TCP
// (the frames are written as SCTP, as sigtran/pcap does for every capture
// of ours).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"callgate/daemon"
)

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
	c.Flags().IntVar(&seconds, "seconds", daemon.DefaultCaptureSeconds, fmt.Sprintf("how long to capture (1 to %d)", daemon.MaxCaptureSeconds))
	c.Flags().IntVar(&max, "max", daemon.DefaultCaptureMax, fmt.Sprintf("stop after this many messages (1 to %d)", daemon.MaxCaptureMessages))
	c.Flags().StringVarP(&output, "output", "o", "", "the pcap file to write ('-' = standard output)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if output == "" {
			return usagef("--output FILE.pcap is required ('-' for standard output)")
		}
		if seconds < 1 || seconds > daemon.MaxCaptureSeconds {
			return usagef("--seconds %d: want 1 to %d", seconds, daemon.MaxCaptureSeconds)
		}
		if max < 1 || max > daemon.MaxCaptureMessages {
			return usagef("--max %d: want 1 to %d", max, daemon.MaxCaptureMessages)
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
