package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

type fakeCall struct{ op, req string }

// fakeHost records every capability call and answers with answer (nil: status 0, {}).
type fakeHost struct {
	answer func(op string, req []byte) (abi.Status, []byte)
	// mu guards calls.
	mu    sync.Mutex
	calls []fakeCall
}

func (h *fakeHost) Call(op string, req []byte) (abi.Status, []byte) {
	h.mu.Lock()
	h.calls = append(h.calls, fakeCall{op: op, req: string(req)}) // req is a view: copy it
	h.mu.Unlock()
	if h.answer == nil {
		return abi.StatusOK, []byte(`{}`)
	}
	return h.answer(op, req)
}

// useHost installs a fakeHost for the test. Tests that use it must not run in parallel.
func useHost(tb testing.TB, answer func(op string, req []byte) (abi.Status, []byte)) *fakeHost {
	tb.Helper()
	h := &fakeHost{answer: answer}
	tb.Cleanup(SetHost(h))
	return h
}

// reply answers every call with status and body.
func reply(status abi.Status, body string) func(string, []byte) (abi.Status, []byte) {
	return func(string, []byte) (abi.Status, []byte) { return status, []byte(body) }
}

type kvGot struct {
	Value []byte
	Found bool
}

func TestClients_Requests(t *testing.T) {
	useRegistry(t)
	Compensation("undo_ok", undo)
	modTime := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		call func() (any, error)
		op   string
		req  string // the request JSON the host must see
		resp string // the host's response
		want any
	}{
		{
			name: "fs read", call: func() (any, error) { return FS.Read("/srv/data/in.json") },
			op: abi.OpFSRead, req: `{"path":"/srv/data/in.json"}`, resp: `{"data":"aGVsbG8="}`, want: []byte("hello"),
		},
		{
			name: "fs write", call: func() (any, error) { return nil, FS.Write("/srv/data/out", []byte("hello")) },
			op: abi.OpFSWrite, req: `{"path":"/srv/data/out","data":"aGVsbG8="}`, resp: `{}`,
		},
		{
			name: "fs write nil is an empty file", call: func() (any, error) { return nil, FS.Write("/srv/data/out", nil) },
			op: abi.OpFSWrite, req: `{"path":"/srv/data/out","data":""}`, resp: `{}`,
		},
		{
			name: "fs write mode", call: func() (any, error) { return nil, FS.WriteMode("/srv/k", []byte{0, 255}, 0o600) },
			op: abi.OpFSWrite, req: `{"path":"/srv/k","data":"AP8=","mode":384}`, resp: `{}`,
		},
		{
			name: "fs write mode sends only permission bits",
			call: func() (any, error) { return nil, FS.WriteMode("/srv/k", []byte("x"), fs.ModeSetuid|0o755) },
			op:   abi.OpFSWrite, req: `{"path":"/srv/k","data":"eA==","mode":493}`, resp: `{}`,
		},
		{
			name: "fs delete", call: func() (any, error) { return FS.Delete("/srv/old") },
			op: abi.OpFSDelete, req: `{"path":"/srv/old"}`, resp: `{"existed":true}`, want: true,
		},
		{
			name: "fs move", call: func() (any, error) { return nil, FS.Move("/srv/a", "/srv/b") },
			op: abi.OpFSMove, req: `{"from":"/srv/a","to":"/srv/b"}`, resp: `{}`,
		},
		{
			name: "fs copy", call: func() (any, error) { return nil, FS.Copy("/srv/a", "/srv/c") },
			op: abi.OpFSCopy, req: `{"from":"/srv/a","to":"/srv/c"}`, resp: `{}`,
		},
		{
			name: "fs list", call: func() (any, error) { return FS.List("/srv") },
			op: abi.OpFSList, req: `{"path":"/srv"}`,
			resp: `{"entries":[{"name":"a","size":3,"mod_time":"2025-01-02T03:04:05Z"},` +
				`{"name":"d","size":0,"dir":true,"mod_time":"2025-01-02T03:04:05Z"}]}`,
			want: []abi.FSEntry{{Name: "a", Size: 3, ModTime: modTime}, {Name: "d", Dir: true, ModTime: modTime}},
		},
		{
			name: "fs mkdir", call: func() (any, error) { return nil, FS.Mkdir("/srv/new", false) },
			op: abi.OpFSMkdir, req: `{"path":"/srv/new"}`, resp: `{}`,
		},
		{
			name: "fs mkdir with parents", call: func() (any, error) { return nil, FS.Mkdir("/srv/x/y", true) },
			op: abi.OpFSMkdir, req: `{"path":"/srv/x/y","parents":true}`, resp: `{}`,
		},
		{
			name: "kv get found",
			call: func() (any, error) { v, ok, err := KV.Get("cfg/a"); return kvGot{v, ok}, err },
			op:   abi.OpKVGet, req: `{"key":"cfg/a"}`, resp: `{"value":"dg==","found":true}`, want: kvGot{[]byte("v"), true},
		},
		{
			name: "kv get missing",
			call: func() (any, error) { v, ok, err := KV.Get("cfg/b"); return kvGot{v, ok}, err },
			op:   abi.OpKVGet, req: `{"key":"cfg/b"}`, resp: `{"found":false}`, want: kvGot{},
		},
		{
			name: "kv put", call: func() (any, error) { return nil, KV.Put("cfg/a", []byte("v")) },
			op: abi.OpKVPut, req: `{"key":"cfg/a","value":"dg=="}`, resp: `{}`,
		},
		{
			name: "kv put nil is empty", call: func() (any, error) { return nil, KV.Put("cfg/a", nil) },
			op: abi.OpKVPut, req: `{"key":"cfg/a","value":""}`, resp: `{}`,
		},
		{
			name: "kv delete", call: func() (any, error) { return KV.Delete("cfg/a") },
			op: abi.OpKVDelete, req: `{"key":"cfg/a"}`, resp: `{"existed":false}`, want: false,
		},
		{
			name: "kv list", call: func() (any, error) { return KV.List("cfg/", 10) },
			op: abi.OpKVList, req: `{"prefix":"cfg/","limit":10}`, resp: `{"entries":[{"key":"cfg/a","value":"dg=="}]}`,
			want: []abi.KVEntry{{Key: "cfg/a", Value: []byte("v")}},
		},
		{
			name: "kv list everything", call: func() (any, error) { return KV.List("", 0) },
			op: abi.OpKVList, req: `{}`, resp: `{"entries":[]}`, want: []abi.KVEntry{},
		},
		{
			name: "http request",
			call: func() (any, error) {
				return HTTP.Do(abi.HTTPRequest{
					Method: "POST", URL: "https://api.example.com/orders?a=1&b=2",
					Headers: map[string][]string{"Content-Type": {"application/json"}},
					Body:    []byte(`{"n":1}`), TimeoutMS: 500, SuccessCodes: []int{201},
					Compensate: &abi.HTTPCompensation{Method: "DELETE", URL: "https://api.example.com/orders/1"},
				})
			},
			op: abi.OpHTTPRequest,
			req: `{"method":"POST","url":"https://api.example.com/orders?a=1&b=2",` +
				`"headers":{"Content-Type":["application/json"]},"body":"eyJuIjoxfQ==","timeout_ms":500,` +
				`"success_codes":[201],"compensate":{"method":"DELETE","url":"https://api.example.com/orders/1"}}`,
			resp: `{"status":201,"headers":{"Location":["/orders/1"]},"body":"b2s="}`,
			want: abi.HTTPResponse{Status: 201, Headers: map[string][]string{"Location": {"/orders/1"}}, Body: []byte("ok")},
		},
		{
			name: "http minimal", call: func() (any, error) { return HTTP.Do(abi.HTTPRequest{URL: "https://example.com/"}) },
			op: abi.OpHTTPRequest, req: `{"url":"https://example.com/"}`, resp: `{"status":200}`,
			want: abi.HTTPResponse{Status: 200},
		},
		{
			name: "events publish",
			call: func() (any, error) {
				return Events.Publish(abi.Event{EventType: "file.written", Topic: "onex.evt.files.written.v1",
					Key: "/srv/a", Payload: json.RawMessage(`{"path":"/srv/a"}`)})
			},
			op: abi.OpEventsPublish,
			req: `{"event_type":"file.written","topic":"onex.evt.files.written.v1","key":"/srv/a",` +
				`"payload":{"path":"/srv/a"}}`,
			resp: `{"envelope_id":"env-1"}`, want: "env-1",
		},
		{
			name: "tx compensate", call: func() (any, error) { return nil, Compensate("undo_ok", []byte("p")) },
			op: abi.OpTxCompensate, req: `{"name":"undo_ok","payload":"cA=="}`, resp: `{}`,
		},
		{
			name: "tx compensate without payload", call: func() (any, error) { return nil, Compensate("undo_ok", nil) },
			op: abi.OpTxCompensate, req: `{"name":"undo_ok"}`, resp: `{}`,
		},
		{
			name: "empty response body is accepted", call: func() (any, error) { return nil, FS.Move("/a", "/b") },
			op: abi.OpFSMove, req: `{"from":"/a","to":"/b"}`, resp: ``,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := useHost(t, reply(abi.StatusOK, tt.resp))
			got, err := tt.call()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			require.Len(t, h.calls, 1)
			assert.Equal(t, tt.op, h.calls[0].op)
			assert.JSONEq(t, tt.req, h.calls[0].req)
			assert.True(t, json.Valid([]byte(h.calls[0].req)))
			assert.NotContains(t, h.calls[0].req, "\n")
		})
	}
}

