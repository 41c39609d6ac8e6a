package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/internal/hosttest"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// screenshotDirEnv names a directory for the status page's screenshots; default a
// directory of the test's own (removed after it, so set this to keep them).
const screenshotDirEnv = "ONEX_UI_SCREENSHOT_DIR"

// pollInterval is app.js' POLL_MS: how often the page reads /v1/status.
const pollInterval = 500 * time.Millisecond

// chromium returns the browser to drive: $CHROME_PATH, else the first of the usual names
// on $PATH; it skips t when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium installed (apt-get install -y chromium, or set CHROME_PATH): the status page's browser tests are skipped")
	return ""
}

// console collects what a page wrote to its console that is an error: console.error
// calls, uncaught exceptions, and browser log entries of level error (a failed load, a
// refused Content-Security-Policy).
type console struct {
	mu   sync.Mutex // guards errs and all
	errs []string
	all  []string
	// seen has a value after each message (dropped when one is waiting already).
	seen chan struct{}
}

func (c *console) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

// browser starts headless Chromium with one tab for t, collecting its console; the
// browser ends when t does, before the servers t started close (an open event stream
// would keep them waiting).
func browser(t *testing.T) (context.Context, *console) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.WindowSize(1280, 900))
	if os.Geteuid() == 0 {
		// Chromium refuses to run its sandbox as root (CI containers).
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	c := &console{seen: make(chan struct{}, 1)}
	// The first Run starts the browser; it must not have a deadline (the deadline would
	// end the browser), so the waits below derive theirs from ctx afterwards.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	messages := chromedp.Console(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.all = append(c.all, m.String())
			if m.Type == chromedp.ConsoleError || m.IsException() {
				c.errs = append(c.errs, m.String())
			}
			c.mu.Unlock()
			select {
			case c.seen <- struct{}{}:
			default:
			}
		}
	})
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		wg.Wait()
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.all) > 0 {
			t.Logf("browser console:\n%s", strings.Join(c.all, "\n"))
		}
	})
	// The listener sees an error the page writes: else "no console errors" would pass
	// without looking.
	const probe = "onex-ui console check"
	_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`console.error("`+probe+`")`))
	require.NoError(t, err)
	deadline := time.After(untilDeadline(t))
	for !slices.ContainsFunc(c.errors(), func(e string) bool { return strings.Contains(e, probe) }) {
		select {
		case <-c.seen:
		case <-deadline:
			t.Fatal("the console listener never saw a console.error")
		}
	}
	c.mu.Lock()
	c.errs, c.all = nil, nil
	c.mu.Unlock()
	return ctx, c
}

// waitFor waits until the JavaScript expression is true in the page, until shortly
// before the test's deadline.
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, untilDeadline(t))
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(0)))
	require.NoError(t, err, "waiting for %s (%s)", what, expr)
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, "%s", expr)
	return v
}

// cell is the JavaScript text of a table cell: table's row key's field.
func cell(table, key, field string) string {
	return fmt.Sprintf(`(document.querySelector('#%s tr[data-key="%s"] td[data-field="%s"]')||{}).textContent`, table, key, field)
}

// screenshot writes the page's full screenshot to the artefact directory and logs where.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv(screenshotDirEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, buf, 0o644))
	t.Logf("screenshot: %s (%d bytes; set %s to keep it)", path, len(buf), screenshotDirEnv)
}

