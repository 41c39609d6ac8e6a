package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

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
