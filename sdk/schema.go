package sdk

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// SchemaOf returns the JSON Schema (draft 2020-12) the SDK derives for a computation's
// input type T (input true) or output type T (input false): what Compute, Effect and
// Reducer put in the manifest when the abi.Computation leaves InputSchema or
// OutputSchema empty. An input schema adds "additionalProperties": false to every
// struct, as a typed input refuses unknown fields (unless AllowUnknownFields is passed,
// which leaves it out), and accepts null at the top level, which the SDK decodes as T's
// zero value (an empty input is null, per the ABI).
//
// The schema says what encoding/json reads and writes for T:
//   - bool is "boolean", the integer kinds are "integer" (with their range for the sized
//     ones; unsigned ones have minimum 0), float32 and float64 are "number", string is
//     "string", []byte is a base64 "string";
//   - a struct is an "object" whose properties are its exported fields under their json
//     names (fields tagged "-" left out, embedded structs' fields promoted, the ",string"
//     option making a number or bool a "string"); a field is required unless it is
//     tagged omitempty or omitzero or is a pointer;
//   - a slice is an "array" of its element's schema (or null: a nil slice is null), an
//     array an "array" of exactly its length, a map an "object" whose
//     additionalProperties are its value's schema (or null); a pointer is its element's
//     schema or null;
//   - time.Time is a "date-time" string; any other type that implements
//     json.Marshaler or json.Unmarshaler is unconstrained ({}), and one that implements
//     encoding.TextMarshaler or encoding.TextUnmarshaler is a "string"; an interface,
//     a channel, a function or a complex number is unconstrained too;
//   - a struct type that contains itself is described once under $defs and referred to
//     with $ref.
//
// The result is deterministic (object keys sorted), so it
// can be compared with a golden file. SchemaOf uses only reflect and encoding/json, which
// every Go guest already links.
func SchemaOf[T any](input bool) json.RawMessage {
	return deriveSchema(reflect.TypeFor[T](), input, input)
}

// schema is one JSON Schema object while it is built.
type schema = map[string]any

// deriver builds one schema; it is used once.
type deriver struct {
	closed bool
	// building holds the struct types being described, to notice a recursive one;
	// recursive marks those that were met again inside themselves, and defs holds
	// their schemas under their $defs names.
	building  map[reflect.Type]bool
	recursive map[reflect.Type]bool
	defs      schema
}

// deriveSchema is SchemaOf: closed refuses unknown fields, and topNull accepts null at
// the top level.
func deriveSchema(t reflect.Type, closed, topNull bool) json.RawMessage {
	d := deriver{closed: closed, building: map[reflect.Type]bool{}, recursive: map[reflect.Type]bool{}, defs: schema{}}
	s := d.of(t)
	if topNull {
		s = nullable(s)
	}
	if len(d.defs) > 0 {
		s["$defs"] = d.defs
	}
	b, err := json.Marshal(s)
	if err != nil { // only strings, numbers, bools, slices and maps of them: cannot fail
		panic("sdk: derive schema: " + err.Error())
	}
	return b
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	byteType          = reflect.TypeFor[byte]()
	// integerRange holds the bounds of the sized integer kinds.
	integerRange = map[reflect.Kind][2]int64{
		reflect.Int8: {-1 << 7, 1<<7 - 1}, reflect.Int16: {-1 << 15, 1<<15 - 1}, reflect.Int32: {-1 << 31, 1<<31 - 1},
		reflect.Uint8: {0, 1<<8 - 1}, reflect.Uint16: {0, 1<<16 - 1}, reflect.Uint32: {0, 1<<32 - 1},
	}
)

// implementsAny reports whether t or *t implements one of ifaces.
func implementsAny(t reflect.Type, ifaces ...reflect.Type) bool {
	for _, i := range ifaces {
		if t.Implements(i) || reflect.PointerTo(t).Implements(i) {
			return true
		}
	}
	return false
}

// of returns t's schema (a fresh map the caller may change).
func (d *deriver) of(t reflect.Type) schema {
	if t.Kind() == reflect.Pointer { // before the interfaces, which *T has when T has them
		return nullable(d.of(t.Elem()))
	}
	if t == timeType {
		return schema{"type": "string", "format": "date-time"}
	}
	if implementsAny(t, marshalerType, unmarshalerType) {
		return schema{}
	}
	if implementsAny(t, textMarshalerType, textUnmarshalerType) {
		return schema{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return schema{"type": "boolean"}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		r := integerRange[t.Kind()]
		return schema{"type": "integer", "minimum": r[0], "maximum": r[1]}
	case reflect.Int, reflect.Int64:
		return schema{"type": "integer"}
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return schema{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return schema{"type": "number"}
	case reflect.String:
		return schema{"type": "string"}
	case reflect.Slice:
		if t.Elem() == byteType && !implementsAny(t.Elem(), marshalerType, textMarshalerType) {
			return schema{"type": []string{"string", "null"}, "contentEncoding": "base64"}
		}
		return schema{"type": []string{"array", "null"}, "items": d.of(t.Elem())}
	case reflect.Array:
		return schema{"type": "array", "items": d.of(t.Elem()), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return schema{"type": []string{"object", "null"}, "additionalProperties": d.of(t.Elem())}
	case reflect.Struct:
		return d.structOf(t)
	}
	return schema{} // interfaces hold anything; channels, functions and complex numbers never decode
}

// structOf describes a struct type, or refers to it when it is being described already.
func (d *deriver) structOf(t reflect.Type) schema {
	ref := schema{"$ref": "#/$defs/" + defName(t)}
	if d.building[t] {
		d.recursive[t] = true
		return ref
	}
	d.building[t] = true
	props, required := schema{}, []string{}
	d.fields(t, props, &required, map[reflect.Type]bool{})
	delete(d.building, t)
	s := schema{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if d.closed {
		s["additionalProperties"] = false
	}
	if d.recursive[t] {
		d.defs[defName(t)] = s
		return ref
	}
	return s
}

// fields adds t's fields to props, and the names of the required ones to required: its
// own first, then those promoted from its embedded structs (a name already taken wins,
// as a shallower field does in encoding/json).
func (d *deriver) fields(t reflect.Type, props schema, required *[]string, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := props[name]; taken {
			continue
		}
		s := d.of(ft)
		if hasOpt(opts, "string") {
			if k := ft.Kind(); k == reflect.Bool || k == reflect.String || (k >= reflect.Int && k <= reflect.Float64) {
				s = schema{"type": "string"}
			}
		}
		props[name] = s
		if !hasOpt(opts, "omitempty") && !hasOpt(opts, "omitzero") && ft.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
	for _, et := range embedded {
		d.fields(et, props, required, seen)
	}
}

func hasOpt(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// nullable makes s also accept null.
func nullable(s schema) schema {
	switch typ := s["type"].(type) {
	case nil:
		if len(s) == 0 { // {} accepts null already
			return s
		}
	case string:
		s["type"] = []string{typ, "null"}
		return s
	case []string:
		for _, x := range typ {
			if x == "null" {
				return s
			}
		}
		s["type"] = append(typ, "null")
		return s
	}
	return schema{"anyOf": []any{s, schema{"type": "null"}}}
}

// defName names a recursive struct type under $defs: its package path and name, with
// characters a JSON Pointer would escape replaced.
func defName(t reflect.Type) string {
	n := t.String()
	if t.PkgPath() != "" {
		n = t.PkgPath() + "." + t.Name()
	}
	return strings.NewReplacer("/", ".", "~", "-", "[", "(", "]", ")", " ", "").Replace(n)
}
