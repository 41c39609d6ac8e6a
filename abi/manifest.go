package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"
	"unicode/utf8"
)

// Kind is the ONEX node type a plugin implements.
type Kind string

// Node kinds.
const (
	KindCompute Kind = "compute" // pure transforms: input bytes to result bytes
	KindEffect  Kind = "effect"  // I/O through granted host capabilities
)

// Capability names a group of host functions a node asks the operator to grant. Logging
// needs no capability: every node may log.
type Capability string

// Capabilities a manifest may request.
const (
	CapabilityFS     Capability = "fs"     // files inside granted roots
	CapabilityHTTP   Capability = "http"   // outbound requests to granted hosts
	CapabilityKV     Capability = "kv"     // the host's key-value store
	CapabilityEvents Capability = "events" // publishing event envelopes
)

// Manifest is the node contract (ONEX's node metadata): what the node is, what it offers
// and what it needs. It is a plain value, safe to copy; decode with DecodeManifest so it
// is validated.
type Manifest struct {
	Name        string `json:"name"`                  // required; see ValidName
	Version     string `json:"version"`               // required; free form, e.g. "1.2.0"
	Kind        Kind   `json:"kind"`                  // required: compute, effect, reducer or orchestrator
	Description string `json:"description,omitempty"` // one line for humans
	// Computations the node offers; a compute node offers at least one. A reducer node
	// lists its reductions here (at least one), each InputSchema documenting the event
	// data and OutputSchema the state.
	Computations []Computation `json:"computations,omitempty"`
	// Effects the node performs (ONEX's effect types); an effect node offers at least one,
	// and a compute node none.
	Effects []Computation `json:"effects,omitempty"`
	// Deterministic (ONEX "purity") promises equal outputs for equal inputs, which makes
	// results cacheable.
	Deterministic bool `json:"deterministic"`
	// Idempotent promises that repeating a call has no further effect.
	Idempotent bool `json:"idempotent"`
	// TimeoutMS is the node's default per-call timeout in milliseconds; 0 leaves the
	// host's default.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// Capabilities the node needs; loading fails unless the operator granted each.
	Capabilities []Capability `json:"capabilities,omitempty"`
	// Publishes lists the event topics the node may publish, each named
	// onex.evt.<domain>.<name>.v<N>.
	Publishes []string `json:"publishes,omitempty"`
	// Config declares the configuration keys the node reads (ImportConfig); the operator
	// may set no other key.
	Config []ConfigKey `json:"config,omitempty"`
}

// Computation is one operation a node offers: a computation of a compute node, or an
// effect type of an effect node.
type Computation struct {
	Name        string `json:"name"` // required, unique within the manifest; see ValidName
	Description string `json:"description,omitempty"`
	// InputSchema and OutputSchema are optional JSON Schemas (draft 2020-12 by default)
	// of the data; this package checks only that they are JSON objects. onex-host also
	// compiles InputSchema at load and checks every input against it (abi/SPEC.md
	// section 5).
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	OutputSchema json.RawMessage `json:"output_schema,omitempty"`
}

// MaxManifestSize is the largest manifest, in bytes, DecodeManifest accepts.
const MaxManifestSize = 1 << 20

