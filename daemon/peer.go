package daemon

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// operatorOf names the local user who sent r, for the log of operator
// changes. On Linux the kernel says who owns the client's end of the
// loopback connection (/proc/net/tcp): "alice (uid 1000)". Elsewhere, or
// when the socket is gone, the name the client gave is used, marked as
// such.
func operatorOf(r *http.Request, claimed string) string {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if local != nil {
		if uid, ok := socketOwner(r.RemoteAddr, local.String()); ok {
			name := strconv.FormatUint(uint64(uid), 10)
			if u, err := user.LookupId(name); err == nil {
				return fmt.Sprintf("%s (uid %d)", u.Username, uid)
			}
			return "uid " + name
		}
	}
	if claimed == "" {
		return "unknown"
	}
	return claimed + " (as the client says)"
}

// socketOwner returns the uid owning the TCP socket whose local address is
// client and whose peer is server, from /proc/net/tcp and tcp6.
func socketOwner(client, server string) (uint32, bool) {
	c, err1 := netip.ParseAddrPort(client)
	s, err2 := netip.ParseAddrPort(server)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	for _, t := range []struct {
		file string
		hex  func(netip.AddrPort) string
	}{{"/proc/net/tcp", procHex4}, {"/proc/net/tcp6", procHex6}} {
		lc, ls := t.hex(c), t.hex(s)
		if lc == "" || ls == "" {
			continue
		}
		if uid, ok := findSocket(t.file, lc, ls); ok {
			return uid, true
		}
	}
	return 0, false
}

// findSocket scans a /proc/net/tcp table for the line with local address
// local and remote address remote, and returns its uid column.
func findSocket(file, local, remote string) (uint32, bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
		fs := strings.Fields(sc.Text())
		if len(fs) < 8 || fs[1] != local || fs[2] != remote {
			continue
		}
		uid, err := strconv.ParseUint(fs[7], 10, 32)
		return uint32(uid), err == nil
	}
	return 0, false
}

// procHex4 writes an IPv4 address and port as /proc/net/tcp does: the
// address as one little-endian 32-bit word, the port big-endian, in hex.
func procHex4(ap netip.AddrPort) string {
	a := ap.Addr().Unmap()
	if !a.Is4() {
		return ""
	}
	b := a.As4()
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", b[3], b[2], b[1], b[0], ap.Port())
}

// procHex6 is procHex4 for /proc/net/tcp6: four little-endian words (an
// IPv4 client of a dual-stack socket appears there v4-mapped).
func procHex6(ap netip.AddrPort) string {
	b := ap.Addr().As16()
	var sb strings.Builder
	for w := 0; w < 16; w += 4 {
		fmt.Fprintf(&sb, "%02X%02X%02X%02X", b[w+3], b[w+2], b[w+1], b[w])
	}
	fmt.Fprintf(&sb, ":%04X", ap.Port())
	return sb.String()
}
