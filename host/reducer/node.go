package reducer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	bolt "go.etcd.io/bbolt"
)

// Fold is a reducer's transition function: given the key's state and one event, the
// new state and the intents. It must be pure (no I/O, same answer for the same input):
// it may be called again for an event after a crash. A plugin's onex_reduce export is
// adapted to a Fold by the plugin wiring.
type Fold func(ctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error)

// Result is the outcome of applying one event to a key.
type Result struct {
	Sequence  uint64          // the sequence the event got (1 for a key's first event)
	State     json.RawMessage // the state after the event; for a Duplicate, the key's current state
	Intents   []OutboxEntry   // the intents it produced, with their operation ids; nil for a Duplicate
	Duplicate bool            // the event id was applied before; nothing changed
	// Projection is the fold's abi.ReduceOutput.Projection (nil when it gave none). It
	// is not stored: a Duplicate's is nil.
	Projection json.RawMessage
}

// Node applies events to the keys of one reducer node. Create one with NewNode; the
// zero value is not usable. Safe for concurrent use by multiple goroutines: events of
// one key are applied one at a time in arrival order, different keys in parallel (at
// most Config.MaxParallel folds at once). Run one Node per node name per Store.
type Node struct {
	name, reduction string
	fold            Fold
	store           *Store
	slots           chan struct{} // bounds folds running at once
	keys            KeyLocks      // one Apply at a time per key
}

// NewNode returns a node named name (abi.ValidName) running reduction with fold over
// store, with store's Config. Errors: an invalid name, or a nil fold or store.
func NewNode(name, reduction string, fold Fold, store *Store) (*Node, error) {
	switch {
	case !abi.ValidName(name):
		return nil, fmt.Errorf("reducer: node name %q is not valid", name)
	case fold == nil || store == nil:
		return nil, fmt.Errorf("reducer: node %s: fold and store are required", name)
	}
	return &Node{
		name: name, reduction: reduction, fold: fold, store: store,
		slots: make(chan struct{}, store.cfg.MaxParallel),
	}, nil
}

// Name returns the node's name.
func (n *Node) Name() string { return n.name }

// Apply applies ev to key: it folds ev into the key's state and makes the new state,
// its sequence, ev's id and the intents durable in one transaction, then returns. It
// blocks while earlier events of key are applied, while MaxParallel folds run, and
// until the commit is on disk. An event id already applied to key returns its recorded
// sequence with Duplicate set and changes nothing.
//
// Errors: ErrInvalidEvent; ctx's error while waiting (nothing changed); a *FoldError
// (matches ErrFold) when the fold failed or returned an invalid output (state
// unchanged, dead letter recorded); ErrClosed; ErrConflict; a storage error — after
// which the event may or may not be applied: redeliver it with the same id.
func (n *Node) Apply(ctx context.Context, key string, ev abi.ReduceEvent) (Result, error) {
	if key == "" || ev.EventID == "" || ev.Type == "" {
		return Result{}, fmt.Errorf("%w: key, event_id and type are required", ErrInvalidEvent)
	}
	unlock, err := n.keys.Lock(ctx, key)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	return n.applyLocked(ctx, key, ev)
}

// Retry applies the dead letter (key, eventID) again, as Apply would; on success the
// dead letter is removed with the commit, on failure it is updated. Errors: those of
// Apply, and ErrNotFound.
func (n *Node) Retry(ctx context.Context, key, eventID string) (Result, error) {
	d, err := n.store.deadLetter(n.name, key, eventID)
	if err != nil {
		return Result{}, err
	}
	return n.Apply(ctx, key, d.Event)
}

func (n *Node) applyLocked(ctx context.Context, key string, ev abi.ReduceEvent) (Result, error) {
	nk := nodeKey(n.name, key)
	var cur KeyState
	var dup uint64
	var dead bool
	deadKey := join(nk, []byte(ev.EventID))
	err := n.store.view(func(tx *bolt.Tx) error {
		var err error
		if cur, err = readState(tx, nk); err != nil {
			return err
		}
		dup = seenSeq(tx, nk, ev.EventID)
		dead = tx.Bucket(bucketDead).Get(deadKey) != nil
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("reducer: read node %s key %q: %w", n.name, key, err)
	}
	if dup != 0 {
		if dead { // it failed once, then a redelivery succeeded: the dead letter is stale
			if err := n.store.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketDead).Delete(deadKey) }); err != nil {
				return Result{}, fmt.Errorf("reducer: drop stale dead letter node %s key %q event %q: %w", n.name, key, ev.EventID, err)
			}
		}
		return Result{Sequence: dup, State: cur.State, Duplicate: true}, nil
	}
	in := abi.ReduceInput{Reduction: n.reduction, Key: key, Sequence: cur.Sequence + 1, State: cur.State, Event: ev}
	if in.State == nil {
		in.State = json.RawMessage("null")
	}
	out, err := n.runFold(ctx, in)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return Result{}, err // not the event's fault: no dead letter
		}
		ferr := &FoldError{Node: n.name, Key: key, EventID: ev.EventID, Err: err}
		if derr := n.store.putDeadLetter(DeadLetter{Node: n.name, Key: key, Event: ev, Error: err.Error(), Time: n.store.cfg.Now()}); derr != nil {
			return Result{}, fmt.Errorf("%w (and %v)", ferr, derr)
		}
		return Result{}, ferr
	}
	a := applied{node: n.name, key: key, event: ev, prev: cur.Sequence, state: out.State, intents: out.Intents}
	if err := n.store.commitApplied(a); err != nil {
		return Result{}, err
	}
	res := Result{Sequence: in.Sequence, State: out.State, Projection: out.Projection}
	for i, it := range out.Intents {
		res.Intents = append(res.Intents, OutboxEntry{
			OperationID: abi.IntentOperationID(n.name, key, in.Sequence, i),
			Reducer:     n.name, Key: key, Sequence: in.Sequence, Index: i, Intent: it,
		})
	}
	return res, nil
}

// runFold runs the fold in a parallelism slot (see Fold.Checked).
func (n *Node) runFold(ctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
	select {
	case n.slots <- struct{}{}:
	case <-ctx.Done():
		return abi.ReduceOutput{}, ctx.Err()
	}
	defer func() { <-n.slots }()
	return n.fold.Checked(ctx, in)
}

// Checked runs f and holds its output to the rules abi.DecodeReduceOutput holds a
// guest's output to (a nil State becomes JSON null), so that a Go fold and a plugin's
// are checked alike. Every host of a reducer — a Node here, host/cluster's — runs folds
// through it.
func (f Fold) Checked(ctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
	out, err := f(ctx, in)
	if err != nil {
		return abi.ReduceOutput{}, err
	}
	if out.State == nil {
		out.State = json.RawMessage("null")
	}
	b, err := json.Marshal(out)
	if err != nil {
		return abi.ReduceOutput{}, fmt.Errorf("reducer: fold output: %w", err)
	}
	return abi.DecodeReduceOutput(b)
}
