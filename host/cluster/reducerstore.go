package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/reducer"
)

// reducerStateBucket holds one record per (reducer node, key): the cluster's durable
// reducer state. reducerOwnersBucket holds one lease per key partition.
const (
	reducerStateBucket  = "onex_reducers"
	reducerOwnersBucket = "onex_reducer_owners"
)

// keyRecord is the durable state of one (node, key), the value of its key-value entry.
// Every write of it is a compare-and-set on the entry's revision, so the revision is the
// fencing token: a host that read an older record cannot overwrite a newer one.
type keyRecord struct {
	Sequence uint64          `json:"sequence"`
	State    json.RawMessage `json:"state"`
	// Seen is the dedupe window: the ids of the key's most recent events (at most
	// DedupeWindow), oldest first, with the sequence each got.
	Seen []seenEvent `json:"seen,omitempty"`
	// Pending are the intents not yet reported done (Reducers.Done), in order.
	Pending []reducer.OutboxEntry `json:"pending,omitempty"`
	// Dead are the ids of the key's events whose fold failed and that were not applied
	// since: their dead letters (reducerdead.go). A key whose events all failed has a
	// record with sequence 0.
	Dead []string `json:"dead,omitempty"`
}

type seenEvent struct {
	ID  string `json:"id"`
	Seq uint64 `json:"seq"`
}

// seen returns the sequence event id got, or 0 when it is not in the window.
func (r *keyRecord) seen(id string) uint64 {
	for i := len(r.Seen) - 1; i >= 0; i-- {
		if r.Seen[i].ID == id {
			return r.Seen[i].Seq
		}
	}
	return 0
}

// stateKey is the key-value key of (node, key): both base64url-encoded, so any bytes in a
// key are safe in a key-value key.
func stateKey(node, key string) string {
	return "k." + base64.RawURLEncoding.EncodeToString([]byte(node)) + "." + base64.RawURLEncoding.EncodeToString([]byte(key))
}

// loadRecord reads (node, key)'s record and its revision (0 for a key never written).
func loadRecord(ctx context.Context, kv jetstream.KeyValue, node, key string) (keyRecord, uint64, error) {
	e, err := kv.Get(ctx, stateKey(node, key))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return keyRecord{}, 0, nil
	case err != nil:
		return keyRecord{}, 0, fmt.Errorf("cluster: reducer %s key %q: read: %w", node, key, err)
	}
	var rec keyRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return keyRecord{}, 0, fmt.Errorf("cluster: reducer %s key %q: corrupt record: %w", node, key, err)
	}
	return rec, e.Revision(), nil
}

// storeRecord writes rec for (node, key) if the entry is still at revision rev (0: does
// not exist yet). errStale reports that another write landed first.
func storeRecord(ctx context.Context, kv jetstream.KeyValue, node, key string, rev uint64, rec keyRecord) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	var next uint64
	if rev == 0 {
		next, err = kv.Create(ctx, stateKey(node, key), b)
	} else {
		next, err = kv.Update(ctx, stateKey(node, key), b, rev)
	}
	if isStale(err) {
		return 0, errStale
	}
	return next, err
}

// errStale is a compare-and-set that lost: the record changed since it was read.
var errStale = errors.New("cluster: reducer record changed since it was read")

// isStale reports whether err is a failed revision check of a key-value write.
func isStale(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// next returns the record after ev was folded into it as sequence seq with output out,
// and the outbox entries of its intents.
func (r keyRecord) next(node, key string, ev abi.ReduceEvent, out abi.ReduceOutput, window int) (keyRecord, []reducer.OutboxEntry) {
	seq := r.Sequence + 1
	n := keyRecord{Sequence: seq, State: out.State}
	if i := slices.Index(r.Dead, ev.EventID); i >= 0 {
		n.Dead = slices.Delete(slices.Clone(r.Dead), i, i+1)
	} else {
		n.Dead = r.Dead
	}
	seen := r.Seen
	if len(seen) >= window {
		seen = seen[len(seen)-window+1:]
	}
	n.Seen = append(append(make([]seenEvent, 0, len(seen)+1), seen...), seenEvent{ID: ev.EventID, Seq: seq})
	var entries []reducer.OutboxEntry
	for i, it := range out.Intents {
		entries = append(entries, reducer.OutboxEntry{
			OperationID: abi.IntentOperationID(node, key, seq, i),
			Reducer:     node, Key: key, Sequence: seq, Index: i, Intent: it,
		})
	}
	n.Pending = append(append(make([]reducer.OutboxEntry, 0, len(r.Pending)+len(entries)), r.Pending...), entries...)
	return n, entries
}
