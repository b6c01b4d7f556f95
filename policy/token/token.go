// Package token is the screening token the SIP redirect server puts in the
// Contact of a 302 that sends a call to the B2BUA, and the check the B2BUA
// runs on it.
//
// The redirect server has already asked the decision engine what to do with
// the call (screen, challenge, announce, voicemail); the B2BUA must carry that
// decision out without asking again and without trusting the caller, who sees
// the 302 and could rewrite the Contact before following it. The token
// therefore carries the decision (action, announcement, PIN allowed,
// subscriber, voicemail target) and the numbers it was made for (called,
// calling, original called, presentation), with an expiry, under an
// HMAC-SHA256 tag keyed by a secret only callgate's tiers share.
//
// Wire form (version 1), base64url without padding (RFC 4648 §5), so it fits
// a SIP URI parameter value unescaped (RFC 3261 §25.1 "unreserved"):
//
//	version(1) keyID(1) length(1) action(1) flags(1)
//	uvarint expires (Unix seconds)
//	uvarint subscriber, uvarint announcement
//	uvarint called, uvarint calling, uvarint originalCalled (E.164 as integers)
//	uvarint len(voicemail), voicemail bytes
//	tag(16) = HMAC-SHA256(secret, everything before the tag), truncated to 128 bits
//
// length is the number of bytes before the tag, so a cut-short token is told
// from a forged one without reading any field before the tag is checked.
//
// A typical token is about 60 characters. The tag is truncated to 128 bits,
// the half-length RFC 2104 §5 recommends as the minimum. Key rotation: each
// key has a one-byte ID carried in the token; Verify accepts any key of the
// set it is given, so a node signs with the new key while the B2BUAs still
// accept the old one until its tokens have expired.
//
// Inspect reads a token's claims without checking it, for tools that show or
// compare tokens (sipsim replay); only Verify decides whether to trust one.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"callgate/e164"
	"callgate/policy"
)

// URIParam is the SIP URI parameter of the Contact (and so of the Request-URI
// of the INVITE that reaches the B2BUA) that carries the token.
const URIParam = "cgt"

// Version is the wire version Sign writes and Verify accepts.
const Version = 1

// TagLen is the length of the truncated HMAC-SHA256 tag in bytes.
const TagLen = 16

// MinSecretLen is the shortest secret accepted: the HMAC-SHA256 output size,
// as RFC 2104 §3 recommends.
const MinSecretLen = 32

// MaxVoicemailLen bounds the voicemail target carried in a token, so a token
// always fits a Contact in a UDP datagram.
const MaxVoicemailLen = 160

// maxRaw bounds the encoded form Verify looks at.
const maxRaw = 512

const (
	headerLen = 5
	flagPIN   = 1 << 0
	presShift = 1 // presentation in bits 1-2
	presMask  = 3
)

// Errors returned by Verify (wrapped with details; test with errors.Is).
var (
	ErrMalformed  = errors.New("token malformed")
	ErrTruncated  = errors.New("token truncated")
	ErrVersion    = errors.New("token version not supported")
	ErrUnknownKey = errors.New("token signed with an unknown key")
	ErrSignature  = errors.New("token signature invalid")
	ErrExpired    = errors.New("token expired")
)

// Errors returned by NewSigner and Sign.
var (
	ErrShortSecret = fmt.Errorf("token secret shorter than %d bytes", MinSecretLen)
	ErrTooLong     = fmt.Errorf("token voicemail target longer than %d bytes", MaxVoicemailLen)
	ErrAction      = errors.New("token action invalid")
)

// Claims is what a token says about one call.
type Claims struct {
	Action         policy.Action
	Announcement   uint32
	PINAllowed     bool
	Subscriber     uint32
	Called         e164.Number
	Calling        e164.Number
	OriginalCalled e164.Number
	Presentation   policy.Presentation
	Voicemail      string
	Expires        time.Time // second precision
}

// Key is one signing secret and the ID that names it inside tokens.
type Key struct {
	ID     uint8
	Secret []byte
}

func (k Key) check() error {
	if len(k.Secret) < MinSecretLen {
		return fmt.Errorf("key %d: %w (%d bytes)", k.ID, ErrShortSecret, len(k.Secret))
	}
	return nil
}

// Signer makes tokens with one key. It is safe for concurrent use and keeps
// HMAC states pooled so signing on the hot path allocates only the result.
type Signer struct {
	id   uint8
	pool sync.Pool
}

// NewSigner returns a Signer for k; the secret must be at least MinSecretLen
// bytes. The secret is copied.
func NewSigner(k Key) (*Signer, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	secret := append([]byte(nil), k.Secret...)
	s := &Signer{id: k.ID}
	s.pool.New = func() any { return &signState{mac: hmac.New(sha256.New, secret)} }
	return s, nil
}

