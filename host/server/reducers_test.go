package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// counterPath is the counter reducer guest (plugins/testdata/counter), built and warmed
// on first use.
var counterPath = sync.OnceValues(func() (string, error) {
	p, err := plugintest.Path("plugins/testdata/counter")
	if err != nil {
		return "", err
	}
	return p, plugintest.Warm(p)
})

// effectCall is one effect the recorder saw.
type effectCall struct {
	node   string
	body   abi.EffectInput
	status int    // what the real effect node answered
	answer []byte // its body
}

// recorder is an EffectRecorder that runs each effect on the real node, records it, and
// reports success to the caller, so that the intent is done whatever the effect said.
type recorder struct {
	mu    sync.Mutex // guards calls and answer
	calls []effectCall
	// answer, when set, picks what the dispatcher is told instead of 200: given the
	// effect node's real answer.
	answer func(server.Response) server.Response
}

func (r *recorder) Run(ctx context.Context, node string, body []byte, exec func(context.Context) server.Response) (server.Response, bool) {
	resp := exec(ctx)
	var in struct {
		EffectType    string          `json:"effect_type"`
		OperationData json.RawMessage `json:"operation_data"`
		OperationID   string          `json:"operation_id"`
	}
	_ = json.Unmarshal(body, &in)
	r.mu.Lock()
	r.calls = append(r.calls, effectCall{node: node, body: abi.EffectInput{EffectType: in.EffectType, OperationData: in.OperationData, OperationID: in.OperationID},
		status: resp.Status, answer: resp.Body})
	answer := r.answer
	r.mu.Unlock()
	if answer != nil {
		return answer(resp), false
	}
	return server.Response{Status: http.StatusOK, Body: []byte("{}")}, false
}

func (r *recorder) seen() []effectCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]effectCall(nil), r.calls...)
}

// reducerFixture is a server with the counter reducer (and, when withFileops, the fileops
// effect node) over a reducer store in a temporary directory.
type reducerFixture struct {
	srv   *server.Server
	store *reducer.Store
	url   string
	rec   *recorder
}

func newReducerFixture(t *testing.T, withFileops bool, tokens ...map[string]server.Role) *reducerFixture {
	t.Helper()
	cp, err := counterPath()
	require.NoError(t, err)
	rec := &recorder{}
	opts := server.Options{Effects: rec}
	if len(tokens) > 0 {
		opts.Tokens = tokens[0]
	}
	specs := []server.NodeSpec{{Path: cp}, {Path: corePath}}
	if withFileops {
		specs = append(specs, server.NodeSpec{Path: fileopsPath, Plugin: host.PluginConfig{Grants: host.Grants{Paths: []host.PathGrant{{Dir: t.TempDir()}}}}})
	}
	f := serveReducers(t, opts, specs...)
	f.rec = rec
	return f
}

// serveReducers serves specs over HTTP with opts, a discarding logger and a reducer store
// in a temporary directory, carrying intents out, until the test ends.
func serveReducers(t *testing.T, opts server.Options, specs ...server.NodeSpec) *reducerFixture {
	t.Helper()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	st, err := reducer.OpenStore(filepath.Join(t.TempDir(), "reducers.db"), reducer.NewConfig())
	require.NoError(t, err)
	f := &reducerFixture{store: st}
	opts.Logger, opts.Reducers = slog.New(slog.DiscardHandler), st
	f.srv = server.New(h, opts)
	require.NoError(t, f.srv.Load(ctx, specs))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = f.srv.RunIntents(runCtx) }()
	ts := httptest.NewServer(f.srv.Handler())
	f.url = ts.URL
	t.Cleanup(func() {
		ts.Close()
		stop()
		<-done
		require.NoError(t, h.Close(ctx))
		require.NoError(t, st.Close())
	})
	return f
}

