package events

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	const topic = "onex.evt.orders.placed.v1"
	tests := []struct {
		name    string
		pattern string
		topic   string
		want    bool
	}{
		{"exact", topic, topic, true},
		{"exact differs", "onex.evt.orders.shipped.v1", topic, false},
		{"star one segment", "onex.evt.*.placed.v1", topic, true},
		{"star first", "*.evt.orders.placed.v1", topic, true},
		{"stars everywhere", "*.*.*.*.*", topic, true},
		{"star too few segments", "*.*.*.*", topic, false},
		{"star too many segments", "*.*.*.*.*.*", topic, false},
		{"star not multiple", "onex.*.placed.v1", topic, false},
		{"tail one", "onex.evt.orders.placed.>", topic, true},
		{"tail many", "onex.evt.>", topic, true},
		{"tail all", ">", topic, true},
		{"tail needs one", "onex.evt.orders.placed.v1.>", topic, false},
		{"star then tail", "onex.*.orders.>", topic, true},
		{"prefix only", "onex.evt", topic, false},
		{"longer pattern", topic + ".x", topic, false},
		{"other domain", "onex.evt.users.>", topic, false},
		{"segment prefix is not a match", "onex.evt.order.>", topic, false},
		{"empty topic", ">", "", false},
		{"trailing dot topic", "a.>", "a.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, err := parsePattern(tt.pattern)
			require.NoError(t, err)
			assert.Equal(t, tt.want, match(segs, tt.topic))
		})
	}
}

func TestParsePattern_Invalid(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
	}{
		{"empty", ""},
		{"empty segment", "onex..orders"},
		{"leading dot", ".onex"},
		{"trailing dot", "onex."},
		{"tail not last", "onex.>.v1"},
		{"star in segment", "onex.ev*"},
		{"tail in segment", "onex.evt>"},
		{"whitespace", "onex.evt. orders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePattern(tt.pattern)
			require.ErrorIs(t, err, ErrInvalidSubscription)
		})
	}
}

func TestMatch_NoAlloc(t *testing.T) {
	segs, err := parsePattern("onex.*.orders.>")
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() { match(segs, "onex.evt.orders.placed.v1") })
	assert.Zero(t, allocs)
}
