package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"sync"
	"time"

	"callgate/store"
)

// Browser sessions of the web UI. A login (store.CheckWebLogin: bcrypt,
// lockout after failed attempts on every node) makes a session: a random
// id in a cookie (HttpOnly, SameSite=Strict, Secure over TLS, path /ui/)
// and a CSRF token every form carries and every POST must echo. A session
// not used for Config.SessionIdle ends, and so does one whose user (or
// its tenant) was deleted, at its next request. Sessions live in this
// process: a restart logs everyone out. Logins are also limited per
// client address (loginLimiter) before the password is even checked.

const sessionCookie = "callgate_session"

// session is one logged-in browser.
type session struct {
	id   string
	user store.WebUser
	csrf string
	last time.Time
}

// sessions holds the live sessions.
type sessions struct {
	mu   sync.Mutex
	m    map[string]*session
	idle time.Duration
	now  func() time.Time
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error()) // the platform cannot make secrets
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// start makes a session for u.
func (ss *sessions) start(u store.WebUser) *session {
	s := &session{id: randomToken(), user: u, csrf: randomToken(), last: ss.now()}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	// Drop expired sessions while here, so the map stays bounded by the
	// sessions used within the idle time.
	for id, o := range ss.m {
		if ss.now().Sub(o.last) > ss.idle {
			delete(ss.m, id)
		}
	}
	ss.m[s.id] = s
	return s
}

// get returns the live session with id and marks it used; an idle one
// is ended.
func (ss *sessions) get(id string) (*session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[id]
	if !ok {
		return nil, false
	}
	now := ss.now()
	if now.Sub(s.last) > ss.idle {
		delete(ss.m, id)
		return nil, false
	}
	s.last = now
	return s, true
}

func (ss *sessions) end(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

// csrfHeader carries the session's CSRF token on a script's request whose
// body is not a form (the subscriber import's streamed upload). Another
// site cannot set it: a cross-origin request with a custom header needs a
// CORS preflight, which is never granted.
const csrfHeader = "X-CSRF-Token"

// validCSRF says whether the request echoes the session's token, in the
// form or in the csrfHeader.
func (s *session) validCSRF(r *http.Request) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// loginLimiter allows each client address a burst of login attempts
// refilled at a steady rate (a token bucket per address).
type loginLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	burst   float64
	every   time.Duration // one attempt back per this
	now     func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// allow takes one attempt for the request's client, or says when to retry.
func (l *loginLimiter) allow(r *http.Request) (bool, time.Duration) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[host]
	if !ok {
		if len(l.buckets) > 100_000 {
			clear(l.buckets) // bounded memory under a spray of addresses
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[host] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.every))
	}
	b.tokens--
	return true, 0
}
