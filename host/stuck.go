package host

import (
	"slices"
	"sync"
	"time"

	"github.com/onexhost/onex-host/host/internal/watch"
)

// The last line of defence. The host stops a call at its deadline from outside (the
// watchdog), but the call only ends when the guest notices: a metered guest at its next
// fuel check, a guarded one at its next loop header, a blocking host function when it
// heeds its context. A guest that never reaches a check (a rewriter bug) or a host
// function that blocks regardless would hold its goroutine and instance, and perhaps a
// CPU, for good, and nothing in the process could end it. What the host can do is not
// hang silently: the watchdog keeps every call it stopped in its heap for
// Config.StuckGrace more (the call's own entry, pushed back; no goroutine, no timer of its
// own), and a call still running then is reported — a log line, Host.StuckCalls (the
// server's metrics and /readyz) — and quarantines its plugin, so that no new call piles
// up behind it and a supervisor can restart the process.

// StuckCall is a call that was still running Config.StuckGrace after its deadline: the
// host stopped it, and it did not end. Its plugin is quarantined (see ErrQuarantined).
type StuckCall struct {
	Plugin    string    // the plugin's name (the node's)
	Digest    string    // the plugin's digest
	Operation string    // the computation or effect it ran ("compensate <name>" for a rollback)
	Deadline  time.Time // when the host stopped it
	Ended     time.Time // when it ended after all; zero while it runs
}

// stuckCalls is the host's record of the calls that got stuck. It is safe for concurrent
// use by multiple goroutines.
type stuckCalls struct {
	// mu guards calls and open.
	mu    sync.Mutex
	calls []StuckCall // every stuck call since New, in the order they were seen
	// open maps a watch whose stuck call was seen by one side only (the watchdog's report
	// or the call's end) to its index in calls; both sides always come, except for a call
	// that never ends.
	open map[*callWatch]int
}

// note records what one side saw of w's stuck call, whichever comes first: the
// watchdog's report (ended false) or the end of the call (ended true, at now). It returns
// the record as it stands and whether the other side had already seen it.
func (s *stuckCalls) note(w *callWatch, ended bool, now time.Time) (StuckCall, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, seen := s.open[w]
	if seen {
		delete(s.open, w)
	} else {
		p := w.plugin
		i = len(s.calls)
		s.calls = append(s.calls, StuckCall{Plugin: p.name, Digest: p.digest, Operation: w.op, Deadline: w.deadline})
		if s.open == nil {
			s.open = map[*callWatch]int{}
		}
		s.open[w] = i
	}
	if ended {
		s.calls[i].Ended = now
	}
	return s.calls[i], seen
}

// StuckCalls returns every call that got stuck since New (see StuckCall), in the order
// the host saw them: those still running (Ended zero) and those that ended after all.
// Each quarantined its plugin. The slice is a copy.
func (h *Host) StuckCalls() []StuckCall {
	h.stuck.mu.Lock()
	defer h.stuck.mu.Unlock()
	return slices.Clone(h.stuck.calls)
}

// Quarantined reports whether a call of the plugin got stuck (see StuckCall). Every call
// then fails at once with ErrQuarantined, for as long as the Plugin is loaded, even once
// the stuck call ended: the plugin broke the host's guarantee that calls end at their
// deadline, and the next call may do it again. Loading the plugin again (a new Plugin)
// or restarting the process lifts it.
func (p *Plugin) Quarantined() bool { return p.quarantined.Load() }

// quarantineError is the error of a call refused because the plugin is quarantined.
func (p *Plugin) quarantineError(op string) error {
	return p.errorf(op, ErrQuarantined, "a call of this plugin ran past its deadline and did not stop; "+
		"restart the process (or load the plugin again)")
}

// callWatch is a guest's slot in the host's watchdog, with what a report of its call
// needs: the operation and the deadline, written by the owner before Arm and read by the
// watchdog's goroutine after the deadline fired (the watchdog's lock orders the two). It
// is the guest.Watch of a flavour's instance (see guestPlugin.Watch), belongs to it and,
// like it, is not safe for concurrent use.
type callWatch struct {
	entry    watch.Entry
	plugin   *Plugin
	op       string
	deadline time.Time
}

// init binds the watch to p; onExpire (nil: none) stops the call at its deadline.
func (w *callWatch) init(p *Plugin, onExpire func()) {
	w.plugin = p
	w.entry.OnExpire = onExpire
	w.entry.OnOverdue = w.overdue
}

// Arm watches a call of op that must end by deadline.
func (w *callWatch) Arm(op string, deadline time.Time) {
	w.op, w.deadline = op, deadline
	w.plugin.host.watch.Arm(&w.entry, deadline)
}

// Disarm ends the watch of the call and reports whether its deadline passed first (it
// was stopped: discard the instance). A call that was reported stuck is recorded as
// ended; its plugin stays quarantined.
func (w *callWatch) Disarm() (expired bool) {
	switch w.plugin.host.watch.Disarm(&w.entry) {
	case watch.InTime:
		return false
	case watch.Overdue:
		p := w.plugin
		p.quarantined.Store(true) // set by the report too, which may not have run yet
		now := time.Now()
		if c, reported := p.host.stuck.note(w, true, now); reported {
			p.logger.Warn("stuck call ended after all; the plugin stays quarantined",
				"node", p.name, "operation", c.Operation, "overdue", now.Sub(c.Deadline).Round(time.Millisecond))
		}
	}
	return true
}

// overdue is the entry's OnOverdue, on the watchdog's goroutine: the call is still
// running Config.StuckGrace after its deadline. The quarantine and the record come
// before the log line, so that a logger that blocks cannot hold them back.
func (w *callWatch) overdue() {
	p := w.plugin
	p.quarantined.Store(true)
	now := time.Now()
	c, ended := p.host.stuck.note(w, false, now)
	msg := "call stuck: still running after its deadline stopped it; the plugin is quarantined " +
		"(its calls fail at once) until the process restarts or the plugin is loaded again"
	args := []any{"node", p.name, "operation", c.Operation, "digest", p.digest, "timeout", p.limits.timeout,
		"overdue", now.Sub(c.Deadline).Round(time.Millisecond)}
	if ended {
		args = append(args, "ended_after", c.Ended.Sub(c.Deadline).Round(time.Millisecond))
	}
	p.logger.Error(msg, args...)
}
