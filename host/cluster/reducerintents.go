package cluster

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/onexhost/onex-host/host/reducer"
)

// reducerFailedBucket holds the cluster's failed intents: one entry per operation id,
// key "f.<node>.<operation id>" (base64url), value a reducer.FailedIntent.
const reducerFailedBucket = "onex_reducer_failed"

// The intent dispatcher of a cluster (ReducersConfig.Carry). Each host carries out the
// pending intents of the keys whose partition it owns, one key's intents in order, one
// at a time, different keys one after another; an intent is removed from the key's
// record (compare-and-set, under the key's lock, so it never races with an event of the
// key on this host) only after Carry returned nil. A Carry error matching
// reducer.ErrPermanent moves it to the failed-intents bucket (written first, then
// removed from the record: a crash between the two carries it again, and it fails
// again into the same entry); any other error leaves it, and the intents behind it, pending,
// tried again with backoff. The keys to look at are those this host just applied an
// event to (kick), and every key of the partitions it owns, read at takeover and every
// sweepEvery (a sweep reads each key's record once: its cost grows with the keys); a
// sweep also takes over the partitions nobody owns (a dead owner's, once its lease
// expired), so their pending intents are carried out with no new event.
//
// Order of writes and crash gaps: the intent is carried out (the effect node records
// its operation id), then its removal is written. A crash, or an owner change, between
// the two carries it again with the same operation id (abi.IntentOperationID), which
// the effect's journal and EffectRecords answer without running it twice.

// sweepEvery is how often the owner reads all of its partitions' keys for pending
// intents it was not told of (a takeover also sweeps at once).
func (r *Reducers) sweepEvery() time.Duration { return 10 * r.cfg.Lease }

type nodeKey struct{ node, key string }

// kick marks (node, key) as having pending intents and wakes the dispatcher.
func (r *Reducers) kick(node, key string) {
	if r.cfg.Carry == nil {
		return
	}
	r.dmu.Lock()
	r.dirty[nodeKey{node, key}] = struct{}{}
	r.dmu.Unlock()
	select {
	case r.kickc <- struct{}{}:
	default:
	}
}

// requestSweep asks the dispatcher for a sweep (a partition was taken over).
func (r *Reducers) requestSweep() {
	if r.cfg.Carry == nil {
		return
	}
	r.dmu.Lock()
	r.sweepWanted = true
	r.dmu.Unlock()
	select {
	case r.kickc <- struct{}{}:
	default:
	}
}

// dispatch runs the dispatcher until Close.
func (r *Reducers) dispatch() {
	defer close(r.dispatched)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-r.stopc:
			cancel()
		case <-ctx.Done():
		}
	}()
	sweep := time.NewTicker(r.sweepEvery())
	defer sweep.Stop()
	backoff := time.Duration(0)
	for {
		r.dmu.Lock()
		keys := r.dirty
		r.dirty = map[nodeKey]struct{}{}
		wantSweep := r.sweepWanted
		r.sweepWanted = false
		r.dmu.Unlock()
		if wantSweep {
			r.sweep(ctx, keys)
		}
		failed := false
		for _, k := range slices.SortedFunc(func(yield func(nodeKey) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		}, func(a, b nodeKey) int { return cmp.Or(cmp.Compare(a.node, b.node), cmp.Compare(a.key, b.key)) }) {
			if err := r.carryKey(ctx, k.node, k.key); err != nil {
				if ctx.Err() != nil {
					return
				}
				failed = true
				r.dmu.Lock()
				r.dirty[k] = struct{}{}
				r.dmu.Unlock()
			}
		}
		if failed {
			// A failing key waits out its backoff; kicks meanwhile are kept in dirty.
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		backoff = 0
		select {
		case <-ctx.Done():
			return
		case <-r.kickc:
		case <-sweep.C:
			r.dmu.Lock()
			r.sweepWanted = true
			r.dmu.Unlock()
		}
	}
}

