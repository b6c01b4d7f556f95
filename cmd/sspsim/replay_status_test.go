package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"callgate/scp/ain"
	"callgate/simulators/ssp/ssptest"
)

// replay exits as diff(1) does: 0 all answers as captured, 1 some differ,
// 2 trouble. A CI job replaying traces tells a changed SCP (1) from a
// replay that could not be made (2). TestReplay has 0 and 1 for answers
// that are or are not the captured ones.
func TestReplayExitStatus(t *testing.T) {
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "not.pcap")
	if err := os.WriteFile(notPcap, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	oneQuery := filepath.Join(vectors, "ta_disconnect.pcap")
	silent := responder(t, func(*ain.TerminationAttemptArg) ssptest.Reply { return ssptest.Reply{Drop: true} })

	// An SCP that answers the first query and then goes away: the
	// replay cannot go on.
	var n atomic.Int32
	var gone *ssptest.Responder
	gone, err := ssptest.Start(ssptest.Config{Decide: func(*ain.TerminationAttemptArg) ssptest.Reply {
		if n.Add(1) == 2 {
			go gone.Close()
			return ssptest.Reply{Drop: true}
		}
		return ssptest.Reply{}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gone.Close() })

	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no live answer within the timeout: the SCP answered differently", []string{oneQuery, "--connect", silent, "--timeout", "200ms"}, 1, ""},
		{"usage error", []string{oneQuery, "--connect", silent, "--rc", "ten"}, 2, `--rc "ten"`},
		{"not a capture", []string{notPcap, "--connect", silent}, 2, "not a pcap or pcapng file"},
		{"nothing to replay", []string{filepath.Join(vectors, "m3ua_asp.pcap"), "--connect", silent}, 2, "no AIN query in the capture"},
		{"nobody at the address", []string{oneQuery, "--connect", "127.0.0.1:1", "--connect-timeout", "300ms"}, 2, "not ASP-ACTIVE"},
		{"the SCP gone half-way", []string{filepath.Join(vectors, "public_all.pcap"), "--connect", gone.Addr(), "--timeout", "300ms", "--connect-timeout", "300ms"}, 2, "queries replayed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", append([]string{"replay"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.err, tc.err) {
				t.Fatalf("exit %d, stderr %q; want %d and %q\n%s", r.code, r.err, tc.code, tc.err, r.out)
			}
		})
	}
}
