// Package container is the host's service registry — ONEX's ModelONEXContainer, made
// safe by construction. Services are registered by name on a Builder during start-up;
// Build freezes them into a Container whose lookups take no lock and are safe from any
// number of goroutines. Registering after Build is an error, not a race.
package container