// TestUI_StatusPage drives the status page in headless Chromium: it asks for the token,
// shows the served nodes, shows a call within a second, shows a breaker opened through
// the API as open and resets it with its button, shows a published event, fits a phone's
// width, and writes nothing to the console that is an error.
//
// "Within a second" is measured from the call's response to the page showing it. The
// page polls every pollInterval (500 ms), each poll starting pollInterval after the last
// started, so the update arrives at most one interval plus the fetches in between later:
// the bound is 1 s plus twice the slowest of the page's last status fetches (which it
// exposes as data-fetch-ms), so that a loaded machine slows the bound with the page
// rather than failing it, while a page that polled too slowly (or not at all) fails.
func TestUI_StatusPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]server.Role{invokeToken: server.RoleInvoke, adminToken: server.RoleAdmin})
	ctx, cons := browser(t)

	// No token yet: the page asks for one, without a request that would fail.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(f.url+"/ui")))
	waitFor(t, ctx, "the token form", `!document.getElementById('token-form').hidden`)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), adminToken),
		chromedp.Click(chromedp.CSS("#token-form button"))))

	// The served nodes, with what /v1/nodes says of them.
	names := f.srv.Names()
	waitFor(t, ctx, "the node rows", fmt.Sprintf(`document.querySelectorAll('#nodes tbody tr').length === %d`, len(names)))
	assert.Equal(t, names, eval[[]string](t, ctx, `[...document.querySelectorAll('#nodes tbody tr')].map(r => r.dataset.key)`))
	var nodes []struct {
		Name     string       `json:"name"`
		Manifest abi.Manifest `json:"manifest"`
	}
	require.Equal(t, 200, f.call(t, "GET", "/v1/nodes", invokeToken, "", nil, &nodes))
	for _, n := range nodes {
		assert.Equal(t, n.Manifest.Version, eval[string](t, ctx, cell("nodes", n.Name, "version")), n.Name)
	}
	assert.Equal(t, "0", eval[string](t, ctx, cell("nodes", "core", "calls")))
	assert.Equal(t, "ready", eval[string](t, ctx, `document.getElementById('ready').textContent`))

	// A call shows within a second.
	in := []byte(`{"computation_type":"sum_numbers","data":[1,2],"cache_enabled":false}`)
	require.Equal(t, 200, f.call(t, "POST", "/v1/nodes/core/compute", invokeToken, "", in, nil))
	called := time.Now()
	waitFor(t, ctx, "the call in the node's row", cell("nodes", "core", "calls")+` === "1"`)
	took := time.Since(called)
	fetch := time.Duration(eval[float64](t, ctx, `+document.body.dataset.fetchMs`)) * time.Millisecond
	bound := time.Second + 2*fetch
	t.Logf("the call showed %v after its response (bound %v: 1 s + 2 × the slowest recent status fetch, %v; polls every %v)",
		took.Round(time.Millisecond), bound, fetch, pollInterval)
	assert.LessOrEqual(t, took, bound, "the page showed the call too late")

	// A breaker opened through the API shows as open; the page's reset button closes it.
	require.Equal(t, 200, f.call(t, "POST", "/v1/breakers/force-open?service=kv", adminToken, "", nil, nil))
	waitFor(t, ctx, "the open breaker", cell("breakers", "kv", "state")+` === "open"`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#breakers tr[data-key="kv"] button[data-action="reset"]`))))
	waitFor(t, ctx, "the reset breaker", cell("breakers", "kv", "state")+` === "closed"`)
	var breakers []map[string]any
	require.Equal(t, 200, f.call(t, "GET", "/v1/breakers", invokeToken, "", nil, &breakers))
	require.Len(t, breakers, 1)
	assert.Equal(t, "closed", breakers[0]["state"], "the button reset the breaker on the server")

	// An event on the bus reaches the page's live list (the event stream, read with the
	// token in a header).
	require.NoError(t, f.host.Events().Publish(context.Background(),
		abi.Event{EventType: "ui.ping", Topic: "onex.evt.ui.ping.v1", EnvelopeID: "env-ui-1"}))
	waitFor(t, ctx, "the event", `!!document.querySelector('#events li[data-id="env-ui-1"]')`)

	// With a workflow engine attached, its workflows show with their steps done.
	eng := newFakeEngine("order")
	wctx, stopWF := context.WithCancel(context.Background())
	wfDone := make(chan struct{})
	go func() { defer close(wfDone); _ = f.srv.RunWorkflows(wctx, eng) }()
	defer func() { stopWF(); <-wfDone }()
	_, _, err := eng.Start(context.Background(), "order-1", "order", json.RawMessage(`1`))
	require.NoError(t, err)
	waitFor(t, ctx, "the workflow row", cell("workflows", "order-1", "status")+` === "running"`)
	assert.Equal(t, "0/0", eval[string](t, ctx, cell("workflows", "order-1", "steps")))

	screenshot(t, ctx, "status-page.png")
	// On a phone's width the page scrolls its tables, not itself.
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))))
	waitFor(t, ctx, "the phone layout", `window.innerWidth === 390`)
	assert.LessOrEqual(t, eval[int](t, ctx, `document.documentElement.scrollWidth`), 390, "the page is wider than a phone")
	screenshot(t, ctx, "status-page-phone.png")

	assert.Empty(t, cons.errors(), "console errors")
}

