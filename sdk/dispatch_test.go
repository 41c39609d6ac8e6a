package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func upper(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil }

func echo(_ context.Context, data []byte) ([]byte, error) { return data, nil }

type point struct {
	X int `json:"x"`
	Y int `json:"y"`
}

// registerFixtures registers one computation per behaviour Dispatch must handle.
func registerFixtures() {
	Describe(abi.Manifest{Name: "fixtures", Version: "1.0.0"})
	Compute(abi.Computation{Name: "upper"}, upper)
	Compute(abi.Computation{Name: "swap"}, func(_ context.Context, p point) (point, error) {
		return point{X: p.Y, Y: p.X}, nil
	})
	Compute(abi.Computation{Name: "html"}, func(_ context.Context, s string) (string, error) {
		return "<" + s + ">", nil
	})
	Compute(abi.Computation{Name: "coded"}, func(_ context.Context, _ json.RawMessage) (int, error) {
		return 0, NewError("bad_thing", "it went wrong")
	})
	Compute(abi.Computation{Name: "wrapped"}, func(_ context.Context, _ json.RawMessage) (int, error) {
		return 0, fmt.Errorf("load config: %w", NewError("missing", "no such key"))
	})
	Compute(abi.Computation{Name: "plain"}, func(_ context.Context, _ json.RawMessage) (int, error) {
		return 0, errors.New("plain failure")
	})
	Compute(abi.Computation{Name: "busy"}, func(_ context.Context, _ json.RawMessage) (int, error) {
		return 0, Retryable("busy", "try later")
	})
	Compute(abi.Computation{Name: "boom"}, func(_ context.Context, _ json.RawMessage) (int, error) {
		panic("boom")
	})
	Compute(abi.Computation{Name: "index"}, func(_ context.Context, xs []int) (int, error) {
		return xs[len(xs)], nil // index out of range: a runtime panic
	})
	Compute(abi.Computation{Name: "nan"}, func(_ context.Context, _ json.RawMessage) (float64, error) {
		return math.NaN(), nil
	})
	Compute(abi.Computation{Name: "zero"}, func(_ context.Context, p point) (point, error) { return p, nil })
	ComputeRaw(abi.Computation{Name: "default"}, echo)
	ComputeRaw(abi.Computation{Name: "raw_fail"}, func(_ context.Context, _ []byte) ([]byte, error) {
		return nil, Retryable("", "raw failure")
	})
}

