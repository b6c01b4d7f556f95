// Package m3ua implements the MTP3 User Adaptation layer of RFC 4666:
// the wire codec for every message an ASP, IPSP or SG needs (MGMT, Transfer,
// SSNM, ASPSM, ASPTM, RKM) and an endpoint that runs the ASP/AS state machines
// over one or several associations (see Endpoint).
//
// Codec conventions, shared by every message type:
//   - MarshalLen returns the encoded length, padding included.
//   - AppendTo appends the encoding to b; MarshalBinary allocates it.
//   - UnmarshalBinary decodes one message from the start of b; byte
//     slices in the result (Protocol Data user data, Heartbeat Data,
//     Diagnostic Information) alias b and are only valid as long as b is.
//   - Decoding errors are *Error values that carry the offset of the
//     offending octet and the ERR error code (RFC 4666 §3.8.1) a peer
//     should be answered with; see CodeOf.
//   - Parameters whose tag this package does not know are skipped (they
//     are counted in Unknown); known parameters that RFC 4666 does not
//     allow in a message are rejected with "Unexpected Parameter".
//     Inside a Routing Key (REG REQ) unknown tags are rejected too: a
//     key is a filter, and dropping a criterion would widen it.
//
// Endpoint runs one role (ASP, SG or IPSP) over one or several
// associations (transport package: kernel SCTP or TCP). Client roles dial
// with exponential back-off and bring themselves to ASP-ACTIVE; the SG
// side keeps the AS state (inactive/active/pending with T(r)), sends NTFY,
// applies override or loadshare, checks routing contexts and network
// appearance, and answers DAUD; with Config.Registrar it also answers REG
// REQ / DEREG REQ (dynamic routing keys, RFC 4666 §3.6), the RCs it grants
// counting as configured ones on the registering association. A client
// with Config.Register registers its own keys with REG REQ after ASP Up
// Ack and goes ASP Active for the RCs granted (a refusal fails the
// association with a *RegistrationError, see Endpoint.LastError); the
// registration is redone on every new association. Both sides answer BEAT
// and send their own (Config.HeartbeatInterval, HeartbeatTimeout); an
// unanswered BEAT drops the association. Endpoint.Drain takes the endpoint
// out of service for a graceful shutdown without losing traffic (ASP
// Inactive from the dialling side; NTFY AS-INACTIVE to every ASP from the
// accepting side, its ASPs staying active for the answers due; then a BEAT
// round trip as a fence; see drain.go), Flush waits until the answers
// queued have reached the peers, Close ends the associations in order (ASP
// Down; from the accepting side an unsolicited ASP Down Ack). A dialling
// endpoint that an SG takes down that way while keeping the association
// sends ASP Up again after AckTimeout (RFC 4666 §4.3.4.2). A dialling
// endpoint routes around an SG that announced the AS inactive or pending
// (Endpoint.Send, which load-shares over the active associations by SLS;
// Endpoint.SendVia also names the association, for per-peer accounts), and
// around one that reported the destination unavailable (DUNA) or, while
// another SG reaches it unrestricted, restricted (DRST): destination state
// is kept per association, as learnt from that SG, and forgotten with it
// (RFC 4666 §4.5.1; Endpoint.Available, Routes). Each new association
// learns it afresh: the SG side tells an ASP that goes active which
// destinations it holds unavailable (DUNA) or restricted (DRST), and a
// dialling ASP with Config.Audit audits the point codes it sends to with
// one DAUD once active (RFC 4666 §4.5.3), the SG answering DUNA, DRST,
// DAVA or ERR Destination Status Unknown per point code (audit.go).
// Incoming DATA goes to
// Config.Handler on the association's reader goroutine; Endpoint.Send and
// Association.SendData queue outgoing DATA without blocking, on the data
// stream chosen by SLS (1 + SLS mod (streams-1); stream 0 carries
// management). The TCP transport has one stream.
//
// I/O in batches (reader.go, outbox.go). One read system call delivers
// whatever the peer sent meanwhile (transport.ReadAhead); the reader
// handles all of it, and what was queued for sending in the meantime (the
// Handler's answers, management) is written with one write when the reader
// is about to wait for the network again. What other goroutines queue
// while the reader waits wakes a writer goroutine, which writes it at
// once, so a lone message is never held back. Messages leave in the order
// they were queued.
//
// Bad input. A message this end cannot accept gets an ERR with the RFC 4666
// §3.8.1 error code and the offending message (its first 256 octets) as
// Diagnostic Information, and the association goes on: that includes a
// message of another M3UA version (ERR Invalid Version; over TCP the
// common header's length still frames the stream). Only a broken TCP
// framing (a length under 8 or over the limit below) closes the
// association, after the ERR, since the byte stream cannot be
// resynchronised.
//
// Size limit. One M3UA message, common header included, is at most
// Config.MaxMessage octets: 65,536 (64 KiB, transport.DefaultMaxMessage)
// unless configured. For scale, an AIN query in an SCCP UDT or XUDT is under
// 300 octets, a whole LUDT under 4,000. A longer message
// received is answered with ERR Protocol Error (Diagnostic: its common
// header), logged at WARN with its length and the limit, and counted in
// Stats.TooLong; over SCTP it is read out and discarded and the
// association goes on, over TCP the association is then closed.
package m3ua