// ErrInvalidManifest is returned (wrapped, naming the field) by DecodeManifest and
// Manifest.Validate for a manifest that breaks a rule of this package.
var ErrInvalidManifest = errors.New("abi: invalid manifest")

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ValidName reports whether s may name a node or a computation: 1–64 characters of
// lowercase letters, digits, '_', '.' and '-', starting with a letter or digit.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// DecodeManifest parses and validates a JSON manifest. Unknown fields are rejected so a
// typo does not silently drop a promise, and so are bytes that are not UTF-8 (which JSON
// decoding would silently replace with U+FFFD). Errors wrap ErrInvalidManifest.
func DecodeManifest(b []byte) (Manifest, error) {
	var m Manifest
	if len(b) > MaxManifestSize {
		return m, fmt.Errorf("%w: %d bytes exceeds the %d-byte limit", ErrInvalidManifest, len(b), MaxManifestSize)
	}
	if !utf8.Valid(b) {
		return m, fmt.Errorf("%w: not valid UTF-8 (at byte %d)", ErrInvalidManifest, invalidUTF8At(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrInvalidManifest, err)
	}
	if !atEOF(dec) {
		return Manifest{}, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalidManifest)
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// invalidUTF8At returns the offset of the first byte of b that does not start a valid
// UTF-8 sequence, or len(b).
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// Validate checks every rule of the manifest format and returns the first broken one,
// wrapping ErrInvalidManifest and naming the field.
func (m *Manifest) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidManifest}, args...)...)
	}
	if !ValidName(m.Name) {
		return bad("name %q must be 1-64 characters of [a-z0-9_.-] starting with a letter or digit", m.Name)
	}
	if m.Version == "" || utf8.RuneCountInString(m.Version) > 64 {
		return bad("version must be 1-64 characters, got %q", m.Version)
	}
	switch m.Kind {
	case KindCompute:
		if len(m.Computations) == 0 {
			return bad("a compute node must offer at least one computation")
		}
		if len(m.Effects) > 0 {
			return bad("a compute node offers computations, not effects")
		}
	case KindEffect:
		if len(m.Effects) == 0 {
			return bad("an effect node must offer at least one effect")
		}
		if len(m.Computations) > 0 {
			return bad("an effect node offers effects, not computations")
		}
	case KindReducer:
		if len(m.Computations) == 0 {
			return bad("a reducer node must offer at least one reduction (in computations)")
		}
		if len(m.Effects) > 0 {
			return bad("a reducer node offers reductions (in computations), not effects")
		}
		if len(m.Capabilities) > 0 || len(m.Publishes) > 0 {
			return bad("a reducer node does no I/O: it asks for effects with intents, so it has no capabilities or publishes")
		}
	case KindOrchestrator:
		if len(m.Computations) == 0 {
			return bad("an orchestrator node must offer at least one workflow (in computations)")
		}
		if len(m.Effects) > 0 {
			return bad("an orchestrator node offers workflows (in computations), not effects")
		}
		if len(m.Capabilities) > 0 || len(m.Publishes) > 0 {
			return bad("an orchestrator node does no I/O: it decides which steps run, so it has no capabilities or publishes")
		}
	default:
		return bad("kind %q is not %q, %q, %q or %q", m.Kind, KindCompute, KindEffect, KindReducer, KindOrchestrator)
	}
	list, offers := "computations", m.Computations
	if m.Kind == KindEffect {
		list, offers = "effects", m.Effects
	}
	seen := make(map[string]bool, len(offers))
	for i, c := range offers {
		if !ValidName(c.Name) {
			return bad("%s[%d].name %q must be 1-64 characters of [a-z0-9_.-]", list, i, c.Name)
		}
		if seen[c.Name] {
			return bad("%s[%d].name %q is declared twice", list, i, c.Name)
		}
		seen[c.Name] = true
		if err := checkSchema(c.InputSchema); err != nil {
			return bad("%s[%d].input_schema: %v", list, i, err)
		}
		if err := checkSchema(c.OutputSchema); err != nil {
			return bad("%s[%d].output_schema: %v", list, i, err)
		}
	}
	if m.TimeoutMS < 0 || m.TimeoutMS > int64(24*time.Hour/time.Millisecond) {
		return bad("timeout_ms %d must be between 0 and 86400000", m.TimeoutMS)
	}
	granted := make(map[Capability]bool, len(m.Capabilities))
	for i, c := range m.Capabilities {
		switch c {
		case CapabilityFS, CapabilityHTTP, CapabilityKV, CapabilityEvents:
		default:
			return bad("capabilities[%d] %q is unknown (known: fs, http, kv, events)", i, c)
		}
		if granted[c] {
			return bad("capabilities[%d] %q is listed twice", i, c)
		}
		granted[c] = true
	}
	for i, t := range m.Publishes {
		if !ValidTopic(t) {
			return bad("publishes[%d] %q must be named onex.evt.<domain>.<name>.v<N>", i, t)
		}
	}
	if len(m.Publishes) > 0 && !granted[CapabilityEvents] {
		return bad("publishes lists topics but capabilities lacks %q", CapabilityEvents)
	}
	if err := validateConfig(m.Config); err != nil {
		return bad("%v", err)
	}
	return nil
}

// Computation returns the computation (or, for an effect node, the effect) of the given
// name and whether it exists.
func (m *Manifest) Computation(name string) (Computation, bool) {
	for _, c := range m.Offers() {
		if c.Name == name {
			return c, true
		}
	}
	return Computation{}, false
}

// Offers returns what the node offers: its effects for an effect node, else its
// computations.
func (m *Manifest) Offers() []Computation {
	if m.Kind == KindEffect {
		return m.Effects
	}
	return m.Computations
}

// Timeout returns TimeoutMS as a duration (0 when unset).
func (m *Manifest) Timeout() time.Duration { return time.Duration(m.TimeoutMS) * time.Millisecond }

func checkSchema(s json.RawMessage) error {
	if len(s) == 0 {
		return nil
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(s, &v); err != nil || v == nil {
		return errors.New("must be a JSON object")
	}
	return nil
}

// atEOF reports whether dec has nothing but white space left. (Decoder.More is not
// enough: it reports false before a stray '}' or ']'.)
func atEOF(dec *json.Decoder) bool {
	_, err := dec.Token()
	return err == io.EOF
}
