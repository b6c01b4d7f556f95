// Package crosstier holds the test that keeps callgate's two protocol tiers
// honest with each other: the same table of calls goes through the AIN SCP
// (as a switch would send it, with the SSP simulator over M3UA/TCP) and
// through the SIP redirect server (as an INVITE over UDP), both over one
// store and one engine, and each call must get the same verdict from both
// and the verdict the engine gives when asked directly.
package crosstier
