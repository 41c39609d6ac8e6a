package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/server"
)

// TestServer_InputDoor is the HTTP door's table (issue 17): every wrong envelope is a
// 400 invalid_input naming what is wrong, never a 200 with a wrong result; the right
// ones still work.
func TestServer_InputDoor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantCode    string // the error code, when wantStatus is not 200
		wantMessage string // part of the error message
		wantResult  string // the result (JSON), when 200
	}{
		// The computation's input schema, checked at the door (issue 21); the node keeps
		// serving (the next row).
		{name: "data the input schema refuses", path: "/v1/nodes/core/compute", body: `{"computation_type":"sum_numbers","data":[1,"2"]}`, wantStatus: 400, wantCode: "invalid_input", wantMessage: "input does not match the input schema: /1: want number, got string"},
		{name: "effect data the input schema refuses", path: "/v1/nodes/fileops/effect", body: `{"effect_type":"write","operation_data":{"path":7}}`, wantStatus: 400, wantCode: "invalid_input", wantMessage: "/path: want string, got number"},
		{name: "named computation", path: "/v1/nodes/core/compute", body: `{"computation_type":"sum_numbers","data":[1,2]}`, wantStatus: 200, wantResult: `3`},
		{name: "explicit default", path: "/v1/nodes/core/compute", body: `{"computation_type":"default","data":[1,2]}`, wantStatus: 200, wantResult: `[1,2]`},
		{name: "unknown field type", path: "/v1/nodes/core/compute", body: `{"type":"sum_numbers","data":[1,2]}`, wantStatus: 400, wantCode: "invalid_input", wantMessage: `unknown field "type"`},
		{name: "unknown field beside the type", path: "/v1/nodes/core/compute", body: `{"computation_type":"sum_numbers","data":[1],"node_id":"n"}`, wantStatus: 400, wantCode: "invalid_input", wantMessage: `unknown field "node_id"`},
		{name: "missing computation_type", path: "/v1/nodes/core/compute", body: `{"data":[1,2]}`, wantStatus: 400, wantCode: "invalid_input", wantMessage: "computation_type"},
		{name: "empty computation_type", path: "/v1/nodes/core/compute", body: `{"computation_type":"","data":[1,2]}`, wantStatus: 400, wantCode: "invalid_input", wantMessage: "computation_type"},
		{name: "invalid UTF-8 in data", path: "/v1/nodes/core/compute", body: "{\"computation_type\":\"default\",\"data\":\"a\xffb\"}", wantStatus: 400, wantCode: "invalid_input", wantMessage: "UTF-8"},
		{name: "trailing data", path: "/v1/nodes/core/compute", body: `{"computation_type":"default","data":1} 2`, wantStatus: 400, wantCode: "invalid_input", wantMessage: "trailing"},
		{name: "not an object", path: "/v1/nodes/core/compute", body: `[1,2]`, wantStatus: 400, wantCode: "invalid_input", wantMessage: "object"},
		{name: "unknown computation", path: "/v1/nodes/core/compute", body: `{"computation_type":"nope","data":1}`, wantStatus: 404, wantCode: "unknown_computation"},
		{name: "batch array unknown field", path: "/v1/nodes/core/batch", body: `[{"computation_type":"sum_numbers","data":[1]},{"type":"sum_numbers","data":[1]}]`, wantStatus: 400, wantCode: "invalid_input", wantMessage: `item 1: abi: invalid envelope: compute input: unknown field "type"`},
		{name: "batch array missing type", path: "/v1/nodes/core/batch", body: `[{"data":[1]}]`, wantStatus: 400, wantCode: "invalid_input", wantMessage: "computation_type"},
		{name: "batch array invalid UTF-8", path: "/v1/nodes/core/batch", body: "[{\"computation_type\":\"default\",\"data\":\"\xc3\"}]", wantStatus: 400, wantCode: "invalid_input", wantMessage: "UTF-8"},
		{name: "batch ndjson missing type", path: "/v1/nodes/core/batch", contentType: "application/x-ndjson", body: "{\"computation_type\":\"default\",\"data\":1}\n{\"data\":1}\n", wantStatus: 400, wantCode: "invalid_input", wantMessage: "line 2"},
		{name: "effect missing effect_type", path: "/v1/nodes/fileops/effect", body: `{"operation_data":{}}`, wantStatus: 400, wantCode: "invalid_input", wantMessage: "effect_type"},
		{name: "effect unknown field", path: "/v1/nodes/fileops/effect", body: `{"effect_type":"write","data":{}}`, wantStatus: 400, wantCode: "invalid_input", wantMessage: `unknown field "data"`},
		{name: "effect invalid UTF-8", path: "/v1/nodes/fileops/effect", body: "{\"effect_type\":\"write\",\"operation_data\":{\"path\":\"\xff\"}}", wantStatus: 400, wantCode: "invalid_input", wantMessage: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp struct {
				Result json.RawMessage `json:"result"`
				Error  struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			status := f.call(t, "POST", tt.path, "", tt.contentType, []byte(tt.body), &resp)
			require.Equal(t, tt.wantStatus, status, "%+v", resp)
			if tt.wantStatus == 200 {
				assert.JSONEq(t, tt.wantResult, string(resp.Result))
				return
			}
			assert.Equal(t, tt.wantCode, resp.Error.Code)
			assert.Contains(t, resp.Error.Message, tt.wantMessage)
		})
	}
}

