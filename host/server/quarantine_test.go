package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// stall is a slog.Handler that holds the echo fixture's "length" log record until open
// is called: a log sink that stopped draining, which blocks the guest inside the host
// function onex.log, so that its call ignores its deadline. Other records are dropped.
type stall struct {
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stall) Enabled(context.Context, slog.Level) bool { return true }
func (s *stall) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "echo: computing length" {
		s.arrived <- struct{}{}
		<-s.release
	}
	return nil
}
func (s *stall) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *stall) WithGroup(string) slog.Handler      { return s }
func (s *stall) open()                              { s.once.Do(func() { close(s.release) }) }

// TestServer_Quarantine: a request whose call is stuck past its deadline plus the grace
// makes /readyz 503 naming the node, shows in the metrics, and every request to the node
// gets 503 "quarantined" at once; when the call ends after all the gauge drops but the
// node stays quarantined; a reload swaps in a version that serves, and /readyz is 200
// again. In fake time, through the handler.
func TestServer_Quarantine(t *testing.T) {
	echo := filepath.Join(plugintest.Root(), "plugins/testdata/wat/echo.wasm")
	synctest.Test(t, func(t *testing.T) {
		const timeout, grace = time.Second, 5 * time.Second
		ctx := context.Background()
		st := &stall{arrived: make(chan struct{}, 1), release: make(chan struct{})}
		h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
			WithTimeout(timeout).WithStuckGrace(grace).WithLogger(slog.New(st)))
		require.NoError(t, err)
		defer h.Close(ctx)
		defer st.open() // first: a failed test must not leave Close waiting for the call
		srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, srv.Load(ctx, []server.NodeSpec{{Path: echo}}))
		handler := srv.Handler()
		do := func(method, path, body string) (int, []byte) {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
			return rec.Code, rec.Body.Bytes()
		}
		type readyz struct {
			Error struct{ Code, Message string }
			Nodes []string `json:"quarantined"`
			Stuck []struct {
				Node, Operation string
				Ended           *time.Time
			} `json:"stuck_calls"`
		}
		ready := func() (int, readyz) {
			code, b := do("GET", "/readyz", "")
			var r readyz
			require.NoError(t, json.Unmarshal(b, &r), "%s", b)
			return code, r
		}
		stuckMetrics := func() (gauge, total float64) {
			code, b := do("GET", "/metrics", "")
			require.Equal(t, http.StatusOK, code)
			parser := expfmt.NewTextParser(model.UTF8Validation)
			families, err := parser.TextToMetricFamilies(strings.NewReader(string(b)))
			require.NoError(t, err)
			for _, m := range families["onex_stuck_calls"].GetMetric() {
				assert.Equal(t, "echo", m.GetLabel()[0].GetValue())
				gauge += m.GetGauge().GetValue()
			}
			for _, m := range families["onex_stuck_calls_total"].GetMetric() {
				total += m.GetCounter().GetValue()
			}
			return gauge, total
		}
		code, _ := ready()
		require.Equal(t, http.StatusOK, code)

		done := make(chan int, 1)
		go func() {
			code, _ := do("POST", "/v1/nodes/echo/compute", `{"computation_type":"length","data":"abc"}`)
			done <- code
		}()
		<-st.arrived
		time.Sleep(timeout + grace - time.Nanosecond)
		synctest.Wait()
		code, _ = ready()
		assert.Equal(t, http.StatusOK, code, "not stuck yet: within the grace")

		time.Sleep(time.Nanosecond)
		synctest.Wait()
		code, r := ready()
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "quarantined", r.Error.Code)
		assert.Contains(t, r.Error.Message, "node echo is quarantined")
		assert.Equal(t, []string{"echo"}, r.Nodes)
		require.Len(t, r.Stuck, 1)
		assert.Equal(t, "length", r.Stuck[0].Operation)
		assert.Nil(t, r.Stuck[0].Ended)
		gauge, total := stuckMetrics()
		assert.Equal(t, 1.0, gauge)
		assert.Equal(t, 1.0, total)

		code, b := do("POST", "/v1/nodes/echo/compute", `{"computation_type":"default","data":1}`)
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Contains(t, string(b), `"code":"quarantined"`)

		// The stuck call ends after all: the node stays quarantined.
		st.open()
		<-done
		gauge, total = stuckMetrics()
		assert.Equal(t, 0.0, gauge)
		assert.Equal(t, 1.0, total)
		code, r = ready()
		assert.Equal(t, http.StatusServiceUnavailable, code)
		require.Len(t, r.Stuck, 1)
		assert.NotNil(t, r.Stuck[0].Ended)
		code, _ = do("POST", "/v1/nodes/echo/compute", `{"computation_type":"default","data":1}`)
		assert.Equal(t, http.StatusServiceUnavailable, code)

		// A reload swaps in a new version, which serves.
		code, b = do("POST", "/v1/nodes/echo/reload", "")
		require.Equal(t, http.StatusOK, code, "%s", b)
		code, _ = ready()
		assert.Equal(t, http.StatusOK, code)
		code, b = do("POST", "/v1/nodes/echo/compute", `{"computation_type":"default","data":1}`)
		assert.Equal(t, http.StatusOK, code, "%s", b)
		_, total = stuckMetrics()
		assert.Equal(t, 1.0, total, "a counter")
	})
}
