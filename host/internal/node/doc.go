// Package node is the bridge between package host and the node-kind packages beside it;
// see Runtime.
package node
