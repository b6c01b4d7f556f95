package main

import (
	"crypto/ecdsa"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callgate/stir"
	"callgate/stir/pki"
)

// stirCmd groups the STIR/SHAKEN tools: they work on files, never on the
// store or a daemon.
func (e *env) stirCmd() *cobra.Command {
	return group("stir", "STIR/SHAKEN tools: verify or sign one INVITE, make a lab PKI",
		e.stirVerifyCmd(), e.stirSignCmd(), group("pki", "test PKIs for labs", e.stirPKIDemoCmd()))
}

// readInput reads a file, or standard input for "-".
func (e *env) readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(e.stdin)
	}
	return os.ReadFile(path)
}

// parseAt reads --at: Unix seconds; "" is now.
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, usagef("--at %q: want Unix seconds (e.g. %d)", s, time.Now().Unix())
	}
	return time.Unix(n, 0), nil
}

// stirVerifyOutput is what `stir verify` prints.
type stirVerifyOutput struct {
	Verdict      string   `json:"verdict"`
	Reason       string   `json:"reason"`
	ResponseCode int      `json:"response_code,omitempty"`
	ResponseText string   `json:"response_text,omitempty"`
	Verstat      string   `json:"verstat"`
	Attestation  string   `json:"attestation"`
	OrigID       string   `json:"origid,omitempty"`
	OrigTN       string   `json:"orig_tn,omitempty"`
	X5U          string   `json:"x5u,omitempty"`
	Diverted     bool     `json:"diverted,omitempty"`
	Header       int      `json:"identity_header"`
	Detail       string   `json:"detail,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
}

func (e *env) stirVerifyCmd() *cobra.Command {
	var invite, at, anchors, inter, crl string
	var certs []string
	var o stir.Offline
	c := &cobra.Command{
		Use:   "verify --invite FILE --trust-anchors PEM [--at UNIX] [--intermediates PEM] [--crl PEM] [--allow-http-x5u]",
		Short: "verify one INVITE's Identity headers offline, with a fixed clock",
		Long: `Verify the STIR/SHAKEN Identity headers of one SIP request (RFC 8224, RFC 8588, RFC 8946),
the way the SIP tier's verification service does, and print the verdict (valid, invalid or
none), the reason code, the RFC 8224 response code, the verstat value, the attestation and
the origid. It exits 0 whenever it ran, whatever the verdict.

The certificate named by x5u is fetched (https only; --allow-http-x5u also allows plain http
and lab addresses), or given with --cert URL=FILE. Trust comes only from --trust-anchors.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.At, err = parseAt(at); err != nil {
				return err
			}
			if o.Invite, err = e.readInput(invite); err != nil {
				return fmt.Errorf("--invite: %w", err)
			}
			if o.Anchors, err = os.ReadFile(anchors); err != nil {
				return fmt.Errorf("--trust-anchors: %w", err)
			}
			if inter != "" {
				if o.Intermediates, err = os.ReadFile(inter); err != nil {
					return fmt.Errorf("--intermediates: %w", err)
				}
			}
			if crl != "" {
				if o.CRLs, err = os.ReadFile(crl); err != nil {
					return fmt.Errorf("--crl: %w", err)
				}
			}
			o.Certs = map[string][]byte{}
			for _, c := range certs {
				url, file, ok := strings.Cut(c, "=")
				if !ok || url == "" || file == "" {
					return usagef("--cert %q: want URL=FILE", c)
				}
				if o.Certs[url], err = os.ReadFile(file); err != nil {
					return fmt.Errorf("--cert: %w", err)
				}
			}
			r, err := o.Run(cmd.Context())
			if err != nil {
				return err
			}
			out := stirVerifyOutput{
				Verdict: r.Verdict.String(), Reason: string(r.Reason), ResponseCode: r.ResponseCode(),
				ResponseText: r.Reason.ResponseText(), Verstat: r.Verstat(), Attestation: r.Attestation.String(),
				OrigID: r.OrigID, OrigTN: r.OrigTN, X5U: r.X5U, Diverted: r.Diverted, Header: r.Header,
				Detail: r.Detail, Warnings: r.Warnings,
			}
			return e.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "verdict:       %s\nreason:        %s\n", out.Verdict, out.Reason)
				if out.ResponseCode != 0 {
					fmt.Fprintf(w, "response:      %d %s\n", out.ResponseCode, out.ResponseText)
				}
				fmt.Fprintf(w, "verstat:       %s\nattestation:   %s\n", out.Verstat, out.Attestation)
				if out.OrigID != "" {
					fmt.Fprintf(w, "origid:        %s\n", out.OrigID)
				}
				if out.X5U != "" {
					fmt.Fprintf(w, "x5u:           %s\n", out.X5U)
				}
				if out.Diverted {
					fmt.Fprintf(w, "diverted:      yes (div PASSporT)\n")
				}
				if out.Detail != "" {
					fmt.Fprintf(w, "detail:        %s\n", out.Detail)
				}
				for _, wn := range out.Warnings {
					fmt.Fprintf(w, "warning:       %s\n", wn)
				}
			})
		},
	}
	f := c.Flags()
	f.StringVar(&invite, "invite", "", "the SIP request, as text (- reads standard input)")
	f.StringVar(&at, "at", "", "the call's time in Unix seconds (default now)")
	f.StringVar(&anchors, "trust-anchors", "", "PEM file of the STI-CA trust anchors (never the system roots)")
	f.StringVar(&inter, "intermediates", "", "PEM file of extra intermediate CA certificates")
	f.StringVar(&crl, "crl", "", "PEM file of CRLs (used instead of fetching the distribution point)")
	f.BoolVar(&o.AllowHTTP, "allow-http-x5u", false, "lab: fetch x5u over plain http and from loopback/private addresses")
	f.StringArrayVar(&certs, "cert", nil, "URL=FILE: use FILE as the certificate at x5u URL instead of fetching it (repeatable)")
	f.DurationVar(&o.Wait, "timeout", 10*time.Second, "how long to wait for a certificate or CRL fetch")
	f.DurationVar(&o.Freshness, "freshness", 60*time.Second, "how old iat may be")
	f.DurationVar(&o.Skew, "skew", 5*time.Second, "how far iat may be ahead of --at")
	f.BoolVar(&o.RequireCRL, "require-crl", false, "fail when the certificate's CRL cannot be had")
	_ = c.MarkFlagRequired("invite")
	_ = c.MarkFlagRequired("trust-anchors")
	return c
}

