//go:build race

package scp

// raceEnabled: the race detector allocates, so allocation counts are not
// checked under it.
const raceEnabled = true
