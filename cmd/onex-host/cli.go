package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/host/tracing"
)

// Exit codes.
const (
	exitOK      = 0 // success
	exitFailure = 1 // the command ran and failed (load error, plugin error, timeout, …)
	exitMisuse  = 2 // bad flags, arguments or input syntax
)

// failure marks an error as a runtime failure (exit 1); any other error from the command
// tree is misuse (exit 2).
type failure struct{ err error }

func (f failure) Error() string { return f.err.Error() }
func (f failure) Unwrap() error { return f.err }

// Main runs the CLI with args (without the program name) and returns the exit code. It is
// the whole program, so tests call it directly. An interrupt (Ctrl-C) or SIGTERM cancels
// the command's context: calls in flight are stopped and batch prints its summary. The
// command then has a shutdown timeout to return (see stopOnSignal); past it, or at a
// second signal, Main returns 1 at once, leaving behind what still runs, and main exits.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	e.setShutdownTimeout(defaultShutdownTimeout)
	return e.stopOnSignal(func(ctx context.Context) int { return e.execute(ctx, args) })
}

// execute runs the command tree with args and returns the exit code.
func (e *env) execute(ctx context.Context, args []string) int {
	stderr := e.stderr
	root := newRoot(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "onex-host: %v\n", err)
	var f failure
	if errors.As(err, &f) {
		return exitFailure
	}
	if !strings.Contains(err.Error(), "--help") {
		fmt.Fprintln(stderr, "Run 'onex-host --help' for usage.")
	}
	return exitMisuse
}

// env is what every subcommand needs from the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	logLevel       string
	// shutdown is how long the command may take to return after a signal (see
	// stopOnSignal), in nanoseconds: set by the command, read by Main's goroutine.
	shutdown atomic.Int64
}

func newRoot(e *env) *cobra.Command {
	stdin, stdout, stderr := e.stdin, e.stdout, e.stderr
	root := &cobra.Command{
		Use:   "onex-host <command>",
		Short: "Run ONEX node plugins in WebAssembly sandboxes",
		Long: "onex-host runs ONEX nodes — compute, effect, reducer and orchestrator — written as\n" +
			"WebAssembly plugins (native ABI v1, or any Extism PDK plugin), or as FSM and workflow\n" +
			"contracts in YAML: each call in its own metered sandbox, with deadlines and memory\n" +
			"limits, the state the nodes share owned by the host.",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&e.logLevel, "log-level", "warn", "plugin and host log level on stderr: {debug | info | warn | error}")
	// One command per line: branches that add one merge without conflicts.
	root.AddCommand(
		newRunCmd(e),
		newBatchCmd(e),
		newCallCmd(e),
		newInspectCmd(e),
		newServeCmd(e),
		newSubmitCmd(e),
		newReduceCmd(e),
		newWorkflowCmd(e),
		newJournalCmd(e),
		newNewCmd(e),
		newBuildCmd(e),
		newCacheCmd(e),
		newVersionCmd(e),
	)
	root.AddCommand(ociCommands(e)...)
	return root
}

// logger returns the stderr logger at the chosen level.
func (e *env) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(e.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", e.logLevel)
	}
	return slog.New(tracing.Handler(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))), nil
}

// exactArgs is cobra.ExactArgs with a message naming the placeholders.
func exactArgs(usage string, n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s: want %s, got %d arguments", cmd.Name(), usage, len(args))
		}
		return nil
	}
}
