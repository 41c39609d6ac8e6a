package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/capability/kv"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// kvStore is the host's key-value store, opened the first time a node needs it.
type kvStore struct {
	mu     sync.Mutex // guards db and closed
	db     *kv.DB
	closed bool
}

// kvFile is the store's file in Config.DataDir.
const kvFile = "kv.db"

// MemoryKV as Config.KVPath keeps the key-value store in memory.
const MemoryKV = ":memory:"

// kvDB returns the host's key-value store, opening it on first use: Config.KVPath, else
// DataDir/kv.db, or in memory when that is ":memory:" or DataDir is "".
func (h *Host) kvDB() (*kv.DB, error) {
	h.kv.mu.Lock()
	defer h.kv.mu.Unlock()
	if h.kv.closed {
		return nil, ErrClosed
	}
	if h.kv.db != nil {
		return h.kv.db, nil
	}
	path := h.cfg.KVPath
	if path == "" && h.cfg.DataDir != "" {
		path = filepath.Join(h.cfg.DataDir, kvFile)
	}
	var db *kv.DB
	var err error
	if path == "" || path == MemoryKV {
		db, err = kv.NewMemory(kv.Config{})
	} else if err = os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
		db, err = kv.OpenBolt(path, kv.Config{})
	}
	if err != nil {
		return nil, fmt.Errorf("host: key-value store: %w", err)
	}
	h.kv.db = db
	return db, nil
}

// closeKV closes the store, if it was opened; later kvDB calls fail with ErrClosed.
func (h *Host) closeKV() error {
	h.kv.mu.Lock()
	defer h.kv.mu.Unlock()
	h.kv.closed = true
	if h.kv.db == nil {
		return nil
	}
	db := h.kv.db
	h.kv.db = nil
	return db.Close()
}

// compensateKV undoes a kv operation in the host's store.
func (h *Host) compensateKV(ctx context.Context, op tx.Operation) error {
	db, err := h.kvDB()
	if err != nil {
		return err
	}
	return kv.NewCompensator(db).Compensate(ctx, op)
}

// kvService names the store's breaker.
const kvService = "kv"

// kv runs one kv op in the node's own namespace, recording mutations in the attempt's
// transaction.
func (a *attempt) kv(ctx context.Context, op string, req []byte) (abi.Status, []byte) {
	store := a.plugin.caps.kv
	if store == nil {
		return failure(abi.StatusDenied, "%s: the key-value store is not granted", op)
	}
	if a.tx != nil {
		store = kv.WithTx(store, a.tx)
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
