package token

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
)

var (
	k1 = Key{ID: 1, Secret: bytes.Repeat([]byte{0x11}, 32)}
	k2 = Key{ID: 2, Secret: bytes.Repeat([]byte{0x22}, 32)}
	t0 = time.Unix(1_800_000_000, 0)
)

func sample() Claims {
	return Claims{
		Action:         policy.ActionScreen,
		Announcement:   42,
		PINAllowed:     true,
		Subscriber:     7,
		Called:         e164.MustParse("+13035550100"),
		Calling:        e164.MustParse("+12125550199"),
		OriginalCalled: e164.MustParse("+13035550111"),
		Presentation:   policy.PresentationRestricted,
		Voicemail:      "sip:vm@vm.example",
		Expires:        t0.Add(60 * time.Second),
	}
}

func mustSign(t testing.TB, k Key, c Claims) string {
	t.Helper()
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestRoundTrip(t *testing.T) {
	for _, c := range []Claims{
		sample(),
		{Action: policy.ActionChallenge, Called: e164.MustParse("+442079460000"), Expires: t0.Add(time.Second)},
		{Action: policy.ActionVoicemail, Voicemail: strings.Repeat("v", MaxVoicemailLen), Expires: t0.Add(time.Hour)},
		{Action: policy.ActionBlockWithAnnouncement, Announcement: 1<<32 - 1, Subscriber: 1<<32 - 1, Expires: t0.Add(time.Minute)},
	} {
		raw := mustSign(t, k1, c)
		for i := 0; i < len(raw); i++ {
			if !isB64URL(raw[i]) {
				t.Fatalf("token %q has %q, not allowed unescaped in a SIP URI parameter", raw, raw[i])
			}
		}
		got, err := Verify([]Key{k2, k1}, raw, t0)
		if err != nil {
			t.Fatalf("Verify(%q): %v", raw, err)
		}
		if got != c {
			t.Fatalf("claims: got %+v, want %+v", got, c)
		}
	}
	if n := len(mustSign(t, k1, Claims{Action: policy.ActionScreen, Called: e164.MustParse("+13035550100"), Calling: e164.MustParse("+12125550199"), Expires: t0})); n > 70 {
		t.Errorf("typical token is %d characters, want a compact one (<= 70)", n)
	}
}

func TestRefused(t *testing.T) {
	raw := mustSign(t, k1, sample())
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	wrongSecret := Key{ID: 1, Secret: bytes.Repeat([]byte{0x33}, 32)}
	cases := []struct {
		name string
		keys []Key
		raw  string
		now  time.Time
		want error
	}{
		{"empty", []Key{k1}, "", t0, ErrMalformed},
		{"bad character", []Key{k1}, raw[:10] + "." + raw[11:], t0, ErrMalformed},
		{"newline inside", []Key{k1}, raw[:10] + "\n" + raw[10:], t0, ErrMalformed},
		{"padding", []Key{k1}, raw + "==", t0, ErrMalformed},
		{"truncated by one", []Key{k1}, raw[:len(raw)-1], t0, ErrTruncated},
		{"truncated tag", []Key{k1}, raw[:len(raw)-8], t0, ErrTruncated},
		{"truncated to header", []Key{k1}, raw[:4], t0, ErrTruncated},
		{"extended", []Key{k1}, raw + "AAAA", t0, ErrMalformed},
		{"forged tag", []Key{k1}, flip(raw, len(raw)-3), t0, ErrSignature},
		{"forged claims", []Key{k1}, flip(raw, 8), t0, ErrSignature},
		{"wrong secret", []Key{wrongSecret}, raw, t0, ErrSignature},
		{"unknown key", []Key{k2}, raw, t0, ErrUnknownKey},
		{"no keys", nil, raw, t0, ErrUnknownKey},
		{"expired", []Key{k1}, raw, t0.Add(60 * time.Second), ErrExpired},
		{"long expired", []Key{k1}, raw, t0.Add(24 * time.Hour), ErrExpired},
		{"version", []Key{k1}, "Ag" + raw[2:], t0, ErrVersion},
		{"too long", []Key{k1}, strings.Repeat("A", maxRaw+4), t0, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Verify(tc.keys, tc.raw, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: err %v, want %v", err, tc.want)
			}
			if c != (Claims{}) {
				t.Fatalf("refused token returned claims %+v", c)
			}
		})
	}
	// The errors are distinct from each other.
	all := []error{ErrMalformed, ErrTruncated, ErrVersion, ErrUnknownKey, ErrSignature, ErrExpired}
	for i, a := range all {
		for j, b := range all {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v matches %v", a, b)
			}
		}
	}
}

