// Package effect runs effect nodes: plugins whose manifest kind is "effect", which
// change the world through the host's capabilities (files, a key-value store, HTTP,
// events), wrapped in ONEX's effect envelope (abi.EffectInput and abi.EffectOutput).
//
// New wraps a *host.Plugin loaded by a host.Host with a Config. Node.Process runs one
// effect: each attempt in a transaction of its own, whose operations are written to the
// host's journal before they happen (host.Config.DataDir) and undone newest first when
// the attempt fails; capability calls behind per-service circuit breakers
// (host.Config.Breakers); failed attempts retried by the RetryPolicy; the whole effect
// under one deadline (Config.Timeout). Events the guest publishes are held until its
// transaction commits. A CommitGuard carried by the context (WithCommitGuard) may veto a
// commit; package host/cluster uses one to run an operation id once. Node.WithPlugin
// moves a node to a reloaded version of its plugin, keeping its concurrency bound.
//
// What outlives a node belongs to the host, not to this package: the journal and
// host.Host.Recover, the transactions' compensations (host.Host.RetryRollback), the
// breakers, the event bus and the key-value store.
//
// Concurrency: a Node is safe for concurrent use by multiple goroutines; every effect
// checks out an instance of its own and gets its own transaction, and Config.Concurrency
// bounds how many run at once (1: ONEX's sequential mode). Process blocks until the
// effect has finished, rollbacks included; host.Host.Close waits for running effects and
// cancels them at its deadline.
//
// Defaults: Config's zero value is ONEX's: DefaultTimeout for a whole effect,
// DefaultMaxRetries retries after DefaultRetryDelay doubling up to DefaultMaxDelay with
// DefaultJitter, no concurrency bound beyond the plugin's instance pool. An EffectInput
// may override the timeout, the retries and their delay, and turn off the transaction or
// the breakers.
//
// Errors are *host.PluginError values matching the sentinels of package host with
// errors.Is: host.ErrInvalidInput, host.ErrInvalidOutput, host.ErrTimeout,
// host.ErrCanceled, host.ErrClosed, host.ErrUnavailable (an open breaker, a vetoed
// commit), host.ErrUnsupported from New for a plugin of another kind.
package effect