func TestCallHost_Errors(t *testing.T) {
	tests := []struct {
		name   string
		answer func(op string, req []byte) (abi.Status, []byte) // nil: no Host installed
		call   func() error
		calls  int
		want   CapabilityError
	}{
		{
			name:   "denied",
			answer: reply(abi.StatusDenied, `{"code":"denied","message":"/etc is not granted"}`),
			call:   func() error { _, err := FS.Read("/etc/passwd"); return err },
			calls:  1,
			want: CapabilityError{Op: abi.OpFSRead, Status: abi.StatusDenied,
				Err: abi.Error{Code: "denied", Message: "/etc is not granted"}},
		},
		{
			name:   "unavailable is retryable without saying so",
			answer: reply(abi.StatusUnavailable, `{"message":"breaker open"}`),
			call:   func() error { return KV.Put("k", []byte("v")) },
			calls:  1,
			want: CapabilityError{Op: abi.OpKVPut, Status: abi.StatusUnavailable,
				Err: abi.Error{Code: "unavailable", Message: "breaker open", Retryable: true}},
		},
		{
			name:   "host code and retryable kept",
			answer: reply(abi.StatusError, `{"code":"http_409","message":"conflict","retryable":true}`),
			call:   func() error { _, err := HTTP.Do(abi.HTTPRequest{URL: "https://x/"}); return err },
			calls:  1,
			want: CapabilityError{Op: abi.OpHTTPRequest, Status: abi.StatusError,
				Err: abi.Error{Code: "http_409", Message: "conflict", Retryable: true}},
		},
		{
			name:   "plain text payload",
			answer: reply(abi.StatusNotFound, `no such file`),
			call:   func() error { _, err := FS.Delete("/srv/x"); return err },
			calls:  1,
			want: CapabilityError{Op: abi.OpFSDelete, Status: abi.StatusNotFound,
				Err: abi.Error{Code: "not_found", Message: "no such file"}},
		},
		{
			name:   "empty payload",
			answer: reply(abi.StatusTimeout, ``),
			call: func() error {
				_, err := Events.Publish(abi.Event{EventType: "x", Topic: "onex.evt.a.b.v1"})
				return err
			},
			calls: 1,
			want: CapabilityError{Op: abi.OpEventsPublish, Status: abi.StatusTimeout,
				Err: abi.Error{Code: "timeout", Retryable: true}},
		},
		{
			name:   "response that does not decode",
			answer: reply(abi.StatusOK, `{"data":12}`),
			call:   func() error { _, err := FS.Read("/srv/x"); return err },
			calls:  1,
			want: CapabilityError{Op: abi.OpFSRead, Status: abi.StatusInternal, Err: abi.Error{Code: "internal",
				Message: "decode response: json: cannot unmarshal number into Go struct field FSReadResponse.data of type []uint8"}},
		},
		{
			name:   "request that does not encode never reaches the host",
			answer: reply(abi.StatusOK, `{}`),
			call: func() error {
				_, err := Events.Publish(abi.Event{EventType: "x", Topic: "onex.evt.a.b.v1", Payload: json.RawMessage(`{`)})
				return err
			},
			want: CapabilityError{Op: abi.OpEventsPublish, Status: abi.StatusInvalidInput, Err: abi.Error{Code: "invalid_input",
				Message: "encode request: json: error calling MarshalJSON for type json.RawMessage: unexpected end of JSON input"}},
		},
		{
			name: "no host natively",
			call: func() error { _, _, err := KV.Get("k"); return err },
			want: CapabilityError{Op: abi.OpKVGet, Status: abi.StatusUnsupported, Err: abi.Error{Code: "unsupported",
				Message: "no host: natively, capability calls go to the Host installed with sdk.SetHost"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h *fakeHost
			if tt.answer != nil {
				h = useHost(t, tt.answer)
			}
			err := tt.call()
			var ce *CapabilityError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.want, *ce)
			assert.Equal(t, "sdk: "+tt.want.Op+": "+tt.want.Err.Code+": "+tt.want.Err.Message, err.Error())
			var ae *abi.Error
			require.ErrorAs(t, err, &ae, "Unwrap exposes the payload")
			assert.Same(t, &ce.Err, ae)
			if h != nil {
				assert.Len(t, h.calls, tt.calls)
			}
		})
	}
}

