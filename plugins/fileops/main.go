// Command fileops is the first-party file effect node: ONEX's file_operation and
// directory_operation effects on the directories the operator grants, each attempt in a
// transaction of its own, so a failed effect leaves the files as they were.
//
// Effects (operation_data in parentheses; paths are absolute, inside a granted directory):
//
//	write   {"path", "content", "mode"?}   atomic: readers see the old or the new file
//	read    {"path"}                       → {"content"}
//	delete  {"path"}                       → {"existed"}
//	move    {"from", "to"}
//	copy    {"from", "to"}
//	list    {"path"}                       → {"entries": [{"name", "size", "dir", "mod_time"}]}
//	mkdir   {"path", "parents"?}
//	apply   {"operations": [{"op": "write", "path": …}, …]}   all or nothing, in order
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fileops.wasm ./plugins/fileops
package main

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

// op is one file operation; which fields it uses depends on Op.
type op struct {
	Op      string `json:"op,omitempty"` // in apply: write, delete, move, copy, mkdir
	Path    string `json:"path,omitempty"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Content string `json:"content,omitempty"`
	Mode    uint32 `json:"mode,omitempty"`
	Parents bool   `json:"parents,omitempty"`
}

type batch struct {
	Operations []op `json:"operations"`
}

func init() {
	sdk.Describe(abi.Manifest{Name: "fileops", Version: "1.0.0", Kind: abi.KindEffect,
		Description:  "file and directory operations inside granted directories, all or nothing",
		Capabilities: []abi.Capability{abi.CapabilityFS}})
	sdk.Effect(abi.Computation{Name: "write", Description: "write a file atomically"}, func(_ context.Context, o op) (map[string]any, error) {
		return nil, perform("write", o)
	})
	sdk.Effect(abi.Computation{Name: "read", Description: "read a file"}, func(_ context.Context, o op) (map[string]string, error) {
		b, err := sdk.FS.Read(o.Path)
		if err != nil {
			return nil, err
		}
		return map[string]string{"content": string(b)}, nil
	})
	sdk.Effect(abi.Computation{Name: "delete", Description: "delete a file or an empty directory"}, func(_ context.Context, o op) (map[string]bool, error) {
		existed, err := sdk.FS.Delete(o.Path)
		return map[string]bool{"existed": existed}, err
	})
	sdk.Effect(abi.Computation{Name: "move", Description: "move a file, replacing the destination"}, func(_ context.Context, o op) (map[string]any, error) {
		return nil, perform("move", o)
	})
	sdk.Effect(abi.Computation{Name: "copy", Description: "copy a file, replacing the destination"}, func(_ context.Context, o op) (map[string]any, error) {
		return nil, perform("copy", o)
	})
	sdk.Effect(abi.Computation{Name: "list", Description: "list a directory"}, func(_ context.Context, o op) (map[string][]abi.FSEntry, error) {
		entries, err := sdk.FS.List(o.Path)
		if entries == nil {
			entries = []abi.FSEntry{}
		}
		return map[string][]abi.FSEntry{"entries": entries}, err
	})
	sdk.Effect(abi.Computation{Name: "mkdir", Description: "create a directory"}, func(_ context.Context, o op) (map[string]any, error) {
		return nil, perform("mkdir", o)
	})
	sdk.Effect(abi.Computation{Name: "apply", Description: "several write/delete/move/copy/mkdir operations, all or nothing"},
		func(_ context.Context, b batch) (map[string]int, error) {
			for i, o := range b.Operations {
				if err := perform(o.Op, o); err != nil {
					return nil, fmt.Errorf("operations[%d] (%s): %w", i, o.Op, err)
				}
			}
			return map[string]int{"applied": len(b.Operations)}, nil
		})
}

// perform runs one mutating operation.
func perform(name string, o op) error {
	switch name {
	case "write":
		mode := fs.FileMode(o.Mode)
		if mode == 0 {
			mode = 0o644
		}
		return sdk.FS.WriteMode(o.Path, []byte(o.Content), mode)
	case "delete":
		_, err := sdk.FS.Delete(o.Path)
		return err
	case "move":
		return sdk.FS.Move(o.From, o.To)
	case "copy":
		return sdk.FS.Copy(o.From, o.To)
	case "mkdir":
		return sdk.FS.Mkdir(o.Path, o.Parents)
	default:
		return sdk.NewError("invalid_input", fmt.Sprintf("unknown operation %q (want write, delete, move, copy or mkdir)", name))
	}
}

func main() {} // required by -buildmode=c-shared, never called