func TestNonCanonicalTail(t *testing.T) {
	// Find a token whose length leaves spare bits in the last character,
	// then set them: the bytes decode the same, the string must not verify.
	for vm := 0; vm < 3; vm++ {
		c := sample()
		c.Voicemail = strings.Repeat("x", vm)
		raw := mustSign(t, k1, c)
		if len(raw)%4 == 0 {
			continue
		}
		b := []byte(raw)
		last := strings.IndexByte(alphabet, b[len(b)-1])
		b[len(b)-1] = alphabet[last|1]
		if string(b) == raw {
			continue
		}
		if _, err := Verify([]Key{k1}, string(b), t0); !errors.Is(err, ErrMalformed) {
			t.Fatalf("non-canonical %q: err %v, want ErrMalformed", b, err)
		}
		return
	}
	t.Fatal("no token length with spare bits found")
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestRotation(t *testing.T) {
	old := mustSign(t, k1, sample())
	cur := mustSign(t, k2, sample())
	ring := []Key{k2, k1}
	for _, raw := range []string{old, cur} {
		if _, err := Verify(ring, raw, t0); err != nil {
			t.Fatalf("rotation ring refused %q: %v", raw, err)
		}
	}
	if _, err := Verify([]Key{k2}, old, t0); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("retired key: err %v, want ErrUnknownKey", err)
	}
}

func TestSignErrors(t *testing.T) {
	if _, err := NewSigner(Key{ID: 1, Secret: []byte("short")}); !errors.Is(err, ErrShortSecret) {
		t.Fatalf("short secret: %v", err)
	}
	s, _ := NewSigner(k1)
	if _, err := s.Sign(Claims{Action: 0}); !errors.Is(err, ErrAction) {
		t.Fatalf("no action: %v", err)
	}
	if _, err := s.Sign(Claims{Action: policy.ActionScreen, Voicemail: strings.Repeat("v", MaxVoicemailLen+1)}); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long voicemail: %v", err)
	}
	if _, err := Verify([]Key{{ID: 1, Secret: []byte("short")}}, mustSign(t, k1, sample()), t0); !errors.Is(err, ErrShortSecret) {
		t.Fatalf("verify with a short key: %v", err)
	}
}

func FuzzToken(f *testing.F) {
	raw := mustSign(f, k1, sample())
	f.Add(raw, 0, byte(0))
	f.Add(raw, len(raw)-1, byte('A'))
	f.Add(raw, 5, byte('\n'))
	f.Add("", 0, byte(0))
	f.Add("AQ", 1, byte('-'))
	f.Add(mustSign(f, k2, Claims{Action: policy.ActionVoicemail, Expires: t0}), 3, byte('z'))
	f.Fuzz(func(t *testing.T, s string, pos int, c byte) {
		// Arbitrary input never panics and never verifies (it was not signed).
		if cl, err := Verify([]Key{k1, k2}, s, t0); err == nil && s != raw {
			// Only strings produced by Sign may verify; re-signing the
			// claims must give the same string.
			again := mustSign(t, Key{ID: s2id(t, s), Secret: secretFor(s2id(t, s))}, cl)
			if again != s {
				t.Fatalf("accepted %q that Sign did not produce (re-sign gives %q)", s, again)
			}
		}
		// A mutation of a valid token (replace, insert, delete one byte) is refused.
		if pos < 0 {
			pos = -pos
		}
		p := pos % (len(raw) + 1)
		muts := []string{raw[:p] + string(c) + raw[p:]}
		if p < len(raw) {
			muts = append(muts, raw[:p]+raw[p+1:])
			if raw[p] != c {
				muts = append(muts, raw[:p]+string(c)+raw[p+1:])
			}
		}
		for _, m := range muts {
			if _, err := Verify([]Key{k1, k2}, m, t0); err == nil {
				t.Fatalf("mutated token %q accepted", m)
			}
		}
	})
}

func s2id(t *testing.T, s string) uint8 {
	b, err := decodeForTest(s)
	if err != nil || len(b) < 2 {
		t.Fatalf("verified token %q does not decode", s)
	}
	return b[1]
}

func secretFor(id uint8) []byte {
	if id == 2 {
		return k2.Secret
	}
	return k1.Secret
}

func BenchmarkSign(b *testing.B) {
	s, _ := NewSigner(k1)
	c := sample()
	var buf [256]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AppendSign(buf[:0], c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	raw := mustSign(b, k1, sample())
	keys := []Key{k1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(keys, raw, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// Inspect reads a token's claims without a key, expired or not, and
// refuses what is not a token.
func TestInspect(t *testing.T) {
	c := sample()
	raw := mustSign(t, k1, c)
	got, err := Inspect(raw)
	if err != nil || got != c {
		t.Fatalf("Inspect: %+v, %v; want %+v", got, err, c)
	}
	if _, err := Verify([]Key{k1}, raw, c.Expires.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("Verify after expiry: %v", err)
	}
	for _, bad := range []string{"", "not a token!", raw[:len(raw)-3], "AgEF"} {
		if _, err := Inspect(bad); err == nil {
			t.Errorf("Inspect(%q) read it", bad)
		}
	}
}

// FuzzInspect: no input panics Inspect, and what it reads of a string
// Verify accepts is what Verify reads.
func FuzzInspect(f *testing.F) {
	f.Add(mustSign(f, k1, sample()))
	f.Add("AQEF")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		ic, ierr := Inspect(s)
		vc, verr := Verify([]Key{k1, k2}, s, t0)
		if verr == nil && (ierr != nil || ic != vc) {
			t.Fatalf("Verify read %+v, Inspect %+v, %v", vc, ic, ierr)
		}
	})
}