func TestCapabilityError_HandlerPayload(t *testing.T) {
	ce := &CapabilityError{Op: abi.OpHTTPRequest, Status: abi.StatusUnavailable,
		Err: abi.Error{Code: "unavailable", Message: "503 from api", Retryable: true}}
	tests := []struct {
		name string
		err  error
		want abi.Error
	}{
		{name: "as it is", err: ce,
			want: abi.Error{Code: "unavailable", Message: "sdk: http.request: unavailable: 503 from api", Retryable: true}},
		{name: "wrapped", err: fmt.Errorf("notify: %w", ce),
			want: abi.Error{Code: "unavailable", Message: "notify: sdk: http.request: unavailable: 503 from api", Retryable: true}},
		{name: "not retryable", err: &CapabilityError{Op: abi.OpFSRead, Status: abi.StatusDenied, Err: abi.Error{Code: "denied", Message: "no"}},
			want: abi.Error{Code: "denied", Message: "sdk: fs.read: denied: no"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, errorPayload(tt.err))

			useRegistry(t)
			EffectRaw(abi.Computation{Name: "fail"}, func(context.Context, []byte) ([]byte, error) { return nil, tt.err })
			status, out := DispatchEffect(context.Background(), "fail", nil)
			assert.Equal(t, abi.StatusError, status)
			assert.Equal(t, tt.want, abi.DecodeError(status, out), "the host reads the code and the retryable flag")
		})
	}
}