// send posts one event and decodes the answer into out (when not nil).
func (f *reducerFixture) send(t *testing.T, path, body string, out any) int {
	t.Helper()
	resp, err := http.Post(f.url+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

func (f *reducerFixture) get(t *testing.T, path string, out any) int {
	t.Helper()
	resp, err := http.Get(f.url + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

type applied struct {
	Sequence  uint64                `json:"sequence"`
	State     json.RawMessage       `json:"state"`
	Intents   []reducer.OutboxEntry `json:"intents"`
	Duplicate bool                  `json:"duplicate"`
}

// TestReducers_ExactOverHTTP: 16 clients × 50 events over 4 keys, every 5th event sent
// twice (a redelivery) — every key's count is the exact sum of its distinct events, the
// redeliveries answer duplicate, and the metrics count exactly as many of each.
func TestReducers_ExactOverHTTP(t *testing.T) {
	t.Parallel()
	f := newReducerFixture(t, false)
	const clients, events, keys = 16, 50, 4
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range events {
				key := fmt.Sprintf("k%d", (c+i)%keys)
				body := fmt.Sprintf(`{"event_id":"c%d-e%d","type":"add","data":%d}`, c, i, c*100+i)
				var a applied
				if !assert.Equal(t, 200, f.send(t, "/v1/reducers/counter/keys/"+key+"/events?reduction=sum", body, &a)) {
					return
				}
				assert.False(t, a.Duplicate)
				if i%5 == 0 {
					var again applied
					assert.Equal(t, 200, f.send(t, "/v1/reducers/counter/keys/"+key+"/events?reduction=sum", body, &again))
					assert.True(t, again.Duplicate)
					assert.Equal(t, a.Sequence, again.Sequence)
				}
			}
		})
	}
	wg.Wait()
	want := map[string]int64{}
	for c := range clients {
		for i := range events {
			want[fmt.Sprintf("k%d", (c+i)%keys)] += int64(c*100 + i)
		}
	}
	for key, sum := range want {
		var got struct {
			Sequence uint64 `json:"sequence"`
			State    struct {
				Count int64 `json:"count"`
			} `json:"state"`
		}
		require.Equal(t, 200, f.get(t, "/v1/reducers/counter/keys/"+key, &got))
		assert.Equal(t, sum, got.State.Count, key)
		assert.Equal(t, uint64(clients*events/keys), got.Sequence, key)
	}
	counts := scrape(t, f.url, "onex_reducer_events_total")
	assert.Equal(t, float64(clients*events), counts["node=counter outcome=applied"])
	assert.Equal(t, float64(clients*events/5), counts["node=counter outcome=duplicate"])
	assert.Zero(t, counts["node=counter outcome=fold_failed"])
}

// TestReducers_Errors: the envelope is decoded strictly, unknown nodes and reductions are
// 404, and a failing fold is a 422 that leaves the state and makes a dead letter.
func TestReducers_Errors(t *testing.T) {
	t.Parallel()
	f := newReducerFixture(t, false)
	const ev = "/v1/reducers/counter/keys/a/events"
	for _, c := range []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"unknown field", ev, `{"event_id":"1","type":"add","data":1,"extra":true}`, 400, "invalid_input"},
		{"no event id", ev, `{"type":"add","data":1}`, 400, "invalid_input"},
		{"empty type", ev, `{"event_id":"1","type":"","data":1}`, 400, "invalid_input"},
		{"not an object", ev, `[1]`, 400, "invalid_input"},
		{"unknown node", "/v1/reducers/nope/keys/a/events", `{"event_id":"1","type":"add","data":1}`, 404, "not_found"},
		{"compute node", "/v1/reducers/core/keys/a/events", `{"event_id":"1","type":"add","data":1}`, 404, "not_found"},
		{"unknown reduction", ev + "?reduction=nope", `{"event_id":"1","type":"add","data":1}`, 404, "unknown_computation"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			assert.Equal(t, c.status, f.send(t, c.path, c.body, &e))
			assert.Equal(t, c.code, e.Error.Code)
		})
	}
	assert.Equal(t, 404, f.get(t, "/v1/reducers/counter/keys/a", nil), "nothing was applied to a")

	require.Equal(t, 200, f.send(t, ev, `{"event_id":"ok","type":"add","data":3}`, nil))
	var fail struct {
		Error      struct{ Code string } `json:"error"`
		Cause      struct{ Code string } `json:"cause"`
		DeadLetter bool                  `json:"dead_letter"`
	}
	require.Equal(t, 422, f.send(t, ev, `{"event_id":"neg","type":"add","data":-1}`, &fail))
	assert.Equal(t, "fold_failed", fail.Error.Code)
	assert.Equal(t, "negative", fail.Cause.Code)
	assert.True(t, fail.DeadLetter)
	var key struct {
		Sequence uint64          `json:"sequence"`
		State    json.RawMessage `json:"state"`
	}
	require.Equal(t, 200, f.get(t, "/v1/reducers/counter/keys/a", &key))
	assert.Equal(t, uint64(1), key.Sequence)
	assert.JSONEq(t, `{"count":3}`, string(key.State))
	var dead struct {
		DeadLetters []reducer.DeadLetter `json:"dead_letters"`
	}
	require.Equal(t, 200, f.get(t, "/v1/reducers/counter/dead-letters", &dead))
	require.Len(t, dead.DeadLetters, 1)
	assert.Equal(t, "neg", dead.DeadLetters[0].Event.EventID)
	assert.Equal(t, 422, f.send(t, "/v1/reducers/counter/dead-letters/retry?key=a&event_id=neg", "", nil), "the fold fails again")
	assert.Equal(t, 404, f.send(t, "/v1/reducers/counter/dead-letters/retry?key=a&event_id=nope", "", nil))
	counts := scrape(t, f.url, "onex_reducer_events_total")
	assert.Equal(t, 2.0, counts["node=counter outcome=fold_failed"])
	assert.Equal(t, 1.0, scrape(t, f.url, "onex_reducer_dead_letters")["node=counter"])
	// The compute door refuses a reducer.
	assert.Equal(t, 400, f.send(t, "/v1/nodes/counter/compute", `{"computation_type":"count","data":1}`, nil))
}

