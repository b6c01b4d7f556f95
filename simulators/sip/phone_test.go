package sip

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"
)

// recordLog is a log handler that passes each message to seen.
type recordLog struct{ seen chan<- string }

func (h recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (h recordLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recordLog) WithGroup(string) slog.Handler            { return h }
func (h recordLog) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.seen <- r.Message:
	default:
	}
	return nil
}

// A response no transaction waits for (here a stray 200) goes to the
// phone's logger, not to slog's default on standard error.
func TestStrayResponseGoesToThePhoneLogger(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 64)
	p, err := NewPhone(context.Background(), PhoneConfig{Logger: slog.New(recordLog{seen})})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	conn, err := net.Dial("udp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stray := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP " + conn.LocalAddr().String() + ";branch=z9hG4bKstray1\r\n" +
		"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>;tag=2\r\nCall-ID: stray-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(stray)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		select {
		case m := <-seen:
			if m == "SIP response for no transaction" {
				return
			}
		case <-ctx.Done():
			t.Fatal("the stray response was not logged to the phone's logger")
		}
	}
}
