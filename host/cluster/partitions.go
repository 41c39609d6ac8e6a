package cluster

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// partitions holds leases on numbered partitions in a key-value bucket: one entry per
// partition ("p.<n>", see leaseKey) naming the host that owns it, with a TTL of lease;
// the owner renews it every lease/3 with a compare-and-set on its revision, so a host
// that lost it (it expired, another host took it) learns so at its next renewal. A
// partition whose owner dies is free once its entry expired. Reducers (keys) and
// Workflows (workflow ids) each keep their own table. Safe for concurrent use.
type partitions struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	bucket string
	host   string
	lease  time.Duration
	log    *slog.Logger
	what   string // for logs: "reducer partition", "workflow partition"
	// taken, when set, is called (without locks held) after this host took a
	// partition over (not after a renewal); lost after a renewal found the partition
	// held by another host (or expired and gone).
	taken, lost func(p int)

	mu     sync.Mutex
	owned  map[int]*partitionLease // partitions this host holds
	owners map[int]string          // last known owner of other partitions

	stopc chan struct{}
	done  chan struct{}
}

type partitionLease struct {
	rev   uint64
	until time.Time // when the lease expires if not renewed (local clock, conservative)
}

func newPartitions(js jetstream.JetStream, kv jetstream.KeyValue, bucket, host string, lease time.Duration, log *slog.Logger, what string) *partitions {
	return &partitions{js: js, kv: kv, bucket: bucket, host: host, lease: lease, log: log, what: what,
		owned: map[int]*partitionLease{}, owners: map[int]string{}, stopc: make(chan struct{}), done: make(chan struct{})}
}

// owns reports whether this host holds partition p's lease now.
func (t *partitions) owns(p int) bool {
	held, live := t.holds(p)
	return held && live
}

// holds reports whether this host holds a lease on p (held) and whether it is still
// counted on (live: renewed within the last 2/3 of a lease).
func (t *partitions) holds(p int) (held, live bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.owned[p]
	return l != nil, l != nil && time.Now().Before(l.until)
}

// ownedNow returns the partitions this host holds a live lease on.
func (t *partitions) ownedNow() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	var out []int
	for p, l := range t.owned {
		if now.Before(l.until) {
			out = append(out, p)
		}
	}
	return out
}

// ownerOf returns the owner of partition p, taking it over when nobody holds it.
// errLeaseBusy: the lease is held by a host that did not answer yet.
func (t *partitions) ownerOf(ctx context.Context, p int) (string, error) {
	t.mu.Lock()
	if l := t.owned[p]; l != nil && time.Now().Before(l.until) {
		t.mu.Unlock()
		return t.host, nil
	}
	if o, ok := t.owners[p]; ok {
		t.mu.Unlock()
		return o, nil
	}
	t.mu.Unlock()
	e, err := t.kv.Get(ctx, leaseKey(p))
	switch {
	case err == nil && string(e.Value()) != t.host:
		t.mu.Lock()
		t.owners[p] = string(e.Value())
		t.mu.Unlock()
		return string(e.Value()), nil
	case err == nil: // our own lease, which we no longer count on: take it again below
		rev, err := t.writeLease(ctx, p, e.Revision())
		if err != nil {
			return "", errLeaseBusy
		}
		t.hold(p, rev)
		t.tookOver(p)
		return t.host, nil
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return "", err
	}
	rev, err := t.kv.Create(ctx, leaseKey(p), []byte(t.host), jetstream.KeyTTL(t.lease))
	if err != nil {
		if isStale(err) {
			return "", errLeaseBusy
		}
		return "", err
	}
	t.log.Debug(t.what+" taken", "partition", p, "host", t.host)
	t.hold(p, rev)
	t.tookOver(p)
	return t.host, nil
}

func (t *partitions) tookOver(p int) {
	if t.taken != nil {
		t.taken(p)
	}
}

// free reports whether nobody holds partition p's lease (it expired or was released),
// forgetting its last known owner then.
func (t *partitions) free(ctx context.Context, p int) bool {
	_, err := t.kv.Get(ctx, leaseKey(p))
	if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return false
	}
	t.forgetOwner(p)
	return true
}

// hold records partition p as ours at lease revision rev.
func (t *partitions) hold(p int, rev uint64) {
	t.mu.Lock()
	t.owned[p] = &partitionLease{rev: rev, until: time.Now().Add(t.lease * 2 / 3)}
	delete(t.owners, p)
	t.mu.Unlock()
}

// forget drops what is known of partition p's owner after an attempt through it failed.
func (t *partitions) forget(p int, owner string) {
	t.mu.Lock()
	if owner == t.host {
		delete(t.owned, p)
	} else if t.owners[p] == owner {
		delete(t.owners, p)
	}
	t.mu.Unlock()
}

// forgetOwner drops the last known owner of partition p (not ours).
func (t *partitions) forgetOwner(p int) {
	t.mu.Lock()
	delete(t.owners, p)
	t.mu.Unlock()
}

// writeLease renews partition p's lease at revision rev (with its TTL).
func (t *partitions) writeLease(ctx context.Context, p int, rev uint64) (uint64, error) {
	msg := &nats.Msg{Subject: "$KV." + t.bucket + "." + leaseKey(p), Data: []byte(t.host)}
	ack, err := t.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(t.lease))
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// renew renews this host's leases every lease/3 until stop.
func (t *partitions) renew() {
	defer close(t.done)
	every := t.lease / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-t.stopc:
			return
		case <-tick.C:
		}
		t.mu.Lock()
		held := make(map[int]uint64, len(t.owned))
		for p, l := range t.owned {
			held[p] = l.rev
		}
		t.mu.Unlock()
		for p, rev := range held {
			ctx, cancel := context.WithTimeout(context.Background(), every)
			next, err := t.writeLease(ctx, p, rev)
			cancel()
			switch {
			case err == nil:
				t.hold(p, next)
			case isStale(err):
				t.log.Warn(t.what+" lost", "partition", p, "host", t.host)
				t.forget(p, t.host)
				if t.lost != nil {
					t.lost(p)
				}
			default:
				t.log.Warn(t.what+" lease not renewed; trying again", "partition", p, "error", err)
			}
		}
	}
}

// stop ends the renewals (a crash stops there: halt).
func (t *partitions) stop() {
	close(t.stopc)
	<-t.done
}

// release gives up this host's leases, so that other hosts take them over at once.
func (t *partitions) release() {
	t.mu.Lock()
	held := t.owned
	t.owned = map[int]*partitionLease{}
	t.mu.Unlock()
	for p, l := range held {
		ctx, cancel := context.WithTimeout(context.Background(), t.lease)
		_ = t.kv.Delete(ctx, leaseKey(p), jetstream.LastRevision(l.rev))
		cancel()
	}
}

// leaseKey is the key-value key of partition p's lease.
func leaseKey(p int) string { return "p." + strconv.Itoa(p) }
