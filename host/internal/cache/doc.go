// Package cache is the host-owned compute-result cache: one instance is shared
// by every goroutine that runs compute nodes, and it is safe for concurrent
// use by any number of them.
//
// It replaces ONEX's ModelComputeCache, which races when shared, loses access
// counts and lets concurrent callers of a missing key all compute it. Here:
//
//   - Storage, eviction and expiry are otter's (github.com/maypok86/otter/v2):
//     a W-TinyLFU policy bounded by weight, with a TTL per entry.
//   - On top of otter the package runs its own flight group keyed by [Key]:
//     concurrent callers of one missing key share a single computation, each
//     caller may give up on its own context without cancelling the
//     computation for the others, and an [Cache.Invalidate] or [Cache.Clear]
//     that happens while a computation runs wins over its result.
//   - Hits, misses, evictions and expirations are counted exactly, and
//     [Cache.Stats] reports them under ONEX's names.
//
// Errors are never cached. Keys are content addresses built by [KeyOf] from a
// plugin's digest, a computation name and the input, so a rebuilt plugin never
// sees the results of its previous build.
//
// Stored values are shared, immutable views: the cache never copies them and
// callers must not modify them. The host copies a value before handing it to
// anyone outside.
package cache
