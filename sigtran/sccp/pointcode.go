package sccp

import (
	"fmt"
	"strconv"
	"strings"
)

// PointCode is a signalling point code: 24 bits for ANSI (network, cluster,
// member in the high, middle and low octet) or 14 bits for ITU (zone 3 bits,
// area/network 8 bits, signalling point 3 bits). The integer value is the
// one carried by M3UA's routing label and by MTP3.
type PointCode uint32

// ANSIPointCode builds an ANSI point code from network, cluster and member.
func ANSIPointCode(network, cluster, member uint8) PointCode {
	return PointCode(uint32(network)<<16 | uint32(cluster)<<8 | uint32(member))
}

// ITUPointCode builds an ITU 3-8-3 point code.
func ITUPointCode(zone, area, sp uint8) PointCode {
	return PointCode(uint32(zone&7)<<11 | uint32(area)<<3 | uint32(sp&7))
}

// Network, Cluster and Member are the ANSI components.
func (p PointCode) Network() uint8 { return uint8(p >> 16) }
func (p PointCode) Cluster() uint8 { return uint8(p >> 8) }
func (p PointCode) Member() uint8  { return uint8(p) }

// Format writes the point code the way each standard's operators write it:
// ANSI "network-cluster-member" (244-2-20), ITU "zone-area-sp" (3-8-3).
func (p PointCode) Format(v Variant) string {
	if v == ITU {
		return fmt.Sprintf("%d-%d-%d", (p>>11)&7, (p>>3)&0xFF, p&7)
	}
	return fmt.Sprintf("%d-%d-%d", p.Network(), p.Cluster(), p.Member())
}

// String formats the point code as ANSI n-c-m (callgate's networks are ANSI);
// use Format(ITU) for ITU point codes.
func (p PointCode) String() string { return p.Format(ANSI) }

// Valid reports whether p fits the variant's width.
func (p PointCode) Valid(v Variant) bool {
	if v == ITU {
		return p <= 0x3FFF
	}
	return p <= 0xFFFFFF
}

// ParsePointCode reads "n-c-m" (ANSI, each 0-255), "z-a-s" (ITU 3-8-3) or a
// plain decimal integer, for the given variant. Dots are accepted in place
// of dashes ("244.2.20").
func ParsePointCode(s string, v Variant) (PointCode, error) {
	s = strings.TrimSpace(s)
	sep := "-"
	if strings.Contains(s, ".") {
		sep = "."
	}
	parts := strings.Split(s, sep)
	if len(parts) == 1 {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("sccp: point code %q: not a number or n-c-m triple", s)
		}
		pc := PointCode(n)
		if !pc.Valid(v) {
			return 0, fmt.Errorf("sccp: point code %q out of range for %v", s, v)
		}
		return pc, nil
	}
	if len(parts) != 3 {
		return 0, fmt.Errorf("sccp: point code %q: want three parts", s)
	}
	var f [3]uint64
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return 0, fmt.Errorf("sccp: point code %q: part %d %q is not 0-255", s, i+1, p)
		}
		f[i] = n
	}
	if v == ITU {
		if f[0] > 7 || f[2] > 7 {
			return 0, fmt.Errorf("sccp: ITU point code %q: zone and signalling point must be 0-7", s)
		}
		return ITUPointCode(uint8(f[0]), uint8(f[1]), uint8(f[2])), nil
	}
	return ANSIPointCode(uint8(f[0]), uint8(f[1]), uint8(f[2])), nil
}
