package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// loadExtism loads one of extismFixtures into h.
func loadExtism(tb testing.TB, h *host.Host, name string, cfg host.PluginConfig) *host.Plugin {
	tb.Helper()
	p, err := h.LoadFile(context.Background(), extismPath(tb, name), cfg)
	require.NoError(tb, err)
	return p
}

func extismPath(tb testing.TB, name string) string {
	tb.Helper()
	path, ok := extismPaths[name]
	require.True(tb, ok, "%s is not in extismFixtures", name)
	return path
}

func TestExtismPluginsFromFourLanguages(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	for _, tc := range []struct {
		file, computation, export, in string
		want                          [2]string // first call, second call
	}{
		// count_vowels keeps a running total in an Extism variable, which lives as long as
		// its instance: the second call shows that the instance was reused.
		{"count_vowels.wasm", "count_vowels", "count_vowels", "Hello, World!",
			[2]string{`{"count":3,"total":3,"vowels":"aeiouAEIOU"}`, `{"count":3,"total":6,"vowels":"aeiouAEIOU"}`}},
		{"hello_haskell.wasm", "testing", "testing", "ben", [2]string{"Hello, ben", "Hello, ben"}},
		{"std_command.wasm", "start", "_start", "ben", [2]string{"hello ben", "hello ben"}},
		{"config.wasm", "run_test", "run_test", "", [2]string{`{"config": "<unset by host>"}`, `{"config": "<unset by host>"}`}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p := loadExtism(t, h, tc.file, host.PluginConfig{})
			assert.Equal(t, host.FlavourExtism, p.Flavour())
			m := p.Manifest()
			assert.Equal(t, strings.TrimSuffix(tc.file, ".wasm"), m.Name)
			assert.Equal(t, abi.KindCompute, m.Kind)
			assert.True(t, strings.HasPrefix(m.Version, "sha256:"), m.Version)
			require.Len(t, m.Computations, 1)
			e, ok := p.Entry(tc.computation)
			require.True(t, ok)
			assert.Equal(t, host.Entry{Export: tc.export, Input: host.EncodingText, Output: host.EncodingText}, e)
			for _, want := range tc.want { // the second call reuses the instance, except after _start
				out, err := p.Call(ctx, tc.computation, []byte(tc.in))
				require.NoError(t, err)
				assert.Equal(t, want, string(out))
			}
		})
	}
}

func TestExtismCommandModuleInstanceIsSingleUse(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	p := loadExtism(t, h, "std_command.wasm", host.PluginConfig{MaxInstances: 1})
	ctx := context.Background()
	for i := range 3 {
		out, err := p.Call(ctx, "start", []byte(fmt.Sprint(i)))
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("hello %d", i), string(out))
	}
	s := p.Stats()
	assert.Equal(t, uint64(3), s.Discarded, "each _start ends its instance")
	assert.Equal(t, uint64(3), s.Created, "the load's instance served the first call, a fresh one each later call")
}

func TestExtismHammer(t *testing.T) {
	const goroutines, calls = 64, 8
	h, _ := newHost(t, host.NewConfig())
	p := loadExtism(t, h, "count_vowels.wasm", host.PluginConfig{MaxInstances: 8})
	ctx := context.Background()
	var wg sync.WaitGroup
	var ok atomic.Int64
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				in := strings.Repeat("a", g) + strings.Repeat("xe", i)
				out, err := p.Call(ctx, "count_vowels", []byte(in))
				if !assert.NoError(t, err) {
					return
				}
				if assert.Equal(t, g+i, vowelCount(t, out), "input %q", in) {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(goroutines*calls), ok.Load())
	s := p.Stats()
	assert.Equal(t, uint64(goroutines*calls+1), s.Acquired, "every call and the load's check each took one instance")
	assert.Zero(t, s.Discarded)
	assert.LessOrEqual(t, s.Live, 8)
	assert.Zero(t, s.InUse)
}

func TestExtismSleepingPluginStoppedAtDeadline(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	sleepy := host.PluginConfig{Timeout: 100 * time.Millisecond, MaxInstances: 1,
		Extism: host.ExtismConfig{Config: map[string]string{"duration": "30"}}}
	p := loadExtism(t, h, "sleep.wasm", sleepy)
	ctx := context.Background()

	start := time.Now()
	_, err := p.Call(ctx, "run_test", nil)
	require.ErrorIs(t, err, host.ErrTimeout)
	assert.Contains(t, err.Error(), "after the 100ms timeout")
	assert.Less(t, time.Since(start), 10*time.Second)

	// The caller's deadline stops it too, and a cancel is reported as such.
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = p.Call(dctx, "run_test", nil)
	cancel()
	require.ErrorIs(t, err, host.ErrTimeout)
	assert.Contains(t, err.Error(), "caller's deadline")
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = p.Call(cctx, "run_test", nil)
	require.ErrorIs(t, err, host.ErrCanceled)

	s := p.Stats()
	assert.Equal(t, uint64(3), s.Discarded, "every stopped instance is discarded")
	assert.Equal(t, 0, s.Live)

	// A fresh instance of the same module serves the next call.
	quick := loadExtism(t, h, "sleep.wasm", host.PluginConfig{MaxInstances: 1,
		Extism: host.ExtismConfig{Config: map[string]string{"duration": "0"}}})
	out, err := quick.Call(ctx, "run_test", nil)
	require.NoError(t, err)
	assert.Equal(t, "slept for 0 seconds", string(out))
}

