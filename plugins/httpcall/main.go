// Command httpcall is the first-party API effect node (ONEX's api_call): one HTTP request
// to a granted host, built from a template, judged by its success codes, with fields
// extracted from the JSON response.
//
// Effect "call", operation_data:
//
//	{
//	  "method": "POST",                                  default GET
//	  "url": "https://api.example.com/users/{{id}}",     {{name}} is replaced by params[name], escaped
//	  "headers": {"Content-Type": ["application/json"]},
//	  "body": "{\"name\": \"{{name}}\"}",                 {{name}} is replaced as is
//	  "params": {"id": "42", "name": "Ada"},
//	  "success_codes": [200, 201],                       default 200-299
//	  "extract": {"user_id": "data.id", "first": "items.0.name"},
//	  "compensate": {"method": "DELETE", "url": "https://api.example.com/users/{{id}}"},
//	  "timeout_ms": 5000
//	}
//
// It returns {"status", "fields": {name: value}, "body"?} — the body (as text) only when
// nothing is extracted. A status outside success_codes fails the effect (retryable for 5xx
// and 429); a field that is missing from the response fails it too. The compensating
// request, when given, is sent by the host if the effect's transaction rolls back.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o httpcall.wasm ./plugins/httpcall
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

// request is the effect's input.
type request struct {
	Method       string              `json:"method,omitempty"`
	URL          string              `json:"url"`
	Headers      map[string][]string `json:"headers,omitempty"`
	Body         string              `json:"body,omitempty"`
	Params       map[string]string   `json:"params,omitempty"`
	SuccessCodes []int               `json:"success_codes,omitempty"`
	Extract      map[string]string   `json:"extract,omitempty"`
	Compensate   *compensation       `json:"compensate,omitempty"`
	TimeoutMS    int64               `json:"timeout_ms,omitempty"`
}

type compensation struct {
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    string              `json:"body,omitempty"`
}

// response is the effect's output.
type response struct {
	Status int            `json:"status"`
	Fields map[string]any `json:"fields,omitempty"`
	Body   string         `json:"body,omitempty"`
}

func init() {
	sdk.Describe(abi.Manifest{Name: "httpcall", Version: "1.0.0", Kind: abi.KindEffect,
		Description:  "one HTTP request from a template, with success codes and field extraction",
		Capabilities: []abi.Capability{abi.CapabilityHTTP}})
	sdk.Effect(abi.Computation{Name: "call", Description: "send one templated request and extract fields from its JSON response"}, call)
}

func call(_ context.Context, r request) (response, error) {
	if r.URL == "" {
		return response{}, sdk.NewError("invalid_input", "url is required")
	}
	req := abi.HTTPRequest{
		Method:       r.Method,
		URL:          expand(r.URL, r.Params, url.PathEscape),
		Headers:      r.Headers,
		Body:         []byte(expand(r.Body, r.Params, nil)),
		SuccessCodes: r.SuccessCodes,
		TimeoutMS:    r.TimeoutMS,
	}
	if c := r.Compensate; c != nil {
		req.Compensate = &abi.HTTPCompensation{Method: c.Method, URL: expand(c.URL, r.Params, url.PathEscape),
			Headers: c.Headers, Body: []byte(expand(c.Body, r.Params, nil))}
	}
	resp, err := sdk.HTTP.Do(req)
	if err != nil {
		return response{}, err
	}
	out := response{Status: resp.Status}
	if len(r.Extract) == 0 {
		out.Body = string(resp.Body)
		return out, nil
	}
	var doc any
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return response{}, sdk.NewError("invalid_response", fmt.Sprintf("the response is not JSON, so fields cannot be extracted: %v", err))
	}
	out.Fields = make(map[string]any, len(r.Extract))
	for name, path := range r.Extract {
		v, ok := lookup(doc, path)
		if !ok {
			return response{}, sdk.NewError("missing_field", fmt.Sprintf("field %q: %q is not in the response", name, path))
		}
		out.Fields[name] = v
	}
	return out, nil
}

// expand replaces every {{name}} in s by params[name], passed through escape when not nil.
// An unknown name is left as it is.
func expand(s string, params map[string]string, escape func(string) string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			break
		}
		name := strings.TrimSpace(s[i+2 : i+j])
		v, ok := params[name]
		b.WriteString(s[:i])
		switch {
		case !ok:
			b.WriteString(s[i : i+j+2])
		case escape != nil:
			b.WriteString(escape(v))
		default:
			b.WriteString(v)
		}
		s = s[i+j+2:]
	}
	b.WriteString(s)
	return b.String()
}

// lookup follows a dot path ("data.items.0.id") through decoded JSON; numeric segments
// index arrays.
func lookup(doc any, path string) (any, bool) {
	cur := doc
	for _, seg := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func main() {} // required by -buildmode=c-shared, never called
