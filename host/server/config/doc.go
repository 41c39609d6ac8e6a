// Package config reads onex.yaml, the configuration file of onex-host serve.
//
// The file is YAML; every field is optional and example.onex.yaml, next to this file,
// documents each one with its default. In short:
//
//	listen: 127.0.0.1:8080        # the HTTP API
//	admin_listen: ""              # pprof; off, and loopback only when set
//	data_dir: ...                 # default host.DefaultDataDir()
//	cache_dir: ...                # default host.DefaultCacheDir()
//	log: {level: info, format: text}
//	auth: {tokens: [{name: ci, role: invoke, env: ONEX_CI_TOKEN}]}
//	limits: {max_request_bytes: 16MiB, read_timeout: 30s, write_timeout: 60s, shutdown_timeout: 30s}
//	host: {memory_limit: 128MiB, timeout: 30s, cache: {ttl: 30m}, breakers: {preset: fast-fail}}
//	nodes:
//	  - path: plugins/core.wasm   # one plugin ...
//	  - dir: plugins/effects      # ... or every *.wasm in a directory
//	    timeout: 5s
//	    grants: {paths: [/srv/data, /srv/ref:ro], hosts: [api.example.com]}
//	  - path: oci://ghcr.io/acme/echo:1.0   # an artifact (onex-host push), pulled into data_dir/store
//	    digest: sha256:…          # refuse any other module (files too); reload keeps it
//	    trusted_keys: [acme.pub]  # require a signature by one of these (replaces the host-wide list)
//	  - fsm: contracts/order_fsm.yaml      # an FSM contract served as a reducer node
//	  - workflow: workflows/order.yaml     # a workflow contract for the engine (data_dir/workflows.db)
//	trusted_keys: [ops.pub]       # every node must be signed by one of these
//	registry: {insecure: false}   # plain HTTP to non-loopback registries
//
// Sizes are bytes or a whole number with a unit (64MiB; see Size); durations use Go's
// syntax (30s; see Duration). Fields the File does not have are errors, so a typo is
// reported rather than ignored.
//
// Load and Parse validate the whole file, including the files and directories it names,
// and return the first problem as a *FieldError naming the field, such as
// `nodes[2].grants.paths[0]: "/nope": no such directory`. Then HostConfig, Nodes and
// Tokens turn the File into what the host and the server take: a host.Config, one Node
// (file, host.PluginConfig, effect.Config) per plugin, and the API tokens, read from
// the environment or from files since the file never holds them.
//
// Every type here is a plain value: safe for concurrent use by multiple goroutines as
// long as none of them modifies it.
package config
