package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// benchOrderSchema describes benchOrder's input: an object with an array of items.
const benchOrderSchema = `{"type":"object","required":["customer","items"],"additionalProperties":false,
	"properties":{"customer":{"type":"string"},"items":{"type":"array","items":{"type":"object",
	"required":["sku","qty"],"additionalProperties":false,
	"properties":{"sku":{"type":"string"},"qty":{"type":"integer","minimum":1},"note":{"type":"string"}}}}}}`

// benchOrder returns an order of n items (about 40 bytes each).
func benchOrder(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"customer":"c-1","items":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"sku-%05d","qty":%d,"note":"n"}`, i, i%9+1)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkEchoInputSchema measures what the door's input check costs per call: goecho's
// identity computation through Plugin.Call (default config) with
//
//   - none: no input schema (goecho as built);
//   - checked: an input schema in a manifest section, checked on every call;
//   - skipped: the same schema with PluginConfig.SkipInputValidation.
//
// on a 64-byte JSON string (schema {"type":"string"}) and on an order object of 10 and
// of 1,000 items (benchOrderSchema). Compare checked with none for the cost.
func BenchmarkEchoInputSchema(b *testing.B) {
	inputs := []struct {
		name, schema string
		data         []byte
	}{
		{"string-64B", `{"type":"string"}`, echoInput(64)},
		{"order-10", benchOrderSchema, benchOrder(10)},
		{"order-1000", benchOrderSchema, benchOrder(1000)},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			for _, v := range []struct {
				name   string
				schema string
				pc     host.PluginConfig
			}{
				{"none", "", host.PluginConfig{}},
				{"checked", in.schema, host.PluginConfig{}},
				{"skipped", in.schema, host.PluginConfig{SkipInputValidation: true}},
			} {
				b.Run(v.name, func(b *testing.B) { benchSchemaEcho(b, in.data, v.schema, v.pc) })
			}
		})
	}
}

func benchSchemaEcho(b *testing.B, in []byte, schema string, pc host.PluginConfig) {
	h, _ := newHost(b, host.NewConfig())
	ctx := context.Background()
	wasm := plugintest.Bytes(b, goechoPath)
	if schema != "" {
		m := abi.Manifest{Name: "goecho", Version: "1.0.0", Kind: abi.KindCompute, Deterministic: true, Idempotent: true,
			Computations: []abi.Computation{{Name: abi.DefaultComputation, InputSchema: json.RawMessage(schema)}}}
		section, err := json.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		wasm = abi.AppendCustomSection(append([]byte(nil), wasm...), abi.ManifestSection, section)
	}
	p, err := h.Load(ctx, wasm, pc)
	if err != nil {
		b.Fatal(err)
	}
	checkEcho(b, in, func() ([]byte, error) { return p.Call(ctx, abi.DefaultComputation, in) })
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := p.Call(ctx, abi.DefaultComputation, in); err != nil {
			b.Fatal(err)
		}
	}
}
