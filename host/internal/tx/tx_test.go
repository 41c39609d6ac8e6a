package tx

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/onexhost/onex-host/abi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOperation_Validate(t *testing.T) {
	tests := []struct {
		name    string
		op      Operation
		wantErr bool
	}{
		{name: "reversible", op: write("a")},
		{name: "irreversible", op: Operation{Kind: KindHTTPRequest, Irreversible: true}},
		{name: "compensating request", op: Operation{Kind: KindHTTPRequest, Compensation: &Compensation{Request: &Request{Method: "DELETE", URL: "https://x.test/1"}}}},
		{name: "guest payload", op: Operation{Kind: KindGuest, Detail: json.RawMessage(`{"n":1}`), Compensation: &Compensation{Payload: json.RawMessage(`[1]`)}}},
		{name: "no kind", op: Operation{Compensation: &Compensation{}}, wantErr: true},
		{name: "neither compensation nor irreversible", op: Operation{Kind: KindFSWrite}, wantErr: true},
		{name: "both compensation and irreversible", op: Operation{Kind: KindFSWrite, Irreversible: true, Compensation: &Compensation{}}, wantErr: true},
		{name: "detail not JSON", op: Operation{Kind: KindGuest, Detail: json.RawMessage(`{`), Compensation: &Compensation{}}, wantErr: true},
		{name: "payload not JSON", op: Operation{Kind: KindGuest, Compensation: &Compensation{Payload: json.RawMessage(`nope`)}}, wantErr: true},
		{name: "request without URL", op: Operation{Kind: KindHTTPRequest, Compensation: &Compensation{Request: &Request{Method: "DELETE"}}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op.Validate()
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrInvalidOperation)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestTx_Record(t *testing.T) {
	t.Run("numbers operations, stamps them and activates the transaction", func(t *testing.T) {
		m := newTestManager(t, &journal{}, Config{})
		tx := begin(t, m)
		assert.Equal(t, StatePending, tx.State())
		require.NoError(t, tx.Record(write("a")))
		assert.Equal(t, StateActive, tx.State())
		require.NoError(t, tx.Record(write("b")))
		ops := tx.Snapshot().Operations
		require.Len(t, ops, 2)
		assert.Equal(t, 1, ops[0].Seq)
		assert.Equal(t, 2, ops[1].Seq)
		assert.False(t, ops[0].RecordedAt.IsZero())
	})

	t.Run("refuses what it cannot undo, before anything is logged", func(t *testing.T) {
		tests := []struct {
			name    string
			op      Operation
			wantErr error
		}{
			{name: "invalid", op: Operation{Kind: KindFSWrite}, wantErr: ErrInvalidOperation},
			{name: "kind without compensator", op: Operation{Kind: KindFSDelete, Compensation: &Compensation{}}, wantErr: ErrNoCompensator},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := newTestManager(t, &journal{}, Config{})
				tx := begin(t, m)
				ran := false
				err := tx.Apply(tt.op, func() error { ran = true; return nil })
				require.ErrorIs(t, err, tt.wantErr)
				assert.False(t, ran)
				assert.Equal(t, StatePending, tx.State())
				assert.Empty(t, tx.Snapshot().Operations)
			})
		}
	})

	t.Run("copies the caller's buffers", func(t *testing.T) {
		var got []byte
		var c CompensatorFunc = func(_ context.Context, op Operation) error {
			got = op.Compensation.Previous
			return nil
		}
		m := newTestManager(t, c, Config{})
		tx := begin(t, m)
		op := write("a")
		require.NoError(t, tx.Record(op))
		copy(op.Compensation.Previous, "XXX")
		_, err := tx.Rollback(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "old a", string(got))
	})

	t.Run("refused after the end", func(t *testing.T) {
		tests := []struct {
			name    string
			end     func(*Tx) error
			wantErr error
		}{
			{name: "committed", end: func(tx *Tx) error { _, err := tx.Commit(context.Background()); return err }, wantErr: ErrCommitted},
			{name: "rolled back", end: func(tx *Tx) error { _, err := tx.Rollback(context.Background()); return err }, wantErr: ErrRolledBack},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := newTestManager(t, &journal{}, Config{Publish: (&outbox{}).publish})
				tx := begin(t, m)
				require.NoError(t, tt.end(tx))
				assert.ErrorIs(t, tx.Record(write("a")), tt.wantErr)
				assert.ErrorIs(t, tx.Hold(event("e")), tt.wantErr)
				assert.Empty(t, tx.Snapshot().Operations)
			})
		}
	})
}

