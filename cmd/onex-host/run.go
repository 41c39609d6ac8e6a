package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
)

// hostFlags are the flags of every command that loads a plugin.
type hostFlags struct {
	timeout     time.Duration
	memoryLimit string
	cacheDir    string
}

func (f *hostFlags) register(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "per-call timeout, e.g. 300ms (default: the manifest's timeout_ms, else 30s)")
	cmd.Flags().StringVar(&f.memoryLimit, "memory-limit", "128MiB", "linear memory limit per instance, e.g. 64MiB")
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", host.DefaultCacheDir(), "compilation cache directory (\"\" disables it)")
}

// load starts a host and loads the plugin at path, with at most maxInstances live
// instances (0: the host's default, host.DefaultMaxInstances). The caller closes the host.
func (f *hostFlags) load(ctx context.Context, e *env, path string, maxInstances int) (*host.Host, *host.Plugin, error) {
	mem, err := parseSize(f.memoryLimit)
	if err != nil {
		return nil, nil, fmt.Errorf("--memory-limit: %w", err)
	}
	if f.timeout < 0 {
		return nil, nil, fmt.Errorf("--timeout %v: must not be negative", f.timeout)
	}
	logger, err := e.logger()
	if err != nil {
		return nil, nil, err
	}
	cfg := host.NewConfig().
		WithCacheDir(f.cacheDir).
		WithMemoryLimit(mem).
		WithMaxInstances(maxInstances).
		WithLogger(logger)
	h, err := host.New(ctx, cfg)
	if err != nil {
		return nil, nil, failure{err}
	}
	p, err := h.LoadFile(ctx, path, host.PluginConfig{Timeout: f.timeout})
	if err != nil {
		_ = h.Close(ctx)
		return nil, nil, failure{err}
	}
	return h, p, nil
}

// loadNode is load for the commands that run computations: the plugin as a ComputeNode.
func (f *hostFlags) loadNode(ctx context.Context, e *env, path string, maxInstances int) (*host.Host, *host.ComputeNode, error) {
	h, p, err := f.load(ctx, e, path, maxInstances)
	if err != nil {
		return nil, nil, err
	}
	node, err := host.NewComputeNode(p)
	if err != nil {
		_ = h.Close(ctx)
		return nil, nil, failure{err}
	}
	return h, node, nil
}

func newRunCmd(e *env) *cobra.Command {
	var (
		hf          hostFlags
		computation string
		data        string
		inputPath   string
		noCache     bool
	)
	cmd := &cobra.Command{
		Use:   "run <plugin.wasm> [--type <computation>] [--data <json> | --input {<file> | -}] [--no-cache]",
		Short: "Run one computation and print its ComputeOutput as JSON",
		Long: "Run one computation of a compute-node plugin and print ONEX's ComputeOutput as JSON.\n\n" +
			"--data gives the input data as JSON; --input reads a whole ComputeInput JSON object\n" +
			"from a file, or from stdin with '-'. Exit status: 0 ok, 1 the plugin failed, 2 misuse.",
		Example: "  onex-host run bin/plugins/core.wasm --type sum_numbers --data '[1,2,3,4,5]'\n" +
			"  echo '{\"computation_type\":\"sha256\",\"data\":\"abc\"}' | onex-host run bin/plugins/core.wasm --input -",
		Args: exactArgs("<plugin.wasm>", 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := buildInput(e, cmd, computation, data, inputPath)
			if err != nil {
				return err
			}
			in.NoCache = in.NoCache || noCache
			ctx := cmd.Context()
			h, node, err := hf.loadNode(ctx, e, args[0], 1)
			if err != nil {
				return err
			}
			defer h.Close(context.Background())
			out, err := node.Process(ctx, in)
			if err != nil {
				return failure{err}
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	hf.register(cmd)
	cmd.Flags().StringVarP(&computation, "type", "t", abi.DefaultComputation, "computation to run")
	cmd.Flags().StringVarP(&data, "data", "d", "null", "input data as JSON")
	cmd.Flags().StringVarP(&inputPath, "input", "i", "", "read a ComputeInput JSON object from a file, or stdin with -")
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "bypass the compute cache (sets the input's cache_enabled to false)")
	cmd.MarkFlagsMutuallyExclusive("data", "input")
	return cmd
}

// buildInput assembles the ComputeInput from the flags; every error is misuse.
func buildInput(e *env, cmd *cobra.Command, computation, data, inputPath string) (abi.ComputeInput, error) {
	if inputPath == "" {
		if !json.Valid([]byte(data)) {
			return abi.ComputeInput{}, fmt.Errorf("--data is not valid JSON: %q (quote strings: --data '\"abc\"')", data)
		}
		return abi.ComputeInput{ComputationType: computation, Data: json.RawMessage(data)}, nil
	}
	var r io.Reader = e.stdin
	if inputPath != "-" {
		f, err := os.Open(inputPath)
		if err != nil {
			return abi.ComputeInput{}, fmt.Errorf("--input: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, host.DefaultMaxInputBytes+1<<20))
	if err != nil {
		return abi.ComputeInput{}, fmt.Errorf("--input: %w", err)
	}
	in, err := abi.DecodeComputeInput(b)
	if err != nil {
		return abi.ComputeInput{}, fmt.Errorf("--input %s: %w", inputPath, err)
	}
	if cmd.Flags().Changed("type") {
		in.ComputationType = computation
	}
	if len(in.Data) > 0 && !json.Valid(in.Data) {
		return abi.ComputeInput{}, errors.New("--input: data is not valid JSON")
	}
	return in, nil
}
