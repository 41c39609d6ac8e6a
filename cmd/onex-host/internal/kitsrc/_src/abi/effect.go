package abi

import (
	"encoding/json"
	"fmt"
)

// DefaultEffect is the effect type used when an input names none.
const DefaultEffect = "default"

// EffectInput is ONEX's effect input envelope. As with ComputeInput, the envelope stays
// on the host: the guest receives only the effect type and the OperationData bytes. The
// retry, transaction and breaker fields tell the host how to run it.
//
// The zero value asks for the default effect with null data, with a transaction, retries
// as the node's policy says, the breakers on and the node's timeout.
type EffectInput struct {
	// EffectType names the effect the node performs (ONEX: file_operation, api_call,
	// event_emission, …, or any name the node's manifest lists); empty means DefaultEffect.
	EffectType string
	// OperationData is the effect's input as JSON; empty means null.
	OperationData json.RawMessage
	// OperationID identifies the operation (a UUID); empty means the host assigns one.
	OperationID string
	// NoTransaction runs without a transaction: side effects are not recorded and nothing
	// is rolled back. On the wire it is the inverse of ONEX's transaction_enabled (default
	// true).
	NoTransaction bool
	// NoRetry makes the first failure final (the inverse of ONEX's retry_enabled).
	NoRetry bool
	// MaxRetries overrides the node's retry count when not nil (ONEX's max_retries).
	MaxRetries *int
	// RetryDelayMS overrides the node's base retry delay when not nil (ONEX's
	// retry_delay_ms).
	RetryDelayMS *int64
	// NoCircuitBreaker bypasses the per-service breakers (the inverse of ONEX's
	// circuit_breaker_enabled, default true).
	NoCircuitBreaker bool
	// TimeoutMS bounds the whole effect, retries included, when above 0 (ONEX's
	// timeout_ms, enforced here).
	TimeoutMS int64
	// Metadata is passed through unchanged; the host never reads it.
	Metadata map[string]any
}

type effectInputJSON struct {
	EffectType            string          `json:"effect_type,omitempty"`
	OperationData         json.RawMessage `json:"operation_data"`
	OperationID           string          `json:"operation_id,omitempty"`
	TransactionEnabled    *bool           `json:"transaction_enabled,omitempty"`
	RetryEnabled          *bool           `json:"retry_enabled,omitempty"`
	MaxRetries            *int            `json:"max_retries,omitempty"`
	RetryDelayMS          *int64          `json:"retry_delay_ms,omitempty"`
	CircuitBreakerEnabled *bool           `json:"circuit_breaker_enabled,omitempty"`
	TimeoutMS             int64           `json:"timeout_ms,omitempty"`
	Metadata              map[string]any  `json:"metadata,omitempty"`
}

// MarshalJSON encodes the input with ONEX's field names. effect_type is always written
// (an empty EffectType as DefaultEffect), so that DecodeEffectInput accepts the result.
func (in EffectInput) MarshalJSON() ([]byte, error) {
	data := in.OperationData
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	tx, retry, breaker := !in.NoTransaction, !in.NoRetry, !in.NoCircuitBreaker
	return json.Marshal(effectInputJSON{
		EffectType:            in.Effect(),
		OperationData:         data,
		OperationID:           in.OperationID,
		TransactionEnabled:    &tx,
		RetryEnabled:          &retry,
		MaxRetries:            in.MaxRetries,
		RetryDelayMS:          in.RetryDelayMS,
		CircuitBreakerEnabled: &breaker,
		TimeoutMS:             in.TimeoutMS,
		Metadata:              in.Metadata,
	})
}

// UnmarshalJSON decodes ONEX's field names; a missing *_enabled field means true.
// Unknown fields are ignored, as ONEX's models do. The host's doors use the strict
// DecodeEffectInput instead.
func (in *EffectInput) UnmarshalJSON(b []byte) error {
	var w effectInputJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*in = w.input()
	return nil
}

