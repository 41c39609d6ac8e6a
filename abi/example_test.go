package abi_test

import (
	"fmt"

	"github.com/onexhost/onex-host/abi"
)

func ExampleDecodeManifest() {
	m, err := abi.DecodeManifest([]byte(`{
		"name": "core",
		"version": "1.0.0",
		"kind": "compute",
		"computations": [{"name": "sum_numbers", "input_schema": {"type": "array"}}],
		"deterministic": true,
		"timeout_ms": 1500
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, ok := m.Computation("sum_numbers")
	fmt.Println(m.Name, m.Version, m.Kind, m.Deterministic, m.Timeout())
	fmt.Println(c.Name, ok, string(c.InputSchema))

	_, err = abi.DecodeManifest([]byte(`{"name": "Core", "version": "1", "kind": "effect"}`))
	fmt.Println(err)
	// Output:
	// core 1.0.0 compute true 1.5s
	// sum_numbers true {"type": "array"}
	// abi: invalid manifest: name "Core" must be 1-64 characters of [a-z0-9_.-] starting with a letter or digit
}

func ExampleCustomSection() {
	module := []byte(abi.Magic) // the smallest valid module
	module = abi.AppendCustomSection(module, abi.ManifestSection, []byte(`{"name":"core"}`))

	payload, err := abi.CustomSection(module, abi.ManifestSection)
	fmt.Printf("%s %v\n", payload, err)

	missing, err := abi.CustomSection(module, "name")
	fmt.Println(missing == nil, err)

	_, err = abi.CustomSection([]byte("(module)"), abi.ManifestSection)
	fmt.Println(err)
	// Output:
	// {"name":"core"} <nil>
	// true <nil>
	// abi: not a WebAssembly binary module (bad magic or version)
}

func ExampleDecodeError() {
	e := abi.DecodeError(abi.StatusError, []byte(`{"code":"bad_number","message":"item 2 is not a number"}`))
	fmt.Printf("%s (retryable: %v)\n", e.Error(), e.Retryable)

	// Plain text is accepted: it becomes the message, and the status names the code.
	e = abi.DecodeError(abi.StatusUnavailable, []byte("database is down"))
	fmt.Printf("%s (retryable: %v)\n", e.Error(), e.Retryable)

	// A guest builds its payload with AppendError.
	payload := abi.AppendError(nil, abi.Error{Code: "too_big", Message: "at most 100 items"})
	fmt.Println(string(payload))
	// Output:
	// bad_number: item 2 is not a number (retryable: false)
	// unavailable: database is down (retryable: true)
	// {"code":"too_big","message":"at most 100 items"}
}
