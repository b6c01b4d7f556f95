package decisionlog

import "golang.org/x/sys/unix"

// setThreadNice sets the nice value of the calling OS thread (Linux keeps
// one per thread: PRIO_PROCESS with a thread ID names the thread alone).
func setThreadNice(n int) error {
	return unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), n)
}