// Effect returns EffectType, or DefaultEffect when it is empty.
func (in *EffectInput) Effect() string {
	if in.EffectType == "" {
		return DefaultEffect
	}
	return in.EffectType
}

// DecodeEffectInput parses one EffectInput JSON object as strictly as
// DecodeComputeInput does: valid UTF-8, one JSON object, only the envelope's fields and
// a non-empty effect_type. Every failure wraps ErrInvalidEnvelope.
func DecodeEffectInput(b []byte) (EffectInput, error) {
	var w effectInputJSON
	if err := decodeStrict(b, &w, "effect input"); err != nil {
		return EffectInput{}, err
	}
	if w.EffectType == "" {
		return EffectInput{}, fmt.Errorf(`%w: effect input: effect_type is missing or empty (name one; "default" names the default effect)`, ErrInvalidEnvelope)
	}
	return w.input(), nil
}

// Transaction states, as EffectOutput reports them.
const (
	TransactionNone       = "none" // the effect ran without a transaction
	TransactionCommitted  = "committed"
	TransactionRolledBack = "rolled_back"
	TransactionFailed     = "failed" // rolled back, but a compensation failed
)

// EffectOutput is ONEX's effect output envelope, filled by the host.
type EffectOutput struct {
	// Result is the guest's output, a JSON value.
	Result json.RawMessage `json:"result"`
	// OperationID echoes the input's, or the one the host assigned.
	OperationID string `json:"operation_id"`
	// EffectType is the effect that ran.
	EffectType string `json:"effect_type"`
	// TransactionState is the last attempt's transaction: committed, rolled_back, failed,
	// or none.
	TransactionState string `json:"transaction_state"`
	// TransactionID identifies the last attempt's transaction, if any.
	TransactionID string `json:"transaction_id,omitempty"`
	// ProcessingTimeMS is the wall time of the whole effect, retries included.
	ProcessingTimeMS float64 `json:"processing_time_ms"`
	// RetryCount is the number of failed attempts before the last one.
	RetryCount int `json:"retry_count"`
	// FuelUsed is the metered work the guest did over every attempt (0 when guarded). An
	// onex-host extension of ONEX's envelope.
	FuelUsed uint64 `json:"fuel_used,omitempty"`
	// SideEffectsApplied counts the mutating operations the last attempt recorded.
	SideEffectsApplied int `json:"side_effects_applied"`
	// RollbackOperations lists what the last rollback did, newest first.
	RollbackOperations []RollbackOperation `json:"rollback_operations,omitempty"`
	// Metadata is the input's metadata, passed through.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// RollbackOperation is one compensated (or uncompensatable) operation of a rollback.
type RollbackOperation struct {
	Seq     int    `json:"seq"`
	Kind    string `json:"kind"`              // e.g. "fs.write", "kv.put", "http.request"
	Service string `json:"service,omitempty"` // e.g. "fs:/srv/data", "kv", "http:api.example.com"
	Target  string `json:"target,omitempty"`  // the path, key or URL
	Outcome string `json:"outcome"`           // compensated, failed, irreversible
	Error   string `json:"error,omitempty"`
}

// input is the EffectInput w spells: an absent *_enabled flag means enabled.
func (w effectInputJSON) input() EffectInput {
	off := func(p *bool) bool { return p != nil && !*p }
	return EffectInput{
		EffectType:       w.EffectType,
		OperationData:    w.OperationData,
		OperationID:      w.OperationID,
		NoTransaction:    off(w.TransactionEnabled),
		NoRetry:          off(w.RetryEnabled),
		MaxRetries:       w.MaxRetries,
		RetryDelayMS:     w.RetryDelayMS,
		NoCircuitBreaker: off(w.CircuitBreakerEnabled),
		TimeoutMS:        w.TimeoutMS,
		Metadata:         w.Metadata,
	}
}