// signState is one pooled HMAC state with the buffer the token is built
// in: the buffer goes through the hash.Hash interface, so it would escape
// to the heap if it lived on the stack.
type signState struct {
	mac hash.Hash
	raw [headerLen + 6*binary.MaxVarintLen64 + MaxVoicemailLen + sha256.Size]byte
}

// KeyID is the ID of the signing key.
func (s *Signer) KeyID() uint8 { return s.id }

// Sign returns the encoded token for c.
func (s *Signer) Sign(c Claims) (string, error) {
	var buf [256]byte
	b, err := s.AppendSign(buf[:0], c)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// AppendSign appends the encoded token for c to dst.
func (s *Signer) AppendSign(dst []byte, c Claims) ([]byte, error) {
	if c.Action < policy.ActionAllow || c.Action > policy.ActionVoicemail {
		return dst, fmt.Errorf("sign: %w (%d)", ErrAction, c.Action)
	}
	if len(c.Voicemail) > MaxVoicemailLen {
		return dst, fmt.Errorf("sign: %w (%d bytes)", ErrTooLong, len(c.Voicemail))
	}
	st := s.pool.Get().(*signState)
	defer s.pool.Put(st)
	p := st.raw[:0]
	flags := byte(c.Presentation&presMask) << presShift
	if c.PINAllowed {
		flags |= flagPIN
	}
	p = append(p, Version, s.id, 0, byte(c.Action), flags)
	exp := c.Expires.Unix()
	if exp < 0 {
		exp = 0
	}
	p = binary.AppendUvarint(p, uint64(exp))
	p = binary.AppendUvarint(p, uint64(c.Subscriber))
	p = binary.AppendUvarint(p, uint64(c.Announcement))
	p = binary.AppendUvarint(p, uint64(c.Called))
	p = binary.AppendUvarint(p, uint64(c.Calling))
	p = binary.AppendUvarint(p, uint64(c.OriginalCalled))
	p = binary.AppendUvarint(p, uint64(len(c.Voicemail)))
	p = append(p, c.Voicemail...)
	p[2] = byte(len(p)) // at most 5 + 6*10 + 2 + 160 bytes

	st.mac.Reset()
	st.mac.Write(p)
	n := len(p)
	p = st.mac.Sum(p)[:n+TagLen]

	return base64.RawURLEncoding.AppendEncode(dst, p), nil
}

// Verify checks raw against keys (any of them, chosen by the key ID in the
// token) and returns its claims. A token is refused when it is not a token
// (ErrMalformed), cut short (ErrTruncated), of another version (ErrVersion),
// signed with a key not in keys (ErrUnknownKey), altered or signed with
// another secret under a known ID (ErrSignature), or past its expiry at now
// (ErrExpired). The token must be in its one canonical encoding, so no
// altered string verifies.
func Verify(keys []Key, raw string, now time.Time) (Claims, error) {
	var buf [maxRaw]byte
	b, body, err := layout(buf[:0], raw, "verify")
	if err != nil {
		return Claims{}, err
	}
	kid := b[1]
	var key *Key
	for i := range keys {
		if keys[i].ID == kid {
			key = &keys[i]
			break
		}
	}
	if key == nil {
		return Claims{}, fmt.Errorf("verify: %w (key ID %d)", ErrUnknownKey, kid)
	}
	if len(key.Secret) < MinSecretLen {
		return Claims{}, fmt.Errorf("verify: %w", key.check())
	}
	m := hmac.New(sha256.New, key.Secret)
	m.Write(b[:body])
	var sum [sha256.Size]byte
	if !hmac.Equal(m.Sum(sum[:0])[:TagLen], b[body:]) {
		return Claims{}, fmt.Errorf("verify: %w (key ID %d)", ErrSignature, kid)
	}
	// Authentic from here on: a layout error now means a signer bug.
	c, err := claimsOf(b, body, "verify")
	if err != nil {
		return Claims{}, err
	}
	if !now.Before(c.Expires) {
		return Claims{}, fmt.Errorf("verify: %w (at %s, %s ago)", ErrExpired, c.Expires.UTC().Format(time.RFC3339), now.Sub(c.Expires).Truncate(time.Second))
	}
	return c, nil
}

// Inspect reads what a token says without checking it: no key, no tag, no
// expiry. It is for tools that compare or show tokens (sipsim replay),
// never for deciding whether to trust one (Verify). It refuses what is not
// a token in the layout Verify takes.
func Inspect(raw string) (Claims, error) {
	var buf [maxRaw]byte
	b, body, err := layout(buf[:0], raw, "inspect")
	if err != nil {
		return Claims{}, err
	}
	return claimsOf(b, body, "inspect")
}

// layout decodes raw into dst and checks its frame: base64url in its
// canonical encoding, the version, and the length byte agreeing with the
// bytes there are. It returns the bytes and the length of the signed part.
func layout(dst []byte, raw, op string) ([]byte, int, error) {
	if len(raw) == 0 {
		return nil, 0, fmt.Errorf("%s: %w (empty)", op, ErrMalformed)
	}
	if len(raw) > maxRaw {
		return nil, 0, fmt.Errorf("%s: %w (%d characters, at most %d)", op, ErrMalformed, len(raw), maxRaw)
	}
	for i := 0; i < len(raw); i++ {
		if !isB64URL(raw[i]) {
			return nil, 0, fmt.Errorf("%s: %w (character %q at %d is not base64url)", op, ErrMalformed, raw[i], i+1)
		}
	}
	if len(raw)%4 == 1 {
		return nil, 0, fmt.Errorf("%s: %w (%d characters cannot be whole bytes)", op, ErrTruncated, len(raw))
	}
	b, err := base64.RawURLEncoding.AppendDecode(dst, []byte(raw))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w: %v", op, ErrMalformed, err)
	}
	if len(b) < 3 {
		return nil, 0, fmt.Errorf("%s: %w (%d bytes)", op, ErrTruncated, len(b))
	}
	if b[0] != Version {
		return nil, 0, fmt.Errorf("%s: %w (version %d, want %d)", op, ErrVersion, b[0], Version)
	}
	body := int(b[2])
	if body < headerLen {
		return nil, 0, fmt.Errorf("%s: %w (length %d)", op, ErrMalformed, body)
	}
	switch want := body + TagLen; {
	case len(b) < want:
		return nil, 0, fmt.Errorf("%s: %w (%d bytes, length says %d)", op, ErrTruncated, len(b), want)
	case len(b) > want:
		return nil, 0, fmt.Errorf("%s: %w (%d bytes after the tag)", op, ErrMalformed, len(b)-want)
	}
	if !canonicalTail(raw) {
		return nil, 0, fmt.Errorf("%s: %w (non-canonical base64 ending)", op, ErrMalformed)
	}
	return b, body, nil
}

