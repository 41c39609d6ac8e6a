package sdk_test

import (
	"context"
	"encoding/json"
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

// reportInput is the operation data of the store_report effect.
type reportInput struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// storeReport is an effect handler: it writes a file and publishes an event, both
// through the host's capabilities, and returns the event's envelope ID.
func storeReport(_ context.Context, in reportInput) (string, error) {
	path := "/srv/reports/" + in.Name + ".txt"
	if err := sdk.FS.Write(path, []byte(in.Text)); err != nil {
		return "", err // a *sdk.CapabilityError: its code and retryable flag reach the host
	}
	payload, err := json.Marshal(map[string]string{"path": path})
	if err != nil {
		return "", err
	}
	return sdk.Events.Publish(abi.Event{
		EventType: "report.stored",
		Topic:     "onex.evt.reports.stored.v1",
		Payload:   payload,
	})
}

// registerReporter is what an effect plugin's init function does. Here it is compiled
// but never run: this test binary's plugin is the greeter compute node above, and a
// plugin is either a compute node or an effect node.
func registerReporter() {
	sdk.Describe(abi.Manifest{
		Name:         "reporter",
		Version:      "1.0.0",
		Kind:         abi.KindEffect,
		Capabilities: []abi.Capability{abi.CapabilityFS, abi.CapabilityEvents},
		Publishes:    []string{"onex.evt.reports.stored.v1"},
	})
	sdk.Effect(abi.Computation{Name: "store_report", Description: "Store a report and announce it"}, storeReport)
}

var _ = registerReporter

// printHost is a fake sdk.Host: it prints each capability call and answers it.
type printHost struct{}

func (printHost) Call(op string, req []byte) (abi.Status, []byte) {
	fmt.Println(op, string(req))
	if op == abi.OpEventsPublish {
		return abi.StatusOK, []byte(`{"envelope_id":"env-1"}`)
	}
	return abi.StatusOK, []byte(`{}`)
}

// An effect handler is unit-tested natively with a fake sdk.Host, which sees each
// capability call as the real host would: the op and its JSON request. In a plugin's own
// tests, run the registered effect with sdk.DispatchEffect instead of calling the
// handler directly.
func ExampleEffect() {
	defer sdk.SetHost(printHost{})()
	id, err := storeReport(context.Background(), reportInput{Name: "q1", Text: "all good"})
	fmt.Println(id, err)
	// Output:
	// fs.write {"path":"/srv/reports/q1.txt","data":"YWxsIGdvb2Q="}
	// events.publish {"event_type":"report.stored","topic":"onex.evt.reports.stored.v1","payload":{"path":"/srv/reports/q1.txt"}}
	// env-1 <nil>
}
