// Package pool keeps a bounded set of reusable instances, such as Wasm module
// instances, and lends each one to a single goroutine at a time.
//
// Creating an instance is expensive (for Wasm, milliseconds and megabytes), so
// a Pool keeps released instances idle and hands them out again. Reuse is
// LIFO: Acquire returns the most recently released instance, whose memory is
// most likely still in CPU caches, and the least recently used instances sink
// to the bottom of the idle stack, where TrimIdle finds them.
//
// At most Config.Max instances exist at once. The count includes instances
// being created and instances being destroyed: a slot is reserved before
// Config.New runs and freed only after Config.Close returns, so memory stays
// bounded even while a faulted instance is torn down and replaced.
//
// When every slot is taken, Acquire waits in FIFO order until an instance is
// released, a slot is freed, its context is done or the pool is closed.
//
// The life of an instance:
//
//	p.Acquire(ctx)  idle -> in use        (or New, or wait)
//	p.Release(t)    in use -> idle        (or straight to the oldest waiter)
//	p.Discard(t)    in use -> destroyed   (its slot goes to the oldest waiter)
//	p.TrimIdle(d)   idle -> destroyed     (idle for at least d, above MinIdle)
//	p.Close()       idle -> destroyed     (in-use ones when they come back)
//
// The pool starts no goroutines: trimming happens when the owner calls
// TrimIdle, typically from a ticker it already runs.
package pool
