package sctptest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how Need ended the test.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}

func TestNeed(t *testing.T) {
	missing := func() error { return errors.New("no sctp module") }
	present := func() error { return nil }
	for _, c := range []struct {
		name          string
		env           string
		probe         func() error
		skip, fail    bool
		mentionsEnvIn bool
	}{
		{"available", "1", present, false, false, false},
		{"missing, not required", "", missing, true, false, true},
		{"missing, required", "1", missing, false, true, true},
		{"missing, other value", "yes", missing, true, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(RequireEnv, c.env)
			r := &recorder{TB: t}
			Need(r, c.probe)
			if r.skipped != c.skip || r.failed != c.fail {
				t.Fatalf("skipped %v failed %v, want %v %v", r.skipped, r.failed, c.skip, c.fail)
			}
			if c.mentionsEnvIn && !strings.Contains(r.msg, "CALLGATE_REQUIRE_SCTP=1") {
				t.Fatalf("message %q does not name the variable", r.msg)
			}
		})
	}
}
