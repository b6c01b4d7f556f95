package b2bua

import (
	"sync"
	"time"

	"callgate/policy/decisionlog"
)

// stepLog hands treatment steps to the decision log. Adding a step is a
// bbolt commit, so a single goroutine of its own does it, fed by a bounded
// queue: a call never waits for the disk, and when the queue is full the
// step is counted (callgate_b2bua_steps_unlogged_total) and dropped from
// the log, never blocking the call.
type stepLog struct {
	log     *decisionlog.Log
	q       chan stepItem
	done    chan struct{}
	dropped func()

	mu     sync.RWMutex // add holds it shared; close exclusively
	closed bool
}

type stepItem struct {
	ref  decisionlog.Ref
	step decisionlog.Step
}

const stepQueue = 4096

func newStepLog(l *decisionlog.Log, dropped func()) *stepLog {
	sl := &stepLog{log: l, q: make(chan stepItem, stepQueue), done: make(chan struct{}), dropped: dropped}
	go sl.run()
	return sl
}

func (sl *stepLog) add(ref decisionlog.Ref, s decisionlog.Step) {
	if sl.log == nil {
		return
	}
	sl.mu.RLock()
	defer sl.mu.RUnlock()
	if sl.closed {
		sl.dropped()
		return
	}
	select {
	case sl.q <- stepItem{ref, s}:
	default:
		sl.dropped()
	}
}

// run writes queued steps, those of one call together.
func (sl *stepLog) run() {
	defer close(sl.done)
	var batch []decisionlog.Step
	for it := range sl.q {
		batch = append(batch[:0], it.step)
		// Steps of the same call queued meanwhile share the commit.
	more:
		for len(batch) < 64 {
			select {
			case next, ok := <-sl.q:
				if !ok {
					break more
				}
				if next.ref != it.ref {
					sl.write(it.ref, batch)
					it, batch = next, append(batch[:0], next.step)
					continue
				}
				batch = append(batch, next.step)
			default:
				break more
			}
		}
		sl.write(it.ref, batch)
	}
}

func (sl *stepLog) write(ref decisionlog.Ref, steps []decisionlog.Step) {
	if err := sl.log.AddSteps(ref, steps...); err != nil {
		for range steps {
			sl.dropped()
		}
	}
}

// close writes what is queued (waiting at most timeout) and stops; steps
// added later are counted as unlogged.
func (sl *stepLog) close(timeout time.Duration) {
	sl.mu.Lock()
	if !sl.closed {
		sl.closed = true
		close(sl.q)
	}
	sl.mu.Unlock()
	select {
	case <-sl.done:
	case <-time.After(timeout):
	}
}