// TestServer_BearerScheme checks that the Authorization scheme is case-insensitive (RFC
// 9110 §11.1) and that anything but a bearer token is refused.
func TestServer_BearerScheme(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]server.Role{invokeToken: server.RoleInvoke})
	body := `{"computation_type":"sum_numbers","data":[1,2]}`
	tests := []struct {
		name  string
		auth  string
		wantS int
	}{
		{name: "Bearer", auth: "Bearer " + invokeToken, wantS: 200},
		{name: "lower case", auth: "bearer " + invokeToken, wantS: 200},
		{name: "upper case", auth: "BEARER " + invokeToken, wantS: 200},
		{name: "mixed case", auth: "bEaReR " + invokeToken, wantS: 200},
		{name: "wrong token", auth: "bearer nope", wantS: 401},
		{name: "other scheme", auth: "Basic " + invokeToken, wantS: 401},
		{name: "no space", auth: "Bearer" + invokeToken, wantS: 401},
		{name: "scheme only", auth: "bearer ", wantS: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", f.url+"/v1/nodes/core/compute", bytes.NewReader([]byte(body)))
			require.NoError(t, err)
			req.Header.Set("Authorization", tt.auth)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			assert.Equal(t, tt.wantS, resp.StatusCode, "%s", b)
			if tt.wantS == 200 {
				var out abi.ComputeOutput
				require.NoError(t, json.Unmarshal(b, &out))
				assert.JSONEq(t, `3`, string(out.Result))
			}
		})
	}
}

// FuzzServer_compute feeds the HTTP compute door arbitrary bodies: the answer is a 200
// with a JSON result or a JSON error body with a stable code, never a 5xx from the
// decoder, and a 200 only for an envelope the strict decoder accepts.
func FuzzServer_compute(f *testing.F) {
	for _, s := range []string{
		`{"computation_type":"sum_numbers","data":[1,2]}`,
		`{"computation_type":"default","data":"x"}`,
		`{"type":"sum_numbers","data":[1,2]}`,
		`{"data":[1,2]}`,
		"{\"computation_type\":\"default\",\"data\":\"\xff\"}",
		`{"computation_type":"default","data":1} {}`,
		`[1,2]`,
		``,
		`{"computation_type":"sha256","data":"abc","cache_enabled":false,"metadata":{"k":[1]}}`,
	} {
		f.Add([]byte(s))
	}
	fx := newFixture(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		var resp struct {
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		status := fx.call(t, "POST", "/v1/nodes/core/compute", "", "", body, &resp)
		_, decodeErr := abi.DecodeComputeInput(body)
		if decodeErr != nil {
			require.Equal(t, http.StatusBadRequest, status)
			require.NotNil(t, resp.Error)
			require.Equal(t, "invalid_input", resp.Error.Code)
			return
		}
		require.Less(t, status, 500, "a decoded envelope failed with a server error")
		if status == 200 {
			require.True(t, json.Valid(resp.Result))
		} else {
			require.NotNil(t, resp.Error)
			require.False(t, strings.HasPrefix(resp.Error.Code, " "))
		}
	})
}
