package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name        string
		width       int
		unit        Unit
		done, total int64
		elapsed     time.Duration
		want        []string // substrings
		maxLen      int
	}{
		{"half", 60, Count, 500, 1000, time.Second, []string{"import [", "  50%", "500/1000", "500/s"}, 60},
		{"full", 60, Count, 1000, 1000, 2 * time.Second, []string{"100%", "=]"}, 60},
		{"bytes", 70, Bytes, 3 << 20, 12 << 20, time.Second, []string{"3.0 MiB/12.0 MiB", "3.0 MiB/s"}, 70},
		{"unknown total", 60, Count, 42, -1, 0, []string{"import 42"}, 60},
		{"narrow", 20, Count, 1, 2, 0, []string{"import"}, 20},
		{"overshoot", 60, Count, 2000, 1000, 0, []string{"100%"}, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Render(tc.width, "import", tc.unit, tc.done, tc.total, tc.elapsed)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("Render = %q, missing %q", got, w)
				}
			}
			if len(got) > tc.maxLen {
				t.Errorf("Render = %q: %d columns, want <= %d", got, len(got), tc.maxLen)
			}
		})
	}
}

func TestNotATerminalDrawsNothing(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf)
	if b.Enabled() {
		t.Fatal("bar enabled on a bytes.Buffer")
	}
	b.Set("import", Count, 1, 2)
	b.Finish()
	if buf.Len() != 0 {
		t.Fatalf("wrote %q to a non-terminal", buf.String())
	}
}

func TestThrottle(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	b := &Bar{w: &buf, enabled: true, width: 60, now: func() time.Time { return now }}
	b.Set("read", Count, 1, 100)
	b.Set("read", Count, 2, 100) // within 100 ms: skipped
	if n := strings.Count(buf.String(), "\r"); n != 1 {
		t.Fatalf("%d draws, want 1", n)
	}
	b.Set("write", Count, 0, 100) // new label: drawn at once
	now = now.Add(200 * time.Millisecond)
	b.Set("write", Count, 50, 100)
	b.Set("write", Count, 100, 100) // completion always drawn
	if n := strings.Count(buf.String(), "\r"); n != 4 {
		t.Fatalf("%d draws, want 4: %q", n, buf.String())
	}
	b.Finish()
	if !strings.HasSuffix(buf.String(), "\n") {
		t.Fatal("Finish did not end the line")
	}
}
