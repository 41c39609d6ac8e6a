// Package node is the bridge between package host and the node-kind packages beside it
// (host/compute, host/effect and, later, host/reducer and host/workflow).
//
// A node kind needs of a loaded plugin more than host.Plugin's exported API — the host's
// cache, its transactions, calls that carry an effect attempt — and host must neither
// import the node kinds nor export any of that to embedders. Runtime is that surface;
// package host implements it and sets Of when it is initialized, which Go orders before
// any code that imports host runs. Runtime values are safe for concurrent use by
// multiple goroutines.
package node