func TestExtismPluginErrorIsTypedAndKeepsTheInstance(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	p := loadExtism(t, h, "fail.wasm", host.PluginConfig{})
	for range 3 {
		_, err := p.Call(context.Background(), "run_test", nil)
		require.ErrorIs(t, err, host.ErrFailed)
		pe, ok := err.(*host.PluginError)
		require.True(t, ok)
		assert.Equal(t, "Some error message", pe.Message)
		assert.Equal(t, "fail", pe.Plugin)
		assert.Equal(t, "run_test", pe.Op)
	}
	assert.Zero(t, p.Stats().Discarded, "an error the plugin reports is not a fault")
	assert.Equal(t, uint64(1), p.Stats().Created)
}

func TestExtismComputeNodeCachesAndBatches(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	node := &host.ExtismNode{Name: "vowels", Version: "1.0.0", Deterministic: true,
		Computations: []host.ExtismComputation{
			{Name: "count", Export: "count_vowels", Encoding: host.EncodingJSON},
			{Name: "count-text", Export: "count_vowels"},
		}}
	p := loadExtism(t, h, "count_vowels.wasm", host.PluginConfig{Extism: host.ExtismConfig{Node: node}})
	n, err := compute.New(p)
	require.NoError(t, err)
	ctx := context.Background()

	// json: the input's JSON text goes in as is; the output must be JSON and stays JSON.
	// (count_vowels also reports a running total kept in an Extism variable, which lives
	// per instance: only count is a function of the input.)
	out, err := n.Process(ctx, abi.ComputeInput{ComputationType: "count", Data: json.RawMessage(`"aaa"`)})
	require.NoError(t, err)
	assert.Equal(t, 3, vowelCount(t, out.Result))
	assert.False(t, out.CacheHit)
	out, err = n.Process(ctx, abi.ComputeInput{ComputationType: "count", Data: json.RawMessage(`"aaa"`)})
	require.NoError(t, err)
	assert.True(t, out.CacheHit, "deterministic Extism computations are cached")

	// text: a JSON string goes in as its content; the output comes back as a JSON string.
	out, err = n.Process(ctx, abi.ComputeInput{ComputationType: "count-text", Data: json.RawMessage(`"ee"`)})
	require.NoError(t, err)
	var s string
	require.NoError(t, json.Unmarshal(out.Result, &s))
	assert.Equal(t, 2, vowelCount(t, []byte(s)))

	items := make([]abi.ComputeInput, 40)
	for i := range items {
		items[i] = abi.ComputeInput{ComputationType: "count", Data: json.RawMessage(fmt.Sprintf("%q", strings.Repeat("o", i))), NoCache: true}
	}
	res, err := n.ProcessBatch(ctx, items, compute.BatchOptions{Workers: 4})
	require.NoError(t, err)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.Equal(t, i, vowelCount(t, r.Output.Result))
		assert.True(t, r.Output.ParallelExecutionUsed)
	}
	m := n.Metrics()["count"]
	assert.Equal(t, uint64(42), m.TotalOperations)
	assert.Equal(t, uint64(1), h.CacheStats().Hits)
}

// vowelCount decodes count_vowels' output.
func vowelCount(t *testing.T, out []byte) int {
	t.Helper()
	var v struct{ Count int }
	require.NoError(t, json.Unmarshal(out, &v), "%s", out)
	return v.Count
}

func TestExtismSidecarFile(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "greeter.wasm")
	require.NoError(t, os.Symlink(extismPath(t, "config.wasm"), wasm))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "greeter"+host.SidecarSuffix), []byte(`
name: greeter
version: 2.1.0
description: reads its config
timeout_ms: 1500
config: {thing: from-sidecar, other: kept}
computations:
  - name: show-config
    export: run_test
    encoding: text
`), 0o644))
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	p, err := h.LoadFile(ctx, wasm, host.PluginConfig{})
	require.NoError(t, err)
	m := p.Manifest()
	assert.Equal(t, "greeter", m.Name)
	assert.Equal(t, "2.1.0", m.Version)
	assert.Equal(t, 1500*time.Millisecond, p.Timeout())
	out, err := p.Call(ctx, "show-config", nil)
	require.NoError(t, err)
	assert.Equal(t, `{"config": "from-sidecar"}`, string(out))

	// The operator's config wins over the sidecar's defaults, key by key.
	p2, err := h.LoadFile(ctx, wasm, host.PluginConfig{Extism: host.ExtismConfig{Config: map[string]string{"thing": "operator"}}})
	require.NoError(t, err)
	out, err = p2.Call(ctx, "show-config", nil)
	require.NoError(t, err)
	assert.Equal(t, `{"config": "operator"}`, string(out))
}

