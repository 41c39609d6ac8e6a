package tx

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	c := &journal{}
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "zero config", cfg: Config{}},
		{name: "compensators", cfg: Config{Compensators: map[string]Compensator{KindFSWrite: c}}},
		{name: "negative timeout", cfg: Config{FinishTimeout: -1}, wantErr: true},
		{name: "nil compensator", cfg: Config{Compensators: map[string]Compensator{KindFSWrite: nil}}, wantErr: true},
		{name: "empty kind", cfg: Config{Compensators: map[string]Compensator{"": c}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.cfg)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalidConfig)
				assert.Nil(t, m)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, DefaultFinishTimeout, m.cfg.FinishTimeout)
			assert.Equal(t, Stats{}, m.Stats())
		})
	}

	t.Run("copies the compensator map", func(t *testing.T) {
		comps := map[string]Compensator{KindFSWrite: c}
		m, err := New(Config{Compensators: comps})
		require.NoError(t, err)
		delete(comps, KindFSWrite)
		tx := begin(t, m)
		require.NoError(t, tx.Record(write("a")))
	})
}

func TestManager_RollbackAll(t *testing.T) {
	t.Run("rolls back the open transactions only", func(t *testing.T) {
		j := &journal{fail: map[string]error{"bad": errBoom}}
		m := newTestManager(t, j, Config{})
		committed := begin(t, m)
		require.NoError(t, committed.Record(write("kept")))
		_, err := committed.Commit(t.Context())
		require.NoError(t, err)
		var open []*Tx
		for i := range 3 {
			tx := begin(t, m)
			require.NoError(t, tx.Record(write(fmt.Sprint("t", i))))
			open = append(open, tx)
		}
		require.NoError(t, open[2].Record(write("bad")))
		assert.Equal(t, Stats{Begun: 4, Open: 3, Committed: 1}, m.Stats())

		ctx, cancel := context.WithCancel(t.Context())
		cancel() // as at shutdown, when the context may be gone already
		err = m.RollbackAll(ctx)
		require.ErrorIs(t, err, errBoom)
		assert.Contains(t, err.Error(), open[2].ID())
		assert.ElementsMatch(t, []string{"t0", "t1", "bad", "t2"}, j.calls())
		assert.Equal(t, Stats{Begun: 4, Committed: 1, RolledBack: 2, Failed: 1}, m.Stats())
		for _, tx := range open {
			_, err := tx.Commit(t.Context())
			assert.ErrorIs(t, err, ErrRolledBack)
		}
		require.NoError(t, m.RollbackAll(t.Context()), "nothing left to roll back")

		tx := begin(t, m) // RollbackAll does not close the manager
		_, err = tx.Commit(t.Context())
		require.NoError(t, err)
	})

	t.Run("Close refuses new transactions", func(t *testing.T) {
		m := newTestManager(t, &journal{}, Config{})
		tx := begin(t, m)
		require.NoError(t, tx.Record(write("a")))
		require.NoError(t, m.Close(t.Context()))
		assert.Equal(t, StateRolledBack, tx.State())
		got, err := m.Begin("writer", 2, "")
		require.ErrorIs(t, err, ErrClosed)
		assert.Nil(t, got)
		require.NoError(t, m.Close(t.Context()))
		assert.Equal(t, Stats{Begun: 1, RolledBack: 1}, m.Stats())
	})
}

// trace is an Observer that logs what it is told.
type trace struct {
	failRecord error

	mu  sync.Mutex
	log []string
}

func (o *trace) add(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.log = append(o.log, s)
}

func (o *trace) OnBegin(t *Tx) { o.add(fmt.Sprintf("begin %s/%d", t.Node(), t.Attempt())) }

func (o *trace) OnRecord(_ *Tx, op Operation) error {
	o.add(fmt.Sprintf("record %d %s", op.Seq, op.Target))
	return o.failRecord
}

func (o *trace) OnStateChange(_ *Tx, from, to State) { o.add(fmt.Sprintf("%s -> %s", from, to)) }

func TestManager_Observer(t *testing.T) {
	t.Run("sees every step in order", func(t *testing.T) {
		o := &trace{}
		m := newTestManager(t, &journal{}, Config{Observer: o, Publish: (&outbox{}).publish})
		tx := begin(t, m)
		require.NoError(t, tx.Hold(event("e")))
		require.NoError(t, tx.Record(write("a")))
		require.NoError(t, tx.Apply(write("b"), func() error { return nil }))
		_, err := tx.Commit(t.Context())
		require.NoError(t, err)

		tx2 := begin(t, m)
		require.NoError(t, tx2.Record(write("c")))
		_, err = tx2.Rollback(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []string{
			"begin writer/1", "pending -> active", "record 1 a", "record 2 b", "active -> committed",
			"begin writer/1", "pending -> active", "record 1 c", "active -> rolled_back",
		}, o.log)
	})

	t.Run("an OnRecord error stops the operation", func(t *testing.T) {
		j := &journal{}
		o := &trace{failRecord: errBoom}
		m := newTestManager(t, j, Config{Observer: o})
		tx := begin(t, m)
		ran := false
		err := tx.Apply(write("a"), func() error { ran = true; return nil })
		require.ErrorIs(t, err, errBoom)
		assert.False(t, ran)
		_, err = tx.Rollback(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []string{"a"}, j.calls(), "the logged intent is compensated")
	})
}
