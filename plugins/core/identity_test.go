package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdentity(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "object", in: `{"a": [1, 2]}`, want: `{"a": [1, 2]}`},
		{name: "string", in: `"x"`, want: `"x"`},
		{name: "empty is null", in: ``, want: `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := identity(context.Background(), []byte(tt.in))
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}
