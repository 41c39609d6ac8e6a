// Package server serves ONEX nodes over HTTP: a versioned JSON API to list nodes and run
// computations, batches and effects, operate the cache and the circuit breakers, stream
// the event bus, health and readiness probes, Prometheus metrics, bearer-token auth with
// two roles, and hot reload of a node without dropping a request.
//
// A Server wraps a *host.Host; Handler returns its http.Handler, which embedders mount
// where they like. `onex-host serve` (cmd/onex-host) adds the config file, the listeners
// and the signals. Everything here is safe for concurrent use.
//
// API (JSON; errors are {"error": {"code", "message", "retryable"}} with a stable code):
//
//	GET    /healthz                          200 while the process serves
//	GET    /readyz                           200 once every node is loaded and warmed and crash
//	                                         recovery (Options.BeforeReady) is done, else 503;
//	                                         503 {"error", "quarantined", "stuck_calls"} while a
//	                                         node is quarantined (see below)
//	GET    /metrics                          Prometheus text format
//	GET    /v1/nodes                         every node: manifest, digest, flavour, pool stats
//	GET    /v1/nodes/{name}
//	POST   /v1/nodes/{name}/compute          ComputeInput → ComputeOutput
//	POST   /v1/nodes/{name}/batch            JSON array of ComputeInput → array of results;
//	                                         NDJSON in (Content-Type application/x-ndjson) → NDJSON out
//	POST   /v1/nodes/{name}/effect           EffectInput → EffectOutput
//	POST   /v1/nodes/{name}/reload           admin: load the node's file again and swap it in
//	GET    /v1/cache                         cache statistics
//	DELETE /v1/cache                         admin: clear the cache
//	GET    /v1/breakers                      every breaker's state and counters
//	POST   /v1/breakers/{action}?service=S   admin: action is force-open, force-close or reset
//	GET    /v1/events?topic=PATTERN          server-sent events of the bus (NATS-style pattern)
//	GET    /v1/journal?state=S&node=N&operation_id=O&limit=L
//	                                         admin: the effect journal's records, newest first
//	                                         (state repeatable; limit default 100, 0 all)
//	GET    /v1/journal/{id}                  admin: one transaction's record
//	GET    /v1/status                        one snapshot for the status page: nodes (pool, calls,
//	                                         errors, p50/p99), breakers, both cache levels,
//	                                         transactions, quarantine, cluster, optional features
//	GET    /ui                               the status page (HTML, CSS and JavaScript embedded)
//	POST   /v1/reducers/{node}/keys/{key}/events
//	                                         ReduceEvent → {sequence, state, intents, duplicate};
//	                                         ?async=true or Prefer: respond-async → 202, NOT yet
//	                                         durable; ?reduction=R (default the manifest's first)
//	GET    /v1/reducers/{node}/keys/{key}    {sequence, state}; 404 for a key never applied
//	GET    /v1/reducers/{node}/keys?cursor=C&limit=L
//	                                         {keys, next_cursor}; limit default 100, at most 1000
//	GET    /v1/reducers/{node}/dead-letters  events whose fold failed
//	POST   /v1/reducers/{node}/dead-letters/retry?key=K&event_id=E
//	GET    /v1/reducers/{node}/events?key=K  server-sent state changes (bus topic
//	                                         TopicReducerStateChanged)
//	POST   /v1/workflows                     {workflow_id, workflow, input} → the workflow: 201
//	                                         started, 200 the same id started before with the
//	                                         same workflow and input, 409 otherwise
//	GET    /v1/workflows?status=S&cursor=C&limit=L
//	                                         {workflows, next_cursor}, ordered by id
//	GET    /v1/workflows/{id}                status, input, output or error, every step (call,
//	                                         status, attempt, output or error, timings)
//	POST   /v1/workflows/{id}/cancel         also pause, resume; 409 "finished" once ended
//	GET    /v1/workflows/{id}/events         server-sent events of one workflow (step.started, …)
//	GET    /v1/workflows/events              server-sent events of every workflow
//
// Workflows (package host/orchestrator) are served once RunWorkflows has attached an
// engine (404 before); the Server is the engine's step Runner (RunStep).
//
// Reducer nodes (package host/reducer) keep their keys' state in Options.Reducers; a fold
// that fails is 422 {"error": {"code": "fold_failed"}, "cause": the plugin's error,
// "dead_letter": true} with the state unchanged. RunIntents carries their intents out on
// the effect nodes loaded here, with each intent's operation id.
//
// Until the server is ready, compute, batch and effect requests get 503 with code
// "unavailable" and retryable true, and nothing runs: an effect must not run on state a
// crash left half-changed, nor overlap the recovery that repairs it.
//
// In a cluster (Options.Router, package host/cluster), compute, batch and effect requests
// for a node not loaded here go to a host that has it, and the answer is the same JSON;
// with Options.Effects an effect's operation_id is an idempotency key: a repeat gets the
// first committed run's output and the header Onex-Deduplicated: true (on one host,
// LocalEffects gives the same on the host's journal).
//
// A call that is still running host.Config.StuckGrace after its deadline cannot be ended
// by the host (see host.StuckCall): its node is quarantined, and every request to it gets
// 503 with code "quarantined" at once; /readyz answers 503 naming the node, and the
// metrics onex_stuck_calls (running now) and onex_stuck_calls_total count such calls by
// node. The quarantine outlives the stuck call; a reload of the node lifts it, a restart
// of the process too — which is what a supervisor watching /readyz should do.
//
// Roles: a token with role invoke may call everything but the admin endpoints; admin may
// call everything. Without tokens, auth is off (serve allows that on loopback only).
// /healthz, /readyz and /metrics need no token, nor do the status page's files (they hold
// no data: the page asks for a token and sends it as a bearer header, kept in the
// browser tab's sessionStorage).
package server