func TestTx_Commit(t *testing.T) {
	t.Run("commit after rollback is an error", func(t *testing.T) {
		m := newTestManager(t, &journal{}, Config{})
		tx := begin(t, m)
		require.NoError(t, tx.Record(write("a")))
		_, err := tx.Rollback(t.Context())
		require.NoError(t, err)
		res, err := tx.Commit(t.Context())
		require.ErrorIs(t, err, ErrRolledBack)
		assert.Equal(t, StateRolledBack, res.State)
		assert.Equal(t, Stats{Begun: 1, RolledBack: 1}, m.Stats())
	})

	t.Run("commit twice is an error and publishes nothing again", func(t *testing.T) {
		ob := &outbox{}
		m := newTestManager(t, &journal{}, Config{Publish: ob.publish})
		tx := begin(t, m)
		require.NoError(t, tx.Record(write("a")))
		require.NoError(t, tx.Hold(event("e1")))
		res1, err := tx.Commit(t.Context())
		require.NoError(t, err)
		assert.Equal(t, Result{ID: tx.ID(), State: StateCommitted, SideEffectsApplied: 1}, res1)
		res2, err := tx.Commit(t.Context())
		require.ErrorIs(t, err, ErrCommitted)
		assert.Equal(t, res1, res2)
		assert.Equal(t, []string{"e1"}, ob.keys())
		assert.Equal(t, Stats{Begun: 1, Committed: 1}, m.Stats())
	})

	t.Run("refused while an Apply runs", func(t *testing.T) {
		m := newTestManager(t, &journal{}, Config{})
		tx := begin(t, m)
		entered, release := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			assert.NoError(t, tx.Apply(write("a"), func() error { close(entered); <-release; return nil }))
		})
		<-entered
		_, err := tx.Commit(t.Context())
		require.ErrorIs(t, err, ErrBusy)
		close(release)
		wg.Wait()
		res, err := tx.Commit(t.Context())
		require.NoError(t, err)
		assert.Equal(t, StateCommitted, res.State)
	})
}

func TestTx_Hold(t *testing.T) {
	t.Run("published only on commit, in order", func(t *testing.T) {
		ob := &outbox{}
		m := newTestManager(t, &journal{}, Config{Publish: ob.publish})
		tx := begin(t, m)
		for _, k := range []string{"e1", "e2", "e3"} {
			require.NoError(t, tx.Hold(event(k)))
		}
		assert.Equal(t, StateActive, tx.State())
		assert.Empty(t, ob.keys(), "published before the commit")
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // publishing, like rolling back, ignores the caller's cancellation
		_, err := tx.Commit(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"e1", "e2", "e3"}, ob.keys())
	})

	t.Run("nothing published on rollback", func(t *testing.T) {
		ob := &outbox{}
		m := newTestManager(t, &journal{}, Config{Publish: ob.publish})
		tx := begin(t, m)
		require.NoError(t, tx.Record(write("a")))
		require.NoError(t, tx.Hold(event("e1")))
		_, err := tx.Rollback(t.Context())
		require.NoError(t, err)
		_, err = tx.Commit(t.Context())
		require.ErrorIs(t, err, ErrRolledBack)
		assert.Empty(t, ob.keys())
	})

	t.Run("a failed publish returns the unpublished events", func(t *testing.T) {
		ob := &outbox{fail: map[string]bool{"e2": true}}
		m := newTestManager(t, &journal{}, Config{Publish: ob.publish})
		tx := begin(t, m)
		for _, k := range []string{"e1", "e2", "e3"} {
			require.NoError(t, tx.Hold(event(k)))
		}
		res, err := tx.Commit(t.Context())
		var pe *PublishError
		require.ErrorAs(t, err, &pe)
		assert.ErrorIs(t, err, errBoom)
		assert.Equal(t, StateCommitted, res.State, "the commit stands")
		assert.Equal(t, []string{"e1"}, ob.keys())
		require.Len(t, pe.Events, 2)
		assert.Equal(t, "e2", pe.Events[0].Key)
		assert.Equal(t, "e3", pe.Events[1].Key)
		assert.Equal(t, tx.ID(), pe.TxID)
	})

	t.Run("refused", func(t *testing.T) {
		tests := []struct {
			name    string
			publish bool
			event   abi.Event
			wantErr error
		}{
			{name: "no publisher", event: event("e"), wantErr: ErrNoPublisher},
			{name: "invalid event", publish: true, event: abi.Event{EventType: "x", Topic: "bad"}, wantErr: abi.ErrInvalidEvent},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cfg := Config{}
				if tt.publish {
					cfg.Publish = (&outbox{}).publish
				}
				m := newTestManager(t, &journal{}, cfg)
				tx := begin(t, m)
				require.ErrorIs(t, tx.Hold(tt.event), tt.wantErr)
				assert.Equal(t, StatePending, tx.State())
			})
		}
	})

	t.Run("copies the event's payload and headers", func(t *testing.T) {
		var got abi.Event
		m := newTestManager(t, &journal{}, Config{Publish: func(_ context.Context, e abi.Event) error { got = e; return nil }})
		tx := begin(t, m)
		e := event("e")
		e.Headers = map[string]string{"h": "1"}
		require.NoError(t, tx.Hold(e))
		e.Headers["h"] = "2"
		copy(e.Payload, `{"k":"X"`)
		_, err := tx.Commit(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "1", got.Headers["h"])
		assert.JSONEq(t, `{"k":"e"}`, string(got.Payload))
	})
}

func TestState_String(t *testing.T) {
	tests := []struct {
		state State
		want  string
		final bool
	}{
		{StatePending, "pending", false},
		{StateActive, "active", false},
		{StateCommitted, "committed", true},
		{StateRolledBack, "rolled_back", true},
		{StateFailed, "failed", true},
		{State(9), "State(9)", false},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.state.String())
			assert.Equal(t, tt.final, tt.state.Final())
			b, err := tt.state.MarshalText()
			if tt.state > StateFailed {
				assert.ErrorIs(t, err, ErrInvalidSnapshot)
				return
			}
			require.NoError(t, err)
			var back State
			require.NoError(t, back.UnmarshalText(b))
			assert.Equal(t, tt.state, back)
		})
	}
}
