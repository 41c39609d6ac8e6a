// Package cluster runs onex-host on NATS: many host processes serving the same nodes,
// one of them answering each request, events reaching subscribers on every host, and a
// result computed on one host being a cache hit on the others.
//
// The pieces, each usable alone:
//
//   - Embedded runs a NATS server (with JetStream) inside the process: the single-machine
//     default, with no TCP listener unless asked, or a member of a NATS cluster or a leaf
//     node. Connect dials an external cluster instead.
//   - Service serves a server.Server's nodes as a NATS micro service: one endpoint per node
//     and operation on onex.node.<node>.<operation>, one queue group per node, so a request
//     reaches exactly one host that has the node. Effects are deduplicated by operation id
//     in a JetStream key-value bucket (EffectRecords, whose records follow the journal's
//     commit; Reconcile settles what a crash left).
//   - Client sends requests to the cluster (it is also the server's Router, so any host's
//     HTTP API reaches nodes loaded elsewhere), retrying on timeouts, missing responders
//     and 503s with the same operation id until the caller's deadline.
//   - SharedCache is the second cache level (host.SharedCache) in a JetStream key-value
//     bucket, with a lease against cross-host stampedes and invalidation by watch.
//   - Bridge carries the host's event bus over NATS subjects (onex.evt.…), and durable
//     topics through a JetStream stream with consumer groups.
//   - Advisories publishes circuit-breaker state changes (breakers stay local per host)
//     and, with a quorum, opens a breaker that enough other hosts report open.
//   - Reducers holds reducer state per (node, key) in a JetStream key-value bucket, each
//     key's events applied by the owner of its partition, and carries each key's intents
//     out from its owner (ReducersConfig.Carry); Client.Reduce sends events from outside.
//   - Membership lists the hosts serving in the cluster and the nodes each serves, from
//     the micro service's info ($SRV.INFO.onex-host), for the status page
//     (server.Options.Members).
//   - Collector exposes the connection, the service and the shared cache to Prometheus.
//
// Every exported type is safe for concurrent use unless its documentation says otherwise.
package cluster
