package config_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/server/config"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// loadDoc writes doc as onex.yaml into dir and loads it.
func loadDoc(t testing.TB, dir, doc string) (*config.File, error) {
	t.Helper()
	return config.Load(write(t, dir, "onex.yaml", doc))
}

func TestLoad_InvalidField(t *testing.T) {
	const token = "auth: {tokens: [{name: ci, role: invoke, env: CI}]}\n"
	tests := []struct {
		name  string
		doc   string
		field string
	}{
		{name: "listen not host:port", doc: "listen: localhost\n", field: "listen"},
		{name: "listen port", doc: "listen: 127.0.0.1:99999\n", field: "listen"},
		{name: "open listen without auth", doc: "listen: 0.0.0.0:8080\n", field: "listen"},
		{name: "open admin listen", doc: "admin_listen: 0.0.0.0:6060\n", field: "admin_listen"},
		{name: "admin on the API address", doc: "admin_listen: 127.0.0.1:8080\n", field: "admin_listen"},
		{name: "log level", doc: "log: {level: loud}\n", field: "log.level"},
		{name: "log format", doc: "log:\n  format: xml\n", field: "log.format"},
		{name: "token role", doc: "auth:\n  tokens:\n    - {name: ci, role: invoke, env: CI}\n    - {name: ops, role: root, env: OPS}\n", field: "auth.tokens[1].role"},
		{name: "token without name", doc: "auth: {tokens: [{role: invoke, env: CI}]}\n", field: "auth.tokens[0].name"},
		{name: "token name twice", doc: "auth: {tokens: [{name: ci, role: invoke, env: A}, {name: ci, role: admin, env: B}]}\n", field: "auth.tokens[1].name"},
		{name: "token without source", doc: "auth: {tokens: [{name: ci, role: invoke}]}\n", field: "auth.tokens[0]"},
		{name: "token with two sources", doc: "auth: {tokens: [{name: ci, role: invoke, env: CI, file: ci.txt}]}\n", field: "auth.tokens[0]"},
		{name: "token env name", doc: "auth: {tokens: [{name: ci, role: invoke, env: ONEX-CI}]}\n", field: "auth.tokens[0].env"},
		{name: "inline token value", doc: "auth: {tokens: [{name: ci, role: invoke, value: s3cret}]}\n", field: "auth.tokens[0].value"},
		{name: "request size", doc: "limits: {max_request_bytes: 2GiB}\n", field: "limits.max_request_bytes"},
		{name: "input size", doc: "host: {max_input_bytes: 2GiB}\n", field: "host.max_input_bytes"},
		{name: "negative read timeout", doc: "limits: {read_timeout: -1s}\n", field: "limits.read_timeout"},
		{name: "duration without unit, same line", doc: "limits: {read_timeout: 1s, write_timeout: 30}\n", field: "limits.write_timeout"},
		{name: "host memory", doc: "host: {memory_limit: 5GiB}\n", field: "host.memory_limit"},
		{name: "host instances", doc: "host: {max_instances: -1}\n", field: "host.max_instances"},
		{name: "host cache ttl", doc: "host:\n  cache:\n    ttl: -1\n", field: "host.cache.ttl"},
		{name: "host cache entries type", doc: "host:\n  cache:\n    entries: lots\n", field: "host.cache.entries"},
		{name: "breaker preset", doc: "host: {breakers: {preset: paranoid}}\n", field: "host.breakers.preset"},
		{name: "breaker rate", doc: "host: {breakers: {failure_rate_threshold: 1.5}}\n", field: "host.breakers.failure_rate_threshold"},
		{name: "breaker probes", doc: "host: {breakers: {success_threshold: 70000}}\n", field: "host.breakers.success_threshold"},
		{name: "node without path or dir", doc: "nodes: [{timeout: 1s}]\n", field: "nodes[0]"},
		{name: "node with path and dir", doc: "nodes: [{path: plugins/a.wasm, dir: plugins}]\n", field: "nodes[0]"},
		{name: "missing plugin", doc: "nodes:\n  - path: plugins/a.wasm\n  - path: plugins/c.wasm\n", field: "nodes[1].path"},
		{name: "plugin is a directory", doc: "nodes: [{path: plugins}]\n", field: "nodes[0].path"},
		{name: "dir is a file", doc: "nodes: [{dir: notes.txt}]\n", field: "nodes[0].dir"},
		{name: "dir without plugins", doc: "nodes: [{dir: empty}]\n", field: "nodes[0].dir"},
		{name: "plugin listed twice", doc: "nodes: [{dir: plugins}, {path: plugins/b.wasm}]\n", field: "nodes[1].path"},
		{name: "missing grant", doc: "nodes:\n  - path: plugins/a.wasm\n  - path: plugins/b.wasm\n  - dir: plugins\n    grants: {paths: [/nope]}\n", field: "nodes[2].grants.paths[0]"},
		{name: "grant is a file", doc: "nodes: [{path: plugins/a.wasm, grants: {paths: [data, notes.txt:ro]}}]\n", field: "nodes[0].grants.paths[1]"},
		{name: "host grant with scheme", doc: "nodes: [{path: plugins/a.wasm, grants: {hosts: [\"https://api.example.com\"]}}]\n", field: "nodes[0].grants.hosts[0]"},
		{name: "name on a dir", doc: "nodes: [{dir: plugins, name: core}]\n", field: "nodes[0].name"},
		{name: "bad name", doc: "nodes: [{path: plugins/a.wasm, name: Core Node}]\n", field: "nodes[0].name"},
		{name: "jitter", doc: "nodes: [{path: plugins/a.wasm, retry: {jitter: 2}}]\n", field: "nodes[0].retry.jitter"},
		{name: "isolation", doc: "nodes: [{path: plugins/a.wasm, isolation: shared}]\n", field: "nodes[0].isolation"},
		{name: "snapshot", doc: "nodes: [{path: plugins/a.wasm, snapshot: always}]\n", field: "nodes[0].snapshot"},
		{name: "concurrency", doc: "nodes: [{path: plugins/a.wasm, concurrency: -1}]\n", field: "nodes[0].concurrency"},
		{name: "node size, same line", doc: "nodes: [{path: plugins/a.wasm, timeout: 1s, memory_limit: 64 MB!}]\n", field: "nodes[0].memory_limit"},
		{name: "node instances type", doc: "nodes:\n  - path: plugins/a.wasm\n    max_instances: many\n", field: "nodes[0].max_instances"},
		{name: "grants not a list", doc: "nodes:\n  - path: plugins/a.wasm\n    grants:\n      paths: data\n", field: "nodes[0].grants.paths"},
		{name: "missing sidecar", doc: "nodes: [{path: plugins/a.wasm, extism: {node: nope.onex.yaml}}]\n", field: "nodes[0].extism.node"},
		{name: "bad sidecar", doc: "nodes: [{path: plugins/a.wasm, extism: {node: bad.onex.yaml}}]\n", field: "nodes[0].extism.node"},
		{name: "sidecar on a dir", doc: "nodes: [{dir: plugins, extism: {node: good.onex.yaml}}]\n", field: "nodes[0].extism.node"},
		{name: "key twice", doc: "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", field: "listen"},
		{name: "nats mode", doc: "nats: {mode: mesh}\n", field: "nats.mode"},
		{name: "nats external without url", doc: "nats: {mode: external}\n", field: "nats.url"},
		{name: "nats url when embedded", doc: "nats: {url: \"nats://a:4222\"}\n", field: "nats.url"},
		{name: "nats listen when external", doc: "nats: {mode: external, url: \"nats://a:4222\", listen: \"127.0.0.1:4222\"}\n", field: "nats"},
		{name: "open nats listen without auth", doc: "nats: {listen: \"0.0.0.0:4222\"}\n", field: "nats.listen"},
		{name: "nats cluster without name", doc: "nats: {cluster: {listen: \"127.0.0.1:6222\"}}\n", field: "nats.cluster"},
		{name: "nats route", doc: "nats: {cluster: {name: c, listen: \"127.0.0.1:6222\", routes: [\"nope\"]}}\n", field: "nats.cluster.routes[0]"},
		{name: "nats user without password", doc: "nats: {user: onex}\n", field: "nats.password_env"},
		{name: "nats replicas", doc: "nats: {replicas: 7}\n", field: "nats.replicas"},
		{name: "nats durable topic", doc: "nats: {durable_topics: [\"orders.>\"]}\n", field: "nats.durable_topics[0]"},
		{name: "open listen with auth is fine, bad admin", doc: token + "listen: 0.0.0.0:8080\nadmin_listen: 10.0.0.1:6060\n", field: "admin_listen"},
	}
	dir := fixtureTree(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadDoc(t, dir, tc.doc)
			require.Error(t, err)
			var fe *config.FieldError
			require.ErrorAs(t, err, &fe, "%v", err)
			assert.Equal(t, tc.field, fe.Field, "%v", err)
			assert.NotEmpty(t, fe.Message)
			assert.Contains(t, err.Error(), filepath.Join(dir, "onex.yaml"), "Load names the file")

			_, err = config.Parse([]byte(tc.doc))
			require.Error(t, err, "Parse validates too")
		})
	}
}