// TestUI_Status checks what the page reads, without a browser: the files need no token
// and carry their policy; /v1/status needs one and counts calls and errors per node.
func TestUI_Status(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]server.Role{invokeToken: server.RoleInvoke, adminToken: server.RoleAdmin})

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(f.url + "/ui")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
	assert.Equal(t, "/ui/", resp.Header.Get("Location"))
	for _, file := range []string{"/ui/", "/ui/app.js", "/ui/style.css"} {
		resp, err := http.Get(f.url + file)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, file)
		assert.NotEmpty(t, b, file)
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'", file)
	}
	var cfg map[string]bool
	require.Equal(t, 200, f.call(t, "GET", "/ui/config.json", "", "", nil, &cfg))
	assert.Equal(t, map[string]bool{"auth": true}, cfg)

	assert.Equal(t, 401, f.call(t, "GET", "/v1/status", "", "", nil, nil))
	type nodeRow struct {
		Name   string  `json:"name"`
		Calls  uint64  `json:"calls"`
		Errors uint64  `json:"errors"`
		P50    float64 `json:"p50_ms"`
		P99    float64 `json:"p99_ms"`
		Pool   struct {
			Max int `json:"max"`
		} `json:"pool"`
	}
	var st struct {
		Role     string          `json:"role"`
		Ready    bool            `json:"ready"`
		Nodes    []nodeRow       `json:"nodes"`
		Features map[string]bool `json:"features"`
		Cluster  map[string]any  `json:"cluster"`
	}
	require.Equal(t, 200, f.call(t, "GET", "/v1/status", invokeToken, "", nil, &st))
	assert.Equal(t, "invoke", st.Role)
	assert.True(t, st.Ready)
	assert.Equal(t, map[string]bool{"journal": false, "reducers": false, "workflows": false}, st.Features)
	assert.Nil(t, st.Cluster)
	require.Len(t, st.Nodes, len(f.srv.Names()))

	require.Equal(t, 200, f.call(t, "POST", "/v1/nodes/core/compute", invokeToken, "", []byte(`{"computation_type":"sum_numbers","data":[1]}`), nil))
	require.Equal(t, 404, f.call(t, "POST", "/v1/nodes/core/compute", invokeToken, "", []byte(`{"computation_type":"nope","data":[1]}`), nil))
	require.Equal(t, 200, f.call(t, "GET", "/v1/status", adminToken, "", nil, &st))
	assert.Equal(t, "admin", st.Role)
	for _, n := range st.Nodes {
		assert.Positive(t, n.Pool.Max, n.Name)
		if n.Name != "core" {
			assert.Zero(t, n.Calls, n.Name)
			continue
		}
		assert.Equal(t, uint64(2), n.Calls)
		assert.Equal(t, uint64(1), n.Errors)
		assert.Positive(t, n.P50)
		assert.GreaterOrEqual(t, n.P99, n.P50)
	}
	b, err := json.Marshal(st)
	require.NoError(t, err)
	t.Logf("status: %s", b)
}