func TestCallHost_BufferReuse(t *testing.T) {
	big := strings.Repeat("b", 3000)
	files := map[string]string{"/big": big, "/small": "s", "/empty": "", "/mid": strings.Repeat("m", 700)}
	h := useHost(t, func(op string, req []byte) (abi.Status, []byte) {
		var r abi.FSReadRequest
		if err := json.Unmarshal(req, &r); err != nil {
			return abi.StatusInvalidInput, []byte(err.Error())
		}
		data, ok := files[r.Path]
		if !ok {
			return abi.StatusNotFound, []byte(`{"message":"no ` + r.Path + `"}`)
		}
		b, _ := json.Marshal(abi.FSReadResponse{Data: []byte(data)})
		return abi.StatusOK, b
	})
	order := []string{"/big", "/small", "/missing", "/empty", "/mid", "/big", "/small"}
	var got [][]byte
	for _, p := range order {
		b, err := FS.Read(p)
		if p == "/missing" {
			var ce *CapabilityError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "no /missing", ce.Err.Message)
			continue
		}
		require.NoError(t, err, p)
		got = append(got, b)
	}
	want := []string{big, "s", "", files["/mid"], big, "s"}
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i], string(got[i]), "result %d is intact after the later calls", i)
	}
	assert.Len(t, h.calls, len(order))
	assert.Equal(t, `{"path":"/small"}`, h.calls[len(order)-1].req, "the request buffer is reset between calls")

	capClient.mu.Lock()
	defer capClient.mu.Unlock()
	assert.GreaterOrEqual(t, cap(capClient.resp), len(big), "the response buffer is kept, not reallocated per call")
}

