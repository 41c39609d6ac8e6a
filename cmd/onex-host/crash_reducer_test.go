package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestCrash_ReducerServeKilled streams events for a few keys of the counter reducer
// over HTTP into a real serve process and kills it (SIGKILL) while they stream, at
// several points, restarting it on the same data directory each time. The senders
// redeliver every event whose answer they did not get (as a client must), and at the
// end every acknowledged event redelivered is a duplicate and each key's state is the
// sum of its distinct events, its sequence their count: every acknowledged event was
// applied exactly once. Local: the state in <data_dir>/reducers.db (nats off);
// clustered: in the embedded NATS server's JetStream under <data_dir>/nats.
func TestCrash_ReducerServeKilled(t *testing.T) {
	t.Parallel()
	bin := cliBinary(t)
	counter := goPlugin(t, "plugins/testdata/counter")
	for _, mode := range []string{"off", "embedded"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dataDir := t.TempDir()
			addr := freeAddr(t)
			cfg := writeConfig(t, fmt.Sprintf("listen: %s\ndata_dir: %s\ncache_dir: %s\nnats: {mode: %s}\nnodes: [{path: %s}]\n",
				addr, dataDir, plugintest.CacheDir(), mode, counter))
			start := func() (*exec.Cmd, *syncBuffer) {
				cmd := exec.Command(bin, "serve", "--config", cfg)
				logs := &syncBuffer{}
				cmd.Stderr = logs
				require.NoError(t, cmd.Start())
				t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
				waitReady(t, addr, logs)
				return cmd, logs
			}
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			type event struct {
				key, id string
				n       int
			}
			post := func(ev event) (status int, duplicate bool, err error) {
				resp, err := client.Post("http://"+addr+"/v1/reducers/counter/keys/"+ev.key+"/events?reduction=sum", "application/json",
					strings.NewReader(fmt.Sprintf(`{"event_id":%q,"type":"add","data":%d}`, ev.id, ev.n)))
				if err != nil {
					return 0, false, err
				}
				defer resp.Body.Close()
				var out struct {
					Duplicate bool `json:"duplicate"`
				}
				err = json.NewDecoder(resp.Body).Decode(&out)
				return resp.StatusCode, out.Duplicate, err
			}
			const senders = 4
			var mu sync.Mutex
			var acked, unknown []event
			next := 0
			for round, killAt := range []int64{5, 25, 60} {
				srv, logs := start()
				// Redeliver what the last crash left unanswered: applied once, or now.
				for _, ev := range unknown {
					status, _, err := post(ev)
					require.NoError(t, err, "%s", logs)
					require.Equal(t, 200, status, "%s", logs)
					acked = append(acked, ev)
				}
				unknown = nil
				var got atomic.Int64
				killed := make(chan struct{})
				var wg sync.WaitGroup
				for s := range senders {
					wg.Go(func() {
						for i := 0; ; i++ {
							mu.Lock()
							next++
							ev := event{key: fmt.Sprintf("k%d", s%2), id: fmt.Sprintf("r%d-s%d-%d", round, s, i), n: next}
							mu.Unlock()
							status, _, err := post(ev)
							mu.Lock()
							if err == nil && status == 200 {
								acked = append(acked, ev)
							} else {
								unknown = append(unknown, ev)
							}
							mu.Unlock()
							if err != nil || status != 200 {
								return // the process is gone (or going)
							}
							if got.Add(1) == killAt {
								assert.NoError(t, srv.Process.Kill())
								close(killed)
							}
						}
					})
				}
				stopped := make(chan struct{})
				go func() { wg.Wait(); close(stopped) }()
				select {
				case <-killed:
				case <-stopped:
					require.FailNow(t, "every sender stopped before the kill", "%s", logs)
				}
				<-stopped
				_ = srv.Wait()
				t.Logf("round %d: killed after %d acknowledged events; %d unanswered", round, killAt, len(unknown))
			}
			start()
			for _, ev := range unknown {
				status, _, err := post(ev)
				require.NoError(t, err)
				require.Equal(t, 200, status)
				acked = append(acked, ev)
			}
			want := map[string]int{}
			count := map[string]uint64{}
			for i, ev := range acked {
				want[ev.key] += ev.n
				count[ev.key]++
				if i%3 == 0 {
					status, duplicate, err := post(ev)
					require.NoError(t, err)
					require.Equal(t, 200, status)
					assert.True(t, duplicate, "acknowledged %s is applied already", ev.id)
				}
			}
			for key, sum := range want {
				resp, err := client.Get("http://" + addr + "/v1/reducers/counter/keys/" + key)
				require.NoError(t, err)
				var got struct {
					Sequence uint64 `json:"sequence"`
					State    struct {
						Count int `json:"count"`
					} `json:"state"`
				}
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
				resp.Body.Close()
				assert.Equal(t, count[key], got.Sequence, key)
				assert.Equal(t, sum, got.State.Count, key)
			}
		})
	}
}
