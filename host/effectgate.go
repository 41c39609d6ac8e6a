package host

import (
	"context"
	"sync"
)

// effectGate admits effects until the host shuts down, counts those in flight, and
// cancels the ones still running when the shutdown's deadline passes. It is safe for
// concurrent use.
type effectGate struct {
	// stop is canceled to end the effects still running at the shutdown's deadline.
	stop   context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // guards closed, n and idle
	closed bool
	n      int
	idle   chan struct{} // closed once closed and n == 0
}

func newEffectGate() *effectGate {
	g := &effectGate{idle: make(chan struct{})}
	g.stop, g.cancel = context.WithCancel(context.Background())
	return g
}

// enter admits one effect; false once the shutdown has begun.
func (g *effectGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

// exit ends one admitted effect.
func (g *effectGate) exit() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.closed && g.n == 0 {
		close(g.idle)
	}
}

// bind returns ctx, canceled too when the shutdown cancels running effects.
func (g *effectGate) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(g.stop, cancel)
	return ctx, func() { stop(); cancel() }
}

// shutdown stops admitting effects and waits for those in flight to finish. When ctx ends
// first it cancels them — each then rolls its transaction back — waits for them to
// return, and reports ctx's error. It is idempotent.
func (g *effectGate) shutdown(ctx context.Context) error {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		if g.n == 0 {
			close(g.idle)
		}
	}
	g.mu.Unlock()
	select {
	case <-g.idle:
		return nil
	case <-ctx.Done():
	}
	g.cancel()
	<-g.idle
	return ctx.Err()
}
