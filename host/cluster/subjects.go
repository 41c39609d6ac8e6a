package cluster

import (
	"strings"

	"github.com/onexhost/onex-host/host/server"
)

// Subjects and headers of the request protocol. A request's body is the HTTP API's
// request body (an abi.ComputeInput or abi.EffectInput), its reply the HTTP API's response
// body, with the status in a header: a call answered over NATS reads exactly like one
// answered over HTTP.
const (
	// SubjectPrefix starts every node subject: onex.node.<node>.<operation>.
	SubjectPrefix = "onex.node."
	// HeaderStatus carries the reply's HTTP status ("200", "422", …).
	HeaderStatus = "Onex-Status"
	// HeaderTimeout carries the caller's remaining time in milliseconds; the serving host
	// gives up when it passes. Client sends its own wait less a margin (a fifth, at most
	// 1 s), so that the host's answer at that deadline still reaches it.
	HeaderTimeout = "Onex-Timeout-Ms"
	// HeaderDeduplicated is "true" on the reply to a repeated effect answered from the
	// record of its first, committed run (the same header as over HTTP).
	HeaderDeduplicated = server.HeaderDeduplicated
	// HeaderHost names the host that served the request.
	HeaderHost = "Onex-Host"
)

// Subject is the subject of one node's operation.
func Subject(node, operation string) string { return SubjectPrefix + node + "." + operation }

// QueueGroup is the queue group of a node: every host serving the node subscribes in it,
// so each request reaches one of them.
func QueueGroup(node string) string { return "onex-node-" + endpointName(node) }

// endpointName is node with the characters micro forbids in endpoint names replaced.
func endpointName(node string) string { return strings.ReplaceAll(node, ".", "_") }