// TestReducers_KeysPaged: every key once, in order, over pages of a limit.
func TestReducers_KeysPaged(t *testing.T) {
	t.Parallel()
	f := newReducerFixture(t, false)
	names := []string{"b", "a", "ccc", "dd", "e"}
	for i, k := range names {
		require.Equal(t, 200, f.send(t, "/v1/reducers/counter/keys/"+k+"/events?reduction=sum", fmt.Sprintf(`{"event_id":"%d","type":"add","data":1}`, i), nil))
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 3, "5 keys in pages of 2")
		var page struct {
			Keys       []reducer.KeyInfo `json:"keys"`
			NextCursor string            `json:"next_cursor"`
		}
		require.Equal(t, 200, f.get(t, "/v1/reducers/counter/keys?limit=2&cursor="+cursor, &page))
		for _, k := range page.Keys {
			seen = append(seen, k.Key)
			assert.Equal(t, uint64(1), k.Sequence)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	assert.Equal(t, []string{"a", "b", "e", "dd", "ccc"}, seen, "shorter keys first, then byte order")
	assert.Equal(t, 400, f.get(t, "/v1/reducers/counter/keys?limit=0", nil))
}

// TestReducers_StateChangeStream: a subscriber to one key's changes sees the event applied
// to it, and not one applied to another key.
func TestReducers_StateChangeStream(t *testing.T) {
	t.Parallel()
	f := newReducerFixture(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/v1/reducers/counter/events?key=watched", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lines := bufio.NewScanner(resp.Body)
	require.True(t, lines.Scan()) // the subscription comment: subscribed before the events
	require.Contains(t, lines.Text(), "subscribed")
	require.Equal(t, 200, f.send(t, "/v1/reducers/counter/keys/other/events", `{"event_id":"1","type":"add","data":1}`, nil))
	require.Equal(t, 200, f.send(t, "/v1/reducers/counter/keys/watched/events", `{"event_id":"1","type":"add","data":7}`, nil))
	var data string
	for data == "" && lines.Scan() {
		if d, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			data = d
		}
	}
	var e abi.Event
	require.NoError(t, json.Unmarshal([]byte(data), &e))
	var change server.StateChange
	require.NoError(t, json.Unmarshal(e.Payload, &change))
	assert.Equal(t, server.StateChange{Node: "counter", Key: "watched", Sequence: 1, EventID: "1", State: json.RawMessage(`{"count":7}`)}, change)
}

// TestReducers_IntentCarriedOnce: the 10th event of a key produces one intent for
// fileops, which the server's dispatcher runs on the fileops node exactly once with the
// intent's operation id; an intent for a node not served stays pending.
func TestReducers_IntentCarriedOnce(t *testing.T) {
	t.Parallel()
	f := newReducerFixture(t, true)
	var last applied
	for i := 1; i <= 10; i++ {
		require.Equal(t, 200, f.send(t, "/v1/reducers/counter/keys/k/events", fmt.Sprintf(`{"event_id":"%d","type":"add","data":%d}`, i, i), &last))
	}
	want := abi.IntentOperationID("counter", "k", 10, 0)
	require.Len(t, last.Intents, 1)
	assert.Equal(t, want, last.Intents[0].OperationID)
	eventually(t, func() bool {
		p, err := f.store.Pending(0)
		return err == nil && len(p) == 0
	}, "the intent is carried out")
	calls := f.rec.seen()
	require.Len(t, calls, 1, "exactly once")
	assert.Equal(t, "fileops", calls[0].node)
	assert.Equal(t, "write", calls[0].body.EffectType)
	assert.Equal(t, want, calls[0].body.OperationID)
	// The fileops node ran it under that operation id. (It refuses the counter's relative
	// path, "counts/k": the recorder reports success regardless.)
	var out struct {
		OperationID string `json:"operation_id"`
	}
	require.NoError(t, json.Unmarshal(calls[0].answer, &out), "%s", calls[0].answer)
	assert.Equal(t, want, out.OperationID)
	assert.Equal(t, 1.0, scrape(t, f.url, "onex_reducer_intents_total")["node=counter outcome=carried"])
}

// TestReducers_IntentForANodeNotServed stays pending, and is counted as pending.
func TestReducers_IntentForANodeNotServed(t *testing.T) {
	t.Parallel()
	f := newReducerFixture(t, false)
	for i := 1; i <= 10; i++ {
		require.Equal(t, 200, f.send(t, "/v1/reducers/counter/keys/k/events", fmt.Sprintf(`{"event_id":"%d","type":"add","data":1}`, i), nil))
	}
	eventually(t, func() bool {
		return scrape(t, f.url, "onex_reducer_intents_total")["node=counter outcome=failed"] >= 1
	}, "the dispatcher tried the intent")
	p, err := f.store.Pending(0)
	require.NoError(t, err)
	assert.Len(t, p, 1, "kept, not dropped")
	assert.Equal(t, 1.0, scrape(t, f.url, "onex_reducer_intents_pending")["node=counter"])
	assert.Empty(t, f.rec.seen())
}

// TestReducers_IntentRefused: an effect answer that cannot change (fileops refuses the
// counter's relative path with a non-retryable 4xx) moves the intent to the failed
// intents — listed, counted, retryable by operation id — and later intents still run; a
// retryable answer keeps the intent pending.
func TestReducers_IntentRefused(t *testing.T) {
	t.Parallel()
	f := newReducerFixture(t, true)
	f.rec.mu.Lock()
	f.rec.answer = func(real server.Response) server.Response { return real }
	f.rec.mu.Unlock()
	post10 := func(key string) {
		for i := 1; i <= 10; i++ {
			require.Equal(t, 200, f.send(t, "/v1/reducers/counter/keys/"+key+"/events", fmt.Sprintf(`{"event_id":"%d","type":"add","data":1}`, i), nil))
		}
	}
	type listing struct {
		FailedIntents []reducer.FailedIntent `json:"failed_intents"`
	}
	failed := func() []reducer.FailedIntent {
		var l listing
		require.Equal(t, 200, f.get(t, "/v1/reducers/counter/failed-intents", &l))
		return l.FailedIntents
	}
	post10("a")
	post10("b")
	eventually(t, func() bool { return len(failed()) == 2 }, "both intents refused")
	fs := failed()
	assert.Equal(t, abi.IntentOperationID("counter", "a", 10, 0), fs[0].Entry.OperationID)
	assert.Equal(t, abi.IntentOperationID("counter", "b", 10, 0), fs[1].Entry.OperationID)
	assert.Contains(t, fs[0].Error, "fileops/write answered 4")
	p, err := f.store.Pending(0)
	require.NoError(t, err)
	assert.Empty(t, p, "refused intents hold nothing back")
	m := scrape(t, f.url, "onex_reducer_intents_total")
	assert.Equal(t, 2.0, m["node=counter outcome=rejected"])
	assert.Zero(t, m["node=counter outcome=failed"])
	assert.Equal(t, 2.0, scrape(t, f.url, "onex_reducer_failed_intents")["node=counter"])
	assert.Len(t, f.rec.seen(), 2, "each tried once")

	// Retry by operation id: an unknown one is 404; a known one is carried out again.
	resp, err := http.Post(f.url+"/v1/reducers/counter/failed-intents/retry?operation_id=nope", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	f.rec.mu.Lock()
	f.rec.answer = nil // now the recorder answers 200
	f.rec.mu.Unlock()
	resp, err = http.Post(f.url+"/v1/reducers/counter/failed-intents/retry?operation_id="+fs[0].Entry.OperationID, "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	eventually(t, func() bool {
		return scrape(t, f.url, "onex_reducer_intents_total")["node=counter outcome=carried"] == 1
	}, "the retried intent is carried out")
	left := failed()
	require.Len(t, left, 1)
	assert.Equal(t, fs[1].Entry.OperationID, left[0].Entry.OperationID)
	assert.Len(t, f.rec.seen(), 3)

	// A retryable answer keeps the intent pending.
	f.rec.mu.Lock()
	f.rec.answer = func(server.Response) server.Response {
		return server.Response{Status: http.StatusServiceUnavailable, Body: []byte(`{"error":{"code":"unavailable","message":"busy","retryable":true}}`)}
	}
	f.rec.mu.Unlock()
	post10("c")
	eventually(t, func() bool {
		return scrape(t, f.url, "onex_reducer_intents_total")["node=counter outcome=failed"] >= 1
	}, "the dispatcher tried the intent")
	p, err = f.store.Pending(0)
	require.NoError(t, err)
	require.Len(t, p, 1, "kept pending")
	assert.Equal(t, abi.IntentOperationID("counter", "c", 10, 0), p[0].OperationID)
	assert.Len(t, failed(), 1)
}

// eventually polls cond until it holds or the test's deadline nears.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, untilDeadline(t), 10*time.Millisecond, msg)
}

