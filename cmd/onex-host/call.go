package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/host"
)

func newCallCmd(e *env) *cobra.Command {
	var (
		hf        hostFlags
		input     string
		inputPath string
	)
	cmd := &cobra.Command{
		Use:   "call {<plugin.wasm> | <extism-manifest.json>} <function> [--input STRING | --input-file {FILE | -}] [--config KEY=VALUE]... [--timeout D] [--allow-host P]... [--allow-path {DIR | HOST:GUEST}[:ro]]... [--output-encoding {json | text | base64}]",
		Short: "Call one function of any plugin with raw bytes, like extism call",
		Long: "Call one function of a plugin with raw input bytes and print its raw output bytes on\n" +
			"stdout, unchanged (no newline is added). For an Extism plugin <function> is an exported\n" +
			"function; for a native plugin it is a computation. The plugin's error goes to stderr.\n\n" +
			"The call gets the same sandbox as every other: a deadline (--timeout, else the host's\n" +
			"30s), a memory limit, no files or hosts unless granted.\n\n" +
			"Exit status: 0 ok, 1 the plugin failed or could not be loaded, 2 misuse.",
		Example: "  onex-host call count_vowels.wasm count_vowels --input 'Hello, World!'\n" +
			"  onex-host call plugin.wasm greet --config greeting=Hi --input-file name.txt\n" +
			"  onex-host call bin/plugins/core.wasm sha256 --input '\"abc\"'",
		Args: exactArgs("<plugin.wasm> <function>", 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, function := args[0], args[1]
			data := []byte(input)
			if inputPath != "" {
				limit, err := hf.inputLimit()
				if err != nil {
					return err
				}
				if data, err = readInputFile(e, inputPath, limit); err != nil {
					return err
				}
			}
			path, err := hf.localPath(cmd.Context(), path) // an oci:// plugin's sidecar is in the store
			if err != nil {
				return err
			}
			// An Extism plugin offers exactly the function asked for, whatever its sidecar
			// says; the sidecar still gives the node its name, timeout and config.
			node, err := host.ReadExtismNode(host.SidecarPath(path))
			if err != nil {
				return err
			}
			if node == nil {
				node = &host.ExtismNode{}
			}
			node.Computations = []host.ExtismComputation{{Name: callName, Export: function}}
			hf.node = node
			ctx := cmd.Context()
			h, p, err := hf.load(ctx, e, path, 1)
			if err != nil {
				return err
			}
			defer h.Close(context.Background())
			computation := function
			if p.Flavour() == host.FlavourExtism {
				computation = callName
			}
			out, err := p.Call(ctx, computation, data)
			if err != nil {
				return failure{err}
			}
			_, err = e.stdout.Write(out)
			return err
		},
	}
	hf.register(cmd)
	cmd.Flags().StringVar(&input, "input", "", "input bytes, as given")
	cmd.Flags().StringVar(&inputPath, "input-file", "", "read the input bytes from a file, or stdin with -")
	cmd.MarkFlagsMutuallyExclusive("input", "input-file")
	return cmd
}

// callName is the computation name call gives the function it calls.
const callName = "call"

// readInputFile reads a whole input file (or stdin for "-"), up to limit bytes.
func readInputFile(e *env, path string, limit int) ([]byte, error) {
	var r io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--input-file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("--input-file: %w", err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("--input-file %s: more than the %d-byte input limit; raise it with --max-input", path, limit)
	}
	return b, nil
}
