package compute

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
)

// BatchOptions tunes Node.ProcessBatch. The zero value runs as many workers as the
// plugin has instances and reports each item's error without failing the batch.
type BatchOptions struct {
	// Workers is how many items run at once, each on its own instance; 0 means the
	// plugin's MaxInstances. More workers than instances only wait for instances.
	Workers int
	// FailFast stops the batch at the first failed item: items still running are
	// canceled and items not yet started are skipped (their Err matches host.ErrCanceled),
	// and ProcessBatch returns that first error.
	FailFast bool
}

// BatchResult is one item's outcome: Output when Err is nil. A failed item's Output
// still carries its OperationID and ComputationType.
type BatchResult struct {
	Output abi.ComputeOutput
	Err    error
}

// ProcessBatch runs every input through Process, fanned out over up to Workers
// goroutines, and returns the results in input order. A failed item carries its own error
// and does not fail the batch unless FailFast is set. When ctx ends, items not yet
// started are skipped (Err matching host.ErrCanceled or host.ErrTimeout, wrapping ctx's error) and
// ProcessBatch returns ctx's error; items already running are stopped at their deadline
// like any call. ParallelExecutionUsed is true on every item of a batch that ran on more
// than one worker. ProcessBatch blocks until every started item has finished.
func (n *Node) ProcessBatch(ctx context.Context, inputs []abi.ComputeInput, opts BatchOptions) ([]BatchResult, error) {
	results := make([]BatchResult, len(inputs))
	workers := opts.Workers
	if workers <= 0 {
		workers = n.rt.MaxInstances()
	}
	workers = min(workers, len(inputs))
	parallel := workers > 1

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next      atomic.Int64
		firstFail atomic.Pointer[error]
		wg        sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(inputs) {
					return
				}
				if ctx.Err() != nil {
					results[i] = BatchResult{Output: abi.ComputeOutput{OperationID: inputs[i].OperationID,
						ComputationType: inputs[i].Computation()}, Err: n.skipped(ctx, inputs[i])}
					continue
				}
				out, err := n.process(ctx, inputs[i], parallel)
				results[i] = BatchResult{Output: out, Err: err}
				if err != nil && opts.FailFast && firstFail.CompareAndSwap(nil, &err) {
					cancel(err)
				}
			}
		})
	}
	wg.Wait()
	if first := firstFail.Load(); first != nil {
		return results, *first
	}
	return results, context.Cause(ctx)
}

// skipped is the error of an item the batch did not start.
func (n *Node) skipped(ctx context.Context, in abi.ComputeInput) error {
	cause := context.Cause(ctx)
	kind := host.ErrCanceled
	if ctx.Err() == context.DeadlineExceeded {
		kind = host.ErrTimeout
	}
	return &host.PluginError{Plugin: n.plugin.Name(), Op: in.Computation(), Kind: kind, Cause: cause,
		Message: "skipped: the batch stopped before this item started"}
}
