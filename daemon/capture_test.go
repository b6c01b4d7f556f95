package daemon

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The capture endpoint checks its parameters and says when there is no SCP.
func TestCaptureErrors(t *testing.T) {
	d := &Daemon{}
	for _, tc := range []struct {
		query, remote string
		want          int
	}{
		{"seconds=0", "127.0.0.1:1", http.StatusBadRequest},
		{"seconds=x", "127.0.0.1:1", http.StatusBadRequest},
		{"max=0", "127.0.0.1:1", http.StatusBadRequest},
		{"seconds=1", "127.0.0.1:1", http.StatusNotFound}, // no SCP tier
		{"seconds=1", "192.0.2.1:1", http.StatusForbidden},
	} {
		req := httptest.NewRequest(http.MethodGet, "/debug/capture?"+tc.query, nil)
		req.RemoteAddr = tc.remote
		w := httptest.NewRecorder()
		d.serveCapture(w, req)
		if w.Code != tc.want {
			t.Errorf("%s from %s: %d, want %d (%s)", tc.query, tc.remote, w.Code, tc.want, w.Body)
		}
	}
}
