package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
)

const (
	// chunkItemsPerWorker sizes a chunk, the items handed to one ProcessBatch call: large
	// enough that the workers idling at a chunk's tail cost little, small enough that
	// output streams and memory stays bounded.
	chunkItemsPerWorker = 64
	// chunkMaxBytes also ends a chunk, so that chunks of large items stay bounded too.
	chunkMaxBytes = 32 << 20
)

// batchOptions are the batch command's own flags.
type batchOptions struct {
	computation string
	inputPath   string
	outputPath  string
	workers     int
	failFast    bool
	noCache     bool
	lines       string // linesData or linesEnvelope
	maxInput    int    // --max-input in bytes, set by runBatch
}

func newBatchCmd(e *env) *cobra.Command {
	var (
		hf   hostFlags
		opts batchOptions
	)
	cmd := &cobra.Command{
		Use: "batch <plugin.wasm> --input {<items.jsonl> | -} [--type <computation>] [--workers <n>] " +
			"[--lines {data | envelope}] [--output {<file> | -}] [--fail-fast] [--no-cache]",
		Short: "Run a computation over every line of a JSON Lines file",
		Long: "Run a compute-node plugin over a JSON Lines file, fanned out over parallel workers that\n" +
			"each have an instance of their own, and write one output line per input item, in input order.\n\n" +
			"Input (--input, or stdin with '-'): one item per line; blank lines are skipped. --lines\n" +
			"says what a line is. --lines data (the default): each line is the item's data, any JSON\n" +
			"value (an object with a \"data\" key too), run as computation --type. --lines envelope:\n" +
			"each line is a whole ComputeInput object that names its computation_type, with only the\n" +
			"envelope's fields (computation_type, data, operation_id, cache_enabled,\n" +
			"parallel_enabled, metadata); --type does not apply. Every line is checked before\n" +
			"anything runs: a line that is not valid UTF-8 JSON (or not a valid envelope) is misuse,\n" +
			"reported with its line number.\n\n" +
			"Output (--output, default stdout): one compact JSON line per item. A success is the item's\n" +
			"ComputeOutput:\n" +
			"  {\"result\":…,\"operation_id\":…,\"computation_type\":…,\"processing_time_ms\":…,\n" +
			"   \"cache_hit\":…[,\"cache_outcome\":…],\"parallel_execution_used\":…[,\"fuel_used\":…][,\"metadata\":…]}\n" +
			"a failure is:\n" +
			"  {\"operation_id\":…,\"computation_type\":…,\"error\":{\"kind\":…,\"code\":…,\"message\":…,\"retryable\":…}}\n" +
			"kind names the failure: timeout, canceled, invalid_input, input_too_large, output_too_large,\n" +
			"invalid_output, unknown_computation, unsupported, capability_denied, memory_limit, trap,\n" +
			"panic, out_of_bounds, unavailable, not_found, failed, closed, quarantined, or error; code\n" +
			"is the guest's error code, or the kind when the host failed the item. Items without an\n" +
			"operation_id get a fresh UUID.\n" +
			"--fail-fast stops at the first item to fail: the output ends with its error line, and the\n" +
			"items that were running alongside it are canceled (their lines say so).\n\n" +
			"Workers default to the plugin's instance count: two per CPU, at least 4. stderr shows\n" +
			"progress when it is a terminal, and always a summary at the end: items, errors, cache hit\n" +
			"rate, wall time and throughput.\n\n" +
			"Exit status: 0 every item succeeded, 1 an item failed (the output still has its line) or the\n" +
			"plugin could not run, 2 misuse.",
		Example: "  onex-host batch bin/plugins/core.wasm --type sum_numbers --input numbers.jsonl --output sums.jsonl\n" +
			"  printf '{\"computation_type\":\"sum_numbers\",\"data\":[1,2]}\\n{\"computation_type\":\"sha256\",\"data\":\"abc\"}\\n' | onex-host batch bin/plugins/core.wasm --lines envelope -i -",
		Args: exactArgs("<plugin.wasm>", 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch opts.lines {
			case linesData:
			case linesEnvelope:
				if cmd.Flags().Changed("type") {
					return errors.New("--type applies to --lines data; with --lines envelope each line names its computation_type")
				}
			default:
				return fmt.Errorf("--lines %q: want data or envelope", opts.lines)
			}
			return runBatch(cmd.Context(), e, &hf, opts, args[0])
		},
	}
	hf.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&opts.computation, "type", "t", abi.DefaultComputation, "computation of every item (--lines data)")
	f.StringVar(&opts.lines, "lines", linesData, "what each input line is: {data | envelope}")
	f.StringVarP(&opts.inputPath, "input", "i", "", "JSON Lines input file, or - for stdin (required)")
	f.StringVarP(&opts.outputPath, "output", "o", "-", "output file, or - for stdout")
	f.IntVarP(&opts.workers, "workers", "w", 0, "items run at once, each on its own instance (default: the plugin's instance count)")
	f.BoolVar(&opts.failFast, "fail-fast", false, "stop at the first failed item")
	f.BoolVar(&opts.noCache, "no-cache", false, "bypass the compute cache for every item")
	_ = cmd.MarkFlagRequired("input") // cannot fail: the flag exists
	return cmd
}