func TestExtismLoadRefusals(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	for _, tc := range []struct {
		name, file string
		cfg        host.PluginConfig
		kind       error
		msg        string
	}{
		{"application host function", "host.wasm", host.PluginConfig{}, host.ErrUnknownImport,
			"does not provide extism:host/user."},
		{"export that does not exist", "count_vowels.wasm", extismNode(host.ExtismComputation{Export: "nope"}),
			host.ErrInvalidManifest, `computations[0].export "nope" is not a function Extism can call`},
		{"invalid computation name", "count_vowels.wasm", extismNode(host.ExtismComputation{Name: "Bad Name", Export: "count_vowels"}),
			host.ErrInvalidManifest, `computations[0].name "Bad Name"`},
		{"duplicate computation", "count_vowels.wasm",
			extismNode(host.ExtismComputation{Name: "a", Export: "count_vowels"}, host.ExtismComputation{Name: "a", Export: "count_vowels"}),
			host.ErrInvalidManifest, "declared twice"},
		{"http needed, not granted", "http_headers.wasm", extismNeeds(abi.CapabilityHTTP), host.ErrCapabilityDenied, "no host is granted"},
		{"fs needed, not granted", "count_vowels.wasm", extismNeeds(abi.CapabilityFS), host.ErrCapabilityDenied, "no path is granted"},
		{"kv is not for Extism", "count_vowels.wasm", extismNeeds(abi.CapabilityKV), host.ErrUnsupported, `"kv"`},
		{"granted directory missing", "count_vowels.wasm",
			host.PluginConfig{Grants: host.Grants{Paths: []host.PathGrant{{Dir: "/does/not/exist"}}}}, host.ErrInvalidModule, "/does/not/exist"},
		{"bad host pattern", "count_vowels.wasm",
			host.PluginConfig{Grants: host.Grants{Hosts: []string{"https://example.com/"}}}, host.ErrInvalidModule, "without scheme"},
		{"host:port grant is not for Extism", "count_vowels.wasm",
			host.PluginConfig{Grants: host.Grants{Hosts: []string{"127.0.0.1:8080"}}}, host.ErrInvalidModule, "without a port"},
		{"native flavour forced on an Extism plugin", "count_vowels.wasm", host.PluginConfig{Flavour: host.FlavourNative}, host.ErrABIVersion,
			"not an onex-host plugin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.LoadFile(ctx, extismPath(t, tc.file), tc.cfg)
			require.ErrorIs(t, err, tc.kind)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func extismNode(cs ...host.ExtismComputation) host.PluginConfig {
	return host.PluginConfig{Extism: host.ExtismConfig{Node: &host.ExtismNode{Computations: cs}}}
}

func extismNeeds(c abi.Capability) host.PluginConfig {
	return host.PluginConfig{Extism: host.ExtismConfig{Node: &host.ExtismNode{Capabilities: []abi.Capability{c}}}}
}

func TestExtismHTTPOnlyToGrantedHosts(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("hi"))
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	in, err := json.Marshal(map[string]string{"url": srv.URL})
	require.NoError(t, err)
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()

	denied := loadExtism(t, h, "http_headers.wasm", host.PluginConfig{Grants: host.Grants{Hosts: []string{"example.com"}}})
	_, err = denied.Call(ctx, "http_get", in)
	require.ErrorIs(t, err, host.ErrCapabilityDenied)
	assert.Contains(t, err.Error(), "not allowed")
	assert.Zero(t, hits.Load())

	allowed := loadExtism(t, h, "http_headers.wasm", host.PluginConfig{Grants: host.Grants{Hosts: []string{u.Hostname()}}})
	_, err = allowed.Call(ctx, "http_get", in)
	require.NoError(t, err)
	assert.Equal(t, int64(1), hits.Load())
}

func TestExtismLogsReachSlog(t *testing.T) {
	h, rec := newHost(t, host.NewConfig())
	p := loadExtism(t, h, "log.wasm", host.PluginConfig{})
	_, err := p.Call(context.Background(), "run_test", nil)
	require.NoError(t, err)
	for msg, level := range map[string]string{
		"this is a debug log":   "DEBUG",
		"this is an info log":   "INFO",
		"this is a warning log": "WARN",
		"this is an error log":  "ERROR",
	} {
		recs := rec.Find(msg)
		if assert.Len(t, recs, 1, msg) {
			assert.Equal(t, level, recs[0].Level.String())
			assert.Equal(t, "log", recs[0].Attrs["plugin"])
		}
	}
}

func TestExtismCompiledOncePerDigest(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	a := loadExtism(t, h, "count_vowels.wasm", host.PluginConfig{})
	b := loadExtism(t, h, "count_vowels.wasm", host.PluginConfig{Extism: host.ExtismConfig{Config: map[string]string{"k": "v"}}})
	require.NoError(t, a.Close(ctx))
	// b still runs: closing a released only its reference to the shared compilation.
	out, err := b.Call(ctx, "count_vowels", []byte("ooo"))
	require.NoError(t, err)
	assert.Contains(t, string(out), `"count":3`)
	require.NoError(t, b.Close(ctx))
	_, err = b.Call(ctx, "count_vowels", nil)
	require.ErrorIs(t, err, host.ErrClosed)
}

func TestFirstPartyExtismPlugin(t *testing.T) {
	node, err := host.ReadExtismNode(filepath.Join(plugintest.Root(), "plugins", "text", "text"+host.SidecarSuffix))
	require.NoError(t, err)
	require.NotNil(t, node)
	h, _ := newHost(t, host.NewConfig())
	p := loadGo(t, h, "plugins/text", host.PluginConfig{Extism: host.ExtismConfig{Node: node}})
	assert.Equal(t, host.FlavourExtism, p.Flavour())
	assert.Equal(t, "text", p.Name())
	n, err := compute.New(p)
	require.NoError(t, err)
	ctx := context.Background()

	out, err := n.Process(ctx, abi.ComputeInput{ComputationType: "word_count", Data: json.RawMessage(`"The cat and the hat.\nThe end"`)})
	require.NoError(t, err)
	assert.JSONEq(t, `{"words":7,"lines":2,"characters":28,"top":[{"word":"the","count":3},{"word":"and","count":1},{"word":"cat","count":1}]}`,
		string(out.Result))
	out, err = n.Process(ctx, abi.ComputeInput{ComputationType: "slugify", Data: json.RawMessage(`"Hello, ONEX World!"`)})
	require.NoError(t, err)
	assert.Equal(t, `"hello-onex-world"`, string(out.Result))
	out, err = n.Process(ctx, abi.ComputeInput{ComputationType: "slugify", Data: json.RawMessage(`"Hello, ONEX World!"`)})
	require.NoError(t, err)
	assert.True(t, out.CacheHit, "the sidecar declares the node deterministic")

	_, err = n.Process(ctx, abi.ComputeInput{ComputationType: "slugify", Data: json.RawMessage(`"!?"`)})
	require.ErrorIs(t, err, host.ErrFailed)
	assert.Contains(t, err.Error(), "the input has no letter or digit")

	// The operator's config reaches the PDK's GetConfig.
	p2 := loadGo(t, h, "plugins/text", host.PluginConfig{Extism: host.ExtismConfig{Node: node, Config: map[string]string{"top": "1"}}})
	res, err := p2.Call(ctx, "word_count", []byte("b a b"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"words":3,"lines":1,"characters":5,"top":[{"word":"b","count":2}]}`, string(res))
}

func TestExtismFilesOnlyInGrantedDirectories(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "test.txt")
	require.NoError(t, os.WriteFile(file, []byte("hello world!"), 0o644))
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	withPath := func(grants ...host.PathGrant) host.PluginConfig {
		return host.PluginConfig{Grants: host.Grants{Paths: grants},
			Extism: host.ExtismConfig{Config: map[string]string{"path": file}}}
	}

	none := loadExtism(t, h, "read_write.wasm", withPath())
	_, err := none.Call(ctx, "try_read", nil)
	require.ErrorIs(t, err, host.ErrFailed, "nothing is mounted without a grant")

	ro := loadExtism(t, h, "read_write.wasm", withPath(host.PathGrant{Dir: dir, ReadOnly: true}))
	out, err := ro.Call(ctx, "try_read", nil)
	require.NoError(t, err)
	assert.Equal(t, "hello world!", string(out))
	_, err = ro.Call(ctx, "try_write", []byte("changed"))
	require.ErrorIs(t, err, host.ErrFailed)
	assert.Contains(t, err.Error(), "Failed to write file")

	rw := loadExtism(t, h, "read_write.wasm", withPath(host.PathGrant{Dir: dir}))
	_, err = rw.Call(ctx, "try_write", []byte("changed"))
	require.NoError(t, err)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "hello world!changed", string(b), "try_write appends")
}
