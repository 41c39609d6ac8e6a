package abi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalidEvent is returned (wrapped, naming the field) by Event.Validate for an event
// that breaks a rule of this package.
var ErrInvalidEvent = errors.New("abi: invalid event")

// Event is ONEX's event envelope: one fact a node publishes on a topic. It is a plain
// value; the JSON field names are ONEX's.
//
// The zero value is not a valid event: Topic and EventType are required (see Validate).
// Headers and Payload are reference types, so copying an Event does not copy them.
type Event struct {
	// EnvelopeID identifies this envelope (a UUID); a publisher usually leaves it empty
	// for the bus to assign.
	EnvelopeID string `json:"envelope_id,omitempty"`
	// CorrelationID ties together every event of one logical operation.
	CorrelationID string `json:"correlation_id,omitempty"`
	// CausationID is the EnvelopeID of the event that caused this one.
	CausationID string `json:"causation_id,omitempty"`
	// EventType names the kind of fact, for example "order.placed"; required.
	EventType string `json:"event_type"`
	// Topic is where the event is published; required, see ValidTopic.
	Topic string `json:"topic"`
	// Key orders and partitions events that share it (the NATS/Kafka message key).
	Key string `json:"key,omitempty"`
	// Headers are free-form string metadata passed through unchanged.
	Headers map[string]string `json:"headers,omitempty"`
	// Payload is the event body as JSON; empty means none.
	Payload json.RawMessage `json:"payload,omitempty"`
	// Timestamp is when the event happened; the zero value means the bus assigns it.
	Timestamp time.Time `json:"timestamp,omitzero"`
	// TraceID and SpanID carry the trace context (W3C trace-context IDs, hex).
	TraceID string `json:"trace_id,omitempty"`
	SpanID  string `json:"span_id,omitempty"`
}

// ValidTopic reports whether s is a well-formed event topic,
// onex.evt.<domain>.<name>.v<N>: domain and name are lowercase letters, digits, '_' and
// '-', and N is a positive integer without leading zeros.
//
// It is hand-written rather than a regexp because the bus checks every published event
// (≈ 350 ns with regexp; a fuzz test keeps the two in agreement).
func ValidTopic(s string) bool {
	rest, ok := strings.CutPrefix(s, "onex.evt.")
	if !ok {
		return false
	}
	domain, rest, ok := strings.Cut(rest, ".")
	if !ok || !topicSegment(domain) {
		return false
	}
	name, version, ok := strings.Cut(rest, ".")
	if !ok || !topicSegment(name) || len(version) < 2 || version[0] != 'v' || version[1] < '1' || version[1] > '9' {
		return false
	}
	for i := 2; i < len(version); i++ {
		if version[i] < '0' || version[i] > '9' {
			return false
		}
	}
	return true
}

// topicSegment reports whether s is one or more of [a-z0-9_-].
func topicSegment(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Validate checks the rules every published event obeys: Topic passes ValidTopic,
// EventType is not empty and Payload is empty or valid JSON. It returns nil or an error
// wrapping ErrInvalidEvent. It does not require EnvelopeID or Timestamp, which a bus
// fills in.
func (e *Event) Validate() error {
	switch {
	case !ValidTopic(e.Topic):
		return fmt.Errorf("%w: topic %q is not onex.evt.<domain>.<name>.v<N>", ErrInvalidEvent, e.Topic)
	case e.EventType == "":
		return fmt.Errorf("%w: event_type is empty", ErrInvalidEvent)
	case len(e.Payload) > 0 && !json.Valid(e.Payload):
		return fmt.Errorf("%w: payload is not valid JSON", ErrInvalidEvent)
	}
	return nil
}
