package kv

import (
	"context"
	"fmt"
	"strings"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// Compensator undoes the operations WithTx records in transactions: it
// implements tx.Compensator for tx.KindKVPut and tx.KindKVDelete, and is
// registered for both in the tx.Config of the host's Manager. Create one
// with NewCompensator; the zero value is not usable.
//
// A Compensator is safe for concurrent use by multiple goroutines.
type Compensator struct {
	db *DB
}

var _ tx.Compensator = (*Compensator)(nil)

// NewCompensator returns a Compensator that restores keys in db. It must be
// the DB whose Stores record the operations: an operation names its
// namespace, not its DB.
func NewCompensator(db *DB) *Compensator {
	return &Compensator{db: db}
}

// Compensate makes op's key (Target) in op's namespace (Service, as
// "kv:<namespace>") hold op.Compensation.Previous again if
// op.Compensation.Existed, and be absent otherwise. That restores the
// before-image whatever happened to the operation: run twice, or for an
// operation whose write never happened, it changes nothing more. It ignores
// Config.MaxValueSize, so a before-image is restored even if the limit was
// lowered since. It blocks until the write is done (on disk, for a bolt DB).
//
// It returns an error wrapping ErrBadOperation for an operation that is not
// a kv operation, ErrInvalidNamespace or ErrInvalidKey for one naming an
// invalid namespace or key, ErrClosed if the DB was closed, ctx's error if
// ctx ended before it started, or the DB's I/O error; in those cases nothing
// is changed.
func (c *Compensator) Compensate(ctx context.Context, op tx.Operation) error {
	ns, ok := strings.CutPrefix(op.Service, servicePrefix)
	switch {
	case op.Kind != tx.KindKVPut && op.Kind != tx.KindKVDelete:
		return fmt.Errorf("%w: kind %q", ErrBadOperation, op.Kind)
	case !ok:
		return fmt.Errorf("%w: %s service %q does not start with %q", ErrBadOperation, op.Kind, op.Service, servicePrefix)
	case op.Compensation == nil:
		return fmt.Errorf("%w: %s has no compensation", ErrBadOperation, op.Kind)
	}
	comp := op.Compensation
	if err := c.db.restore(ctx, ns, op.Target, comp.Previous, comp.Existed); err != nil {
		return fmt.Errorf("kv %s %q: compensate %s %.64q: %w", c.db.kind, ns, op.Kind, op.Target, err)
	}
	return nil
}