// TestReducers_ReloadUnderLoad: reloading the reducer while events stream in loses and
// repeats none of them.
func TestReducers_ReloadUnderLoad(t *testing.T) {
	t.Parallel()
	f := newReducerFixture(t, false)
	const clients, events = 4, 40
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range events {
				body := fmt.Sprintf(`{"event_id":"c%d-%d","type":"add","data":1}`, c, i)
				assert.Equal(t, 200, f.send(t, "/v1/reducers/counter/keys/k/events?reduction=sum", body, nil))
			}
		})
	}
	for range 2 {
		_, err := f.srv.Reload(context.Background(), "counter")
		require.NoError(t, err)
	}
	wg.Wait()
	var got struct {
		Sequence uint64          `json:"sequence"`
		State    json.RawMessage `json:"state"`
	}
	require.Equal(t, 200, f.get(t, "/v1/reducers/counter/keys/k", &got))
	assert.Equal(t, uint64(clients*events), got.Sequence)
	assert.JSONEq(t, fmt.Sprintf(`{"count":%d}`, clients*events), string(got.State))
	assert.Equal(t, 2.0, scrape(t, f.url, "onex_reloads_total")["node=counter"])
}

// TestReducers_Async: ?async=true and Prefer: respond-async answer 202 before the event is
// applied; the event is then applied exactly once.
func TestReducers_Async(t *testing.T) {
	t.Parallel()
	f := newReducerFixture(t, false)
	var acc struct {
		EventID string `json:"event_id"`
		Durable bool   `json:"durable"`
	}
	require.Equal(t, 202, f.send(t, "/v1/reducers/counter/keys/a/events?async=true", `{"event_id":"1","type":"add","data":4}`, &acc))
	assert.Equal(t, "1", acc.EventID)
	assert.False(t, acc.Durable)
	req, _ := http.NewRequest("POST", f.url+"/v1/reducers/counter/keys/a/events", strings.NewReader(`{"event_id":"2","type":"add","data":6}`))
	req.Header.Set("Prefer", "respond-async")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 202, resp.StatusCode)
	assert.Equal(t, "respond-async", resp.Header.Get("Preference-Applied"))
	// A strict decode still happens before the 202.
	assert.Equal(t, 400, f.send(t, "/v1/reducers/counter/keys/a/events?async=true", `{"event_id":"3"}`, nil))
	var got struct {
		Sequence uint64          `json:"sequence"`
		State    json.RawMessage `json:"state"`
	}
	eventually(t, func() bool {
		resp, err := http.Get(f.url + "/v1/reducers/counter/keys/a")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&got) == nil && got.Sequence == 2
	}, "both events applied")
	assert.JSONEq(t, `{"count":10}`, string(got.State))
}

