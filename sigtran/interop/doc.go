// Package interop holds the tests that put our SIGTRAN encoders in front of
// an independent decoder: every message kind the stack can send is encoded
// by our code (M3UA, ANSI/ITU SCCP, ANSI TCAP, AIN), written as a pcap of
// Ethernet/IPv4/SCTP frames with PPID 3, and decoded by Wireshark's tshark.
// The tests assert the field values tshark reads back and that it reports no
// malformed packets or other expert warnings.
package interop
