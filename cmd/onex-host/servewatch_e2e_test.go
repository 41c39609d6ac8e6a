package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// greetSources is the file of each language's `onex-host new` project that says "Hello".
var greetSources = map[string]string{langGo: "main.go", langC: "main.c", langRust: filepath.Join("src", "lib.rs")}

// serveAndWatch is the end of the plugin author's path (TestKits_NewAnywhere): the
// project in dir, built, served by the CLI at exe as `serve <name>.wasm --watch` and
// called over HTTP; then its greeting is changed, `make build` run, and the new answer
// awaited from the same server, with the watcher's reload line in its log.
func serveAndWatch(t *testing.T, exe, dir, lang, name string, env []string, run func(t *testing.T, dir, name string, args ...string) string) {
	t.Helper()
	cmd := exec.Command(exe, "serve", name+".wasm", "--watch", "--listen", "127.0.0.1:0")
	// Its own data directory: the languages' servers run at once, each with a journal
	// and an embedded NATS server.
	cmd.Dir, cmd.Env = dir, append(env[:len(env):len(env)], "XDG_DATA_HOME="+t.TempDir())
	logs := &syncBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() {
		assert.NoError(t, cmd.Process.Signal(os.Interrupt))
		assert.NoError(t, cmd.Wait(), "serve exits cleanly on SIGINT: %s", logs)
	}()
	// The first line is the address; the next the node's URL.
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "serve printed nothing: %s", logs)
	m := regexp.MustCompile(`^serving on (http://\S+)$`).FindStringSubmatch(lines.Text())
	require.NotNil(t, m, "%q", lines.Text())
	require.True(t, lines.Scan(), "serve printed no node: %s", logs)
	url := m[1] + "/v1/nodes/" + name + "/compute"
	assert.Equal(t, "  "+name+" (compute): POST "+url, lines.Text())
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	greet := func() string {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"computation_type":"greet","data":{"name":"world"}}`))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		return string(b)
	}
	assert.Regexp(t, `"greeting": ?"Hello, world!"`, greet())
	// --watch is on once it says so: a build before that would go unseen.
	eventually(t, func() bool { return strings.Contains(logs.String(), `msg="watching plugin files for changes"`) }, "not watching: %s", logs)

	src := filepath.Join(dir, greetSources[lang])
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.Contains(t, string(b), "Hello, ")
	require.NoError(t, os.WriteFile(src, []byte(strings.ReplaceAll(string(b), "Hello, ", "Howdy, ")), 0o644))
	run(t, dir, "make", "build")
	eventually(t, func() bool { return regexp.MustCompile(`"greeting": ?"Howdy, world!"`).MatchString(greet()) }, "the rebuild was not served: %s", logs)
	// The line comes once the old version has closed, after the new one answers.
	reloaded := regexp.MustCompile(`msg="watch: node reloaded from its changed file" node=` + name + ` path=\S+ change="sha256:[0-9a-f]{64} → sha256:[0-9a-f]{64}"`)
	eventually(t, func() bool { return reloaded.MatchString(logs.String()) }, "no reload line: %s", logs)
}
