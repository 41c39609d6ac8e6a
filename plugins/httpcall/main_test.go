package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

// fakeHost answers http.request with body and records the request.
type fakeHost struct {
	body []byte
	got  abi.HTTPRequest
}

func (f *fakeHost) Call(op string, req []byte) (abi.Status, []byte) {
	if op != abi.OpHTTPRequest || json.Unmarshal(req, &f.got) != nil {
		return abi.StatusUnsupported, nil
	}
	b, _ := json.Marshal(abi.HTTPResponse{Status: 201, Body: f.body})
	return abi.StatusOK, b
}

func TestCall(t *testing.T) {
	host := &fakeHost{body: []byte(`{"data":{"id":7,"tags":["a","b"]}}`)}
	t.Cleanup(sdk.SetHost(host))
	in := `{"method":"POST","url":"https://api.example.com/users/{{name}}?x={{missing}}","body":"{\"n\":\"{{name}}\"}",
		"params":{"name":"Ada Lovelace"},"extract":{"id":"data.id","second":"data.tags.1"},
		"compensate":{"method":"DELETE","url":"https://api.example.com/users/{{name}}"}}`
	status, out := sdk.DispatchEffect(context.Background(), "call", []byte(in))
	require.Equal(t, abi.StatusOK, status, "%s", out)
	assert.JSONEq(t, `{"status":201,"fields":{"id":7,"second":"b"}}`, string(out))
	assert.Equal(t, "https://api.example.com/users/Ada%20Lovelace?x={{missing}}", host.got.URL)
	assert.Equal(t, `{"n":"Ada Lovelace"}`, string(host.got.Body))
	require.NotNil(t, host.got.Compensate)
	assert.Equal(t, "https://api.example.com/users/Ada%20Lovelace", host.got.Compensate.URL)

	status, out = sdk.DispatchEffect(context.Background(), "call", []byte(`{"url":"https://x/","extract":{"v":"data.nope"}}`))
	assert.Equal(t, abi.StatusError, status)
	assert.Contains(t, string(out), "missing_field")

	host.body = []byte("plain")
	status, out = sdk.DispatchEffect(context.Background(), "call", []byte(`{"url":"https://x/"}`))
	require.Equal(t, abi.StatusOK, status)
	assert.JSONEq(t, `{"status":201,"body":"plain"}`, string(out))

	status, _ = sdk.DispatchEffect(context.Background(), "call", []byte(`{}`))
	assert.Equal(t, abi.StatusError, status)
}

func TestLookup(t *testing.T) {
	var doc any
	require.NoError(t, json.Unmarshal([]byte(`{"a":[{"b":1}],"c":null}`), &doc))
	v, ok := lookup(doc, "a.0.b")
	assert.True(t, ok)
	assert.Equal(t, 1.0, v)
	v, ok = lookup(doc, "c")
	assert.True(t, ok)
	assert.Nil(t, v)
	for _, p := range []string{"a.1", "a.x", "a.0.b.c", "z"} {
		_, ok := lookup(doc, p)
		assert.False(t, ok, p)
	}
}
