// Package scp is callgate's AIN 0.2 service control point: it answers the
// Termination_Attempt queries of switches (SSPs) over SIGTRAN with what the
// decision engine says.
//
// The data path, one query:
//
//	M3UA DATA (sigtran/m3ua, in the configured role: ASP towards an SG/STP,
//	or SG/IPSP accepting switches, over TCP or kernel SCTP)
//	  -> SCCP UDT/XUDT (sigtran/sccp; a query for an SSN we do not serve is
//	     returned with UDTS "unequipped user" when it asks for return; SSN 0
//	     routed on global title, left to us by the STP, is ours)
//	  -> ANSI TCAP transaction layer (sigtran/tcap: malformed packages get
//	     the layer's Abort or Reject)
//	  -> AIN terminationAttempt argument (scp/ain) -> policy.Call
//	     (translate.go; the originating triggers infoAnalyzed and
//	     infoCollected -> an originating policy.Call, origination.go)
//	  -> policy.Guard.Decide under the time budget (process.go: decide)
//	  -> policy.Decision -> AIN answer in a TCAP Response (see
//	     encodeDecision for the mapping; originations get continue or
//	     disconnect) -> SCCP answer with the addresses swapped (its header
//	     kept per worker and reused while the same switch asks,
//	     sccp.AnswerCache) -> M3UA DATA with OPC/DPC swapped, same SLS, NI,
//	     MP, encoded straight into the association's outbox.
//
// Robustness. An operation we do not serve gets a Reject 2/2
// (unrecognised operation code) in a Response, as reference vector P-07R.
// A terminationAttempt whose parameters are missing or malformed gets a
// Reject 2/3 (incorrect parameter): the digest of T1.114/GR-1299
// (ain-tcap-digest §4 and §6) lists both Reject 2/3 and the AIN
// applicationError (erroneousDataValue / missingConditionalParameter) as
// possible and leaves the GR-1299 choice unverified; the Reject is the
// TCAP-level answer every ANSI TCAP stack understands without AIN
// knowledge, and tshark decodes it fully (it cannot decode AIN Return
// Error parameters). A query that cannot be decided — Decide returning
// after the time budget, panicking or returning no usable action — gets
// the configured safe answer (authorizeTermination by default; continue
// for an originating trigger), counted in callgate_scp_safe_answers_total
// by reason, and a rate-limited log line; it is never left unanswered.
// A decision the engine gave as its no-route fallback (the subscriber's
// treatment needed the B2BUA and the provider's route has no routing
// number) is counted in callgate_scp_no_route_fallback_total and warned
// about, rate-limited.
//
// Overload. Every query is counted (offered load) and its called code fed
// to a fixed-size heavy-hitter sketch (scp/overload). Above the configured
// capacity the answers for the busiest codes carry an AIN acg component
// (unlinked invoke, first in the Response, as vector P-05R), with a gap
// interval that grows with the overload; while over capacity, queries for
// those codes (the excess) get the safe answer without the engine. When
// the overload is over (load under 90 % of capacity, nothing shed, for
// Overload.RemoveAfter), the next answer to each switch for a code whose
// gap still runs there carries an acg with national gap interval 0
// ("remove gap control"), once per (code, switch); gaps last up to 2048 s,
// and without it the switches would hold back the code's calls long after
// the SCP has capacity again (scp/overload remove.go, counted in
// callgate_scp_acg_removed_total). Work is
// bounded: in pool mode queries wait in
// a fixed backlog per worker; a query arriving to a full backlog, or that
// waited longer than the time budget, is answered at once with the safe
// answer and an acg for its code, without asking the engine; queries
// queued behind a Decide that does not return are answered the same way
// by the service's ticker (every 100 ms) instead of waiting for it. A
// switch's acgOverflow (its table of controls is full) is counted and
// logged, not rejected (acgoverflow.go). Only
// load earns an acg: a safe answer because the engine failed on a query or
// a number of it cannot be read carries none (unless its code is being
// gapped anyway), as gapping is an overload control. The TCAP
// dialogue table is bounded too (further queries get Abort
// resourceUnavailable, vector P-06R).
//
// Threads. Each association's reader goroutine (sigtran/m3ua) reads what
// one read system call delivers, many messages at once, and hands each
// DATA to onData (inline.go). While decisions are fast, the reader decides
// the query itself: it decodes in place into reused structures (the
// request of its worker, process.go), decides, encodes into reused buffers
// and queues the answer on the association, which writes the answers to
// the whole batch with one write just before the reader waits for more
// (sigtran/m3ua outbox.go). No goroutine hop per query: at 50,000 queries/s
// a hand-off (copy, channel, waking a goroutine on another thread) costs
// more CPU than the decision. When decisions get slow (a moving average
// over Config.InlineLimit, 1 ms by default) queries go for a while to the
// workers instead (GOMAXPROCS by default): the reader copies each to the
// worker that owns its transaction (tcap.Transactions.ShardOf), so the
// packages of one dialogue stay in order on one worker, behind a bounded
// backlog; the copies of one read batch are handed on together at its end
// (handoff.go), so a batch wakes each worker once, not once per query.
// Config.Inline always decides on the reader; a negative InlineLimit
// always hands off: the reader then only reads, copies and writes, and an
// association's queries are decided on as many cores as there are
// workers. A reader stuck in a decision far past the
// time budget is replaced by a new one (the ticker; m3ua ReleaseReader).
// A decision that would wait for a signal (a reputation look-up not
// cached) is deferred instead (deferred.go, policy.Defer): the query is
// received anew and answered on a goroutine of its own, so no reader or
// worker waits for a provider.
// The per-query counters are sharded per worker (counts.go) and summed
// when scraped.
//
// Numbers. A 7-digit calling or called number (nature of address
// subscriber, or unknown as dialled) is completed with the home area code
// of the line, as the switch would (HomeArea: from the UserID directory
// number, the called number, or Config.HomeNPA); a caller who has a number
// is never taken for anonymous: a number that cannot be read gets the safe
// answer (reason unreadable_number).
//
// Branding (brand.go). An allowed call whose enterprise call key matched
// carries the brand (policy.Decision.Brand): authorizeTermination gets a
// genericName (calling name, 15 octets) and a displayText
// (callingPartyName, reason; 20 octets each).
//
// Lifecycle (lifecycle.go). *Service is a daemon tier: Name, Start, Ready,
// Drain, Stop, Describe (Shutdown is Drain then Stop). Ready is nil for an
// SCP that dials only while an association is ASP-ACTIVE, for one that
// accepts while it listens. Drain loses no query: the switches are told to
// use the mate (ASP Inactive, or NTFY AS-INACTIVE as an SG), everything
// they sent before is answered, then Stop closes the associations.
//
// Daemon wiring: package daemon runs the Service as one of its tiers
// (daemon.Tier): daemon/scp.go maps the scp: configuration section onto
// Config (this package never reads the daemon's configuration), and
// WithRegisterer, WithDecisionLog and WithSafeForwardRoute connect the
// daemon's metrics registry, decision log and live default route.
package scp
