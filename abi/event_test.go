package abi_test

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestValidTopic(t *testing.T) {
	tests := []struct {
		name  string
		topic string
		want  bool
	}{
		{"plain", "onex.evt.orders.placed.v1", true},
		{"multi-digit version", "onex.evt.orders.placed.v12", true},
		{"underscore and dash", "onex.evt.my_domain.was-done.v3", true},
		{"empty", "", false},
		{"version zero", "onex.evt.orders.placed.v0", false},
		{"leading zero", "onex.evt.orders.placed.v01", false},
		{"no version", "onex.evt.orders.placed", false},
		{"extra segment", "onex.evt.orders.placed.extra.v1", false},
		{"uppercase", "onex.evt.Orders.placed.v1", false},
		{"wrong prefix", "onex.cmd.orders.placed.v1", false},
		{"wildcard", "onex.evt.*.placed.v1", false},
		{"empty segment", "onex.evt..placed.v1", false},
		{"trailing newline", "onex.evt.orders.placed.v1\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, abi.ValidTopic(tt.topic))
		})
	}
}

func TestEvent_Validate(t *testing.T) {
	valid := func() abi.Event {
		return abi.Event{Topic: "onex.evt.orders.placed.v1", EventType: "order.placed"}
	}
	tests := []struct {
		name    string
		mutate  func(*abi.Event)
		wantErr bool
	}{
		{"minimal", func(*abi.Event) {}, false},
		{"object payload", func(e *abi.Event) { e.Payload = json.RawMessage(`{"id":1}`) }, false},
		{"null payload", func(e *abi.Event) { e.Payload = json.RawMessage(`null`) }, false},
		{"bad topic", func(e *abi.Event) { e.Topic = "orders" }, true},
		{"no topic", func(e *abi.Event) { e.Topic = "" }, true},
		{"no event type", func(e *abi.Event) { e.EventType = "" }, true},
		{"bad payload", func(e *abi.Event) { e.Payload = json.RawMessage(`{"id":`) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := valid()
			tt.mutate(&e)
			err := e.Validate()
			if tt.wantErr {
				require.ErrorIs(t, err, abi.ErrInvalidEvent)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestEvent_JSON(t *testing.T) {
	e := abi.Event{
		EnvelopeID:    "0b7c4f7e-6f2a-4a8e-9d55-8f1f0b1f4c11",
		CorrelationID: "c1",
		CausationID:   "c0",
		EventType:     "order.placed",
		Topic:         "onex.evt.orders.placed.v1",
		Key:           "order-7",
		Headers:       map[string]string{"tenant": "acme"},
		Payload:       json.RawMessage(`{"id":7}`),
		Timestamp:     time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		TraceID:       "4bf92f3577b34da6a3ce929d0e0e4736",
		SpanID:        "00f067aa0ba902b7",
	}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"envelope_id": "0b7c4f7e-6f2a-4a8e-9d55-8f1f0b1f4c11",
		"correlation_id": "c1",
		"causation_id": "c0",
		"event_type": "order.placed",
		"topic": "onex.evt.orders.placed.v1",
		"key": "order-7",
		"headers": {"tenant": "acme"},
		"payload": {"id": 7},
		"timestamp": "2025-01-02T03:04:05.000000006Z",
		"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
		"span_id": "00f067aa0ba902b7"
	}`, string(b))

	var got abi.Event
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, e, got)

	// Empty optional fields are omitted, including the zero Timestamp.
	b, err = json.Marshal(abi.Event{EventType: "x", Topic: "onex.evt.a.b.v1"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"event_type":"x","topic":"onex.evt.a.b.v1"}`, string(b))
}

// FuzzEventValidate decodes arbitrary JSON as an Event and validates it. Neither may
// panic, and an event that validates survives a JSON round trip still valid.
func FuzzEventValidate(f *testing.F) {
	f.Add([]byte(`{"event_type":"order.placed","topic":"onex.evt.orders.placed.v1","payload":{"id":1}}`))
	f.Add([]byte(`{"topic":"onex.evt.a.b.v1","event_type":"t","headers":{"k":"v"},"timestamp":"2025-01-02T03:04:05Z"}`))
	f.Add([]byte(`{"topic":"onex.evt.a.b.v0","event_type":""}`))
	f.Add([]byte(`{"payload":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e abi.Event
		if json.Unmarshal(b, &e) != nil {
			return
		}
		if err := e.Validate(); err != nil {
			require.ErrorIs(t, err, abi.ErrInvalidEvent)
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			// Only a timestamp that parsed but cannot be printed (an offset json.Marshal
			// rejects) may fail to encode.
			require.False(t, e.Timestamp.IsZero(), "marshal %q: %v", b, err)
			return
		}
		var again abi.Event
		require.NoError(t, json.Unmarshal(out, &again))
		require.NoError(t, again.Validate())
		assert.Equal(t, e.Topic, again.Topic)
		assert.Equal(t, e.EventType, again.EventType)
	})
}

// FuzzValidTopic keeps the hand-written ValidTopic in agreement with the rule as a
// regular expression.
func FuzzValidTopic(f *testing.F) {
	rule := regexp.MustCompile(`^onex\.evt\.[a-z0-9_-]+\.[a-z0-9_-]+\.v[1-9][0-9]*$`)
	for _, s := range []string{"onex.evt.orders.created.v1", "onex.evt.a.b.v10", "onex.evt.a.b.v0", "onex.evt.a.b.c.v1",
		"onex.evt..b.v1", "onex.evt.A.b.v1", "onex.evt.a.b.v", "onex.evt.a.b.v1x", "", "onex.evt.a-b.c_d.v9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := abi.ValidTopic(s), rule.MatchString(s); got != want {
			t.Fatalf("ValidTopic(%q) = %v, the rule says %v", s, got, want)
		}
	})
}
