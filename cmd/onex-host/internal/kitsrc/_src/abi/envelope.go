package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

var (
	// ErrInvalidEnvelope is returned by DecodeComputeInput and DecodeEffectInput when the
	// bytes are not one envelope as SPEC §6 describes: not valid UTF-8, not one JSON
	// object, a field the envelope does not have (named in the message), or no
	// computation_type (effect_type).
	ErrInvalidEnvelope = errors.New("abi: invalid envelope")
	// ErrInvalidData is returned by CheckData for data that is not one JSON value in
	// valid UTF-8.
	ErrInvalidData = errors.New("abi: invalid data")
)

// DefaultComputation is the computation type used when an input names none (ONEX's
// default: the identity transform).
const DefaultComputation = "default"

// ComputeInput is ONEX's compute input envelope. The envelope stays on the host: a guest
// receives only the computation type and the Data bytes.
//
// The zero value asks for the default computation with null data, caching allowed.
type ComputeInput struct {
	// ComputationType names the computation; empty means DefaultComputation.
	ComputationType string
	// Data is the input as JSON; empty means null.
	Data json.RawMessage
	// OperationID identifies the operation (a UUID); empty means the host assigns one.
	OperationID string
	// NoCache bypasses the compute cache for this input. On the wire it is the inverse of
	// ONEX's cache_enabled field (default true).
	NoCache bool
	// ParallelEnabled is ONEX's parallel_enabled hint (default false).
	ParallelEnabled bool
	// Metadata is passed through unchanged; the host never reads it.
	Metadata map[string]any
}

type computeInputJSON struct {
	ComputationType string          `json:"computation_type,omitempty"`
	Data            json.RawMessage `json:"data"`
	OperationID     string          `json:"operation_id,omitempty"`
	CacheEnabled    *bool           `json:"cache_enabled,omitempty"`
	ParallelEnabled bool            `json:"parallel_enabled,omitempty"`
	Metadata        map[string]any  `json:"metadata,omitempty"`
}

// MarshalJSON encodes the input with ONEX's field names. computation_type is always
// written (an empty ComputationType as DefaultComputation), so that DecodeComputeInput
// accepts the result.
func (in ComputeInput) MarshalJSON() ([]byte, error) {
	enabled := !in.NoCache
	data := in.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return json.Marshal(computeInputJSON{
		ComputationType: in.Computation(),
		Data:            data,
		OperationID:     in.OperationID,
		CacheEnabled:    &enabled,
		ParallelEnabled: in.ParallelEnabled,
		Metadata:        in.Metadata,
	})
}

// UnmarshalJSON decodes ONEX's field names; a missing cache_enabled means true. Unknown
// fields are ignored, as ONEX's models do. The host's doors use the strict
// DecodeComputeInput instead.
func (in *ComputeInput) UnmarshalJSON(b []byte) error {
	var w computeInputJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*in = ComputeInput{
		ComputationType: w.ComputationType,
		Data:            w.Data,
		OperationID:     w.OperationID,
		NoCache:         w.CacheEnabled != nil && !*w.CacheEnabled,
		ParallelEnabled: w.ParallelEnabled,
		Metadata:        w.Metadata,
	}
	return nil
}

// Computation returns ComputationType, or DefaultComputation when it is empty.
func (in *ComputeInput) Computation() string {
	if in.ComputationType == "" {
		return DefaultComputation
	}
	return in.ComputationType
}

// DecodeComputeInput parses one ComputeInput JSON object strictly, as every door of the
// host does (SPEC §6): the bytes must be valid UTF-8 holding exactly one JSON object,
// with only the envelope's fields and a non-empty computation_type ("default" names the
// identity computation explicitly). Every failure wraps ErrInvalidEnvelope and names the
// offending field or byte.
func DecodeComputeInput(b []byte) (ComputeInput, error) {
	var w computeInputJSON
	if err := decodeStrict(b, &w, "compute input"); err != nil {
		return ComputeInput{}, err
	}
	if w.ComputationType == "" {
		return ComputeInput{}, fmt.Errorf(`%w: compute input: computation_type is missing or empty (name one; "default" is the identity)`, ErrInvalidEnvelope)
	}
	return ComputeInput{
		ComputationType: w.ComputationType,
		Data:            w.Data,
		OperationID:     w.OperationID,
		NoCache:         w.CacheEnabled != nil && !*w.CacheEnabled,
		ParallelEnabled: w.ParallelEnabled,
		Metadata:        w.Metadata,
	}, nil
}

