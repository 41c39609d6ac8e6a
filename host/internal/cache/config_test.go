package cache

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr error
		wantMax int
	}{
		{name: "zero config takes ONEX defaults", cfg: Config{}, wantMax: DefaultMaxEntries},
		{name: "explicit bounds", cfg: Config{MaxEntries: 10, MaxBytes: 1 << 10, TTL: time.Second}, wantMax: 10},
		{name: "negative MaxEntries", cfg: Config{MaxEntries: -1}, wantErr: ErrInvalidConfig},
		{name: "MaxEntries above MaxInt32", cfg: Config{MaxEntries: 1 << 31}, wantErr: ErrInvalidConfig},
		{name: "negative MaxBytes", cfg: Config{MaxBytes: -1}, wantErr: ErrInvalidConfig},
		{name: "MaxBytes fits no entry", cfg: Config{MaxBytes: EntryOverhead}, wantErr: ErrInvalidConfig},
		{name: "negative TTL", cfg: Config{TTL: -time.Second}, wantErr: ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			t.Cleanup(c.Close)
			assert.Equal(t, Stats{MaxSize: tt.wantMax}, c.Stats())
		})
	}
}

func TestWeights_Weight(t *testing.T) {
	tests := []struct {
		name       string
		maxEntries int
		maxBytes   int64
	}{
		{name: "defaults", maxEntries: DefaultMaxEntries, maxBytes: DefaultMaxBytes},
		{name: "one entry", maxEntries: 1, maxBytes: EntryOverhead + 1},
		{name: "odd sizes", maxEntries: 7, maxBytes: 1001},
		{name: "max entries", maxEntries: 1<<31 - 1, maxBytes: 1 << 40},
		{name: "huge bytes", maxEntries: 3, maxBytes: 1<<63 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWeights(tt.maxEntries, tt.maxBytes)
			require.LessOrEqual(t, w.maxWeight, uint64(1<<31))
			require.Positive(t, w.entryUnit)
			// No more than maxEntries of the lightest entries fit, and exactly
			// that many when their bytes fit too.
			assert.Greater(t, uint64(tt.maxEntries+1)*uint64(w.weight(0)), w.maxWeight)
			if uint64(tt.maxEntries)*EntryOverhead <= uint64(tt.maxBytes) {
				assert.LessOrEqual(t, uint64(tt.maxEntries)*uint64(w.weight(0)), w.maxWeight)
			}
			// A weight is never less than the byte share: k entries of size s
			// fit by weight only if they fit by bytes.
			for _, n := range []int{0, 1, 100, 4096, int(min(tt.maxBytes, 1<<40)) - EntryOverhead} {
				if !w.fits(n) {
					continue
				}
				wt := uint64(w.weight(n))
				k := w.maxWeight / wt
				assert.LessOrEqual(t, k*uint64(n+EntryOverhead), uint64(tt.maxBytes), "n=%d", n)
				assert.LessOrEqual(t, k, uint64(tt.maxEntries), "n=%d", n)
			}
			if tt.maxBytes < 1<<62 {
				assert.False(t, w.fits(int(tt.maxBytes)-EntryOverhead+1))
			}
		})
	}
}
