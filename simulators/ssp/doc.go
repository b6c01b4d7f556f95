// Package ssp is an AIN 0.2 Service Switching Point simulator: the switch
// side of a Termination_Attempt dialogue, for tests, the sspsim command and
// load generation against the callgate SCP.
//
// A Client connects over M3UA (TCP or kernel SCTP) as an ASP towards an SG,
// with a routing context, or as an IPSP client; it brings the association
// to ASP-ACTIVE, then sends terminationAttempt queries in TCAP Query With
// Permission packages inside SCCP UDTs, and matches the answers to their
// dialogues by transaction ID through sigtran/tcap's Transactions:
//
//	c, err := ssp.Dial(ctx, ssp.Config{Connect: []string{"127.0.0.1:2905"}})
//	...
//	ans, err := c.TerminationAttempt(ctx, ssp.TA{
//		Calling: e164.MustParse("+17195551212"),
//		Called:  e164.MustParse("+13035550100"),
//	})
//	// ans.Operation == "authorizeTermination", ans.Arg is the decoded
//	// *ain.AuthorizeTerminationArg, ans.Latency the round trip.
//
// Like a real switch the Client honours AIN automatic code gapping: every
// acg component received (in any answer, or alone) updates a gap table, and
// a call whose called number falls under an active control is not queried
// but answered locally with Operation "gapped" (the switch would give it its
// default routing).
//
// With several Connect addresses (a mated pair of SCPs) the Client keeps
// one association to each and M3UA load-shares the queries over them by
// SLS; Peers counts, per SCP, what was sent, answered, timed out and lost
// in flight with an association that went down. The addresses may as well
// be a mated STP pair: an STP that reports the SCP's point code
// unavailable (DUNA) is passed over while the other reaches it
// (UnavailableVia names it); calls fail with ErrUnavailable only when
// every STP reports it. As an ASP the Client audits the SCP's point code
// with DAUD on every new association (RFC 4666 §4.5.3), so an STP that
// cannot reach the SCP is known after a reconnect without waiting for
// its next report.
//
// Load (see Run) drives the same Client open-loop at a target rate with a
// bounded number of outstanding queries, from pre-encoded message templates
// whose transaction IDs and digits are patched in place, and reports a
// latency histogram (package hist). A scenario's Trigger makes its queries
// originating ones instead (origination.go): infoAnalyzed or infoCollected
// from a line of the switch (UserID dn and CallingPartyID: TA.Calling) that
// dialled TA.Called, which the SCP answers with continue or disconnect
// (the toll-fraud lockdown of its originating chain).
package ssp
