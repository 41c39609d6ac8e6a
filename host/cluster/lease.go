package cluster

import (
	"context"
	"errors"
	"time"
)

// errLeaseLost cancels an effect whose record another host took over or that expired.
var errLeaseLost = errors.New("cluster: the effect's record lease was lost")

// lease holds the record of one effect running here: one goroutine renews the record
// every Lease/3 for as long as the effect runs and makes the commit guard's write, so
// that renewals and the commit never race. When the record is lost (it expired, or
// another host holds it), the effect is canceled: its commit could not be recorded.
type lease struct {
	r        *EffectRecords
	key, run string
	lost     context.CancelCauseFunc
	commits  chan commitRequest
	stopc    chan struct{}
	done     chan struct{}

	// Owned by the goroutine until done is closed, then by stop's caller.
	rev        uint64
	value      []byte
	ttl        time.Duration
	committing bool // a committing record was (or may have been) written
}

// commitRequest asks the lease's goroutine to write the committing record.
type commitRequest struct {
	ctx   context.Context
	value []byte
	reply chan error
}

// hold starts renewing run's running record (value, at revision rev).
func (r *EffectRecords) hold(key, run string, rev uint64, value []byte, lost context.CancelCauseFunc) *lease {
	l := &lease{r: r, key: key, run: run, lost: lost, commits: make(chan commitRequest), stopc: make(chan struct{}),
		done: make(chan struct{}), rev: rev, value: value, ttl: r.lease}
	go l.loop()
	return l
}

func (l *lease) loop() {
	defer close(l.done)
	every := l.r.lease / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-l.stopc:
			return
		case q := <-l.commits:
			l.committing = true
			rev, err := l.r.put(q.ctx, l.key, l.run, l.rev, q.value, 0)
			if err == nil {
				l.rev, l.value, l.ttl = rev, q.value, 0
			} else if !errors.Is(err, errLost) {
				l.r.inDoubt.Add(1)
				l.r.log.Error("effect in doubt: its commit record may have been written although it rolls back here; "+
					"a repeat is answered 503 until the record is settled", "key", l.key, "error", err)
			}
			q.reply <- err
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), every)
			rev, err := l.r.put(ctx, l.key, l.run, l.rev, l.value, l.ttl)
			cancel()
			switch {
			case err == nil:
				l.rev = rev
			case errors.Is(err, errLost):
				l.r.log.Warn("effect record lost while the effect ran; the effect is canceled", "key", l.key)
				l.lost(errLeaseLost)
				return
			default:
				l.r.log.Warn("effect record not renewed; trying again", "key", l.key, "error", err)
			}
		}
	}
}

// commit writes the committing record (value), for the effect's commit guard.
func (l *lease) commit(ctx context.Context, value []byte) error {
	q := commitRequest{ctx: ctx, value: value, reply: make(chan error, 1)}
	select {
	case l.commits <- q:
		return <-q.reply
	case <-l.done:
		return errLeaseLost
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop ends the renewals and returns the record's last known revision and whether a
// committing record was (or may have been) written.
func (l *lease) stop() (rev uint64, committing bool) {
	close(l.stopc)
	<-l.done
	return l.rev, l.committing
}
