package tx

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTx_Snapshot(t *testing.T) {
	t.Run("JSON round trip", func(t *testing.T) {
		clock := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		m := newTestManager(t, &journal{}, Config{
			Publish: (&outbox{}).publish,
			Now:     func() time.Time { clock = clock.Add(time.Second); return clock },
		})
		tx := begin(t, m)
		require.NoError(t, tx.Record(write("/srv/a.txt")))
		require.NoError(t, tx.Record(Operation{
			Kind: KindGuest, Service: "guest:writer", Detail: json.RawMessage(`{"rows":3}`),
			Compensation: &Compensation{Payload: json.RawMessage(`{"undo":[1,2,3]}`)},
		}))
		require.NoError(t, tx.Record(Operation{
			Kind: KindKVPut, Service: "kv:sessions", Target: "s1",
			Compensation: &Compensation{Request: &Request{Method: "DELETE", URL: "https://x.test/s1", Header: map[string][]string{"A": {"b"}}, Body: []byte{0, 1}}},
		}))
		require.NoError(t, tx.Record(Operation{Kind: KindHTTPRequest, Target: "https://x.test/pay", Irreversible: true}))
		e := event("e1")
		e.Headers = map[string]string{"h": "v"}
		require.NoError(t, tx.Hold(e))
		_, err := tx.Commit(t.Context())
		require.NoError(t, err)

		want := tx.Snapshot()
		b, err := json.Marshal(tx)
		require.NoError(t, err)
		var got Snapshot
		require.NoError(t, json.Unmarshal(b, &got))
		assert.Equal(t, want, got)
		assert.Equal(t, FormatVersion, got.Version)
		assert.Equal(t, StateCommitted, got.State)
		assert.Equal(t, clock, got.EndedAt)
		require.Len(t, got.Operations, 4)

		var raw map[string]any
		require.NoError(t, json.Unmarshal(b, &raw))
		assert.Equal(t, "committed", raw["state"])
		assert.Equal(t, "writer", raw["node"])
		ops := raw["operations"].([]any)
		assert.Equal(t, "fs.write", ops[0].(map[string]any)["kind"])
		assert.Equal(t, map[string]any{"existed": true, "previous": "b2xkIC9zcnYvYS50eHQ=", "mode": float64(0o644)}, ops[0].(map[string]any)["compensation"])
		assert.Equal(t, true, ops[3].(map[string]any)["irreversible"])
	})

	t.Run("a pending transaction", func(t *testing.T) {
		m := newTestManager(t, &journal{}, Config{})
		tx := begin(t, m)
		b, err := json.Marshal(tx)
		require.NoError(t, err)
		assert.Contains(t, string(b), `"operations":[]`)
		assert.NotContains(t, string(b), `ended_at`)
		var got Snapshot
		require.NoError(t, json.Unmarshal(b, &got))
		assert.Equal(t, StatePending, got.State)
		assert.Equal(t, tx.ID(), got.ID)
	})

	t.Run("decoding refuses what it does not know", func(t *testing.T) {
		tests := []struct {
			name string
			json string
		}{
			{name: "version", json: `{"v":2,"id":"x","state":"active"}`},
			{name: "no version", json: `{"id":"x","state":"active"}`},
			{name: "state", json: `{"v":1,"id":"x","state":"limbo"}`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var s Snapshot
				assert.ErrorIs(t, json.Unmarshal([]byte(tt.json), &s), ErrInvalidSnapshot)
			})
		}
	})
}

func TestResult_JSON(t *testing.T) {
	j := &journal{fail: map[string]error{"b": errBoom}}
	m := newTestManager(t, j, Config{})
	tx := begin(t, m)
	require.NoError(t, tx.Record(write("a")))
	require.NoError(t, tx.Record(write("b")))
	res, err := tx.Rollback(t.Context())
	require.ErrorIs(t, err, errBoom)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"transaction_id": "`+tx.ID()+`",
		"transaction_state": "failed",
		"side_effects_applied": 2,
		"rollback_operations": [
			{"seq": 2, "kind": "fs.write", "service": "fs:/srv", "target": "b", "outcome": "failed",
			 "error": "tx `+tx.ID()+`: compensate op 2 (fs.write fs:/srv b): boom"},
			{"seq": 1, "kind": "fs.write", "service": "fs:/srv", "target": "a", "outcome": "compensated"}
		]
	}`, string(b))
}