func (e *env) stirSignCmd() *cobra.Command {
	var invite, at, keyFile, x5u, attest, origID string
	c := &cobra.Command{
		Use:   "sign --invite FILE --key PEM --x5u URL --attest A|B|C [--origid ID] [--at UNIX]",
		Short: "sign one INVITE: add an Identity header with a SHAKEN PASSporT",
		Long: `Sign a SIP request the way the SIP tier's authentication service does: a SHAKEN PASSporT
(ES256) for the calling number of P-Asserted-Identity (else From) and the called number of To,
with the attestation given (ATIS-1000074: A = the customer and the number are known to you,
B = the customer but not the number, C = gateway traffic). Prints the request with the
Identity header added (--json: the Identity value and the request).`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			when, err := parseAt(at)
			if err != nil {
				return err
			}
			msg, err := e.readInput(invite)
			if err != nil {
				return fmt.Errorf("--invite: %w", err)
			}
			key, err := readECKey(keyFile)
			if err != nil {
				return err
			}
			s, err := stir.NewSigner(key, x5u)
			if err != nil {
				return usageError{Err: err}
			}
			if origID == "" {
				origID = stir.NewOrigID()
			}
			signed, id, err := stir.SignInvite(msg, s, strings.ToUpper(attest), origID, when)
			if err != nil {
				return err
			}
			return e.emit(map[string]string{"identity": id, "invite": string(signed), "origid": origID},
				func(w io.Writer) { w.Write(signed) })
		},
	}
	f := c.Flags()
	f.StringVar(&invite, "invite", "", "the SIP request, as text (- reads standard input)")
	f.StringVar(&keyFile, "key", "", "PEM file of the SP certificate's ECDSA P-256 private key")
	f.StringVar(&x5u, "x5u", "", "URL where the SP certificate is published")
	f.StringVar(&attest, "attest", "", "attestation: A, B or C")
	f.StringVar(&origID, "origid", "", "origination identifier (default: a new UUID)")
	f.StringVar(&at, "at", "", "iat in Unix seconds (default now)")
	for _, n := range []string{"invite", "key", "x5u", "attest"} {
		_ = c.MarkFlagRequired(n)
	}
	return c
}

// readECKey reads a PEM private key (PKCS #8 or SEC 1).
func readECKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	k, err := stir.ParseECKey(data)
	if err != nil {
		return nil, fmt.Errorf("--key %s: %w", path, err)
	}
	return k, nil
}

func (e *env) stirPKIDemoCmd() *cobra.Command {
	var spc, crlURL string
	c := &cobra.Command{
		Use:   "demo DIR",
		Short: "write a lab PKI: STI-CA root, intermediate, SP certificate with a TNAuthList, key, CRL",
		Long: `Write a test PKI into DIR for labs: root.pem (the trust anchor to configure),
intermediate.pem, sp.pem (the SP certificate with a TNAuthList holding --spc, followed by the
intermediate: what the x5u URL serves), sp-key.pem (its private key, unencrypted) and crl.pem.
Not for production.`,
		Args: exactArgs(1, "the directory to write"),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := pki.WriteDemo(args[0], spc, crlURL, time.Now())
			if err != nil {
				return err
			}
			return e.emit(d, func(w io.Writer) {
				for _, f := range d.Files {
					fmt.Fprintln(w, f)
				}
			})
		},
	}
	c.Flags().StringVar(&spc, "spc", "1234", "Service Provider Code for the TNAuthList")
	c.Flags().StringVar(&crlURL, "crl-url", "", "CRL distribution point to put in the SP certificate")
	return c
}
