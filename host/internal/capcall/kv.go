package capcall

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/capability/kv"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// kvService names the store's breaker.
const kvService = "kv"

// kv runs one kv op in the node's own namespace, recording mutations in the attempt's
// transaction.
func (a *Attempt) kv(ctx context.Context, op string, req []byte) (abi.Status, []byte) {
	store := a.Plugin.KV
	if store == nil {
		return failure(abi.StatusDenied, "%s: the key-value store is not granted", op)
	}
	if a.Tx != nil {
		store = kv.WithTx(store, a.Tx)
	}
	var resp any = abi.Empty{}
	var run func() error
	switch op {
	case abi.OpKVGet, abi.OpKVDelete:
		var r abi.KVKeyRequest
		if err := json.Unmarshal(req, &r); err != nil {
			return failure(abi.StatusInvalidInput, "%s: %v", op, err)
		}
		run = func() error {
			if op == abi.OpKVGet {
				v, found, err := store.Get(ctx, r.Key)
				resp = abi.KVGetResponse{Value: v, Found: found}
				return err
			}
			existed, err := store.Delete(ctx, r.Key)
			resp = abi.KVDeleteResponse{Existed: existed}
			return err
		}
	case abi.OpKVPut:
		var r abi.KVPutRequest
		if err := json.Unmarshal(req, &r); err != nil {
			return failure(abi.StatusInvalidInput, "%s: %v", op, err)
		}
		run = func() error { return store.Put(ctx, r.Key, r.Value) }
	case abi.OpKVList:
		var r abi.KVListRequest
		if err := json.Unmarshal(req, &r); err != nil {
			return failure(abi.StatusInvalidInput, "%s: %v", op, err)
		}
		run = func() error {
			entries, err := store.List(ctx, r.Prefix, r.Limit)
			list := abi.KVListResponse{Entries: make([]abi.KVEntry, len(entries))}
			for i, e := range entries {
				list.Entries[i] = abi.KVEntry{Key: e.Key, Value: e.Value}
			}
			resp = list
			return err
		}
	}
	if err := a.guard(ctx, kvService, run, kvFailure); err != nil {
		return kvStatus(op, err)
	}
	return response(resp)
}

// kvFailure reports whether a kv error says the store is failing.
func kvFailure(err error) bool {
	for _, e := range []error{kv.ErrInvalidKey, kv.ErrInvalidLimit, kv.ErrTooLarge, tx.ErrRolledBack, tx.ErrCommitted,
		context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}

// kvStatus maps a kv error onto the ABI.
func kvStatus(op string, err error) (abi.Status, []byte) {
	switch {
	case errors.Is(err, errBreakerOpen):
		return breakerStatus(op, err)
	case errors.Is(err, kv.ErrInvalidKey), errors.Is(err, kv.ErrInvalidLimit):
		return failure(abi.StatusInvalidInput, "%s: %v", op, err)
	case errors.Is(err, kv.ErrTooLarge):
		return failure(abi.StatusTooLarge, "%s: %v", op, err)
	case errors.Is(err, tx.ErrRolledBack), errors.Is(err, tx.ErrCommitted):
		return txFailure(op, err)
	case errors.Is(err, context.DeadlineExceeded):
		return failure(abi.StatusTimeout, "%s: %v", op, err)
	default:
		return failure(abi.StatusUnavailable, "%s: %v", op, err)
	}
}