func TestDispatch(t *testing.T) {
	useRegistry(t)
	registerFixtures()
	tests := []struct {
		name        string
		computation string
		data        string
		status      abi.Status
		out         string // exact output on success; error payload JSON otherwise
		contains    []string
	}{
		{name: "typed string", computation: "upper", data: `"héllo"`, out: `"HÉLLO"`},
		{name: "typed struct", computation: "swap", data: `{"x":1,"y":2}`, out: `{"x":2,"y":1}`},
		{name: "html not escaped", computation: "html", data: `"a&b"`, out: `"<a&b>"`},
		{name: "empty data is null", computation: "zero", data: ``, out: `{"x":0,"y":0}`},
		{name: "raw handler", computation: "default", data: `{"k": [1, 2]}`, out: `{"k": [1, 2]}`},
		{name: "empty name means default", computation: "", data: `[1]`, out: `[1]`},
		{
			name: "invalid JSON", computation: "upper", data: `{"not":`,
			status:   abi.StatusInvalidInput,
			contains: []string{`"code":"invalid_input"`, `computation \"upper\"`, "decode input as string"},
		},
		{
			name: "wrong type", computation: "swap", data: `"text"`,
			status:   abi.StatusInvalidInput,
			contains: []string{`computation \"swap\"`, "decode input as sdk.point"},
		},
		{
			name: "unknown computation", computation: "nope", data: `1`,
			status:   abi.StatusUnknownComputation,
			contains: []string{`"code":"unknown_computation"`, `unknown computation \"nope\"`, "upper, swap, html"},
		},
		{
			name: "coded error", computation: "coded", data: `1`,
			status: abi.StatusError, out: `{"code":"bad_thing","message":"it went wrong"}`,
		},
		{
			name: "wrapped coded error keeps the whole text", computation: "wrapped", data: `1`,
			status: abi.StatusError, out: `{"code":"missing","message":"load config: missing: no such key"}`,
		},
		{
			name: "plain error", computation: "plain", data: `1`,
			status: abi.StatusError, out: `{"code":"error","message":"plain failure"}`,
		},
		{
			name: "retryable", computation: "busy", data: `1`,
			status: abi.StatusError, out: `{"code":"busy","message":"try later","retryable":true}`,
		},
		{
			name: "raw retryable with default code", computation: "raw_fail", data: `1`,
			status: abi.StatusError, out: `{"code":"error","message":"raw failure","retryable":true}`,
		},
		{
			name: "unencodable result", computation: "nan", data: `1`,
			status:   abi.StatusError,
			contains: []string{`"code":"invalid_output"`, `computation \"nan\": encode result`},
		},
		{
			name: "panic", computation: "boom", data: `1`,
			status:   abi.StatusPanic,
			contains: []string{`"code":"panic"`, `"message":"panic: boom\n`, "sdk.registerFixtures.func", "dispatch_test.go:"},
		},
		{
			name: "runtime panic", computation: "index", data: `[1,2]`,
			status:   abi.StatusPanic,
			contains: []string{`"message":"panic: runtime error: index out of range [2] with length 2\n`, "dispatch_test.go:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := Dispatch(context.Background(), tt.computation, []byte(tt.data))
			assert.Equal(t, tt.status, status)
			if tt.out != "" {
				assert.Equal(t, tt.out, string(out))
			}
			for _, want := range tt.contains {
				assert.Contains(t, string(out), want)
			}
			if tt.status != abi.StatusOK {
				var p abi.Error
				require.NoError(t, json.Unmarshal(out, &p), "error payloads are JSON objects")
				assert.Equal(t, p, abi.DecodeError(tt.status, out), "the host decodes what the guest wrote")
			}
		})
	}
}

func TestDispatch_PanicMessageIsShort(t *testing.T) {
	useRegistry(t)
	registerFixtures()
	_, out := Dispatch(context.Background(), "boom", []byte(`1`))
	p := abi.DecodeError(abi.StatusPanic, out)
	lines := strings.Split(p.Message, "\n")
	require.Len(t, lines, 2, "the panic site only: the SDK's own frames are left out")
	assert.Contains(t, lines[1], "registerFixtures", "the innermost frame is the panic site")
	assert.Contains(t, lines[1], "dispatch_test.go:")
}

func TestPanicMessage_DeepStack(t *testing.T) {
	useRegistry(t)
	var deep func(n int) int
	deep = func(n int) int {
		if n == 0 {
			panic(errors.New("deep"))
		}
		return deep(n-1) + 1
	}
	Compute(abi.Computation{Name: "deep"}, func(_ context.Context, n int) (int, error) { return deep(n), nil })
	_, out := Dispatch(context.Background(), "deep", []byte(`20`))
	lines := strings.Split(abi.DecodeError(abi.StatusPanic, out).Message, "\n")
	assert.Equal(t, "panic: deep", lines[0])
	assert.Len(t, lines, 1+maxPanicFrames, "a deep stack is cut at maxPanicFrames")
}

func TestDispatch_Concurrent(t *testing.T) {
	useRegistry(t)
	registerFixtures()
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				status, out := Dispatch(context.Background(), "swap", fmt.Appendf(nil, `{"x":%d,"y":7}`, i))
				if status != abi.StatusOK || string(out) != fmt.Sprintf(`{"x":7,"y":%d}`, i) {
					t.Errorf("got %v %s", status, out)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}
