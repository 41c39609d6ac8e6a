// Package workflow runs ONEX workflow contracts written in YAML as orchestrator
// planners: Parse or Load a contract, hand its Definition to the orchestrator engine.
// Its Plan is a pure function of the workflow's state; the engine owns the state.
//
// # The contract
//
//	name: order_saga                 # required; the workflow's name
//	version: 1.0.0                   # optional, informative
//	description: …                   # optional
//	execution_mode: parallel         # parallel (default), sequential or batch
//	max_parallel_steps: 5            # default 5
//	timeout_ms: 300000               # the whole workflow; default 300000
//	step_timeout_ms: 30000           # each attempt of a step without timeout_ms; default 30000
//	failure_strategy: fail_fast      # fail_fast (default), continue or compensate
//	steps:
//	  - id: charge                   # required, unique; lowercase letters, digits, _ . -
//	    kind: effect                 # compute, effect, reduce or orchestrate
//	    node: payments               # the node that runs it
//	    operation: charge            # computation, effect type, event type or child workflow
//	    input: {order: "${/input/order}", amount: "${/steps/price/output/total}"}
//	    depends_on: [price]
//	    when:                        # one condition, or a list: all must hold, else the step is skipped
//	      - {condition_name: paid_order, field: /input/paid, operator: equals, value: false}
//	    if_success: [ship]           # branches: steps that run only on this outcome
//	    if_error: [notify]
//	    timeout_ms: 10000
//	    retry: {max_attempts: 3, delay_ms: 100, max_delay_ms: 1000}
//	    compensate: {node: payments, effect_type: refund, operation_data: {order: "${/input/order}"}}
//	  - id: count
//	    kind: reduce
//	    node: orders
//	    key: "${/input/order}"       # reduce steps only, required there
//	    operation: charged
//	output: {charge: "${/steps/charge/output}"}
//
// Parse decodes strictly (an unknown field or a wrong type is an error) and reports the
// first problem with its field path and line ("workflow: invalid contract:
// steps[2].depends_on[0]: unknown step "pay" (line 14)"): required fields, names, kinds,
// positive timeouts (a step's no longer than the workflow's), retry policies, duplicate
// ids, unknown step ids in depends_on and branches, compensate on effect steps only,
// conditions, templates, and dependency cycles, named ("dependency cycle a → c → b → a
// (→: depends on)").
//
// # What templates and conditions read
//
// One JSON document: {"input": <the workflow's input>, "steps": {"<id>": {"status",
// "output", "error": {"kind", "message", "code"}}}}, one entry per step decided on so
// far. Pointers start with /input or /steps; a step's pointers may only read steps it
// comes after (depends_on or a branch, transitively), which Parse checks; the output
// template may read any step.
//
// Conditions (when) use the FSM contracts' operators (host/reducer/fsm): equals,
// not_equals, greater_than, greater_than_or_equal, less_than, less_than_or_equal, in,
// not_in, exists, not_exists, matches. A condition on a field that does not exist fails,
// except not_exists.
//
// Templates: input, compensate.operation_data and output are any YAML value whose strings
// may hold ${/pointer} placeholders; key is a string. A string that is exactly one
// placeholder becomes the value pointed at (a number stays a number, an object an
// object); a placeholder inside a longer string becomes the value's text (a string as
// is, anything else as JSON); a key always becomes text. There is no escape and no
// expression language. Templates are rendered when the step is scheduled (so a
// compensation cannot read its own step's output). A placeholder that points at nothing
// fails the workflow ("workflow w: step b: input: /steps/a/output/id points at
// nothing"), compensating under failure_strategy compensate.
//
// # Plan
//
// Each decision walks the steps in plan order: repeatedly the first step in the
// contract's order whose dependencies are all placed. A step not decided on yet is:
//   - skipped when a dependency failed or was skipped ("dependency a failed"), when a
//     branch naming it was not taken ("branch if_error of step a not taken (a
//     completed)"), or when a when condition fails ("condition failed: paid_order");
//   - run when every dependency completed (or took a branch naming it) and its
//     conditions hold, in order, as long as slots are free: max_parallel_steps less the
//     steps running (parallel); one at a time, in plan order (sequential); or in waves: up to max_parallel_steps start together
//     and no step starts until the whole wave has finished (batch).
//
// Branches name steps on the step whose outcome decides them; a step named in a branch
// of s comes after s and runs only if s took that branch (when named in several
// branches of s, any of them; by several steps, all of theirs):
//
//	if_success  s completed
//	if_error    s failed (a timeout too)
//	if_timeout  s failed with error kind "timeout"
//	if_true     s's when conditions held and s completed (needs when)
//	if_false    s's when conditions failed, so s was skipped (needs when)
//
// A failure of a step with an if_error target, or of a timed-out step with an
// if_timeout target, is handled: the failure strategy does not apply to it. Any other
// failure: fail_fast fails the workflow at once (running steps are the engine's to
// cancel); compensate fails it with Compensate, so the engine runs the compensations of
// the completed steps in reverse order (a saga); continue runs every step that does not
// depend on the failed one, then fails the workflow naming every failed step.
//
// When every step is final, the workflow completes with the output template rendered,
// or, without one, an object of every completed step's output by id. A skipped step's
// call (OrchestrateOutput.Skip) carries neither input nor operation_data, and its key
// unrendered.
package workflow