// TestUI_AuthOffJournalCluster drives the page of a server without tokens (no token is
// asked; the admin parts show), with a journal, and with a cluster status.
func TestUI_AuthOffJournalCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir(t.TempDir()).
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	dir := t.TempDir()
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler),
		Status: func() map[string]any {
			return map[string]any{"nats": map[string]any{"status": "CONNECTED", "host_id": "ui-host-1"}}
		},
		// What host/cluster's Membership lists (TestMembership_Members there runs it on two
		// hosts): this host and another.
		Members: func() []server.ClusterMember {
			return []server.ClusterMember{
				{Host: "ui-host-1", Version: "1.2.3", Nodes: []string{"effects", "fileops"}, Self: true},
				{Host: "ui-host-2", Version: "1.2.3", Nodes: []string{"core"}, Reducers: []string{"cart"}},
			}
		}})
	effectsPath, err := plugintest.Path("plugins/testdata/effects")
	require.NoError(t, err)
	require.NoError(t, srv.Load(ctx, []server.NodeSpec{
		{Path: fileopsPath, Plugin: host.PluginConfig{Grants: host.Grants{Paths: []host.PathGrant{{Dir: dir}}}}},
		// No timeout: its effect below sleeps until the test cancels its request.
		{Path: effectsPath, Plugin: host.PluginConfig{Grants: hosttest.ProxyGrants(dir), Timeout: -1}}}))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		require.NoError(t, h.Close(ctx))
	})
	f := &fixture{url: ts.URL}
	data, _ := json.Marshal(map[string]string{"path": filepath.Join(dir, "a.txt"), "content": "x"})
	in, _ := json.Marshal(abi.EffectInput{EffectType: "write", OperationID: "ui-op-1", OperationData: data})
	require.Equal(t, http.StatusOK, f.call(t, "POST", "/v1/nodes/fileops/effect", "", "", in, nil))

	bctx, cons := browser(t)
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(ts.URL+"/ui/")))
	waitFor(t, bctx, "the node row", cell("nodes", "fileops", "calls")+` === "1"`)
	assert.True(t, eval[bool](t, bctx, `document.getElementById('token-form').hidden`), "no token asked when auth is off")
	assert.Equal(t, "auth off", eval[string](t, bctx, `document.getElementById('role').textContent`))
	waitFor(t, bctx, "the committed effect", `document.getElementById('effects-committed').textContent === "1"`)
	// The journal is read (admin, as everything without auth): the one transaction
	// committed, so none is open or failed.
	waitFor(t, bctx, "the journal's answer", `document.getElementById('journal-note').textContent.startsWith('None')`)
	assert.True(t, eval[bool](t, bctx, `document.getElementById('journal').hidden`), "no rows: no table")

	// An effect in flight shows as open, and its journal record as active (or pending)
	// until its request is canceled and it rolls back.
	script, _ := json.Marshal(hosttest.Script{Steps: []hosttest.Step{{Op: abi.OpKVPut, Key: "ui", Value: "x"}, {Op: "sleep", SleepMS: 600_000}}})
	body, _ := json.Marshal(abi.EffectInput{EffectType: "script", OperationID: "ui-op-2", OperationData: script})
	reqCtx, cancelReq := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(reqCtx, "POST", ts.URL+"/v1/nodes/effects/effect", strings.NewReader(string(body)))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	t.Cleanup(func() { cancelReq(); <-done })
	waitFor(t, bctx, "the effect in flight", `document.getElementById('effects-open').textContent === "1"`)
	waitFor(t, bctx, "its journal record", `[...document.querySelectorAll('#journal tr[data-key] td[data-field="operation"]')].some(td => td.textContent === "ui-op-2")`)
	assert.Contains(t, []string{"active", "pending"}, eval[string](t, bctx,
		`[...document.querySelectorAll('#journal tr[data-key]')].find(r => r.cells[2].textContent === "ui-op-2").cells[3].textContent`))
	screenshot(t, bctx, "status-page-effect-in-flight.png")
	cancelReq()
	<-done
	waitFor(t, bctx, "the rolled back effect", `document.getElementById('effects-rolled-back').textContent === "1" && document.getElementById('effects-open').textContent === "0"`)
	waitFor(t, bctx, "no open record", `document.getElementById('journal').hidden`)
	waitFor(t, bctx, "the cluster section", `!document.getElementById('cluster-section').hidden`)
	assert.Equal(t, "nats.host_id ui-host-1 nats.status CONNECTED",
		eval[string](t, bctx, `[...document.querySelectorAll('#cluster dt, #cluster dd')].map(e => e.textContent).join(' ')`))
	// The members, with the nodes each serves.
	waitFor(t, bctx, "the member rows", `document.querySelectorAll('#members tbody tr').length === 2`)
	assert.Equal(t, "ui-host-1 (this host)", eval[string](t, bctx, cell("members", "ui-host-1", "host")))
	assert.Equal(t, "effects, fileops", eval[string](t, bctx, cell("members", "ui-host-1", "nodes")))
	assert.Equal(t, "–", eval[string](t, bctx, cell("members", "ui-host-1", "reducers")))
	assert.Equal(t, "ui-host-2", eval[string](t, bctx, cell("members", "ui-host-2", "host")))
	assert.Equal(t, "core", eval[string](t, bctx, cell("members", "ui-host-2", "nodes")))
	assert.Equal(t, "cart", eval[string](t, bctx, cell("members", "ui-host-2", "reducers")))
	assert.True(t, eval[bool](t, bctx, `document.getElementById('members-empty').hidden`))
	assert.True(t, eval[bool](t, bctx, `document.getElementById('reducers-section').hidden`), "no reducer nodes: no section")
	screenshot(t, bctx, "status-page-auth-off.png")
	assert.Empty(t, cons.errors(), "console errors")
}
