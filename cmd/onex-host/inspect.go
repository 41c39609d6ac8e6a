package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
)

// inspection is what inspect prints; its JSON form is stable for scripts.
type inspection struct {
	Path      string         `json:"path"`
	Digest    string         `json:"digest"`
	Size      int            `json:"size"`
	Flavour   host.Flavour   `json:"flavour"`
	Execution host.Execution `json:"execution"`
	ABI       int            `json:"abi_version,omitempty"` // native plugins only
	Manifest  abi.Manifest   `json:"manifest"`
	Entries   []entry        `json:"entries"`
	Exports   []string       `json:"exports"`
	Imports   []string       `json:"imports"`
}

// entry says where a computation runs inside the guest.
type entry struct {
	Computation string        `json:"computation"`
	Export      string        `json:"export"`
	Input       host.Encoding `json:"input_encoding"`
	Output      host.Encoding `json:"output_encoding"`
}

func newInspectCmd(e *env) *cobra.Command {
	var (
		hf     hostFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "inspect <plugin.wasm> [--json]",
		Short: "Show a plugin's manifest, digest, size, exports and imports",
		Long: "Load a plugin the way run does (so every load-time check applies) and describe it.\n" +
			"A native plugin's manifest is read from the onex.manifest custom section when present,\n" +
			"otherwise from the plugin's onex_manifest export. An Extism plugin's node comes from its\n" +
			"<name>" + host.SidecarSuffix + " sidecar (or --node, --export), else from its exports; each\n" +
			"computation is shown with the function it calls and its input and output encodings.\n" +
			"Each computation's input and output JSON Schemas are shown (cut to one line; --json has\n" +
			"them whole): the host checks every input against its input schema.",
		Example: "  onex-host inspect bin/plugins/core.wasm\n  onex-host inspect bin/plugins/core.wasm --json | jq '.manifest.computations[].name'",
		Args:    exactArgs("<plugin.wasm>", 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			hf.inspect = true
			h, p, err := hf.load(ctx, e, args[0], 1)
			if err != nil {
				return err
			}
			defer h.Close(context.Background())
			info := inspection{Path: args[0], Digest: p.Digest(), Size: p.Size(), Flavour: p.Flavour(), Execution: p.Execution(),
				Manifest: p.Manifest(), Exports: p.Exports(), Imports: p.Imports()}
			if info.Flavour == host.FlavourNative {
				info.ABI = abi.Version
			}
			for _, c := range info.Manifest.Offers() {
				en, _ := p.Entry(c.Name)
				info.Entries = append(info.Entries, entry{Computation: c.Name, Export: en.Export, Input: en.Input, Output: en.Output})
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			return printInspection(e, info)
		},
	}
	hf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}

func printInspection(e *env, info inspection) error {
	m := info.Manifest
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	timeout := "host default"
	if m.TimeoutMS > 0 {
		timeout = m.Timeout().String()
	}
	rows := [][2]string{
		{"name", m.Name},
		{"version", m.Version},
		{"kind", string(m.Kind)},
		{"description", m.Description},
		{"digest", info.Digest},
		{"size", fmt.Sprintf("%s (%d bytes)", formatSize(info.Size), info.Size)},
		{"abi", abiName(info)},
		{"execution", string(info.Execution)},
		{"deterministic", fmt.Sprint(m.Deterministic)},
		{"idempotent", fmt.Sprint(m.Idempotent)},
		{"timeout", timeout},
		{"capabilities", joinOrNone(capNames(m.Capabilities))},
		{"publishes", joinOrNone(m.Publishes)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%s:\t%s\n", r[0], r[1])
	}
	label := "computations"
	if m.Kind == abi.KindEffect {
		label = "effects"
	}
	fmt.Fprintf(w, "%s:\t%d\n", label, len(m.Offers()))
	for i, c := range m.Offers() {
		if info.Flavour == host.FlavourExtism {
			e := info.Entries[i]
			fmt.Fprintf(w, "  %s\t%s(), %s in, %s out\t%s\n", c.Name, e.Export, e.Input, e.Output, c.Description)
			continue
		}
		fmt.Fprintf(w, "  %s\t%s\n", c.Name, c.Description)
		printSchema(w, "input", c.InputSchema)
		printSchema(w, "output", c.OutputSchema)
	}
	if len(m.Config) > 0 {
		fmt.Fprintf(w, "config:\t%d\n", len(m.Config))
		for _, k := range m.Config {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", k.Name, configTraits(k), k.Description)
		}
	}
	fmt.Fprintf(w, "exports:\t%s\n", joinOrNone(info.Exports))
	fmt.Fprintf(w, "imports:\t%s\n", joinOrNone(info.Imports))
	return w.Flush()
}

// schemaWidth is how much of a schema the text form shows; --json shows it all.
const schemaWidth = 160

// printSchema prints a computation's schema on one line, compacted and cut at
// schemaWidth, when it has one.
func printSchema(w io.Writer, which string, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		b.Reset()
		b.Write(raw)
	}
	s := b.String()
	if len(s) > schemaWidth {
		s = s[:schemaWidth] + "… (--json shows it all)"
	}
	fmt.Fprintf(w, "    %s schema:\t%s\n", which, s)
}

// abiName is "native v1" or "extism".
func abiName(info inspection) string {
	if info.Flavour == host.FlavourNative {
		return fmt.Sprintf("native v%d", info.ABI)
	}
	return string(info.Flavour)
}

func capNames(cs []abi.Capability) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// configTraits describes a config key: required or its default, and secret. Never a
// value: inspect shows what the manifest declares only.
func configTraits(k abi.ConfigKey) string {
	t := "optional"
	switch {
	case k.Required:
		t = "required"
	case k.Default != nil:
		t = fmt.Sprintf("default %q", *k.Default)
	}
	if k.Secret {
		t += ", secret"
	}
	return t
}
