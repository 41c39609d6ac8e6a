package effect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
)

func TestEffect_CommitApplies(t *testing.T) {
	h := effectHost(t)
	dir := t.TempDir()
	n := scriptNode(t, h, dir, effect.Config{})
	file := filepath.Join(dir, "out.txt")
	out, res, err := runScript(t, n, script{Steps: []step{
		{Op: abi.OpKVPut, Key: "k", Value: "v"},
		{Op: abi.OpFSWrite, Path: file, Value: "hello"},
		{Op: abi.OpKVGet, Key: "k"},
		{Op: abi.OpFSRead, Path: file},
	}})
	require.NoError(t, err)
	assert.Equal(t, abi.TransactionCommitted, out.TransactionState)
	assert.Equal(t, 2, out.SideEffectsApplied)
	assert.Empty(t, out.RollbackOperations)
	assert.Equal(t, map[string]string{"k": "v", file: "hello"}, res.Got)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
}

func TestEffect_FailingStepRollsBackInReverse(t *testing.T) {
	h := effectHost(t)
	dir := t.TempDir()
	n := scriptNode(t, h, dir, effect.Config{})
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	require.NoError(t, os.WriteFile(b, []byte("old b"), 0o644))
	_, _, err := runScript(t, n, script{Steps: []step{{Op: abi.OpKVPut, Key: "k", Value: "old k"}}})
	require.NoError(t, err)

	out, _, err := runScript(t, n, script{FailAfter: failAfter(3), Steps: []step{
		{Op: abi.OpFSWrite, Path: a, Value: "new a"},
		{Op: abi.OpKVPut, Key: "k", Value: "new k"},
		{Op: abi.OpFSWrite, Path: b, Value: "new b"},
	}})
	require.ErrorIs(t, err, host.ErrFailed)
	assert.Contains(t, err.Error(), "told to fail after 3 steps")
	assert.Equal(t, abi.TransactionRolledBack, out.TransactionState)
	assert.Equal(t, 3, out.SideEffectsApplied)
	require.Len(t, out.RollbackOperations, 3)
	for i, want := range []struct {
		seq          int
		kind, target string
	}{{3, "fs.write", b}, {2, "kv.put", "k"}, {1, "fs.write", a}} {
		got := out.RollbackOperations[i]
		assert.Equal(t, want.seq, got.Seq, "newest first")
		assert.Equal(t, want.kind, got.Kind)
		assert.Contains(t, got.Target, filepath.Base(want.target))
		assert.Equal(t, "compensated", got.Outcome)
	}
	assert.NoFileExists(t, a)
	content, err := os.ReadFile(b)
	require.NoError(t, err)
	assert.Equal(t, "old b", string(content))
	_, res, err := runScript(t, n, script{Steps: []step{{Op: abi.OpKVGet, Key: "k"}}})
	require.NoError(t, err)
	assert.Equal(t, "old k", res.Got["k"])
}

func TestEffect_FailingCompensationDoesNotStopTheOthers(t *testing.T) {
	h := effectHost(t)
	dir := t.TempDir()
	n := scriptNode(t, h, dir, effect.Config{})
	_, _, err := runScript(t, n, script{Steps: []step{{Op: abi.OpKVPut, Key: "marker", Value: "x"}}})
	require.NoError(t, err)
	file := filepath.Join(dir, "f.txt")

	out, _, err := runScript(t, n, script{FailAfter: failAfter(4), Steps: []step{
		{Op: abi.OpFSWrite, Path: file, Value: "v"},
		{Op: abi.OpTxCompensate, Undo: ""},       // its compensation fails: an empty key is invalid
		{Op: abi.OpTxCompensate, Undo: "marker"}, // the guest deletes marker
		{Op: abi.OpKVPut, Key: "k", Value: "v"},
	}})
	require.Error(t, err)
	assert.Equal(t, abi.TransactionFailed, out.TransactionState)
	outcomes := map[int]string{}
	for _, op := range out.RollbackOperations {
		outcomes[op.Seq] = op.Outcome
	}
	assert.Equal(t, map[int]string{4: "compensated", 3: "compensated", 2: "failed", 1: "compensated"}, outcomes)
	assert.NoFileExists(t, file, "compensated after the failed compensation")
	_, res, err := runScript(t, n, script{Steps: []step{{Op: abi.OpKVGet, Key: "marker"}, {Op: abi.OpKVGet, Key: "k"}}})
	require.NoError(t, err)
	assert.Empty(t, res.Got, "the guest's compensation deleted marker; the host's removed k")
	assert.Equal(t, host.TransactionStats{Begun: 3, Committed: 2, Failed: 1}, h.TransactionStats())
}

