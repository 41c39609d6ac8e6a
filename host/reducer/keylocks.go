package reducer

import (
	"context"
	"sync"
)

// KeyLocks serialises work per key: Lock waits behind earlier callers of the same key,
// first come first served (a channel's waiter queue is FIFO), and different keys never
// wait for each other. A key's entry lives only while some caller holds or waits for
// it, so idle keys cost no memory. The zero value is ready to use; it is safe for
// concurrent use by multiple goroutines. Node uses one per node; host/cluster one per
// host, keyed by node and key.
type KeyLocks struct {
	mu   sync.Mutex // guards keys
	keys map[string]*keyLock
}

// keyLock serialises one key. Its entry is in KeyLocks.keys while refs > 0.
type keyLock struct {
	ch   chan struct{} // holds one token while the key is locked
	refs int           // holders and waiters; guarded by KeyLocks.mu
}

// Lock takes key's lock, or returns ctx's error if ctx ends first. The returned func
// releases it.
func (l *KeyLocks) Lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.keys == nil {
		l.keys = make(map[string]*keyLock)
	}
	kl := l.keys[key]
	if kl == nil {
		kl = &keyLock{ch: make(chan struct{}, 1)}
		l.keys[key] = kl
	}
	kl.refs++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if kl.refs--; kl.refs == 0 {
			delete(l.keys, key)
		}
		l.mu.Unlock()
	}
	select {
	case kl.ch <- struct{}{}:
		return func() { <-kl.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// Len returns how many keys are held or waited for.
func (l *KeyLocks) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// refs returns how many callers hold or wait for key (for tests).
func (l *KeyLocks) refs(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if kl := l.keys[key]; kl != nil {
		return kl.refs
	}
	return 0
}
