package orchestrator

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Config configures an Engine. The value is copied by Open; later changes have no
// effect.
type Config struct {
	// Definitions are the workflows Start accepts, by Name; duplicate names are an
	// error.
	Definitions []Definition
	// Runner runs step attempts and compensations. Required.
	Runner Runner
	// NoSync skips the fsync of each state change (benchmarks, tests): a machine crash
	// (not a process crash) may then lose the latest changes.
	NoSync bool
	// Now is the clock stamped on records and events and used for retry due times.
	// Default time.Now. Waits use the runtime's timers, so tests use testing/synctest.
	Now func() time.Time
	// Log receives what the engine cannot return (a write that failed in a workflow's
	// loop). Default: discarded.
	Log *slog.Logger
}

func (c Config) check() (Config, map[string]Definition, error) {
	if c.Runner == nil {
		return c, nil, fmt.Errorf("orchestrator: config: Runner is required")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	defs := make(map[string]Definition, len(c.Definitions))
	for i, d := range c.Definitions {
		switch {
		case d.Name == "":
			return c, nil, fmt.Errorf("orchestrator: config: definition %d has no name", i)
		case d.Plan == nil:
			return c, nil, fmt.Errorf("orchestrator: config: definition %q has no planner", d.Name)
		}
		if _, dup := defs[d.Name]; dup {
			return c, nil, fmt.Errorf("orchestrator: config: definition %q given twice", d.Name)
		}
		if d.Timeout <= 0 {
			d.Timeout = DefaultWorkflowTimeout
		}
		if d.StepTimeout <= 0 {
			d.StepTimeout = DefaultStepTimeout
		}
		if d.MaxParallel <= 0 {
			d.MaxParallel = DefaultMaxParallel
		}
		defs[d.Name] = d
	}
	return c, defs, nil
}
