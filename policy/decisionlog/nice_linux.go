package decisionlog

import "golang.org/x/sys/unix"

// setThreadSched puts thread tid (0: the calling one) under SCHED_IDLE
// (idle) or under the normal time-sharing policy at nice value nice.
// Linux keeps both per thread: a thread ID names the thread alone. A
// thread of a process run under a real-time policy (chrt) leaves it, since
// nice means nothing there and an equal real-time priority would let a
// commit hold a core from the query path.
func setThreadSched(tid int, idle bool, nice int) error {
	policy := uint32(unix.SCHED_NORMAL)
	if idle {
		policy = unix.SCHED_IDLE
	}
	return unix.SchedSetAttr(tid, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: policy, Nice: int32(nice)}, 0)
}

// threadID is the calling OS thread's ID.
func threadID() int { return unix.Gettid() }