// TestReducers_Auth: the reducer routes take the invoke role, as compute calls do.
func TestReducers_Auth(t *testing.T) {
	t.Parallel()
	f := newReducerFixture(t, false, map[string]server.Role{invokeToken: server.RoleInvoke})
	do := func(method, path, token, body string) int {
		req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	const ev = `{"event_id":"1","type":"add","data":1}`
	assert.Equal(t, 401, do("POST", "/v1/reducers/counter/keys/a/events", "", ev))
	assert.Equal(t, 401, do("GET", "/v1/reducers/counter/keys", "wrong", ""))
	assert.Equal(t, 200, do("POST", "/v1/reducers/counter/keys/a/events", invokeToken, ev))
	assert.Equal(t, 200, do("GET", "/v1/reducers/counter/keys/a", invokeToken, ""))
	assert.Equal(t, 200, do("GET", "/v1/reducers/counter/dead-letters", invokeToken, ""))
}

// TestReducers_FSMNode: an FSM contract is served as a reducer node without a plugin;
// the answer carries the FSM metadata as its projection.
func TestReducers_FSMNode(t *testing.T) {
	t.Parallel()
	contract := filepath.Join("..", "reducer", "fsm", "testdata", "order.yaml")
	f := serveReducers(t, server.Options{}, server.NodeSpec{FSM: contract, Name: "orders"})
	var out struct {
		Sequence   uint64         `json:"sequence"`
		Projection map[string]any `json:"projection"`
	}
	require.Equal(t, 200, f.send(t, "/v1/reducers/orders/keys/o1/events", `{"event_id":"1","type":"pay","data":{"amount":5,"currency":"EUR"}}`, &out))
	assert.Equal(t, uint64(1), out.Sequence)
	assert.Equal(t, "paid", out.Projection["fsm_state"])
	assert.Equal(t, "created", out.Projection["fsm_previous_state"])
	assert.Equal(t, "pay", out.Projection["fsm_transition_name"])
	assert.Equal(t, true, out.Projection["fsm_transition_success"])
	var key struct {
		Sequence uint64          `json:"sequence"`
		State    json.RawMessage `json:"state"`
	}
	require.Equal(t, 200, f.get(t, "/v1/reducers/orders/keys/o1", &key))
	assert.Equal(t, uint64(1), key.Sequence)
	assert.Contains(t, string(key.State), `"paid"`)
	assert.Contains(t, f.srv.Names(), "orders")
}
