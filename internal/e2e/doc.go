// Package e2e holds callgate's end-to-end tests: one real daemon
// (daemon.New with every call tier on loopback: the SIP redirect server,
// the AIN SCP and the B2BUA, each on a free port) over a small platform
// seeded through its live store, driven from outside by the simulators a
// network would put around it: sipsim phones (simulators/sip) as the SBC,
// the TDM gateway, the subscribers' phones and the voicemail platform,
// and sspsim (simulators/ssp) as the switch. Every call is checked by
// what the phones heard (prompts recognised in the RTP, probe tones both
// ways through the bridge) and what they were sent (statuses, CANCEL,
// Diversion), and the decision log is searched as `callgate log search`
// does for the steps the B2BUA recorded.
//
// proxy_test.go puts peers that are not callgate's code in front of it: a
// carrier's proxy (Kamailio, testdata/kamailio/proxy.cfg) that follows the
// redirect server's 302s, and a softphone (baresip, internal/baresiptest)
// calling through it.
package e2e
