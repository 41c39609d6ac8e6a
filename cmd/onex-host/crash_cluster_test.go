package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestCrashCluster_KilledBetweenTheRecordAndTheCommit kills a clustered host (SIGKILL)
// after it wrote an effect's commit record to the EffectRecords bucket and before its
// journal's commit point, then repeats the operation id on another host: the repeat is
// never answered 200 while the effect is rolled back; once the killed host restarted
// (journal recovery, then Reconcile), the repeat runs and its answer matches the data.
func TestCrashCluster_KilledBetweenTheRecordAndTheCommit(t *testing.T) {
	t.Parallel()
	bin := cliBinary(t)
	effects := goPlugin(t, "plugins/testdata/effects")
	natsAddr := freeAddr(t)
	e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: t.TempDir(), Listen: natsAddr,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer e.Shutdown()

	dir := t.TempDir() // the effect's files, granted to both hosts
	target := filepath.Join(dir, "paid")
	serve := func(id, dataDir, addr string, env ...string) (*exec.Cmd, *syncBuffer) {
		cfg := writeConfig(t, fmt.Sprintf(`
listen: %s
data_dir: %s
cache_dir: %s
nats: {mode: external, url: "nats://%s", host_id: %s}
nodes:
  - path: %s
    grants: {paths: [%s], hosts: [example.com], kv: true, events: true}
`, addr, dataDir, plugintest.CacheDir(), natsAddr, id, effects, dir))
		cmd := exec.Command(bin, "serve", "--config", cfg)
		cmd.Env = append(os.Environ(), env...)
		logs := &syncBuffer{}
		cmd.Stderr = logs
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		waitReady(t, addr, logs)
		return cmd, logs
	}
	dataA, addrA, addrB := t.TempDir(), freeAddr(t), freeAddr(t)
	marker := filepath.Join(t.TempDir(), "paused")
	a, logsA := serve("a", dataA, addrA, debugPauseBeforeCommit+"="+marker)
	serve("b", t.TempDir(), addrB)

	script, err := json.Marshal(map[string]any{"steps": []map[string]any{{"op": "fs.write", "path": target, "value": "paid once"}}})
	require.NoError(t, err)
	in := abi.EffectInput{EffectType: "script", OperationID: "pay-1", OperationData: script}
	body, err := json.Marshal(in)
	require.NoError(t, err)
	go func() {
		resp, err := http.Post("http://"+addrA+"/v1/nodes/effects/effect", "application/json", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
		}
	}()
	eventually(t, func() bool { _, err := os.Stat(marker); return err == nil },
		"a never reached its commit: %s", logsA)
	require.FileExists(t, target, "the side effect is applied, not committed")
	require.NoError(t, a.Process.Kill()) // SIGKILL: between the record and the commit
	_ = a.Wait()

	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()

	// Only b serves now: the repeat is not answered 200 from the record of a commit that
	// did not happen. b holds a repeat of a committing effect until the request's
	// deadline (the Onex-Timeout-Ms header) and answers 503 just before it. The request
	// is sent by hand, each time with a 500 ms deadline and a wait that doubles: the
	// NATS server may still route the first one to a's subscription if it has not yet
	// seen a's connection die (a lost request), and on a loaded machine b's answer can
	// take longer than any fixed wait. The test's patience bounds it all.
	msg := nats.NewMsg(cluster.Subject("effects", server.OperationEffect))
	msg.Data = body
	msg.Header.Set(cluster.HeaderTimeout, "500")
	var reply *nats.Msg
	stop := time.Now().Add(patience(t))
	for wait := 2 * time.Second; ; wait *= 2 {
		wait = min(wait, time.Until(stop))
		rctx, cancel := context.WithTimeout(context.Background(), wait)
		reply, err = nc.RequestMsgWithContext(rctx, msg)
		cancel()
		if err == nil || time.Until(stop) <= 0 {
			break
		}
	}
	require.NoError(t, err, "b answers the repeat")
	assert.Equal(t, strconv.Itoa(http.StatusServiceUnavailable), reply.Header.Get(cluster.HeaderStatus),
		"no 200 while a's journal has not settled the effect: %s", reply.Data)
	var refused struct {
		Error struct{ Retryable bool }
	}
	require.NoError(t, json.Unmarshal(reply.Data, &refused), "%s", reply.Data)
	assert.True(t, refused.Error.Retryable, "%s", reply.Data)

	// a restarts: its journal rolls the effect back, Reconcile deletes the record.
	_, logsA = serve("a", dataA, addrA)
	assert.NoFileExists(t, target, "a's recovery rolled the effect back")
	assert.Contains(t, logsA.String(), "effect records reconciled")

	// The repeat now runs (on a or b), and its answer matches the data.
	c := cluster.NewClient(nc, cluster.ClientConfig{AttemptTimeout: patience(t)})
	ctx, cancel := context.WithTimeout(context.Background(), patience(t))
	defer cancel()
	out, err := c.Effect(ctx, "effects", in)
	require.NoError(t, err)
	assert.Equal(t, abi.TransactionCommitted, out.TransactionState)
	got, err := os.ReadFile(target)
	require.NoError(t, err, "the answer says committed: the file is there")
	assert.Equal(t, "paid once", string(got))

	again, err := c.Effect(ctx, "effects", in)
	require.NoError(t, err)
	assert.Equal(t, out.TransactionID, again.TransactionID, "a further repeat is answered, not run")
}