// claimsOf decodes the claims of a token's bytes b, whose signed part is
// body bytes long.
func claimsOf(b []byte, body int, op string) (Claims, error) {
	var c Claims
	c.Action = policy.Action(b[3])
	if c.Action < policy.ActionAllow || c.Action > policy.ActionVoicemail {
		return Claims{}, fmt.Errorf("%s: %w (action %d)", op, ErrMalformed, b[3])
	}
	flags := b[4]
	rd := reader{b: b[:body], off: headerLen}
	exp := rd.uvarint()
	sub := rd.uvarint()
	ann := rd.uvarint()
	called := rd.uvarint()
	calling := rd.uvarint()
	orig := rd.uvarint()
	vlen := rd.uvarint()
	if rd.bad || rd.over || vlen != uint64(body-rd.off) {
		return Claims{}, fmt.Errorf("%s: %w (fields do not fill the signed length)", op, ErrMalformed)
	}
	c.PINAllowed = flags&flagPIN != 0
	c.Presentation = policy.Presentation((flags >> presShift) & presMask)
	if exp > 1<<62 || sub > 1<<32-1 || ann > 1<<32-1 {
		return Claims{}, fmt.Errorf("%s: %w (field out of range)", op, ErrMalformed)
	}
	c.Expires = time.Unix(int64(exp), 0)
	c.Subscriber = uint32(sub)
	c.Announcement = uint32(ann)
	c.Called = e164.Number(called)
	c.Calling = e164.Number(calling)
	c.OriginalCalled = e164.Number(orig)
	c.Voicemail = string(b[rd.off:body])
	return c, nil
}

// reader decodes uvarints, remembering the first failure.
type reader struct {
	b    []byte
	off  int
	bad  bool // ran out of bytes
	over bool // varint longer than 64 bits
}

func (r *reader) uvarint() uint64 {
	if r.bad || r.over {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	switch {
	case n == 0:
		r.bad = true
		return 0
	case n < 0:
		r.over = true
		return 0
	}
	r.off += n
	return v
}

func isB64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// canonicalTail reports whether the unused low bits of the last character
// are zero (RFC 4648 §3.5), so each byte string has exactly one encoding.
func canonicalTail(raw string) bool {
	var v byte
	switch c := raw[len(raw)-1]; {
	case c >= 'A' && c <= 'Z':
		v = c - 'A'
	case c >= 'a' && c <= 'z':
		v = c - 'a' + 26
	case c >= '0' && c <= '9':
		v = c - '0' + 52
	case c == '-':
		v = 62
	default:
		v = 63
	}
	switch len(raw) % 4 {
	case 2:
		return v&0x0f == 0
	case 3:
		return v&0x03 == 0
	}
	return true
}
