// Package sip is a SIP phone simulator with real RTP (G.711 PCMU/PCMA, RFC
// 4733 telephone-events), on diago: the library behind the sipsim command
// and the way Go end-to-end tests drive callgate's SIP tiers (the redirect
// server and the B2BUA) from outside, as an SBC, a TDM gateway, the
// subscriber's phone and a voicemail platform would.
//
// # Phones and calls
//
// A Phone is one user agent on one address (NewPhone; port 0 picks one);
// NewPhone returns once the phone serves, so it can call at once
// (serving.go). Phone.Call places a call and returns its Result when the
// call is over; Phone.Answer makes the phone answer incoming calls and
// hands each one's AnswerResult to Answerer.Next; Phone.AnswerUser gives
// the calls to one Request-URI user their own behaviour, so one phone can
// play several subscribers. Call and Answer are the one-phone shortcuts. A
// test typically starts the subscriber's phone, points the continue route
// at it, places the call and checks both results:
//
//	sub, _ := sip.Answer(ctx, sip.PhoneConfig{}, sip.AnswerConfig{
//		RingFor:   time.Second,
//		Behaviour: sip.Behaviour{Prompts: prompts, Script: script("press-1=1")},
//	})
//	defer sub.Close()
//	// ... callgate's continue route: sub.URI("{called}")
//	res, _ := sip.Call(ctx, sip.CallConfig{
//		Target:    "sip:+13035550100@127.0.0.1:5060", // the redirect server
//		From:      "+17195551212",
//		Behaviour: sip.Behaviour{Prompts: prompts, Script: script("say-name=wait:300ms say")},
//	})
//	got, _ := sub.Next(ctx)
//	// res.Redirects[0] is the 302 to the B2BUA, res.Prompts lists what the
//	// caller heard, res.Probe.Heard && got.Probe.Heard: audio both ways.
//
// The caller follows 3xx (MaxRedirects; the Request-URI becomes the
// Contact, with its token; To and Call-ID stay), plays early media (a 183
// with SDP), keys digits, hangs up with CANCEL before the answer and BYE
// after (HangupAfter, a script's hangup, MaxDuration), and sends
// Diversion and History-Info as a gateway would after an AIN forwardCall
// (the Request-URI is then the routing number). Outcomes: answered (with
// who hung up), rejected (the final status and reason), cancelled,
// timeout, failed.
//
// Two INVITEs diago does not send, the caller sends itself on diago's
// dialog (offer.go): a late offer (LateOffer: no SDP; the 200's offer is
// answered in the ACK, RFC 3261 §13.2.1) and a SIP-T gateway's (SIPT,
// sipt.go: the ISUP IAM, written by sipcall/isup, beside the SDP in a
// multipart/mixed body, or alone with a late offer; RFC 3204, RFC 3372).
//
// The answering phone rings (180) for RingFor and answers, or refuses
// (Respond: 486, 603, ...), or rings until CANCEL (NoAnswer); in
// ModeVoicemail it answers at once, records what it hears (RecordDir) and
// reports the mailbox the redirection headers name (PickMailbox: the
// oldest Diversion entry, else the first History-Info entry, else To).
//
// # What a phone hears
//
// Every call's received audio runs through a listener (listen.go) that
// recognises the prompts of a Prompts set: the WAV files of a prompt
// directory (LoadPrompts, named by base name) and any recording added by
// name (the caller's name, for the subscriber's phone). Audio is
// fingerprinted every 10 ms as log energies in 16 mel bands (features.go);
// each reference is slid over the stream and scored by the lower of two
// correlations, of the loudness contour and of the spectral shape
// (match.go). The correlation ignores level, G.711 companding lives under
// the energy floor, lost packets are left out of the sums (placed by RTP
// sequence number and timestamp, rtprx.go; a far end that stops sending
// between prompts has its pause placed as silence after 200 ms, and a
// stall of this process is not taken for one), and sliding absorbs any offset;
// references keep 100 ms of their own leading and trailing silence, which
// tells a digit said alone from the same word inside a sentence. When two
// references explain the same audio the higher score wins. Sound no
// prompt explains (a recorded name, a voice) is reported as speech; the
// other side's probe tone is found with a Goertzel filter (tone.go).
//
// Recognition is online: a prompt is reported (and its cues fire) about
// 150 ms after it ends. Everything lands in the call's timeline
// (timeline.go): SIP requests and responses both ways with reasons, RTP
// start (early or not), prompts with scores, speech, tones, DTMF both ways
// (RFC 4733 and SIP INFO), audio played, cues fired, the outcome.
//
// # Scripts
//
// A Behaviour's Script says what to do when: cues such as
// "enter-pin=1234#", "say-name=wait:300ms say", "challenge=echo-digits",
// "@answer+30s=hangup", "enter-pin*3=0000#", and fallbacks carried out a
// while after media starts if no cue fired ("4s=1234#"). script.go holds
// the syntax. Digits go out as RFC 4733 events (the default), or by SIP
// INFO as application/dtmf-relay or application/dtmf (DTMFMode, or a
// "info:12" step).
//
// # The audio-path check
//
// After the answer, the answering phone sends its probe tone (1300 Hz) once
// its script has nothing left to do and the line has been quiet for a
// second, and again until it hears the caller's; each side answers the
// first tone it hears with its own (the caller's is 1100 Hz). Each
// Result's Probe.Heard says whether that side heard the other's tone; both
// true proves audio flows both ways through whatever bridged them.
//
// # Load
//
// Load places many concurrent calls from one phone (and can run the
// answering side in-process), holds them, and reports calls completed and
// failed by outcome, received RTP packets, loss and per-packet jitter
// (arrival spacing against timestamp spacing; p50, p99, max, in one
// fixed-memory histogram), and the simulator's own CPU and memory.
// Recognition is off in a load run unless Behaviour.Identify.
//
// Jitter is measured twice: by the receiving goroutine's clock (what an
// application sees, sipsim's own scheduling on the shared cores included)
// and, on Linux, by the kernel's receive times: the receiver opens a
// second handle on diago's RTP socket (found by its address among the
// process's descriptors) with SO_TIMESTAMPNS and reads it with recvmsg
// (rtpstamp_linux.go). On loopback the kernel stamps a datagram during the
// sender's sendmsg, so that figure is the sender's pacing alone and the
// gap between the two is the receiver's.
//
// # Replay
//
// InvitesOf takes the initial INVITEs of a capture's SIP messages, over
// UDP or TCP (pcap.ReadSIPFile), each with its captured final answer; Replay sends
// them again to a live server and says of each whether the live answer is
// the captured one (replay.go), screening tokens compared by what they say
// (token.Inspect).
//
// # Limits
//
// UDP and TCP only (no TLS, no SRTP); 8 kHz G.711 only; one audio stream
// per call; WAV files must be 8 kHz mono (16-bit PCM or 8-bit G.711), as
// the B2BUA's prompts are. After early media the call stays on the 183's
// media session: an answer repeating the 183's SDP (as early-media UASes
// do) changes nothing; one that moves the media is applied in place, as
// diago does, which races with the RTP flowing (early.go). Prompt
// recognition is tuned on espeak-ng prompts
// (TestRecognitionThroughLossAndJitter, TestReferencesAreDistinct);
// recordings of very similar short words may need the scores in the
// timeline checked.
package sip
