package sdk_test

import (
	"context"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

// A plugin registers its computations in init; its main function stays empty.
func init() {
	sdk.Describe(abi.Manifest{
		Name:          "greeter",
		Version:       "1.0.0",
		Kind:          abi.KindCompute,
		Description:   "Greets people",
		Deterministic: true,
		Idempotent:    true,
	})
	sdk.Compute(abi.Computation{Name: "greet", Description: "Greet a person by name"}, greet)
}

type person struct {
	Name string `json:"name"`
}

func greet(_ context.Context, p person) (string, error) {
	if p.Name == "" {
		return "", sdk.NewError("no_name", "greet: the name is empty")
	}
	return "Hello, " + p.Name + "!", nil
}

// Dispatch runs a registered computation natively, exactly as the host would through
// onex_compute: handlers are unit-tested without Wasm.
func Example() {
	ctx := context.Background()
	for _, input := range []string{`{"name":"Ada"}`, `{}`, `"Ada"`} {
		status, out := sdk.Dispatch(ctx, "greet", []byte(input))
		fmt.Println(status, string(out))
	}
	status, out := sdk.Dispatch(ctx, "wave", nil)
	fmt.Println(status, string(out))
	// Output:
	// ok "Hello, Ada!"
	// error {"code":"no_name","message":"greet: the name is empty"}
	// invalid_input {"code":"invalid_input","message":"sdk: computation \"greet\": decode input as sdk_test.person: json: cannot unmarshal string into Go value of type sdk_test.person"}
	// unknown_computation {"code":"unknown_computation","message":"sdk: unknown computation \"wave\"; this plugin offers: greet"}
}
