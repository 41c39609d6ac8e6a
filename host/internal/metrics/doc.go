// Package metrics keeps ONEX's per-computation metrics for a compute node: operations,
// successes, errors, items processed, and average, minimum and maximum processing time.
// Counters are exact under any number of concurrent observers, and a snapshot is
// consistent per computation (taken under that computation's lock).
package metrics
