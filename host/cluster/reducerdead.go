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

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/server"
)

// reducerDeadBucket holds the cluster's dead letters: one entry per event whose fold
// failed, key "d.<node>.<key>.<event id>" (base64url), value a reducer.DeadLetter.
const reducerDeadBucket = "onex_reducer_dead"

// Dead letters across a cluster. The key's owner records an event whose fold failed
// (the key's state is left as it was) in two writes: the entry in reducerDeadBucket,
// then the event id in the key's record (keyRecord.Dead, compare-and-set like every
// write of the record). An event later applied (a redelivery, or RetryDeadLetter)
// leaves Dead with the record's write, then its entry is deleted. An entry counts only
// while its id is in the record's Dead: a crash between the two writes of either order
// leaves an entry that DeadLetters skips (the first: the event was not answered, and
// is delivered again; the second: it was applied) and deletes.

// deadKey is the key-value key of (node, key, eventID)'s dead letter.
func deadKey(node, key, eventID string) string {
	return deadPrefix(node) + base64.RawURLEncoding.EncodeToString([]byte(key)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(eventID))
}

func deadPrefix(node string) string {
	return "d." + base64.RawURLEncoding.EncodeToString([]byte(node)) + "."
}

// putDeadLetter records ev's failed fold: its entry, then its id in the key's record
// read at rev. errStale: the record changed since it was read (read it again).
func (r *Reducers) putDeadLetter(ctx context.Context, rec keyRecord, rev uint64, node, key string, ev abi.ReduceEvent, cause error) error {
	b, err := json.Marshal(reducer.DeadLetter{Node: node, Key: key, Event: ev, Error: cause.Error(), Time: time.Now().UTC()})
	if err != nil {
		return err
	}
	if _, err := r.dead.Put(ctx, deadKey(node, key, ev.EventID), b); err != nil {
		return fmt.Errorf("cluster: record dead letter %s key %q event %q: %w", node, key, ev.EventID, err)
	}
	if slices.Contains(rec.Dead, ev.EventID) {
		return nil // failed before: the entry was updated
	}
	next := rec
	next.Dead = append(slices.Clone(rec.Dead), ev.EventID)
	nrev, err := storeRecord(ctx, r.state, node, key, rev, next)
	r.remember(node, key, next, nrev, err == nil)
	if err != nil && !errors.Is(err, errStale) {
		return fmt.Errorf("cluster: record dead letter %s key %q event %q: %w", node, key, ev.EventID, err)
	}
	return err
}

// dropDeadLetter deletes the entry of a dead letter whose event was applied (or whose
// id is no longer in its record); a failure leaves an entry DeadLetters skips.
func (r *Reducers) dropDeadLetter(ctx context.Context, node, key, eventID string) {
	if err := r.dead.Delete(ctx, deadKey(node, key, eventID)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		r.log.Debug("stale dead letter left", "node", node, "key", key, "event_id", eventID, "error", err)
	}
}

// DeadLetters lists reducer node's dead letters across the cluster, ordered by key, then
// event id, as reducer.Store.DeadLetters orders them. It reads every entry of the node
// and the record of each entry's key: its cost grows with the dead letters.
func (r *Reducers) DeadLetters(ctx context.Context, node string) ([]reducer.DeadLetter, error) {
	lister, err := r.dead.ListKeysFiltered(ctx, deadPrefix(node)+"*.*")
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("cluster: dead letters of %s: %w", node, err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var out []reducer.DeadLetter
	records := map[string]keyRecord{}
	for _, k := range keys {
		e, err := r.dead.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: dead letters of %s: %w", node, err)
		}
		var d reducer.DeadLetter
		if err := json.Unmarshal(e.Value(), &d); err != nil {
			return nil, fmt.Errorf("cluster: dead letter %s: %w", k, err)
		}
		rec, ok := records[d.Key]
		if !ok {
			if rec, _, err = loadRecord(ctx, r.state, node, d.Key); err != nil {
				return nil, err
			}
			records[d.Key] = rec
		}
		if !slices.Contains(rec.Dead, d.Event.EventID) {
			continue // stale: see the order of writes above
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b reducer.DeadLetter) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.Event.EventID, b.Event.EventID))
	})
	return out, nil
}

// RetryDeadLetter applies the dead letter (node, key, eventID)'s event again, through the
// key's owner as Apply does: when the fold succeeds the dead letter is removed, when it
// fails again the dead letter is updated (a *reducer.FoldError). An event applied since
// answers Duplicate, and its stale dead letter is removed. Errors: reducer.ErrNotFound
// when there is no such dead letter, and Apply's.
func (r *Reducers) RetryDeadLetter(ctx context.Context, node, key, eventID string) (reducer.Result, error) {
	e, err := r.dead.Get(ctx, deadKey(node, key, eventID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return reducer.Result{}, fmt.Errorf("%w: node %s key %q has no dead letter %q", reducer.ErrNotFound, node, key, eventID)
	}
	if err != nil {
		return reducer.Result{}, fmt.Errorf("cluster: dead letter %s key %q event %q: %w", node, key, eventID, err)
	}
	var d reducer.DeadLetter
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return reducer.Result{}, fmt.Errorf("cluster: dead letter %s key %q event %q: %w", node, key, eventID, err)
	}
	res, err := r.Apply(ctx, node, key, d.Event)
	if err == nil && res.Duplicate {
		r.dropDeadLetter(ctx, node, key, eventID)
	}
	return res, err
}

// Reducers is the server's ReducerCluster (serve wraps it until it starts).
var _ server.ReducerCluster = (*Reducers)(nil)
