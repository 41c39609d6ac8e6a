package kv

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/onexhost/onex-host/host/internal/tx"

	"github.com/stretchr/testify/require"
)

// opener opens a DB of one flavour with cfg and closes it when the test
// ends.
type opener func(tb testing.TB, cfg Config) *DB

// backends lists the flavours every shared test runs against.
var backends = []struct {
	name string
	open opener
}{
	{"memory", openMemory},
	{"bolt", openBolt},
}

func openMemory(tb testing.TB, cfg Config) *DB {
	tb.Helper()
	db, err := NewMemory(cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, db.Close()) })
	return db
}

func openBolt(tb testing.TB, cfg Config) *DB {
	tb.Helper()
	db, err := OpenBolt(filepath.Join(tb.TempDir(), "kv.db"), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, db.Close()) })
	return db
}

// forEachBackend runs f as a subtest per flavour.
func forEachBackend(t *testing.T, f func(t *testing.T, open opener)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.open) })
	}
}

// ns returns the Store of namespace name in db.
func ns(tb testing.TB, db *DB, name string) Store {
	tb.Helper()
	s, err := db.Namespace(name)
	require.NoError(tb, err)
	return s
}

// put sets the keys of kv in s.
func put(tb testing.TB, s Store, kv map[string]string) {
	tb.Helper()
	for k, v := range kv {
		require.NoError(tb, s.Put(context.Background(), k, []byte(v)))
	}
}

// dump returns every entry of s as a map (at most MaxListLimit of them).
func dump(tb testing.TB, s Store) map[string]string {
	tb.Helper()
	entries, err := s.List(context.Background(), "", 0)
	require.NoError(tb, err)
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		m[e.Key] = string(e.Value)
	}
	return m
}

// keys returns the keys of entries, in order.
func keys(entries []Entry) []string {
	ks := make([]string, len(entries))
	for i, e := range entries {
		ks[i] = e.Key
	}
	return ks
}

// recorder is a tx.Observer that keeps every recorded operation and fails
// OnRecord with fail when fail is set.
type recorder struct {
	fail error

	mu  sync.Mutex
	ops []tx.Operation // in record order
}

func (r *recorder) OnBegin(*tx.Tx)                           {}
func (r *recorder) OnStateChange(*tx.Tx, tx.State, tx.State) {}
func (r *recorder) OnRecord(_ *tx.Tx, op tx.Operation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
	return r.fail
}

func (r *recorder) recorded() []tx.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops)
}

// newManager returns a tx.Manager whose kv kinds are compensated in db and
// whose operations are reported to obs, if not nil.
func newManager(tb testing.TB, db *DB, obs tx.Observer) *tx.Manager {
	tb.Helper()
	c := NewCompensator(db)
	cfg := tx.Config{Compensators: map[string]tx.Compensator{tx.KindKVPut: c, tx.KindKVDelete: c}}
	if obs != nil {
		cfg.Observer = obs
	}
	m, err := tx.New(cfg)
	require.NoError(tb, err)
	return m
}

// begin starts a transaction of node "node" in m.
func begin(tb testing.TB, m *tx.Manager) *tx.Tx {
	tb.Helper()
	t, err := m.Begin("node", 1, "")
	require.NoError(tb, err)
	return t
}
