package kv

import "sync"

// gate admits calls until it is closed, and lets the closer wait for the
// calls already admitted, so that a DB's engine is never closed under a call
// and no call starts on a closed engine. The zero value is open.
type gate struct {
	// mu guards closed, active and idle.
	mu     sync.Mutex
	closed bool
	active int           // calls admitted and not yet exited
	idle   chan struct{} // made by a waiting shut, closed when active reaches 0
}

// enter admits a call, which must call exit when done, and reports true; or
// reports false if the gate is closed. It does not block.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.active++
	return true
}

// exit ends a call admitted by enter.
func (g *gate) exit() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.active--
	if g.active == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// isClosed reports whether shut was called.
func (g *gate) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// shut closes the gate, waits for the admitted calls to exit, and reports
// whether this was the first shut. A later shut returns at once.
func (g *gate) shut() bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.closed = true
	var idle chan struct{}
	if g.active > 0 {
		idle = make(chan struct{})
		g.idle = idle
	}
	g.mu.Unlock()
	if idle != nil {
		<-idle
	}
	return true
}
