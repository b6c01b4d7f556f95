package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"callgate/scp"
	"callgate/sigtran/pcap"
)

// Capture limits of GET /debug/capture.
const (
	DefaultCaptureSeconds = 10
	MaxCaptureSeconds     = 3600
	DefaultCaptureMax     = 100_000
	MaxCaptureMessages    = scp.MaxCapture
)

// serveCapture is GET /debug/capture?seconds=N&max=M (`callgate capture`):
// it traces the signalling of the tier that can (Capturer: the SCP's
// associations) for N seconds or M messages and answers the pcap, with
// the counts in the headers Callgate-Messages and Callgate-Dropped.
func (d *Daemon) serveCapture(w http.ResponseWriter, r *http.Request) {
	if !loopbackOnly(w, r) {
		return
	}
	q := r.URL.Query()
	seconds, max := DefaultCaptureSeconds, DefaultCaptureMax
	var err error
	if v := q.Get("seconds"); v != "" {
		if seconds, err = strconv.Atoi(v); err != nil || seconds < 1 || seconds > MaxCaptureSeconds {
			http.Error(w, fmt.Sprintf("seconds=%q: want a whole number of seconds from 1 to %d", v, MaxCaptureSeconds), http.StatusBadRequest)
			return
		}
	}
	if v := q.Get("max"); v != "" {
		if max, err = strconv.Atoi(v); err != nil || max < 1 || max > MaxCaptureMessages {
			http.Error(w, fmt.Sprintf("max=%q: want a number of messages from 1 to %d", v, MaxCaptureMessages), http.StatusBadRequest)
			return
		}
	}
	var c Capturer
	for _, t := range d.tiers {
		if tc, ok := t.(Capturer); ok {
			c = tc
		}
	}
	if c == nil {
		http.Error(w, "no tier to capture: the SCP is not enabled (scp.enabled)", http.StatusNotFound)
		return
	}
	msgs, dropped, err := c.Capture(r.Context(), time.Duration(seconds)*time.Second, max)
	if errors.Is(err, scp.ErrCaptureBusy) {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	pw, err := pcap.NewWriter(&buf)
	for i := 0; err == nil && i < len(msgs); i++ {
		err = pw.WriteSeen(&msgs[i])
	}
	if err != nil {
		http.Error(w, "writing the capture: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.tcpdump.pcap")
	w.Header().Set("Callgate-Messages", strconv.Itoa(len(msgs)))
	w.Header().Set("Callgate-Dropped", strconv.Itoa(dropped))
	w.Write(buf.Bytes())
}
