// Package orchestrator runs ONEX orchestrator nodes: durable workflows whose steps call
// compute, effect, reducer and other orchestrator nodes.
//
// A workflow is decided on by a Planner — a YAML contract (package workflow) or an
// orchestrator plugin's onex_orchestrate export, both pure — and carried out by the
// engine, which owns all of its state: every change (started, step scheduled, attempt
// started, completed with its output, failed, compensated) is written down durably
// before it takes effect, so a host that is killed resumes each running workflow where
// it stopped. Steps reach nodes through a Runner; each attempt carries the deterministic
// operation id abi.StepOperationID, so an effect run again after a crash is
// deduplicated by the node.
package orchestrator