// sweep adds to keys every key of a partition this host owns. A partition that nobody
// owns (its owner died and no event came since) is taken over first, so that the
// intents its dead owner left pending are carried out without waiting for an event.
func (r *Reducers) sweep(ctx context.Context, keys map[nodeKey]struct{}) {
	lister, err := r.state.ListKeys(ctx)
	if err != nil {
		if !errors.Is(err, jetstream.ErrNoKeysFound) {
			r.log.Warn("reducer intents: sweep", "error", err)
		}
		return
	}
	byPartition := map[int][]nodeKey{}
	for k := range lister.Keys() {
		if node, key, ok := parseStateKey(k); ok {
			p := r.Partition(node, key)
			byPartition[p] = append(byPartition[p], nodeKey{node, key})
		}
	}
	for p, nks := range byPartition {
		if !r.owns(p) {
			if _, err := r.owner.Get(ctx, leaseKey(p)); !errors.Is(err, jetstream.ErrKeyNotFound) {
				continue // owned elsewhere (or unknown): its owner carries them
			}
			r.parts.forgetOwner(p)
			if owner, err := r.ownerOf(ctx, p); err != nil || owner != r.host {
				continue
			}
		}
		for _, nk := range nks {
			keys[nk] = struct{}{}
		}
	}
}

// owns reports whether this host holds partition p's lease now.
func (r *Reducers) owns(p int) bool { return r.parts.owns(p) }

// carryKey carries out (node, key)'s pending intents in order while this host owns it.
func (r *Reducers) carryKey(ctx context.Context, node, key string) error {
	p := r.Partition(node, key)
	if !r.owns(p) {
		return nil // its owner carries them (it sweeps at takeover)
	}
	rec, _, err := loadRecord(ctx, r.state, node, key)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.countPending(node, key, rec)
	r.mu.Unlock()
	for _, e := range rec.Pending {
		if !r.owns(p) {
			return nil
		}
		err := r.cfg.Carry(ctx, e)
		switch {
		case errors.Is(err, reducer.ErrPermanent) && ctx.Err() == nil:
			r.log.Warn("reducer intent failed permanently", "reducer", node, "key", key, "operation_id", e.OperationID, "error", err)
			if err := r.putFailed(ctx, e, err); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if err := r.removePending(ctx, node, key, e.OperationID, nil); err != nil {
			return err
		}
	}
	return nil
}

// removePending removes the pending intent opID of (node, key) under the key's lock,
// appending add (a retried failed intent) instead when add is set.
func (r *Reducers) removePending(ctx context.Context, node, key, opID string, add *reducer.OutboxEntry) error {
	unlock, err := r.keys.Lock(ctx, stateKey(node, key))
	if err != nil {
		return err
	}
	defer unlock()
	for {
		rec, rev, err := r.record(ctx, node, key)
		if err != nil {
			return err
		}
		kept := make([]reducer.OutboxEntry, 0, len(rec.Pending)+1)
		for _, e := range rec.Pending {
			if e.OperationID != opID {
				kept = append(kept, e)
			}
		}
		if add != nil {
			kept = append(kept, *add)
		} else if len(kept) == len(rec.Pending) {
			return nil
		}
		rec.Pending = kept
		nrev, err := storeRecord(ctx, r.state, node, key, rev, rec)
		r.remember(node, key, rec, nrev, err == nil)
		if !errors.Is(err, errStale) {
			return err
		}
	}
}

// failedKey is the failed-intents bucket's key of opID of node.
func failedKey(node, opID string) string {
	return "f." + base64.RawURLEncoding.EncodeToString([]byte(node)) + "." + base64.RawURLEncoding.EncodeToString([]byte(opID))
}

// putFailed records e as a failed intent.
func (r *Reducers) putFailed(ctx context.Context, e reducer.OutboxEntry, cause error) error {
	b, err := json.Marshal(reducer.FailedIntent{Entry: e, Error: cause.Error(), Time: time.Now()})
	if err != nil {
		return err
	}
	if _, err := r.failed.Put(ctx, failedKey(e.Reducer, e.OperationID), b); err != nil {
		return fmt.Errorf("cluster: record failed intent %s: %w", e.OperationID, err)
	}
	return nil
}

// FailedIntents lists the intents of reducer node whose Carry failed permanently,
// ordered by operation id. They are no longer pending; RetryFailed puts one back.
func (r *Reducers) FailedIntents(ctx context.Context, node string) ([]reducer.FailedIntent, error) {
	lister, err := r.failed.ListKeysFiltered(ctx, "f."+base64.RawURLEncoding.EncodeToString([]byte(node))+".*")
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("cluster: failed intents of %s: %w", node, err)
	}
	var out []reducer.FailedIntent
	for k := range lister.Keys() {
		e, err := r.failed.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: failed intents of %s: %w", node, err)
		}
		var f reducer.FailedIntent
		if err := json.Unmarshal(e.Value(), &f); err != nil {
			return nil, fmt.Errorf("cluster: failed intent %s: %w", k, err)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b reducer.FailedIntent) int { return cmp.Compare(a.Entry.OperationID, b.Entry.OperationID) })
	return out, nil
}

