package main

import (
	"strings"

	"github.com/spf13/cobra"

	"callgate/e164"
	"callgate/simulators/sip"
	"callgate/sipcall/isup"
)

// bodyFlags say what the INVITE carries besides, or instead of, an SDP
// offer: none (a late offer), and an ISUP IAM (SIP-T).
type bodyFlags struct {
	lateOffer, sipT, isupRequired           bool
	variant, calling, originalCalled, redir string
}

func (f *bodyFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.lateOffer, "late-offer", false, "send the INVITE without SDP (RFC 3261 §13.2.1): the offer comes in the 200, our answer goes in the ACK; no early media")
	fl.BoolVar(&f.sipT, "sip-t", false, "send the INVITE as a SIP-T gateway does (RFC 3372): the ISUP IAM beside the SDP in a multipart/mixed body (RFC 3204), or alone with --late-offer")
	fl.StringVar(&f.variant, "isup-variant", "ansi", "the IAM's ISUP variant with --sip-t: ansi (T1.113, version=ansi00) or itu (Q.763, version=itu-t92+)")
	fl.StringVar(&f.calling, "iam-calling", "", "the IAM's Calling Party Number with --sip-t (default --calling when it is a number); restricted with --anonymous or --privacy id")
	fl.StringVar(&f.originalCalled, "iam-original-called", "", "the IAM's Original Called Number with --sip-t: the subscriber a forwarded call was meant for")
	fl.StringVar(&f.redir, "iam-redirecting", "", "the IAM's Redirecting Number with --sip-t: the number that last forwarded the call")
	fl.BoolVar(&f.isupRequired, "isup-required", false, "mark the ISUP part handling=required with --sip-t (default optional)")
}

// config sets cfg's LateOffer and SIPT; calling and privacy are the call's
// --calling and --privacy.
func (f *bodyFlags) config(cfg *sip.CallConfig, calling, privacy string) error {
	cfg.LateOffer = f.lateOffer
	if !f.sipT {
		for name, v := range map[string]string{"--iam-calling": f.calling, "--iam-original-called": f.originalCalled, "--iam-redirecting": f.redir} {
			if v != "" {
				return usagef("%s needs --sip-t", name)
			}
		}
		return nil
	}
	t := &sip.SIPT{OriginalCalled: f.originalCalled, Redirecting: f.redir, Required: f.isupRequired,
		Restricted: strings.EqualFold(strings.TrimSpace(privacy), "id")}
	switch strings.ToLower(f.variant) {
	case "ansi":
		t.Variant = isup.ANSI
	case "itu":
		t.Variant = isup.ITU
	default:
		return usagef("--isup-variant %q: want ansi or itu", f.variant)
	}
	t.Calling = f.calling
	if t.Calling == "" {
		if _, err := e164.Parse(calling); err == nil {
			t.Calling = calling
		}
	}
	for name, v := range map[string]string{"--iam-calling": t.Calling, "--iam-original-called": t.OriginalCalled, "--iam-redirecting": t.Redirecting} {
		if _, err := e164.Parse(v); v != "" && err != nil {
			return usagef("%s %q: want an E.164 number (%v)", name, v, err)
		}
	}
	cfg.SIPT = t
	return nil
}
