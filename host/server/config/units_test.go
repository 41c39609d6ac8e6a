package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/server/config"
)

func TestSize_UnmarshalYAML(t *testing.T) {
	tests := []struct {
		name  string
		value string // YAML
		want  config.Size
		bad   bool
	}{
		{name: "MiB", value: "64MiB", want: 64 << 20},
		{name: "GiB", value: "1GiB", want: 1 << 30},
		{name: "KiB", value: "512KiB", want: 512 << 10},
		{name: "plain bytes", value: "1048576", want: 1 << 20},
		{name: "quoted bytes", value: `"4096"`, want: 4096},
		{name: "B", value: "100B", want: 100},
		{name: "decimal MB", value: "10MB", want: 10e6},
		{name: "short M", value: "2M", want: 2 << 20},
		{name: "space before unit", value: "8 KiB", want: 8 << 10},
		{name: "zero", value: "0", want: 0},
		{name: "negative", value: "-1", bad: true},
		{name: "fraction", value: "1.5GiB", bad: true},
		{name: "unit only", value: "MiB", bad: true},
		{name: "unknown unit", value: "64XB", bad: true},
		{name: "lowercase unit", value: "64mib", bad: true},
		{name: "overflow", value: "99999999999999GiB", bad: true},
		{name: "a list", value: "[1]", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse([]byte("host: {cache: {bytes: " + tc.value + "}}\n"))
			if tc.bad {
				var fe *config.FieldError
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, "host.cache.bytes", fe.Field)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, f.Host.Cache.Bytes)
		})
	}
}

func TestSize_String(t *testing.T) {
	for _, tc := range []struct {
		size config.Size
		want string
	}{
		{0, "0"}, {1000, "1000"}, {1024, "1KiB"}, {16 << 20, "16MiB"}, {3 << 30, "3GiB"}, {1536 << 10, "1536KiB"},
	} {
		assert.Equal(t, tc.want, tc.size.String())
	}
}

func TestDuration_UnmarshalYAML(t *testing.T) {
	tests := []struct {
		name  string
		value string // YAML
		want  time.Duration
		bad   bool
	}{
		{name: "seconds", value: "30s", want: 30 * time.Second},
		{name: "compound", value: "1h30m", want: 90 * time.Minute},
		{name: "milliseconds", value: "500ms", want: 500 * time.Millisecond},
		{name: "minus one", value: "-1", want: -1},
		{name: "negative", value: "-2s", want: -2 * time.Second},
		{name: "zero", value: "0", want: 0},
		{name: "quoted zero", value: `"0"`, want: 0},
		{name: "bare number", value: "30", bad: true},
		{name: "words", value: "30 sec", bad: true},
		{name: "days", value: "1d", bad: true},
		{name: "a mapping", value: "{s: 1}", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse([]byte("host: {timeout: " + tc.value + "}\n"))
			if tc.bad {
				var fe *config.FieldError
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, "host.timeout", fe.Field)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, time.Duration(f.Host.Timeout))
			assert.Equal(t, tc.want.String(), f.Host.Timeout.String())
		})
	}
}
