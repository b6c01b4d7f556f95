//go:build !linux

package decisionlog

import "errors"

func setThreadNice(int) error { return errors.New("a thread's own priority is set on Linux only") }
