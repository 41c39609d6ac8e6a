package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/onexhost/onex-host/host"
)

// apiError is the body of every error response.
type apiError struct {
	Error errorBody `json:"error"`
	// OperationID is the failed operation's id, when it got one.
	OperationID string `json:"operation_id,omitempty"`
}

type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable,omitempty"`
}

// Codes the server itself gives (a plugin's errors keep the plugin's code).
const (
	codeUnauthorized = "unauthorized"
	codeForbidden    = "forbidden"
	codeNotFound     = "not_found"
	codeBadRequest   = "invalid_request"
	codeInvalidInput = "invalid_input" // an envelope abi.DecodeComputeInput refuses, as host.ErrInvalidInput
	codeTooLarge     = "request_too_large"
	codeUnavailable  = "unavailable"
	codeQuarantined  = "quarantined"
)

// kinds maps each host sentinel to an HTTP status and a stable code.
var kinds = []struct {
	err    error
	status int
	code   string
}{
	{host.ErrInvalidInput, http.StatusBadRequest, "invalid_input"},
	{host.ErrInputTooLarge, http.StatusRequestEntityTooLarge, "input_too_large"},
	{host.ErrUnknownComputation, http.StatusNotFound, "unknown_computation"},
	{host.ErrCapabilityDenied, http.StatusForbidden, "capability_denied"},
	{host.ErrTimeout, http.StatusGatewayTimeout, "timeout"},
	{host.ErrFuelExhausted, http.StatusUnprocessableEntity, "fuel_exhausted"},
	{host.ErrCanceled, http.StatusServiceUnavailable, "canceled"},
	{host.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{host.ErrClosed, http.StatusServiceUnavailable, "closed"},
	{host.ErrQuarantined, http.StatusServiceUnavailable, "quarantined"},
	{host.ErrNotFound, http.StatusUnprocessableEntity, "not_found"},
	{host.ErrFailed, http.StatusUnprocessableEntity, "failed"},
	{host.ErrUnsupported, http.StatusUnprocessableEntity, "unsupported"},
	{host.ErrOutputTooLarge, http.StatusBadGateway, "output_too_large"},
	{host.ErrInvalidOutput, http.StatusBadGateway, "invalid_output"},
	{host.ErrMemoryLimit, http.StatusBadGateway, "memory_limit"},
	{host.ErrTrap, http.StatusBadGateway, "trap"},
	{host.ErrPanic, http.StatusBadGateway, "panic"},
	{host.ErrOutOfBounds, http.StatusBadGateway, "out_of_bounds"},
}

// classify returns the HTTP status and the error body of a host error. A plugin's own
// error code wins over the kind's.
func classify(err error) (int, errorBody) {
	status, body := http.StatusInternalServerError, errorBody{Code: "internal", Message: err.Error()}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			status, body.Code = k.status, k.code
			break
		}
	}
	if pe, ok := errors.AsType[*host.PluginError](err); ok {
		if pe.Code != "" {
			body.Code = pe.Code
		}
		body.Retryable = pe.Retryable
	}
	return status, body
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away: nothing to do
}

// writeError writes an error response.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, apiError{Error: errorBody{Code: code, Message: message}})
}

// writeHostError writes the response of a failed host call.
func writeHostError(w http.ResponseWriter, err error, opID string) {
	status, body := classify(err)
	writeJSON(w, status, apiError{Error: body, OperationID: opID})
}
