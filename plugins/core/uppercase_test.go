package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStringUppercase(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "ascii", in: "hello, world 42", want: "HELLO, WORLD 42"},
		{name: "accents", in: "héllo ünïcode", want: "HÉLLO ÜNÏCODE"},
		{name: "greek and cyrillic", in: "αβγ жзи", want: "ΑΒΓ ЖЗИ"},
		{name: "simple mapping keeps sharp s", in: "straße", want: "STRAßE"},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stringUppercase(context.Background(), tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