// runBatch is the batch command: check the whole input, then run it chunk by chunk.
func runBatch(ctx context.Context, e *env, hf *hostFlags, opts batchOptions, plugin string) error {
	if opts.workers < 0 {
		return fmt.Errorf("--workers %d: must not be negative", opts.workers)
	}
	maxInput, err := hf.inputLimit()
	if err != nil {
		return err
	}
	opts.maxInput = maxInput
	in, err := openItems(e, opts)
	if err != nil {
		return err
	}
	defer in.Close()

	h, node, err := hf.loadNode(ctx, e, plugin, opts.workers)
	if err != nil {
		return err
	}
	defer h.Close(context.Background())
	workers := opts.workers
	if workers == 0 {
		workers = h.Config().MaxInstances
	}

	out, closeOut, err := openOutput(e, opts.outputPath, in.f)
	if err != nil {
		return err
	}
	b := &batchRun{
		node:     node,
		opts:     compute.BatchOptions{Workers: workers, FailFast: opts.failFast},
		maxItems: chunkItemsPerWorker * workers,
		out:      bufio.NewWriterSize(out, 64<<10),
	}
	b.enc = json.NewEncoder(b.out)
	b.enc.SetEscapeHTML(false) // results go out as the guest wrote them
	start := time.Now()
	stopProgress := startProgress(e.stderr, in.total, b.done)
	err = b.run(ctx, in)
	if cerr := closeOut(); err == nil && cerr != nil {
		err = failure{fmt.Errorf("--output: %w", cerr)}
	}
	stopProgress()
	fmt.Fprintln(e.stderr, batchSummary{items: b.written, failed: b.failed, hits: b.hits,
		elapsed: time.Since(start), cache: h.CacheStats()})
	if err != nil {
		return err
	}
	if b.failed > 0 {
		if b.stoppedAt > 0 {
			return failure{fmt.Errorf("batch: stopped at the first failed item, line %d: %w", b.stoppedAt, b.firstErr)}
		}
		return failure{fmt.Errorf("batch: %d of %d items failed; the first, line %d: %w", b.failed, b.written, b.firstLine, b.firstErr)}
	}
	return nil
}

// openOutput opens --output: path, or stdout for "-". close closes the file (a no-op
// for stdout). Naming the input file is misuse: creating the output would truncate it.
func openOutput(e *env, path string, input *os.File) (w io.Writer, close func() error, err error) {
	if path == "-" {
		return e.stdout, func() error { return nil }, nil
	}
	if out, err := os.Stat(path); err == nil {
		if in, err := input.Stat(); err == nil && os.SameFile(in, out) {
			return nil, nil, fmt.Errorf("--output %s: is the input file", path)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--output: %w", err)
	}
	return f, f.Close, nil
}

// batchRun runs the items through a compute node and writes their lines in order.
type batchRun struct {
	node     *compute.Node
	opts     compute.BatchOptions
	maxItems int
	out      *bufio.Writer
	enc      *json.Encoder

	// Counters, owned by run's goroutine.
	written, failed, hits int
	firstLine             int   // input line of the first failure in input order
	firstErr              error // its error
	stoppedAt             int   // with FailFast, the line the batch stopped at
}

// chunk is the items of one ProcessBatch call and, once done is closed, their results.
type chunk struct {
	lines   []int // input line of each item, for messages
	inputs  []abi.ComputeInput
	size    int // bytes of data
	results []compute.BatchResult
	err     error // ProcessBatch's: with FailFast, the item error that stopped the chunk
	done    chan struct{}
}

// errStop ends the read loop after --fail-fast stopped the batch.
var errStop = errors.New("batch stopped")

// run reads chunks of items from in and processes each with ProcessBatch. The next chunk
// starts while the previous one finishes, so the workers idle at a chunk's tail pick up
// the next one; at most two chunks are in flight, and lines are written in input order.
func (b *batchRun) run(ctx context.Context, in *itemSource) error {
	ctx, cancel := context.WithCancel(ctx)
	var prev *chunk // started, not yet written
	defer func() {
		cancel()
		if prev != nil {
			<-prev.done
		}
	}()
	cur := &chunk{}
	// advance starts cur and writes the chunk before it.
	advance := func() error {
		b.start(ctx, cur)
		last := prev
		prev, cur = cur, &chunk{}
		if last == nil {
			return nil
		}
		return b.finish(last)
	}
	err := in.each(func(line int, item abi.ComputeInput) error {
		if item.OperationID == "" {
			// Assigned here rather than by Process, so that a failed item's line has one.
			item.OperationID = uuid.NewString()
		}
		cur.lines = append(cur.lines, line)
		cur.inputs = append(cur.inputs, item)
		cur.size += len(item.Data)
		if len(cur.inputs) < b.maxItems && cur.size < chunkMaxBytes {
			return nil
		}
		return advance()
	})
	if err == nil && len(cur.inputs) > 0 {
		err = advance()
	}
	if err == nil && prev != nil {
		err = b.finish(prev)
	}
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil {
		if err = b.out.Flush(); err != nil {
			err = failure{fmt.Errorf("--output: %w", err)}
		}
	}
	return err
}

// start runs c in a goroutine of its own that closes c.done; whoever starts a chunk waits
// for it (run's deferred wait covers early returns).
func (b *batchRun) start(ctx context.Context, c *chunk) {
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		c.results, c.err = b.node.ProcessBatch(ctx, c.inputs, b.opts)
	}()
}

