// Command configured is the test plugin of config and secrets: it declares an optional
// key with a default (greeting), an optional key without one (unit) and a required
// secret (api_token), and reports what it reads through sdk.Config without ever
// returning or logging the secret itself.
//
// Built by plugintest (plugintest.Path("plugins/testdata/configured")), which runs, from
// the repository root:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o configured.wasm ./plugins/testdata/configured
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

// atInit is greeting as init read it: instances initialise with their config.
var atInit, _ = sdk.Config("greeting")

type report struct {
	Greeting    string `json:"greeting"`
	AtInit      string `json:"at_init"`
	Unit        string `json:"unit"`
	UnitSet     bool   `json:"unit_set"`
	TokenSHA256 string `json:"token_sha256"` // proves the value arrived without showing it
	Undeclared  bool   `json:"undeclared_found"`
}

func init() {
	hello := "hello"
	sdk.Describe(abi.Manifest{
		Name:    "configured",
		Version: "1.0.0",
		Kind:    abi.KindCompute,
		Config: []abi.ConfigKey{
			{Name: "greeting", Default: &hello, Description: "how to greet"},
			{Name: "unit", Description: "an optional unit"},
			{Name: "api_token", Required: true, Secret: true, Description: "the upstream's token"},
		},
	})
	sdk.Compute(abi.Computation{Name: "report", Description: "What the plugin's config holds"},
		func(_ context.Context, _ struct{}) (report, error) {
			var r report
			r.Greeting, _ = sdk.Config("greeting")
			r.AtInit = atInit
			r.Unit, r.UnitSet = sdk.Config("unit")
			tok, _ := sdk.Config("api_token")
			sum := sha256.Sum256([]byte(tok))
			r.TokenSHA256 = hex.EncodeToString(sum[:])
			_, r.Undeclared = sdk.Config("not_declared")
			sdk.Logger().Info("report", "token_len", len(tok))
			return r, nil
		})
}

func main() {}
