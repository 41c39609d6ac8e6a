package sdk

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestNewError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want abi.Error
	}{
		{name: "new", err: NewError("bad", "msg"), want: abi.Error{Code: "bad", Message: "msg"}},
		{name: "new empty code", err: NewError("", "msg"), want: abi.Error{Code: "error", Message: "msg"}},
		{name: "retryable", err: Retryable("busy", "later"), want: abi.Error{Code: "busy", Message: "later", Retryable: true}},
		{name: "retryable empty code", err: Retryable("", "later"), want: abi.Error{Code: "error", Message: "later", Retryable: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ae *abi.Error
			require.ErrorAs(t, tt.err, &ae)
			assert.Equal(t, tt.want, *ae)
			require.ErrorAs(t, fmt.Errorf("wrapped: %w", tt.err), &ae, "errors.As sees through wrapping")
			assert.Equal(t, tt.want, *ae)
		})
	}
}

func TestErrorPayload(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want abi.Error
	}{
		{name: "plain", err: errors.New("x failed"), want: abi.Error{Code: "error", Message: "x failed"}},
		{name: "direct", err: NewError("c", "m"), want: abi.Error{Code: "c", Message: "m"}},
		{
			name: "wrapped retryable",
			err:  fmt.Errorf("fetch: %w", Retryable("busy", "later")),
			want: abi.Error{Code: "busy", Message: "fetch: busy: later", Retryable: true},
		},
		{name: "abi error without code", err: &abi.Error{Message: "m"}, want: abi.Error{Code: "error", Message: "m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, errorPayload(tt.err))
		})
	}
}
