package cluster_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/server"
)

// TestService_InputDoor is the NATS door's table (issue 17): the service decodes a
// request exactly as the HTTP API does, so a wrong envelope is a 400 invalid_input
// naming what is wrong, never a 200 with a wrong result.
func TestService_InputDoor(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{})
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	c := patientClient(t, nc, 2)
	tests := []struct {
		name        string
		node, op    string
		body        string
		wantStatus  int
		wantResult  string // with 200
		wantMessage string // part of the error message otherwise
	}{
		{name: "named computation", node: "core", op: server.OperationCompute, body: `{"computation_type":"sum_numbers","data":[1,2]}`, wantStatus: 200, wantResult: "3"},
		{name: "explicit default", node: "core", op: server.OperationCompute, body: `{"computation_type":"default","data":[1,2]}`, wantStatus: 200, wantResult: "[1,2]"},
		{name: "unknown field type", node: "core", op: server.OperationCompute, body: `{"type":"sum_numbers","data":[1,2]}`, wantStatus: 400, wantMessage: `unknown field "type"`},
		{name: "missing computation_type", node: "core", op: server.OperationCompute, body: `{"data":[1,2]}`, wantStatus: 400, wantMessage: "computation_type is missing"},
		{name: "invalid UTF-8", node: "core", op: server.OperationCompute, body: "{\"computation_type\":\"default\",\"data\":\"a\xffb\"}", wantStatus: 400, wantMessage: "not valid UTF-8"},
		{name: "trailing data", node: "core", op: server.OperationCompute, body: `{"computation_type":"default","data":1}{}`, wantStatus: 400, wantMessage: "trailing data"},
		{name: "effect missing effect_type", node: "effects", op: server.OperationEffect, body: `{"operation_data":{}}`, wantStatus: 400, wantMessage: "effect_type is missing"},
		{name: "effect unknown field", node: "effects", op: server.OperationEffect, body: `{"effect_type":"default","data":{}}`, wantStatus: 400, wantMessage: `unknown field "data"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.Route(context.Background(), tt.node, tt.op, []byte(tt.body))
			require.NoError(t, err)
			require.Equal(t, tt.wantStatus, resp.Status, "%s", resp.Body)
			var body struct {
				Result json.RawMessage `json:"result"`
				Error  struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(resp.Body, &body))
			if tt.wantStatus == http.StatusOK {
				assert.JSONEq(t, tt.wantResult, string(body.Result))
				return
			}
			assert.Equal(t, "invalid_input", body.Error.Code)
			assert.Contains(t, body.Error.Message, tt.wantMessage)
		})
	}
}
