package host_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
)

const testSecret = "s3cr3t-t0ken-4242"

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// configReport is what the configured guest's report computation returns.
type configReport struct {
	Greeting    string `json:"greeting"`
	AtInit      string `json:"at_init"`
	Unit        string `json:"unit"`
	UnitSet     bool   `json:"unit_set"`
	TokenSHA256 string `json:"token_sha256"`
	Undeclared  bool   `json:"undeclared_found"`
}

// textHost is a host logging everything, as text, into the returned buffer.
func textHost(t *testing.T) (*host.Host, *syncBuffer) {
	var buf syncBuffer
	h, _ := newHost(t, host.NewConfig().WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	return h, &buf
}

func TestConfig_ValuesReachTheGuest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		pc   host.PluginConfig
		want configReport
	}{
		{"defaults and a given secret", host.PluginConfig{Config: map[string]string{"api_token": testSecret}},
			configReport{Greeting: "hello", AtInit: "hello", TokenSHA256: sha(testSecret)}},
		{"every key given", host.PluginConfig{Config: map[string]string{"api_token": testSecret, "greeting": "hi", "unit": ""}},
			configReport{Greeting: "hi", AtInit: "hi", UnitSet: true, TokenSHA256: sha(testSecret)}},
		{"the secret from the environment", host.PluginConfig{Env: func(name string) (string, bool) {
			return testSecret, name == "ONEX_SECRET_CONFIGURED_API_TOKEN"
		}}, configReport{Greeting: "hello", AtInit: "hello", TokenSHA256: sha(testSecret)}},
		{"a given value wins over the environment", host.PluginConfig{Config: map[string]string{"api_token": "given"},
			Env: func(string) (string, bool) { return testSecret, true }},
			configReport{Greeting: "hello", AtInit: "hello", TokenSHA256: sha("given")}},
		{"fresh isolation, from a snapshot", host.PluginConfig{Config: map[string]string{"api_token": testSecret, "greeting": "hi"}, Isolation: host.IsolationFresh},
			// A snapshot freezes what init read, and the compilation cache may write it to
			// disk: init must not see values (a secret) there, only handlers do.
			configReport{Greeting: "hi", AtInit: "", TokenSHA256: sha(testSecret)}},
		{"Extism.Config is config too", host.PluginConfig{Extism: host.ExtismConfig{Config: map[string]string{"api_token": testSecret}}},
			configReport{Greeting: "hello", AtInit: "hello", TokenSHA256: sha(testSecret)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, logs := textHost(t)
			tc.pc.Prewarm = 2 // instances made after the load see the values too
			p := loadGo(t, h, "plugins/testdata/configured", tc.pc)
			for range 3 {
				out, err := p.Call(context.Background(), "report", []byte(`{}`))
				require.NoError(t, err)
				var got configReport
				require.NoError(t, json.Unmarshal(out, &got))
				assert.Equal(t, tc.want, got)
			}
			assert.Contains(t, logs.String(), "token_len=", "the guest logged")
			assert.NotContains(t, logs.String(), testSecret)
		})
	}
}

func TestConfig_LoadFailsNamingTheKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		pc   host.PluginConfig
		want []string
	}{
		{"required secret missing", host.PluginConfig{}, []string{`required config key "api_token"`, "ONEX_SECRET_CONFIGURED_API_TOKEN"}},
		{"environment not consulted without Env", host.PluginConfig{Config: map[string]string{"greeting": testSecret}}, []string{`"api_token"`}},
		{"undeclared key", host.PluginConfig{Config: map[string]string{"api_token": testSecret, "api_tokn": testSecret}},
			[]string{`config key "api_tokn" is not declared`, "greeting, unit, api_token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, logs := textHost(t)
			_, err := h.LoadFile(context.Background(), goPluginPaths["plugins/testdata/configured"], tc.pc)
			require.ErrorIs(t, err, host.ErrInvalidConfig)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), testSecret)
			assert.NotContains(t, logs.String(), testSecret)
		})
	}
}

func TestConfig_NativePluginWithoutDeclarationsRefusesKeys(t *testing.T) {
	t.Parallel()
	h, _ := newHost(t, host.NewConfig())
	_, err := h.LoadFile(context.Background(), goPluginPaths["plugins/testdata/goecho"], host.PluginConfig{Config: map[string]string{"a": "b"}})
	require.ErrorIs(t, err, host.ErrInvalidConfig)
	assert.Contains(t, err.Error(), `config key "a" is not declared by node goecho (it declares none)`)
}

func TestConfig_ExtismSecretFromConfig(t *testing.T) {
	t.Parallel()
	h, logs := textHost(t)
	p, err := h.LoadFile(context.Background(), extismPaths["config.wasm"], host.PluginConfig{Config: map[string]string{"thing": testSecret}})
	require.NoError(t, err)
	out, err := p.Call(context.Background(), "run_test", []byte(`""`))
	require.NoError(t, err)
	assert.Contains(t, string(out), testSecret, "Extism guests read config, secrets included, through config_get")
	assert.NotContains(t, logs.String(), testSecret)
	b, err := json.Marshal(p.Manifest())
	require.NoError(t, err)
	assert.NotContains(t, string(b), testSecret)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (log handlers).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