// RetryFailed puts the failed intent opID of reducer node back at the end of its key's
// pending intents (same operation id) and removes it from the failed intents; the key's
// owner carries it out. Errors: reducer.ErrNotFound when there is no such failed intent.
func (r *Reducers) RetryFailed(ctx context.Context, node, opID string) error {
	e, err := r.failed.Get(ctx, failedKey(node, opID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("%w: no failed intent %q of %s", reducer.ErrNotFound, opID, node)
	}
	if err != nil {
		return err
	}
	var f reducer.FailedIntent
	if err := json.Unmarshal(e.Value(), &f); err != nil {
		return fmt.Errorf("cluster: failed intent %s: %w", opID, err)
	}
	// Pending first, then the failed entry goes: a crash between leaves both, and the
	// next retry only moves the intent to the end again.
	if err := r.removePending(ctx, f.Entry.Reducer, f.Entry.Key, opID, &f.Entry); err != nil {
		return err
	}
	if err := r.failed.Delete(ctx, failedKey(node, opID), jetstream.LastRevision(e.Revision())); err != nil && !isStale(err) {
		return err
	}
	r.kick(f.Entry.Reducer, f.Entry.Key)
	return nil
}

// parseStateKey decodes a stateKey.
func parseStateKey(k string) (node, key string, ok bool) {
	parts := strings.Split(k, ".")
	if len(parts) != 3 || parts[0] != "k" {
		return "", "", false
	}
	n, err1 := base64.RawURLEncoding.DecodeString(parts[1])
	kk, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return "", "", false
	}
	return string(n), string(kk), true
}

// Keys lists up to limit keys of reducer node (every one when limit <= 0) that have
// events, in reducer.Store.Keys's order (shorter keys first, then byte order), starting
// after the key after; more reports keys after the last one listed. Each page lists
// every key name of the node in the bucket and reads the records of the page: its cost
// grows with the node's keys, not only with limit.
func (r *Reducers) Keys(ctx context.Context, node, after string, limit int) (keys []reducer.KeyInfo, more bool, err error) {
	lister, err := r.state.ListKeysFiltered(ctx, "k."+base64.RawURLEncoding.EncodeToString([]byte(node))+".*")
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("cluster: keys of %s: %w", node, err)
	}
	var names []string
	for k := range lister.Keys() {
		if n, key, ok := parseStateKey(k); ok && n == node {
			names = append(names, key)
		}
	}
	order := func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) }
	slices.SortFunc(names, order)
	if after != "" {
		i, found := slices.BinarySearchFunc(names, after, order)
		if found {
			i++
		}
		names = names[i:]
	}
	for _, k := range names {
		if limit > 0 && len(keys) == limit {
			return keys, true, nil
		}
		rec, _, err := loadRecord(ctx, r.state, node, k)
		if err != nil {
			return nil, false, err
		}
		if rec.Sequence == 0 {
			continue // no event applied, only dead letters: not a key yet
		}
		keys = append(keys, reducer.KeyInfo{Key: k, Sequence: rec.Sequence})
	}
	return keys, false, nil
}

// countPending notes rec's pending intents as (node, key)'s; r.mu is held.
func (r *Reducers) countPending(node, key string, rec keyRecord) {
	if len(rec.Pending) == 0 {
		delete(r.pending, nodeKey{node, key})
		return
	}
	r.pending[nodeKey{node, key}] = len(rec.Pending)
}

// PendingIntents returns, per reducer node, the intents pending in the records of the
// keys whose partitions this host owns now, as of its last read or write of each record
// (its own events, carried intents and Done at once; a failed intent retried, or a Done,
// from another host at its next read of the record: its next sweep, within sweepEvery,
// or the key's next event). Each key is counted by its owner only: summed over the hosts
// it is the cluster's count. It does not block on the network.
func (r *Reducers) PendingIntents() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, n := range r.pending {
		switch held, live := r.parts.holds(r.Partition(k.node, k.key)); {
		case !held:
			// Not ours (any more): its owner counts it, and a takeover reads the record
			// again (the sweep).
			delete(r.pending, k)
		case live:
			out[k.node] += n
		}
	}
	return out
}
