package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"callgate/simulators/ssp/dissect"
)

func (e *env) decodeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "decode FILE.pcap|FILE.pcapng|HEX...|-",
		Short: "Decode M3UA / SCCP / TCAP / AIN from a capture or hex",
		Long: `decode prints each message's layers — M3UA, SCCP (ANSI, or ITU when it only
reads as ITU), ANSI TCAP, and the AIN operations with their parameters — as
readable text, or as JSON with --json.

Arguments that name an existing file are read as pcap or pcapng captures
(Ethernet with or without VLAN tags, Linux cooked SLL and SLL2, raw IP or
loopback link types, several in one pcapng; IP fragments reassembled; M3UA
over SCTP, or over TCP reassembled). What a capture holds but cannot be read
(frames cut by the snap length, a file cut short) is reported by frame. Other arguments are hex: spaces, colons, dashes, dots
and "0x" prefixes are ignored, and the arguments are joined, so a dump pasted
with spaces is one input; separate several inputs with ',' or ';'. "-" reads
hex from standard input, one input per line. Hex is recognised by its first
octets as an M3UA message (version 1), an SCCP UDT/UDTS/XUDT/XUDTS/LUDT, or a
bare TCAP package (E1-E6, F6); consecutive M3UA messages or TCAP packages in
one input are decoded one after the other.

A message that does not decode is reported with the frame (or input) and the
octet offset of the problem, and decoding continues with the next message;
the exit status is then 1.`,
		Example: `  # A golden vector capture
  sspsim decode testdata/vectors/ta_authorize.pcap

  # Bare TCAP, as hex with spaces (P-05R: acg + authorizeTermination)
  sspsim decode e4 35 c7 04 00 00 01 05 e8 2d e9 1f cf 01 02 d1 02 69 01 f2 16 9f 3b 01 01 \
      9f 3e 01 05 9f 3f 01 05 9f 46 01 00 9f 45 03 03 53 55 e9 0a cf 02 03 01 d1 02 65 02 f2 00

  # Two inputs, as JSON: an SCCP UDT copied from Wireshark ("Copy as hex stream")
  # and a colon-separated M3UA ASP Up
  sspsim decode --json '098003080d05c3f81402f405c3f90a01f434e232c70400000101e82ae928cf0101d1026405f21fbf3507810503535510008d01008f0703100353551000920703131759552121;
      01:00:03:01:00:00:00:10:00:11:00:08:00:00:00:01'

  # One hex dump per line
  grep m3ua: testdata/vectors/vectors.hex | cut -d' ' -f4 | sspsim decode -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var msgs []dissect.Message
			var fileErrs []string
			var hexArgs []string
			flushHex := func() {
				if len(hexArgs) > 0 {
					msgs = append(msgs, dissect.DecodeHexArgs(hexArgs)...)
					hexArgs = nil
				}
			}
			for _, a := range args {
				if a == "-" {
					flushHex()
					var lines []string
					sc := bufio.NewScanner(e.stdin)
					sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
					for sc.Scan() {
						if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
							lines = append(lines, l)
						}
					}
					if err := sc.Err(); err != nil {
						return fmt.Errorf("reading standard input: %w", err)
					}
					msgs = append(msgs, dissect.DecodeHexArgs([]string{strings.Join(lines, "\n")})...)
					continue
				}
				if st, err := os.Stat(a); err == nil && !st.IsDir() {
					flushHex()
					m, err := dissect.DecodeCapture(a)
					msgs = append(msgs, m...)
					if err != nil { // it names the file
						fileErrs = append(fileErrs, err.Error())
					}
					continue
				}
				hexArgs = append(hexArgs, a)
			}
			flushHex()
			bad := len(fileErrs) > 0
			for _, m := range msgs {
				bad = bad || len(m.Errors) > 0
			}
			if e.jsonOut {
				out := struct {
					Messages []dissect.Message `json:"messages"`
					Errors   []string          `json:"fileErrors,omitempty"`
				}{msgs, fileErrs}
				if out.Messages == nil {
					out.Messages = []dissect.Message{}
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			} else {
				for i, m := range msgs {
					if i > 0 {
						fmt.Fprintln(e.stdout)
					}
					fmt.Fprint(e.stdout, m.Text())
				}
				for _, fe := range fileErrs {
					fmt.Fprintln(e.stderr, "sspsim:", fe)
				}
			}
			if bad {
				return exitError{Code: 1}
			}
			return nil
		},
	}
}