// decodeStrict decodes b, one JSON object of valid UTF-8 with only the fields of v's
// type, into v. Errors wrap ErrInvalidEnvelope and start with what.
func decodeStrict(b []byte, v any, what string) error {
	if at := invalidUTF8(b); at >= 0 {
		return fmt.Errorf("%w: %s: not valid UTF-8 at byte %d", ErrInvalidEnvelope, what, at)
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("%w: %s: want a JSON object", ErrInvalidEnvelope, what)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// encoding/json names an unknown field in its message: `json: unknown field "x"`.
		return fmt.Errorf("%w: %s: %s", ErrInvalidEnvelope, what, strings.TrimPrefix(err.Error(), "json: "))
	}
	if !atEOF(dec) {
		return fmt.Errorf("%w: %s: trailing data after the JSON object", ErrInvalidEnvelope, what)
	}
	return nil
}

// CheckData checks that b is input data as every door accepts it: one JSON value in
// valid UTF-8. Errors wrap ErrInvalidData.
func CheckData(b []byte) error {
	if at := invalidUTF8(b); at >= 0 {
		return fmt.Errorf("%w: not valid UTF-8 at byte %d", ErrInvalidData, at)
	}
	if !json.Valid(b) {
		var v json.RawMessage
		return fmt.Errorf("%w: not valid JSON: %s", ErrInvalidData, strings.TrimPrefix(json.Unmarshal(b, &v).Error(), "json: "))
	}
	return nil
}

// invalidUTF8 returns the offset of b's first byte that is not valid UTF-8, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// ComputeOutput is ONEX's compute output envelope, filled by the host.
type ComputeOutput struct {
	// Result is the guest's output, a JSON value.
	Result json.RawMessage `json:"result"`
	// OperationID echoes the input's, or the one the host assigned.
	OperationID string `json:"operation_id"`
	// ComputationType is the computation that ran.
	ComputationType string `json:"computation_type"`
	// ProcessingTimeMS is the wall time of the guest call in milliseconds; 0 on a cache hit.
	ProcessingTimeMS float64 `json:"processing_time_ms"`
	// CacheHit reports that Result came from the compute cache: CacheOutcome is "hit" or
	// "shared_hit".
	CacheHit bool `json:"cache_hit"`
	// CacheOutcome says how the host's compute cache answered this call: "hit" (held by
	// this host), "shared_hit" (held by the shared level, e.g. another host), "joined"
	// (this call waited for the same computation another call had started; the guest
	// ran once for both) or "miss" (the guest ran for this call). Empty when the cache
	// was not asked. An onex-host extension of ONEX's envelope.
	CacheOutcome string `json:"cache_outcome,omitempty"`
	// ParallelExecutionUsed reports that the input ran as part of a parallel batch.
	ParallelExecutionUsed bool `json:"parallel_execution_used"`
	// FuelUsed is the metered work the guest did (about one unit per Wasm instruction);
	// 0 on a cache hit, for a guarded plugin, or when another caller computed the shared
	// result. An onex-host extension of ONEX's envelope.
	FuelUsed uint64 `json:"fuel_used,omitempty"`
	// Metadata is the input's metadata, passed through.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// Error is the structured error payload a guest returns with a non-zero Status, and a
// host function leaves in the result register. Code is a short snake_case identifier
// (the Status name when the guest gives none); Retryable says whether trying again
// unchanged may succeed.
type Error struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable,omitempty"`
}

// Error returns "code: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// MaxErrorPayload is the largest error payload, in bytes, a host decodes.
const MaxErrorPayload = 64 << 10

// DecodeError parses an error payload. A payload that is not a JSON object is not an
// error of its own: its bytes (up to MaxErrorPayload) become the Message, so a guest in
// any language may return plain text. A missing Code becomes the Status name.
func DecodeError(status Status, b []byte) Error {
	if len(b) > MaxErrorPayload {
		b = b[:MaxErrorPayload]
	}
	var e Error
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &e) != nil {
		e = Error{Message: string(bytes.ToValidUTF8(b, []byte("\uFFFD")))}
	}
	e.Code = strings.ToValidUTF8(e.Code, "\uFFFD")
	e.Message = strings.ToValidUTF8(e.Message, "\uFFFD")
	if e.Code == "" {
		e.Code = status.String()
	}
	if !e.Retryable && status.Retryable() {
		e.Retryable = true
	}
	return e
}

// AppendError appends e as JSON to dst and returns the extended slice.
func AppendError(dst []byte, e Error) []byte {
	b, _ := json.Marshal(e) // cannot fail: only strings and a bool
	return append(dst, b...)
}
