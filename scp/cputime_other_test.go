//go:build !linux

package scp

import "testing"

type cpuClock struct{}

func startCPU(*testing.B) *cpuClock      { return &cpuClock{} }
func (c *cpuClock) stop(*testing.B, int) {}
