package redirect

import (
	"hash/maphash"
	"sync/atomic"
	"time"
)

// Stable answers without state. A stateless server must give a
// retransmitted INVITE the same final response (RFC 3261 §8.2.7: "the same
// To tag"), because the upstream proxy may have lost the first one. Two
// things in a response are not a function of the request alone:
//
//   - The To tag: derived from the transaction's identity (txHash: Call-ID,
//     From tag, top Via branch, CSeq number), keyed with a per-server random
//     seed, so it is the same for every retransmission and not predictable
//     by the caller.
//   - The screening token's expiry (tokenExpiry): the token is signed over
//     its expiry, so a retransmission decided a second later would carry a
//     different token. The expiry is taken from a coarse clock (whole
//     multiples of a grain of TokenLifetime/8, 1 s to 8 s, rounded down, so
//     a token lives between TokenLifetime-grain and TokenLifetime), and the
//     expiry given to each transaction is remembered in a small fixed-size
//     table (tokenMemoSlots entries of 8 bytes, lock-free, overwritten
//     freely) that a retransmission finds while the token is still valid.
//     The token of a retransmission therefore differs only when both the
//     table slot was reused (at 50,000 screened calls/s a slot lives about
//     5 s on average) and a grain boundary was crossed in between. Even
//     then nothing breaks: the upstream client transaction has already
//     taken the first final response it received (RFC 3261 §17.1.1.2) and
//     absorbs later ones, and each token is valid on its own.

// tokenMemoSlots is the size of the expiry table (2 MiB).
const tokenMemoSlots = 1 << 18

// txHashOf hashes a transaction's identity. Fields are length-prefixed so
// that no two different requests hash the same input.
func (s *Server) txHashOf(callID, fromTag, branch string, seq uint32) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	for _, f := range [3]string{callID, fromTag, branch} {
		n := len(f)
		h.Write([]byte{byte(n >> 8), byte(n)})
		h.WriteString(f)
	}
	h.Write([]byte{byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq)})
	return h.Sum64()
}

func (s *Server) txHash(v *reqView) uint64 {
	return s.txHashOf(v.callID, v.fromTag, v.branch, v.cseqSeq)
}

// appendToTag appends the To tag for transaction hash h: "cg" and 16 hex
// digits.
func appendToTag(b []byte, h uint64) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, 'c', 'g')
	for i := 0; i < 8; i++ {
		c := byte(h >> (8 * i))
		b = append(b, hexd[c>>4], hexd[c&15])
	}
	return b
}

// tokenMemo is the expiry table: each slot holds the upper 32 bits of a
// transaction hash and the expiry (Unix seconds) it was given.
type tokenMemo struct {
	slots []atomic.Uint64
}

// newTokenMemo makes the expiry table with its pages already in memory.
// Made on the first screened call instead, the first reader there took
// the page faults for the whole table while the other readers waited for
// it, long enough for each to count its datagram as one that waited and
// drop to one datagram per read for a second (udpbatch.go).
func newTokenMemo() tokenMemo {
	m := tokenMemo{slots: make([]atomic.Uint64, tokenMemoSlots)}
	for i := 0; i < len(m.slots); i += 512 { // one word per 4 KiB page
		m.slots[i].Store(0)
	}
	return m
}

// tokenExpiry returns the expiry of the screening token for the
// transaction with hash h (see above).
func (s *Server) tokenExpiry(h uint64) time.Time {
	now := s.now().Unix()
	life := int64(s.cfg.TokenLifetime / time.Second)
	exp := now + life
	exp -= exp % s.expiryGrain
	slot := &s.memo.slots[h&(tokenMemoSlots-1)]
	old := slot.Load()
	if old>>32 == h>>32 {
		if e := int64(uint32(old)); e > now && e <= now+life {
			return time.Unix(e, 0)
		}
	}
	slot.Store(h>>32<<32 | uint64(uint32(exp)))
	return time.Unix(exp, 0)
}

// expiryGrainFor is the coarse-clock grain for a token lifetime, in seconds.
func expiryGrainFor(lifetime time.Duration) int64 {
	g := int64(lifetime/time.Second) / 8
	return min(max(g, 1), 8)
}

// hashBytes hashes a whole datagram (the To tag of the raw 400 replies of
// prescan, which cannot trust the request's fields).
func hashBytes(s *Server, b []byte) uint64 { return maphash.Bytes(s.seed, b) }
