package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/server"
)

// reducersFile is the reducer store's file in the data directory, beside the effect
// journal (journal.db) and the key-value store (kv.db).
const reducersFile = "reducers.db"

// reducerStore is serve's reducer store and the dispatcher carrying its intents out.
type reducerStore struct {
	store *reducer.Store
	tmp   string // a temporary directory to remove (no data directory)
	stop  context.CancelFunc
	done  chan struct{}
}

// openReducers opens dataDir/reducers.db; with no data directory ("": state in memory)
// a file in a temporary directory removed at close, so reducer state does not outlive
// the process, as the key-value store does not.
func openReducers(dataDir string, logger *slog.Logger) (*reducerStore, error) {
	rs := &reducerStore{}
	dir, tmp, err := stateDir(dataDir, reducersFile, "reducer state", logger)
	if err != nil {
		return nil, fmt.Errorf("reducer store: %w", err)
	}
	rs.tmp = tmp
	st, err := reducer.OpenStore(filepath.Join(dir, reducersFile), reducer.NewConfig())
	if err != nil {
		if rs.tmp != "" {
			_ = os.RemoveAll(rs.tmp)
		}
		return nil, err
	}
	rs.store = st
	return rs, nil
}

// startIntents runs srv's intent dispatcher until close.
func (rs *reducerStore) startIntents(srv *server.Server, logger *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	rs.stop, rs.done = cancel, make(chan struct{})
	go func() {
		defer close(rs.done)
		if err := srv.RunIntents(ctx); err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("reducer intents stopped", "error", err)
		}
	}()
}

// close stops the dispatcher (waiting for an intent in progress), then closes the store.
func (rs *reducerStore) close() {
	if rs.stop != nil {
		rs.stop()
		<-rs.done
	}
	_ = rs.store.Close()
	if rs.tmp != "" {
		_ = os.RemoveAll(rs.tmp)
	}
}

// stateDir is where serve keeps file (reducers.db, workflows.db): dataDir, created if
// missing; with no data directory, a new temporary directory, also returned as tmp for
// the caller to remove at close, and an info log that what (e.g. "reducer state") lasts
// until exit only.
func stateDir(dataDir, file, what string, logger *slog.Logger) (dir, tmp string, err error) {
	if dataDir != "" {
		return dataDir, "", os.MkdirAll(dataDir, 0o700)
	}
	if tmp, err = os.MkdirTemp("", "onex-state-"); err != nil {
		return "", "", err
	}
	logger.Info("no data directory: "+what+" is kept until exit only", "path", filepath.Join(tmp, file))
	return tmp, tmp, nil
}
