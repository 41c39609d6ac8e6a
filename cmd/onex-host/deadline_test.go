package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

// Every guest here would run for at least 5 s (a 5 s WASI sleep, or sleeps forever) and
// must be stopped long before: the bound checked is 2.5 s, half the sleep, so that no
// machine is too slow for the test and the old behaviour (5.3 s for one sleep, 27-29 s
// with the default retries) fails it.
const sleepBound = 2500 * time.Millisecond

// TestRun_TimeoutStopsSleepingGuest: run --timeout is a hard bound on a guest that
// sleeps, metered and guarded, native and Extism, and on every attempt of a retried
// effect.
func TestRun_TimeoutStopsSleepingGuest(t *testing.T) {
	sleep, effect, extism := fixture("wat/sleep.wasm"), fixture("wat/sleepeffect.wasm"), fixture("wat/extismsleep.wasm")
	for _, tc := range []struct {
		name    string
		stdin   string
		args    []string
		retries int // the effect's retry_count; -1: not an effect
	}{
		{"compute", "", []string{sleep, "--type", "sleep"}, -1},
		{"compute guarded", "", []string{sleep, "--type", "sleep", "--guarded"}, -1},
		{"compute sleeping forever", "", []string{sleep, "--type", "sleeploop"}, -1},
		{"extism", "", []string{extism, "--type", "sleep"}, -1},
		{"extism guarded", "", []string{extism, "--type", "sleep", "--guarded"}, -1},
		{"effect without retries", "", []string{effect, "--kv", ":memory:", "--type", "sleep", "--max-retries", "0"}, 0},
		// The default 3 retries, 1 ms apart: four attempts, each stopped at its deadline.
		{"effect with retries", `{"effect_type":"sleeploop","retry_delay_ms":1}`,
			[]string{effect, "--kv", ":memory:", "--input", "-"}, 3},
		{"effect with retries guarded", `{"effect_type":"sleeploop","retry_delay_ms":1}`,
			[]string{effect, "--kv", ":memory:", "--input", "-", "--guarded"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			code, stdout, stderr := cli(t, tc.stdin, append([]string{"run", "--timeout", "100ms"}, tc.args...)...)
			elapsed := time.Since(start)
			assert.Equal(t, 1, code, stderr)
			assert.Contains(t, stderr, "timeout: guest stopped after the 100ms timeout")
			assert.Less(t, elapsed, sleepBound, "stopped at the 100 ms timeout, not after the guest's 5 s sleep")
			if tc.retries >= 0 {
				var out abi.EffectOutput
				require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
				assert.Equal(t, tc.retries, out.RetryCount)
				assert.Equal(t, abi.TransactionRolledBack, out.TransactionState)
			}
		})
	}
}

// TestServe_ShutdownWithSleepingEffects: with 16 effects asleep in their guests, serve
// exits shortly after shutdown_timeout: the effects still running then are canceled,
// and their sleeps end with them (before: 8.2-8.5 s with a 2 s shutdown_timeout).
func TestServe_ShutdownWithSleepingEffects(t *testing.T) {
	const n = 16
	addr := freeAddr(t)
	sigterm, logs := serveInProcess(t, fmt.Sprintf(`
listen: %s
data_dir: ""
cache_dir: %s
limits: {shutdown_timeout: 200ms}
nodes:
  - path: %s
    max_instances: %d
    grants: {kv: true}
`, addr, cacheDir, fixture("wat/sleepeffect.wasm"), n))

	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			in, _ := json.Marshal(abi.EffectInput{EffectType: "sleeploop"})
			resp, err := http.Post("http://"+addr+"/v1/nodes/sleepeffect/effect", "application/json", bytes.NewReader(in))
			if err == nil {
				codes[i] = resp.StatusCode
				resp.Body.Close()
			}
		})
	}
	inUse := fmt.Sprintf(`onex_pool_instances{node="sleepeffect",state="in_use"} %d`, n)
	eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), inUse)
	}, "all %d effects asleep", n)

	start := time.Now()
	sigterm() // returns once serve exited cleanly
	elapsed := time.Since(start)
	wg.Wait()
	assert.Less(t, elapsed, sleepBound, "serve exited after the 200 ms shutdown_timeout, not after the guests' 5 s sleeps")
	for i, code := range codes {
		assert.NotEqual(t, http.StatusOK, code, "effect %d was canceled, not completed", i)
	}
	assert.Contains(t, logs.String(), "transactions_open=0")
}
