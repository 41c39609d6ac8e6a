// Package capcall serves the capability calls of effect plugins (abi/SPEC.md section 8):
// one attempt's capability environment (Attempt: the plugin's opened capabilities, the
// attempt's transaction, whether breakers apply), the fs, kv and HTTP adapters between
// the ABI's JSON requests and packages capability/fs, capability/kv and
// capability/httpcap, events.publish and tx.compensate, and the circuit breaker around
// every call that reaches a service.
//
// It is internal so that the host (guest compensations during rollback and recovery, the
// onex.call host function) and the node kinds (host/effect, later the flavour packages)
// share it without either needing the other's internals. It does not import package
// host.
//
// Concurrency: a Plugin is read-only once built and safe for concurrent use; an Attempt
// belongs to the goroutine running its guest call. Errors never escape as Go errors:
// every failure becomes an ABI status and an abi.Error payload, an open breaker one with
// code CodeCircuitOpen.
package capcall
