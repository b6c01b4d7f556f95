// Package tsharktest runs Wireshark's tshark on captures our code wrote, so
// tests can assert that an independent decoder reads our bytes as intended.
// tshark is a required test peer (make test installs it): its absence fails
// the test rather than skipping it.
package tsharktest

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// Options are the decode preferences for ANSI SS7 over SIGTRAN: ANSI point
// codes, TCAP on every SSN, and checksum validation so a bad CRC32c or IPv4
// checksum shows up as expert info.
var Options = []string{
	"-o", "mtp3.standard:ANSI",
	"-o", "sccp.default_payload:tcap",
	"-o", "sctp.checksum:CRC-32C",
	"-o", "ip.check_checksum:TRUE",
}

// Path returns tshark's path or fails the test.
func Path(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatalf("tshark is required (Debian package tshark; `make test` installs it): %v", err)
	}
	return p
}

// Run runs tshark -r pcap with Options and the extra arguments, returning stdout.
func Run(t testing.TB, pcap string, args ...string) string {
	t.Helper()
	full := append([]string{"-r", pcap}, Options...)
	full = append(full, args...)
	cmd := exec.Command(Path(t), full...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(full, " "), err, errb.String())
	}
	return out.String()
}

// Fields returns one row per frame matching filter, with the values of the
// given fields (tshark -T fields; multiple occurrences joined by ',').
func Fields(t testing.TB, pcap, filter string, fields ...string) [][]string {
	t.Helper()
	return FieldsOpts(t, pcap, filter, nil, fields...)
}

// FieldsOpts is Fields with extra tshark options (e.g. "-o",
// "mtp3.standard:ITU"), which override Options.
func FieldsOpts(t testing.TB, pcap, filter string, opts []string, fields ...string) [][]string {
	t.Helper()
	args := append([]string{}, opts...)
	args = append(args, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,")
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(Run(t, pcap, args...), "\n"), "\n") {
		if line == "" {
			continue
		}
		rows = append(rows, strings.Split(line, "\t"))
	}
	return rows
}

// Expert returns tshark's expert-info lines for warnings and errors
// (malformed packets, bad checksums, unknown values). An empty result means
// tshark found nothing to complain about.
func Expert(t testing.TB, pcap string, opts ...string) []string {
	t.Helper()
	out := Run(t, pcap, append(opts, "-q", "-z", "expert,warn")...)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=") || strings.HasPrefix(l, "Frequency") ||
			strings.HasPrefix(l, "Running as user") || isSectionHeader(l) {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// isSectionHeader matches "Errors (3)", "Warns (1)" and the like.
func isSectionHeader(l string) bool {
	i := strings.IndexByte(l, ' ')
	return i > 0 && strings.HasPrefix(l[i:], " (") && strings.HasSuffix(l, ")") && !strings.Contains(l[i+2:], " ")
}
