package redirect

import (
	"testing"
	"time"
)

// TestEnrolSeenBounds: an enrolment is remembered for Timer B and no
// longer, at most enrolRememberMax at once (the oldest forgotten first),
// and one remembered again keeps its newer answer when its older place
// in the ring is passed.
func TestEnrolSeenBounds(t *testing.T) {
	e := newEnrolSeen()
	t0 := time.Unix(1_700_000_000, 0)
	e.put(1, "sip:a", t0)
	if u, ok := e.get(1, t0.Add(enrolRemember-time.Millisecond)); !ok || u != "sip:a" {
		t.Fatalf("within Timer B: %q %v", u, ok)
	}
	if _, ok := e.get(1, t0.Add(enrolRemember)); ok {
		t.Fatal("remembered past Timer B")
	}
	e.put(1, "sip:b", t0.Add(enrolRemember)) // the old entry expires as this one goes in
	if u, ok := e.get(1, t0.Add(enrolRemember+time.Second)); !ok || u != "sip:b" {
		t.Fatalf("remembered again: %q %v", u, ok)
	}
	for i := range uint64(enrolRememberMax) {
		e.put(100+i, "sip:x", t0.Add(enrolRemember+time.Second))
	}
	if e.n != enrolRememberMax || len(e.byID) != enrolRememberMax {
		t.Fatalf("%d in the ring, %d in the map, want at most %d", e.n, len(e.byID), enrolRememberMax)
	}
	if _, ok := e.get(1, t0.Add(enrolRemember+time.Second)); ok {
		t.Error("the oldest was not forgotten when the bound was reached")
	}
	if _, ok := e.get(100+enrolRememberMax-1, t0.Add(enrolRemember+time.Second)); !ok {
		t.Error("the newest was forgotten")
	}
}
