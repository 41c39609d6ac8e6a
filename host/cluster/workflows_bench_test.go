package cluster_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
)

// BenchmarkWorkflowTakeover measures, with the default lease (1.5 s), the time from a
// host's crash — its workflow's step s2 recorded running there — to the workflow
// completed by the other host: the lease's expiry, the next sweep (every Lease/2), the
// adoption and the last steps. Setup (a NATS server, two hosts) is not timed.
func BenchmarkWorkflowTakeover(b *testing.B) {
	for range b.N {
		b.StopTimer()
		e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: b.TempDir(), Logger: quiet})
		require.NoError(b, err)
		fx := newFxNode()
		def := effectSteps(3)
		ha := newWFHost(b, e, "a", 0, def, fx)
		ha.hold = "s2"
		hb := newWFHost(b, e, "b", 0, def, fx)
		ctx := patientContext(b)
		_, _, err = ha.engine.Start(ctx, "w", "steps", json.RawMessage(`{}`))
		require.NoError(b, err)
		require.Eventually(b, func() bool {
			w, err := ha.engine.Get("w")
			return err == nil && len(w.Steps) == 2 && w.Steps[1].Status == abi.StepRunning
		}, time.Minute, time.Millisecond)
		b.StartTimer()
		ha.crash()
		w, err := hb.engine.Wait(ctx, "w")
		b.StopTimer()
		require.NoError(b, err)
		require.Equal(b, abi.WorkflowCompleted, w.Status)
		_ = hb.engine.Close()
		_ = ha.engine.Close()
		e.Shutdown()
	}
}
