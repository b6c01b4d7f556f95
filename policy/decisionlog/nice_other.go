//go:build !linux

package decisionlog

import "errors"

func setThreadSched(int, bool, int) error {
	return errors.New("a thread's own scheduling is set on Linux only")
}

func threadID() int { return 0 }
