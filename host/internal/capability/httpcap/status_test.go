package httpcap

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/onexhost/onex-host/abi"
)

func TestStatusOf(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("httpcap: GET http://x/: %w", err) }
	tests := []struct {
		name          string
		err           error
		wantStatus    abi.Status
		wantCode      string
		wantRetryable bool
	}{
		{name: "nil", err: nil, wantStatus: abi.StatusOK},
		{name: "denied", err: wrap(ErrDenied), wantStatus: abi.StatusDenied, wantCode: "denied"},
		{name: "invalid", err: wrap(ErrInvalidRequest), wantStatus: abi.StatusInvalidInput, wantCode: "invalid_input"},
		{name: "too large", err: wrap(ErrTooLarge), wantStatus: abi.StatusTooLarge, wantCode: "too_large"},
		{name: "timeout", err: wrap(ErrTimeout), wantStatus: abi.StatusTimeout, wantCode: "timeout", wantRetryable: true},
		{name: "deadline", err: wrap(context.DeadlineExceeded), wantStatus: abi.StatusTimeout, wantCode: "timeout", wantRetryable: true},
		{name: "unavailable", err: wrap(ErrUnavailable), wantStatus: abi.StatusUnavailable, wantCode: "unavailable", wantRetryable: true},
		{name: "canceled", err: wrap(context.Canceled), wantStatus: abi.StatusError, wantCode: "canceled"},
		{name: "status 503", err: wrap(&StatusError{Status: 503, Retryable: true}), wantStatus: abi.StatusUnavailable, wantCode: "http_503", wantRetryable: true},
		{name: "status 429", err: &StatusError{Status: 429, Retryable: true}, wantStatus: abi.StatusUnavailable, wantCode: "http_429", wantRetryable: true},
		{name: "status 404", err: &StatusError{Status: 404}, wantStatus: abi.StatusError, wantCode: "http_404"},
		{name: "other", err: errors.New("boom"), wantStatus: abi.StatusError, wantCode: "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, e := StatusOf(tt.err)
			assert.Equal(t, tt.wantStatus, s)
			assert.Equal(t, tt.wantCode, e.Code)
			assert.Equal(t, tt.wantRetryable, e.Retryable)
			if tt.err != nil {
				assert.Equal(t, tt.err.Error(), e.Message)
			}
		})
	}
}

func TestStatusError_Is(t *testing.T) {
	assert.ErrorIs(t, &StatusError{Status: 500, Retryable: true}, ErrStatus)
	assert.ErrorIs(t, &StatusError{Status: 500, Retryable: true}, ErrUnavailable)
	assert.ErrorIs(t, &StatusError{Status: 400}, ErrStatus)
	assert.NotErrorIs(t, &StatusError{Status: 400}, ErrUnavailable)
	for code, want := range map[int]bool{200: false, 302: false, 400: false, 404: false, 408: false, 429: true, 500: true, 502: true, 599: true} {
		assert.Equal(t, want, retryableStatus(code), "status %d", code)
	}
}

func TestStatusError_Error(t *testing.T) {
	e := &StatusError{Method: "POST", URL: "https://api.example.com/items", Status: 422, Excerpt: `{"error":"bad"}`}
	assert.Equal(t, `httpcap: POST https://api.example.com/items: status 422 Unprocessable Entity: {"error":"bad"}`, e.Error())
	assert.Equal(t, "ab", trimPartialRune([]byte("ab\xe2\x82")), "a rune cut by the excerpt limit is dropped")
	assert.Equal(t, "a€", trimPartialRune([]byte("a€")))
}
