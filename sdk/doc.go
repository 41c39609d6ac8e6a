// Package sdk writes onex-host plugins in standard Go: compute nodes and effect nodes that
// run as WebAssembly modules under the native ABI v1 (see abi/SPEC.md). It depends on
// package abi and the standard library only.
//
// # Writing a plugin
//
// A plugin is a main package with an empty main function. Its init functions describe
// the node and register one handler per computation:
//
//	package main
//
//	import (
//		"context"
//		"strings"
//
//		"github.com/onexhost/onex-host/abi"
//		"github.com/onexhost/onex-host/sdk"
//	)
//
//	func init() {
//		sdk.Describe(abi.Manifest{Name: "shout", Version: "1.0.0", Kind: abi.KindCompute,
//			Deterministic: true, Idempotent: true})
//		sdk.Compute(abi.Computation{Name: "upper", Description: "Upper-case a string"},
//			func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
//	}
//
//	func main() {} // required, never called: the host calls the exports
//
// Build it as a reactor module (with -buildmode=c-shared; a plain go build makes a command
// module, which the host refuses):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o shout.wasm ./shout
//
// The SDK provides every export the ABI asks for (onex_abi_v1, onex_alloc, onex_compute,
// onex_effect, onex_compensate, onex_manifest); the plugin declares none of its own. The manifest the host reads is
// Describe's metadata plus one entry per registered computation, validated when the host
// asks for it: a plugin whose manifest is invalid, or that never called Describe, fails to
// load with the reason.
//
// # Handlers
//
// Compute registers a typed handler: the input JSON is decoded into its In type and its
// Out value is encoded as the result. ComputeRaw registers a handler over the raw JSON
// bytes. Input that does not decode reaches the host as abi.StatusInvalidInput, an
// unknown computation as abi.StatusUnknownComputation, a returned error as
// abi.StatusError, and a panic as abi.StatusPanic with its value and the first stack
// frames. Return NewError or Retryable to choose the error's code and whether the host may
// retry; any other error gets code "error".
//
// Test handlers natively with Dispatch, which runs a computation by name exactly as the
// host would, without Wasm; check the manifest in a unit test with
// `m := sdk.Manifest(); err := m.Validate()` (Validate has a pointer receiver, so
// sdk.Manifest().Validate() does not compile).
//
// # Typed contracts
//
// Compute, Effect and Reducer put a JSON Schema of their input (for a reducer, of the
// event data) and of their output into the manifest, derived from the Go types (see
// SchemaOf), unless the abi.Computation already has one. The host compiles each input
// schema once at load and checks every input against it before the guest runs: an input
// that does not match fails with code invalid_input and the JSON path of the value, e.g.
// "/items/3/qty: want integer, got string". Write the schema by hand to say more than
// the type does (a minimum, a pattern), set it to {} to accept any JSON value, or let
// the operator turn the check off (validate_input: false, --no-validate-input).
//
// # Effect nodes
//
// An effect node does I/O, and only through the host (abi/SPEC.md section 8). Its
// manifest lists the capabilities it needs, which the operator must grant, and it
// registers its effect types with Effect or EffectRaw instead of Compute: a plugin is
// one kind of node (compute, effect, reducer or orchestrator), and mixing kinds panics at init. Describe
// with Kind abi.KindEffect, or leave Kind empty and let the first Effect set it; the
// manifest then lists the handlers under Effects.
//
//	func init() {
//		sdk.Describe(abi.Manifest{Name: "reporter", Version: "1.0.0", Kind: abi.KindEffect,
//			Capabilities: []abi.Capability{abi.CapabilityFS, abi.CapabilityEvents},
//			Publishes:    []string{"onex.evt.reports.stored.v1"}})
//		sdk.Effect(abi.Computation{Name: "store_report"}, storeReport)
//	}
//
//	func storeReport(_ context.Context, r report) (string, error) {
//		path := "/srv/reports/" + r.Name + ".txt"
//		if err := sdk.FS.Write(path, []byte(r.Text)); err != nil {
//			return "", err // the host's code and retryable flag pass through
//		}
//		return sdk.Events.Publish(abi.Event{EventType: "report.stored",
//			Topic: "onex.evt.reports.stored.v1", Key: path})
//	}
//
// The capability clients FS, KV, HTTP and Events call the host's call import; each call
// blocks until the host answers and fails with a *CapabilityError carrying the host's
// status, code and retryable flag. The host runs every attempt of an effect in a
// transaction: it records each mutating call with what undoes it, rolls the attempt back
// when the handler fails (an error, a panic, a timeout), may retry it, and delivers
// published events only on commit. For undo steps only the plugin knows, register a
// handler with Compensation and schedule it from the effect with Compensate; the host
// runs it through onex_compensate on rollback.
//
// Test effect handlers natively with DispatchEffect and DispatchCompensate. Capability
// calls then go to a fake Host installed with SetHost (the native default answers
// abi.StatusUnsupported), which sees each op and its JSON request as the real host would.
//
// # Reducer nodes
//
// A reducer node folds events into per-key state that the host owns (abi/SPEC.md
// section 9): register each reduction with Reducer. The handler gets the key's state
// (the zero S for a new key) and an Event carrying the event's id, type, key, sequence
// and data decoded into E, and returns the new state and the Intents (effects for the
// host to carry out through effect nodes). It must be deterministic and does no I/O.
// Test it natively with Reduce or DispatchReduce.
//
//	func init() {
//		sdk.Reducer(abi.Computation{Name: "count"},
//			func(_ context.Context, s struct{ N int `json:"n"` }, ev sdk.Event[int]) (struct{ N int `json:"n"` }, []sdk.Intent, error) {
//				s.N += ev.Data
//				return s, nil, nil
//			})
//	}
//
// # Logging and output
//
// Logger returns a log/slog logger whose records go to the host's log with their level.
// Standard output and standard error also reach the host's log (through WASI), without a
// level; prefer Logger.
//
// # Limits and concurrency
//
// The guest is single-threaded: the host runs one call at a time on an instance, and
// goroutines a handler starts only run while it blocks or yields, never in parallel with
// it (so a handler needs no locks, and a goroutine left running does no work between
// calls). The host may run many instances of the plugin at once, each with its own memory:
// package variables are per instance, and an instance may be discarded between any two
// calls, so keep no state a later call depends on (caches that only save work are fine).
// The host enforces the call timeout (by stopping the guest from outside; the handler's
// context is never cancelled in ABI v1), the memory page limit and the input and output
// size caps. A standard-Go plugin is a 4 MB module that starts at about 5 MiB of memory
// (measured on the core plugin). The SDK yields to the Go scheduler after every 16th
// call, after calls that moved 64 KiB or more and after calls that ran 1 ms or longer,
// so the garbage collector can finish its cycles; a handler need not.
//
// An unrecovered panic in a goroutine other than the handler's, a fatal runtime error or
// running out of memory ends the instance: the host reports a trap and discards it.
//
// # Package state
//
// Describe and the registrations (Compute, ComputeRaw, Effect, EffectRaw, Compensation)
// record into one package-level registry, and the capability clients share one client
// of the host's call and result imports. This is the one deliberate exception to the
// project's rule against package-global state: a plugin is a process of its own (one Wasm
// instance, with one result register on the host side), registration happens once at
// init, and the ABI exports are plain functions that have nowhere else to find it. After
// init the registry is only read.
package sdk