// finish waits for c and writes its lines. It returns errStop when --fail-fast stopped
// at one of its items: the lines end with that item's.
func (b *batchRun) finish(c *chunk) error {
	<-c.done
	stop := len(c.results) // index of the item FailFast stopped at, if any
	if b.opts.FailFast && c.err != nil {
		// The first item to fail in time, which is not always the first in input order:
		// ProcessBatch also cancels the items running when it fails.
		stop = slices.IndexFunc(c.results, func(r compute.BatchResult) bool { return r.Err == c.err })
		if stop < 0 { // not an item's error (the run was canceled): stop at the first failure
			stop = slices.IndexFunc(c.results, func(r compute.BatchResult) bool { return r.Err != nil })
		}
	}
	for i, r := range c.results[:min(stop+1, len(c.results))] {
		var err error
		if r.Err != nil {
			err = b.enc.Encode(newItemError(c.inputs[i], r.Err))
			b.failed++
			if b.firstErr == nil {
				b.firstLine, b.firstErr = c.lines[i], r.Err
			}
		} else {
			err = b.enc.Encode(r.Output)
			if r.Output.CacheHit {
				b.hits++
			}
		}
		if err != nil {
			return failure{fmt.Errorf("--output: %w", err)}
		}
		b.written++
	}
	if stop < len(c.results) {
		b.stoppedAt, b.firstErr = c.lines[stop], c.results[stop].Err
		return errStop
	}
	if err := b.out.Flush(); err != nil {
		return failure{fmt.Errorf("--output: %w", err)}
	}
	return nil
}

// done returns how many items the node has processed so far, for the progress line. It
// reads the node's metrics, which count every item as it finishes, where the written
// lines advance a chunk at a time.
func (b *batchRun) done() int {
	var n uint64
	for _, m := range b.node.Metrics() {
		n += m.TotalOperations
	}
	return int(n)
}

// itemError is the output line of a failed item; its shape is documented in the batch
// command's help and is stable for scripts.
type itemError struct {
	OperationID     string        `json:"operation_id"`
	ComputationType string        `json:"computation_type"`
	Error           itemErrorBody `json:"error"`
}

type itemErrorBody struct {
	Kind      string `json:"kind"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// errorKinds names each host sentinel in output lines, in snake case; any other error
// is "error". The batch command's help lists them.
var errorKinds = []struct {
	err  error
	kind string
}{
	{host.ErrTimeout, "timeout"},
	{host.ErrCanceled, "canceled"},
	{host.ErrInvalidInput, "invalid_input"},
	{host.ErrInputTooLarge, "input_too_large"},
	{host.ErrOutputTooLarge, "output_too_large"},
	{host.ErrInvalidOutput, "invalid_output"},
	{host.ErrUnknownComputation, "unknown_computation"},
	{host.ErrUnsupported, "unsupported"},
	{host.ErrCapabilityDenied, "capability_denied"},
	{host.ErrMemoryLimit, "memory_limit"},
	{host.ErrTrap, "trap"},
	{host.ErrPanic, "panic"},
	{host.ErrOutOfBounds, "out_of_bounds"},
	{host.ErrFuelExhausted, "fuel_exhausted"},
	{host.ErrUnavailable, "unavailable"},
	{host.ErrNotFound, "not_found"},
	{host.ErrFailed, "failed"},
	{host.ErrClosed, "closed"},
	{host.ErrQuarantined, "quarantined"},
}

// newItemError is the output line of in, which failed with err.
func newItemError(in abi.ComputeInput, err error) itemError {
	body := itemErrorBody{Kind: "error", Message: err.Error()}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			body.Kind = k.kind
			break
		}
	}
	body.Code = body.Kind
	if pe, ok := errors.AsType[*host.PluginError](err); ok {
		if pe.Code != "" {
			body.Code = pe.Code
		}
		if pe.Message != "" {
			body.Message = pe.Message
		}
		body.Retryable = pe.Retryable
	}
	return itemError{OperationID: in.OperationID, ComputationType: in.Computation(), Error: body}
}
