package host

import "github.com/onexhost/onex-host/host/internal/compcache"

// CacheFile is one compiled module in an on-disk compilation cache (Config.CacheDir): its
// path relative to the cache, its size, and when a Host last compiled or loaded it.
type CacheFile = compcache.File

// CachePruned says what PruneCacheDir or ClearCacheDir removed, and what is left.
type CachePruned = compcache.Pruned

// CacheDirFiles lists the compiled modules in the compilation cache dir, most recently
// used first. Safe to call while hosts use dir.
func CacheDirFiles(dir string) ([]CacheFile, error) {
	d, err := compcache.Open(dir, -1)
	if err != nil {
		return nil, err
	}
	return d.Files(), nil
}

// PruneCacheDir deletes the least recently used compiled modules in dir until it holds at
// most maxBytes. Hosts using dir at the time recompile what they load next and find gone.
// The error joins the deletions that failed.
func PruneCacheDir(dir string, maxBytes int64) (CachePruned, error) {
	if maxBytes < 0 {
		maxBytes = 0
	}
	d, err := compcache.Open(dir, -1)
	if err != nil {
		return CachePruned{}, err
	}
	return d.Prune(maxBytes)
}

// ClearCacheDir deletes every compiled module in dir, and the record of their use.
func ClearCacheDir(dir string) (CachePruned, error) {
	d, err := compcache.Open(dir, -1)
	if err != nil {
		return CachePruned{}, err
	}
	return d.Clear()
}
