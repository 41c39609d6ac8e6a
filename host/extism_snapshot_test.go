package host_test

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
)

// TestExtismSnapshot_Differential: an Extism plugin loaded with a snapshot (its module
// pre-initialized, SnapshotOn) answers every call as the plugin without one does, pooled
// and with fresh isolation; a module the snapshot cannot take (a command, a Haskell
// runtime, one without _initialize) loads and answers without it, saying why in the log.
func TestExtismSnapshot_Differential(t *testing.T) {
	t.Parallel()
	type call struct{ computation, in string }
	for _, tc := range []struct {
		name        string
		path        string
		calls       []call
		snapshotted bool
	}{
		{"extisminit (WAT reactor)", filepath.Join("..", "plugins", "testdata", "wat", "extisminit.wasm"), []call{
			{"status", ""}, {"status", ""}}, true},
		{"count_vowels (Rust)", extismPaths["count_vowels.wasm"], []call{
			{"count_vowels", "Hello, World!"}, {"count_vowels", "aeiou"}}, false},
		{"config (TinyGo, no _initialize)", extismPaths["config.wasm"], []call{{"run_test", ""}, {"run_test", "x"}}, false},
		{"hello_haskell", extismPaths["hello_haskell.wasm"], []call{{"testing", "ben"}}, false},
		{"std_command (a command)", extismPaths["std_command.wasm"], []call{{"start", "ben"}}, false},
		{"text (Go PDK)", goPluginPaths["plugins/text"], []call{
			{"word_count", "the cat and the hat and the bat"}, {"slugify", "Hello, Wörld! 2026"}, {"word_count", ""}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.name == "text (Go PDK)" && !*extismSoak {
				t.Skip("a Go module: run with -extism-soak (see extismSoak)")
			}
			require.NotEmpty(t, tc.path)
			h, logs := newHost(t, host.Config{}) // one host: the variants share compilations
			transcript := func(pc host.PluginConfig) []string {
				p, err := h.LoadFile(context.Background(), tc.path, pc)
				require.NoError(t, err)
				defer p.Close(context.Background())
				var out []string
				for range 2 { // twice: a pooled instance's second round sees its first
					for _, c := range tc.calls {
						b, err := p.Call(context.Background(), c.computation, []byte(c.in))
						if err != nil {
							out = append(out, "error: "+err.Error())
							continue
						}
						out = append(out, string(b))
					}
				}
				return out
			}
			pooled := host.PluginConfig{MaxInstances: 1}
			fresh := host.PluginConfig{Isolation: host.IsolationFresh, Prewarm: 1}
			for _, pair := range [][2]host.PluginConfig{
				{withSnapshot(pooled, host.SnapshotOff), withSnapshot(pooled, host.SnapshotOn)},
				{withSnapshot(fresh, host.SnapshotOff), fresh},
			} {
				assert.Equal(t, transcript(pair[0]), transcript(pair[1]), "%+v", pair[1])
			}
			refused := logs.Find("plugin runs without a snapshot")
			if tc.snapshotted {
				assert.Empty(t, refused)
			} else {
				assert.NotEmpty(t, refused, "the log says why there is no snapshot")
			}
		})
	}
}

// extismSoak adds the Go PDK plugin (plugins/text) to TestExtismSnapshot_Differential:
// taking and compiling the snapshot of a 4.6 MB Go module costs ≈ 100 s under the race
// detector (6–8 s without). Run `go test ./host -run ExtismSnapshot -args -extism-soak` after
// changing how Extism plugins are snapshotted.
var extismSoak = flag.Bool("extism-soak", false, "run the Extism snapshot differential test on the Go PDK plugin too")

func withSnapshot(pc host.PluginConfig, s host.Snapshot) host.PluginConfig {
	pc.Snapshot = s
	return pc
}

// TestExtismSnapshot_InitialisedOnce: a snapshot instance of an Extism reactor starts
// initialised — Extism does not run _initialize again (inits stays 1) — and keeps what
// its calls change, like any pooled instance.
func TestExtismSnapshot_InitialisedOnce(t *testing.T) {
	t.Parallel()
	h, logs := newHost(t, host.Config{})
	p, err := h.LoadFile(context.Background(), filepath.Join("..", "plugins", "testdata", "wat", "extisminit.wasm"),
		host.PluginConfig{Snapshot: host.SnapshotOn, MaxInstances: 1})
	require.NoError(t, err)
	for i := 1; i <= 3; i++ {
		out, err := p.Call(context.Background(), "status", nil)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("inits=1 calls=%d", i), string(out))
	}
	assert.Empty(t, logs.Find("plugin runs without a snapshot"))
}