func TestLoad_InvalidFieldMessage(t *testing.T) {
	dir := fixtureTree(t)
	tests := []struct {
		name, doc, want string
	}{
		{name: "grant", doc: "nodes:\n  - path: plugins/a.wasm\n  - path: plugins/b.wasm\n  - path: good.onex.yaml\n    grants: {paths: [/nope]}\n",
			want: `nodes[2].grants.paths[0]: "/nope": no such directory`},
		{name: "role", doc: "auth: {tokens: [{name: ci, role: invoke, env: A}, {name: ops, role: root, env: B}]}\n",
			want: `auth.tokens[1].role: "root" is not invoke or admin`},
		{name: "listen", doc: "listen: :8080\n",
			want: `listen: auth is disabled, so the listen address must be loopback`},
		{name: "unknown field", doc: "nodes:\n  - path: plugins/a.wasm\n    timout: 5s\n",
			want: `nodes[0].timout: unknown field (line 3)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadDoc(t, dir, tc.doc)
			var fe *config.FieldError
			require.ErrorAs(t, err, &fe)
			assert.True(t, strings.HasPrefix(fe.Error(), tc.want), "got %q, want it to start with %q", fe.Error(), tc.want)
		})
	}
}

func TestParse_UnknownField(t *testing.T) {
	tests := []struct {
		name, doc, field string
	}{
		{name: "top level", doc: "lisen: 127.0.0.1:8080\n", field: "lisen"},
		{name: "section", doc: "log: {level: info, colour: true}\n", field: "log.colour"},
		{name: "nested", doc: "host:\n  cache:\n    ttll: 1m\n", field: "host.cache.ttll"},
		{name: "breakers", doc: "host: {breakers: {treshold: 3}}\n", field: "host.breakers.treshold"},
		{name: "list item", doc: "nodes:\n  - dir: bin/plugins\n  - path: a.wasm\n    grant: {kv: true}\n", field: "nodes[1].grant"},
		{name: "deep", doc: "nodes: [{path: a.wasm, retry: {max_retry: 1}}]\n", field: "nodes[0].retry.max_retry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.doc))
			var fe *config.FieldError
			require.ErrorAs(t, err, &fe, "%v", err)
			assert.Equal(t, tc.field, fe.Field)
		})
	}
}
