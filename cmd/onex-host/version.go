package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/abi"
)

// buildVersion is set by the Makefile (-ldflags "-X main.buildVersion=…") to git
// describe's answer, e.g. "v0.3.0-12-g1a2b3c4d" or "1a2b3c4d-dirty". Empty otherwise.
var buildVersion string

// versionString describes this build: version, ABI, Go, wazero. The version is
// buildVersion when the Makefile set it, else the module version Go recorded, else the
// VCS revision Go recorded, else "(devel)".
func versionString() string {
	wazero := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				wazero = d.Version
			}
		}
	}
	return fmt.Sprintf("onex-host %s (abi v%d, %s, wazero %s)", versionOnly(), abi.Version, runtime.Version(), wazero)
}

// versionOnly is the version part of versionString.
func versionOnly() string {
	if buildVersion != "" {
		return buildVersion
	}
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && version == "(devel)" && len(s.Value) >= 12 {
				version = "(devel " + s.Value[:12] + ")"
			}
		}
	}
	return version
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
