// Command chatty is a test plugin for the host's logging, sandbox and memory soak tests:
// its computation "talk" logs through sdk.Logger and writes to stdout and stderr; "alloc"
// allocates and fills a fresh buffer on every call; "sandbox" reports what the guest can
// see of the machine (environment, arguments, files).
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o chatty.wasm ./plugins/testdata/chatty
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

func init() {
	sdk.Describe(abi.Manifest{Name: "chatty", Version: "1.0.0", Kind: abi.KindCompute,
		Description: "Test fixture: logs, prints and allocates"})
	sdk.Compute(abi.Computation{
		Name:         "talk",
		Description:  `Logs at info and warn, prints to stdout and stderr, returns "ok"`,
		OutputSchema: []byte(`{"const":"ok"}`),
	}, talk)
	sdk.Compute(abi.Computation{
		Name:         "alloc",
		Description:  "Allocates and fills a fresh N-byte slice; returns its length",
		InputSchema:  []byte(`{"type":"integer","minimum":0}`),
		OutputSchema: []byte(`{"type":"integer"}`),
	}, alloc)
	sdk.Compute(abi.Computation{
		Name:        "sandbox",
		Description: "Reports the environment, the arguments and what reading files gives",
	}, sandbox)
}

// Sandbox is what sandbox reports.
type Sandbox struct {
	Env     []string `json:"env"`
	Args    []string `json:"args"`
	ReadErr string   `json:"read_error"` // reading /etc/passwd
	DirErr  string   `json:"dir_error"`  // listing /
}

func sandbox(_ context.Context, _ json.RawMessage) (Sandbox, error) {
	s := Sandbox{Env: os.Environ(), Args: os.Args}
	if _, err := os.ReadFile("/etc/passwd"); err != nil {
		s.ReadErr = err.Error()
	}
	if _, err := os.ReadDir("/"); err != nil {
		s.DirErr = err.Error()
	}
	return s, nil
}

func talk(_ context.Context, _ json.RawMessage) (string, error) {
	log := sdk.Logger()
	log.Info("hello from chatty", "plugin", "chatty")
	log.Warn("hello from chatty", "plugin", "chatty")
	fmt.Println("to stdout")
	fmt.Fprintln(os.Stderr, "to stderr")
	return "ok", nil
}

func alloc(_ context.Context, n int) (int, error) {
	if n < 0 {
		return 0, sdk.NewError("invalid_input", fmt.Sprintf("alloc: N must not be negative, got %d", n))
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return len(b), nil
}

func main() {}
