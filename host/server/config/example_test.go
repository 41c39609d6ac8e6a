package config_test

import (
	"fmt"

	"github.com/onexhost/onex-host/host/server/config"
)

func ExampleParse() {
	f, err := config.Parse([]byte(`
limits: {max_request_bytes: 4MiB}
host: {memory_limit: 64MiB, timeout: 10s}
`))
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Listen, f.Limits.MaxRequestBytes, f.Limits.ReadTimeout)
	fmt.Println(f.Host.MemoryLimit, f.Host.Timeout)
	// Output:
	// 127.0.0.1:8080 4MiB 30s
	// 64MiB 10s
}

func ExampleFieldError() {
	_, err := config.Parse([]byte(`
auth:
  tokens:
    - {name: ci, role: invoke, env: ONEX_CI_TOKEN}
    - {name: ops, role: root, env: ONEX_OPS_TOKEN}
`))
	fmt.Println(err)
	// Output:
	// config: auth.tokens[1].role: "root" is not invoke or admin
}
