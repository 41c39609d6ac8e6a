// Package orchestrator runs ONEX orchestrator nodes: durable workflows whose steps call
// compute, effect, reducer and other orchestrator nodes.
//
// A workflow is decided on by a Planner — a YAML contract (package workflow) or an
// orchestrator plugin's onex_orchestrate export, both pure — and carried out by the
// Engine, which owns all of its state: every change (started, step scheduled, attempt
// started, completed with its output, failed, compensated) is written down durably
// before it takes effect, so a host that is killed resumes each running workflow where
// it stopped. Steps reach nodes through a Runner; each attempt carries the deterministic
// operation id abi.StepOperationID, so an effect run again after a crash is
// deduplicated by the node.
//
// # The loop
//
// Each workflow that is not final has one goroutine, the only writer of its record (a
// bbolt file, one record per workflow, rewritten whole at each change; concurrent
// workflows' writes share a transaction and an fsync through a group committer). A turn
// of the loop takes what arrived — attempt results, a Pause/Resume/Cancel, a timer —
// and, in memory: records the results; calls the planner if a step ended (with the
// steps in decision order and the last memo), checks its decision
// (abi.DecodeOrchestrateOutput's rules, and no step id decided on before: else the
// workflow fails with ErrPlan); picks the scheduled steps that are due, up to
// Definition.MaxParallel running. Then it writes the record (fsync unless
// Config.NoSync), and only then hands attempts to the Runner, sends events and answers
// control requests. A crash before the write loses the turn as a whole: the planner is
// pure and decides the same again, and results not written are produced again by
// running their attempts again.
//
//   - Retries: a failed attempt (not ErrPermanent) is scheduled again after
//     RetryPolicy's doubling delay; the due time is recorded, so a restart waits only
//     for what is left. A retry is attempt n+1, with a new operation id.
//   - Timeouts: each attempt is bounded by its call's timeout_ms, else
//     Definition.StepTimeout (a StepError of kind "timeout", retried as any error).
//     Definition.Timeout bounds the workflow from its start, paused time included: the
//     running attempts are cancelled (steps cancelled, kind "timeout") and the
//     workflow fails, compensating as Cancel does.
//   - Stall: a decision that starts nothing and ends nothing while no step runs or waits
//     for a retry fails the workflow ("workflow stalled").
//   - Ending: Complete, Fail, Cancel and the timeout first cancel running attempts
//     (their contexts) and record those steps, and the ones waiting for a retry, as
//     cancelled. Fail compensates when its Compensate says so; Cancel and the timeout
//     compensate if the planner's failure would: the planner is asked once more with
//     the steps as recorded, and a Fail answer's Compensate decides (a YAML contract
//     answers per its failure_strategy); any other answer — nothing had failed, so it
//     would go on — means compensate. Compensating runs the compensation of every
//     completed step that has one, newest completion first, as attempt 0 (operation id
//     abi.StepOperationID(workflow, step, 0)); each is tried 3 times, 100 ms then
//     200 ms apart (each try's start recorded), and recorded as compensated or with
//     Compensation "failed: …". Then the final status is written.
//   - Pause: no attempt starts and the planner is not called; running attempts finish.
//
// # After a crash
//
// Open resumes every workflow whose status is running (a paused one waits for Resume).
// A step recorded as running is run again with the SAME attempt number, so the same
// operation id: an effect node that deduplicates by operation id (host/effect's local
// journal, EffectRecords in a cluster) answers the first run's result instead of
// applying it twice. A node that does not deduplicate may see an effect twice: the
// engine's guarantee is at-least-once delivery with a stable operation id, and
// exactly-once effect where the node deduplicates. A compensation interrupted by a
// crash runs again with its (fixed) operation id, without counting a new try.
// Workflows ending when the host died finish their ending (their recorded running
// steps become cancelled).
//
// # Stores
//
// Open keeps the records in a bbolt file (OpenFile). OpenStore takes any Store: one
// shared by the engines of a cluster (host/cluster's Workflows, records in JetStream)
// lets a workflow outlive its host. Revisions fence the writers: each Put names the
// revision its writer last read or wrote, and one that lost the workflow to another
// engine gets ErrLost and its loop stops without writing, so a stale owner never
// overwrites a newer record. The shared store decides which engine runs a workflow
// (Claim; Adopt when it takes one over) and routes Pause, Resume and Cancel to it
// (Control); Subscribe's events stay with the engine that runs the workflow.
//
// Engine is safe for concurrent use by multiple goroutines. Runners and planners must
// be safe for concurrent use and must honour their context: Close and cancellation
// wait for attempts to return.
package orchestrator
