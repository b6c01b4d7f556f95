package decisionlog

import "golang.org/x/sys/unix"

// setThreadNice puts the calling OS thread under the normal time-sharing
// policy at nice value n (Linux keeps both per thread: a thread ID names
// the thread alone). A thread of a process run under a real-time policy
// (chrt) leaves it, since nice means nothing there and an equal real-time
// priority would let a commit hold a core from the query path.
func setThreadNice(n int) error {
	return unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL, Nice: int32(n)}, 0)
}
