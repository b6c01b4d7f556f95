// Package sipcall is what both SIP tiers (the redirect server and the
// B2BUA) need to read an INVITE the same way: the translation of its
// headers into the policy.Call the decision engine sees, and the URI
// templates (continue route, screening URI) expanded per call. Tiers never
// import each other; they share this library instead, so a call gets the
// same calling, called and original called numbers whichever SIP tier it
// reaches.
//
// # Translation
//
//   - Calling number: the first P-Asserted-Identity entry (RFC 3325) that
//     holds a telephone number, else the From URI.
//   - Presentation: Restricted when the Privacy header (RFC 3323/3325) asks
//     for id, header or user privacy, or the From is anonymous (RFC 3323
//     §4.1.1.3: anonymous@anonymous.invalid, user "anonymous", display name
//     "Anonymous"); Unavailable when no number could be found at all.
//   - Called number: the Request-URI user, else the To URI.
//   - Original called number: the oldest Diversion entry (RFC 5806: entries
//     are prepended, so the last one), else the first History-Info entry
//     (RFC 7044) when the call was retargeted; zero when it equals the
//     called number.
//   - Redirecting number (the number the call was last forwarded from,
//     the subscriber of a call the SCP forwarded to a route): the newest
//     Diversion entry (the first), else the History-Info entry the call
//     was last retargeted from; the original called number when the call
//     was forwarded once.
//   - SIP-T and SIP-I: the ISUP IAM an INVITE's body carries (RFC 3204;
//     BodyIAM, or ScanIAM without allocating; Builder.IAM) gives what the
//     headers lack: the calling
//     number when they give none, restricted presentation when the IAM
//     says so and there is no Privacy header, the original called number
//     (Original Called Number, else Redirecting Number) and the
//     redirecting number (Redirecting Number, else Original Called
//     Number) when there is neither Diversion nor History-Info.
//
// sip:, sips: and tel: URIs are understood, with or without user=phone, with
// a leading '+', NANP 10 and 11 digit forms, visual separators (RFC 3966),
// %-escapes, user parameters (;npdi, ;rn=, ;isub=) ignored, and a local
// number completed by a global ;phone-context.
//
// The translation works on strings a parser has already split (Builder),
// so the redirect tier's allocation-free datagram scanner and sipgo's parser
// (FromRequest) feed the same code; it allocates nothing.
package sipcall
