package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/abi"
)

// versionString describes this build: module version (or VCS revision), ABI, Go, wazero.
func versionString() string {
	version, wazero := "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && version == "(devel)" && len(s.Value) >= 12 {
				version = "(devel " + s.Value[:12] + ")"
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				wazero = d.Version
			}
		}
	}
	return fmt.Sprintf("onex-host %s (abi v%d, %s, wazero %s)", version, abi.Version, runtime.Version(), wazero)
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, ABI version, Go version and wazero version",
		Args:  exactArgs("no arguments", 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(e.stdout, versionString())
			return err
		},
	}
}
