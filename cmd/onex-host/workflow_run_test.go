package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// gatedContract moves a token t0 → t1, waits at the test's gate, then moves it t1 → t2.
const gatedContract = `name: gated
steps:
  - {id: m1, kind: effect, node: fileops, operation: move, input: {from: "%[1]s/t0", to: "%[1]s/t1"}}
  - {id: gate, kind: effect, node: httpcall, operation: call, input: {url: "%[2]s/gate/g"}, depends_on: [m1]}
  - {id: m2, kind: effect, node: fileops, operation: move, input: {from: "%[1]s/t1", to: "%[1]s/t2"}, depends_on: [gate]}
output: {moved: true}
`

// TestWorkflowRun_Local runs workflow contracts with `onex-host workflow run` (a real
// process) over the nodes of a config file: a completed workflow prints its output and
// exits 0, and asked again under its id prints it again; a failed one exits 1 naming
// the failed step and its error; a run killed (SIGKILL) mid-workflow resumes where it
// stopped when run again with the same --id and --data-dir, no effect applied twice.
func TestWorkflowRun_Local(t *testing.T) {
	t.Parallel()
	bin := cliBinary(t)
	core, fileops, counter, httpcall := goPlugin(t, "plugins/core"), goPlugin(t, "plugins/fileops"),
		goPlugin(t, "plugins/testdata/counter"), goPlugin(t, "plugins/httpcall")
	g, gateURL := newGates(t)
	out, dir, dataDir := t.TempDir(), t.TempDir(), t.TempDir()
	contracts := map[string]string{"publish": publishContract, "saga": sagaContract, "gated": gatedContract}
	for name, c := range contracts {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".yaml"), fmt.Appendf(nil, c, out, gateURL), 0o644))
	}
	cfg := writeConfig(t, fmt.Sprintf(`
cache_dir: %s
nats: {mode: off}
nodes:
  - path: %s
  - path: %s
    grants: {paths: [%s]}
  - path: %s
  - path: %s
    grants: {hosts: [127.0.0.1]}
`, plugintest.CacheDir(), core, fileops, out, counter, httpcall))
	run := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"workflow", "run", filepath.Join(dir, name+".yaml"), "--config", cfg, "--data-dir", dataDir}, args...)...)
		return cmd
	}
	output := func(cmd *exec.Cmd) (int, string, string) {
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return code, stdout.String(), stderr.String()
	}

	code, stdout, stderr := output(run("publish", "--id", "p-1", "--input", `{"text":"hi","name":"a"}`))
	require.Equal(t, 0, code, stderr)
	assert.JSONEq(t, `{"text":"HI","count":2}`, stdout)
	code, again, stderr := output(run("publish", "--id", "p-1", "--input", `{"text":"hi","name":"a"}`))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, stdout, again, "an ended workflow's result, printed again")
	code, _, stderr = output(run("publish", "--id", "p-1", "--input", `{"text":"other","name":"a"}`))
	assert.Equal(t, 2, code, "another input under a used id is misuse: %s", stderr)
	assert.Contains(t, stderr, `--id "p-1"`)

	code, stdout, stderr = output(run("saga", "--id", "s-1", "--input", `{"name":"s"}`))
	assert.Equal(t, 1, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "workflow s-1 failed")
	assert.Regexp(t, `step read failed: server: step read: fileops read answered 422 not_found: `, stderr)
	assert.Equal(t, 1, strings.Count(stderr, "answered 422"), "the step's error said once: %s", stderr)
	assert.NoFileExists(t, filepath.Join(out, "s.saga"), "compensated")

	// Killed while the gate's request is in flight, then run again: m1 is not run again
	// (its source is gone: it would fail), the gate and m2 run.
	require.NoError(t, os.WriteFile(filepath.Join(out, "t0"), []byte("token"), 0o644))
	cmd := run("gated", "--id", "g-1")
	var logs syncBuffer
	cmd.Stderr = &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	g.await(t, "g", &logs)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	assert.FileExists(t, filepath.Join(out, "t1"))
	g.open("g")
	code, stdout, stderr = output(run("gated", "--id", "g-1"))
	require.Equal(t, 0, code, stderr)
	assert.JSONEq(t, `{"moved":true}`, stdout)
	assert.FileExists(t, filepath.Join(out, "t2"))
	assert.NoFileExists(t, filepath.Join(out, "t1"))
	assert.Equal(t, 2, g.count("g"), "the gate ran again (its attempt never committed), once")
}