func TestCallHost_Concurrent(t *testing.T) {
	useRegistry(t)
	useHost(t, func(op string, req []byte) (abi.Status, []byte) {
		var r abi.KVKeyRequest
		_ = json.Unmarshal(req, &r)
		b, _ := json.Marshal(abi.KVGetResponse{Value: []byte("value of " + r.Key), Found: true})
		return abi.StatusOK, b
	})
	Effect(abi.Computation{Name: "get"}, func(_ context.Context, key string) (string, error) {
		v, _, err := KV.Get(key)
		return string(v), err
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				key := fmt.Sprintf("k%d-%d%s", g, i, strings.Repeat("x", (g*i)%300))
				status, out := DispatchEffect(context.Background(), "get", fmt.Appendf(nil, "%q", key))
				if status != abi.StatusOK || string(out) != fmt.Sprintf("%q", "value of "+key) {
					t.Errorf("got %v %s for %s", status, out, key)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSetHost_Restore(t *testing.T) {
	first := &fakeHost{}
	restoreFirst := SetHost(first)
	second := &fakeHost{}
	restoreSecond := SetHost(second)
	require.NoError(t, FS.Move("/a", "/b"))
	restoreSecond()
	require.NoError(t, FS.Move("/a", "/b"))
	restoreFirst()
	err := FS.Move("/a", "/b")
	var ce *CapabilityError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, abi.StatusUnsupported, ce.Status, "back to the native default")
	assert.Len(t, first.calls, 1)
	assert.Len(t, second.calls, 1)

	restore := SetHost(nil)
	_, err = FS.Read("/a")
	require.ErrorAs(t, err, &ce)
	restore()
}

func TestCompensate_Unknown(t *testing.T) {
	useRegistry(t)
	Compensation("undo_ok", undo)
	h := useHost(t, nil)
	err := Compensate("undo_other", []byte("p"))
	require.ErrorIs(t, err, ErrUnknownCompensation)
	assert.Empty(t, h.calls, "the host is not called")
	require.NoError(t, Compensate("undo_ok", []byte("p")))
	assert.Len(t, h.calls, 1)
}

func TestClient_TakeMoved(t *testing.T) {
	useHost(t, reply(abi.StatusOK, `{"data":"aGk="}`))
	capClient.takeMoved()
	_, err := FS.Read("/p")
	require.NoError(t, err)
	assert.Equal(t, len(`{"path":"/p"}`)+len(`{"data":"aGk="}`), capClient.takeMoved())
	assert.Zero(t, capClient.takeMoved(), "taking resets the count")
}