func TestEffect_EventsOnlyOnCommit(t *testing.T) {
	h := effectHost(t)
	got := collect(t, h)
	n := scriptNode(t, h, t.TempDir(), effect.Config{Retry: effect.RetryPolicy{MaxRetries: -1}})
	publish := step{Op: abi.OpEventsPublish, Topic: "onex.evt.test.step.v1", Key: "rolled-back"}
	_, _, err := runScript(t, n, script{FailAfter: failAfter(2), Steps: []step{publish, publish}})
	require.Error(t, err)
	publish.Key = "committed"
	_, _, err = runScript(t, n, script{Steps: []step{publish}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(got()) == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // nothing else arrives
	require.Len(t, got(), 1)
	assert.Equal(t, "committed", got()[0].Key)
}

func TestEffect_RetryRunsAFreshTransaction(t *testing.T) {
	h := effectHost(t)
	n := scriptNode(t, h, t.TempDir(), effect.Config{Retry: effect.RetryPolicy{BaseDelay: time.Millisecond}})
	out, _, err := runScript(t, n, script{FailAfter: failAfter(1), Retryable: true,
		Steps: []step{{Op: abi.OpKVPut, Key: "k", Value: "v"}}})
	require.Error(t, err)
	assert.Equal(t, effect.DefaultMaxRetries, out.RetryCount)
	assert.Equal(t, host.TransactionStats{Begun: 4, RolledBack: 4}, h.TransactionStats(), "one transaction per attempt")

	// Not retryable: one attempt.
	out, _, err = runScript(t, n, script{FailAfter: failAfter(0)})
	require.Error(t, err)
	assert.Zero(t, out.RetryCount)
}

func TestEffect_FSSandbox(t *testing.T) {
	h := effectHost(t)
	dir := t.TempDir()
	outside := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link")))
	n := scriptNode(t, h, dir, effect.Config{Retry: effect.RetryPolicy{MaxRetries: -1}})
	for _, path := range []string{
		filepath.Join(dir, "..", filepath.Base(outside), "x"),
		filepath.Join(outside, "x"),
		filepath.Join(dir, "link", "x"),
	} {
		_, _, err := runScript(t, n, script{Steps: []step{{Op: abi.OpFSWrite, Path: path, Value: "escape"}}})
		require.Error(t, err, path)
		assert.Contains(t, err.Error(), "denied", path)
	}
	// Relative and ".." paths are refused before they are resolved (abi/SPEC.md section 8).
	for _, path := range []string{"../x", dir + "/../" + filepath.Base(outside) + "/x"} {
		_, _, err := runScript(t, n, script{Steps: []step{{Op: abi.OpFSWrite, Path: path, Value: "escape"}}})
		require.Error(t, err, path)
		assert.Contains(t, err.Error(), "invalid", path)
	}
	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing was written outside the grant")
}

func TestEffect_ConcurrencyLimitAndHammer(t *testing.T) {
	h := effectHost(t)
	dir := t.TempDir()
	n := scriptNode(t, h, dir, effect.Config{Concurrency: 2})
	const effects = 40
	var wg sync.WaitGroup
	for i := range effects {
		wg.Go(func() {
			fail := -1
			if i%2 == 1 {
				fail = 2
			}
			_, _, err := runScript(t, n, script{FailAfter: &fail, Steps: []step{
				{Op: abi.OpKVPut, Key: fmt.Sprintf("k%d", i), Value: "v"},
				{Op: abi.OpFSWrite, Path: filepath.Join(dir, fmt.Sprintf("f%d", i)), Value: "v"},
			}})
			assert.Equal(t, i%2 == 1, err != nil, "effect %d", i)
		})
	}
	wg.Wait()
	assert.Equal(t, host.TransactionStats{Begun: effects, Committed: effects / 2, RolledBack: effects / 2}, h.TransactionStats())
	for i := range effects {
		_, err := os.Stat(filepath.Join(dir, fmt.Sprintf("f%d", i)))
		assert.Equal(t, i%2 == 0, err == nil, "file of effect %d", i)
	}
	var gets []step
	for i := range effects {
		gets = append(gets, step{Op: abi.OpKVGet, Key: fmt.Sprintf("k%d", i)})
	}
	_, res, err := runScript(t, n, script{Steps: gets})
	require.NoError(t, err)
	assert.Len(t, res.Got, effects/2)
}

func TestEffect_ShutdownWithEffectsInFlight(t *testing.T) {
	h := effectHost(t)
	dir := t.TempDir()
	n := scriptNode(t, h, dir, effect.Config{})
	const effects = 32
	var wg sync.WaitGroup
	started := make(chan struct{}, effects)
	outs := make([]abi.EffectOutput, effects)
	errs := make([]error, effects)
	for i := range effects {
		wg.Go(func() {
			started <- struct{}{}
			data, _ := json.Marshal(script{Steps: []step{
				{Op: abi.OpKVPut, Key: fmt.Sprintf("a%d", i), Value: "v"},
				{Op: abi.OpFSWrite, Path: filepath.Join(dir, fmt.Sprintf("f%d", i)), Value: "v"},
				{Op: "sleep", SleepMS: 20 * (i % 5)},
				{Op: abi.OpKVPut, Key: fmt.Sprintf("b%d", i), Value: "v"},
			}})
			outs[i], errs[i] = n.Process(context.Background(), abi.EffectInput{EffectType: "script", OperationData: data})
		})
	}
	for range effects {
		<-started
	}
	time.Sleep(30 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Millisecond)
	defer cancel()
	_ = h.Close(ctx) // canceled effects make it report the deadline
	wg.Wait()

	committed := 0
	for i := range effects {
		_, ferr := os.Stat(filepath.Join(dir, fmt.Sprintf("f%d", i)))
		if errs[i] == nil {
			committed++
			assert.Equal(t, abi.TransactionCommitted, outs[i].TransactionState)
			assert.NoError(t, ferr, "effect %d committed: its file stays", i)
		} else {
			assert.Contains(t, []string{abi.TransactionRolledBack, abi.TransactionNone}, outs[i].TransactionState, "effect %d: %v", i, errs[i])
			assert.Error(t, ferr, "effect %d did not commit: its file is gone", i)
		}
	}
	s := h.TransactionStats()
	assert.Zero(t, s.Open, "no transaction is left open")
	assert.Equal(t, s.Begun, s.Committed+s.RolledBack+s.Failed)
	assert.Equal(t, uint64(committed), s.Committed)
	t.Logf("%d of %d effects committed before the shutdown deadline", committed, effects)
}
