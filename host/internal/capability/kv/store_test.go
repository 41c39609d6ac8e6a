package kv

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStore_GetPutDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		tests := []struct {
			name    string
			before  map[string]string
			do      func(s Store) (any, error)
			want    any
			after   map[string]string
			wantErr error
		}{
			{
				name: "get absent key",
				do: func(s Store) (any, error) {
					v, found, err := s.Get(ctx, "a")
					return []any{v, found}, err
				},
				want:  []any{[]byte(nil), false},
				after: map[string]string{},
			},
			{
				name:   "get present key",
				before: map[string]string{"a": "1", "b": "2"},
				do: func(s Store) (any, error) {
					v, found, err := s.Get(ctx, "a")
					return []any{string(v), found}, err
				},
				want:  []any{"1", true},
				after: map[string]string{"a": "1", "b": "2"},
			},
			{
				name:  "put new key",
				do:    func(s Store) (any, error) { return nil, s.Put(ctx, "a", []byte("1")) },
				after: map[string]string{"a": "1"},
			},
			{
				name:   "put overwrites",
				before: map[string]string{"a": "1"},
				do:     func(s Store) (any, error) { return nil, s.Put(ctx, "a", []byte("2")) },
				after:  map[string]string{"a": "2"},
			},
			{
				name: "put empty value is present",
				do: func(s Store) (any, error) {
					if err := s.Put(ctx, "a", nil); err != nil {
						return nil, err
					}
					v, found, err := s.Get(ctx, "a")
					return []any{v, found}, err
				},
				want:  []any{[]byte{}, true},
				after: map[string]string{"a": ""},
			},
			{
				name:   "delete present key",
				before: map[string]string{"a": "1", "b": "2"},
				do:     func(s Store) (any, error) { return s.Delete(ctx, "a") },
				want:   true,
				after:  map[string]string{"b": "2"},
			},
			{
				name:   "delete absent key",
				before: map[string]string{"b": "2"},
				do:     func(s Store) (any, error) { return s.Delete(ctx, "a") },
				want:   false,
				after:  map[string]string{"b": "2"},
			},
			{
				name:   "delete twice",
				before: map[string]string{"a": "1"},
				do: func(s Store) (any, error) {
					first, err := s.Delete(ctx, "a")
					if err != nil {
						return nil, err
					}
					second, err := s.Delete(ctx, "a")
					return []bool{first, second}, err
				},
				want:  []bool{true, false},
				after: map[string]string{},
			},
			{
				name: "key of MaxKeyLen bytes",
				do: func(s Store) (any, error) {
					return nil, s.Put(ctx, strings.Repeat("k", MaxKeyLen), []byte("1"))
				},
				after: map[string]string{strings.Repeat("k", MaxKeyLen): "1"},
			},
			{
				name: "value of MaxValueSize bytes",
				do: func(s Store) (any, error) {
					return nil, s.Put(ctx, "a", []byte(strings.Repeat("v", 64)))
				},
				after: map[string]string{"a": strings.Repeat("v", 64)},
			},
			{
				name:  "unicode key",
				do:    func(s Store) (any, error) { return nil, s.Put(ctx, "schlüssel/鍵", []byte("1")) },
				after: map[string]string{"schlüssel/鍵": "1"},
			},
			{
				name:    "empty key",
				before:  map[string]string{"a": "1"},
				do:      func(s Store) (any, error) { return nil, s.Put(ctx, "", []byte("1")) },
				after:   map[string]string{"a": "1"},
				wantErr: ErrInvalidKey,
			},
			{
				name: "key too long",
				do: func(s Store) (any, error) {
					return nil, s.Put(ctx, strings.Repeat("k", MaxKeyLen+1), []byte("1"))
				},
				after:   map[string]string{},
				wantErr: ErrInvalidKey,
			},
			{
				name:    "key not UTF-8",
				do:      func(s Store) (any, error) { return nil, s.Put(ctx, "a\xff", []byte("1")) },
				after:   map[string]string{},
				wantErr: ErrInvalidKey,
			},
			{
				name:    "get empty key",
				do:      func(s Store) (any, error) { _, _, err := s.Get(ctx, ""); return nil, err },
				after:   map[string]string{},
				wantErr: ErrInvalidKey,
			},
			{
				name:    "delete invalid key",
				before:  map[string]string{"a": "1"},
				do:      func(s Store) (any, error) { return nil, errOf(s.Delete(ctx, "\xfe")) },
				after:   map[string]string{"a": "1"},
				wantErr: ErrInvalidKey,
			},
			{
				name:   "value too large",
				before: map[string]string{"a": "1"},
				do: func(s Store) (any, error) {
					return nil, s.Put(ctx, "a", []byte(strings.Repeat("v", 65)))
				},
				after:   map[string]string{"a": "1"},
				wantErr: ErrTooLarge,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := ns(t, open(t, Config{MaxValueSize: 64}), "node")
				put(t, s, tt.before)
				got, err := tt.do(s)
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
				} else {
					require.NoError(t, err)
					assert.Equal(t, tt.want, got)
				}
				assert.Equal(t, tt.after, dump(t, s))
			})
		}
	})
}

// errOf drops the first result of a two-result call.
func errOf[T any](_ T, err error) error { return err }

func TestStore_List(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		s := ns(t, open(t, Config{}), "node")
		// Put in random (map) order. "a" and "ab" sit just outside the
		// prefix "a/"; "é" is a multi-byte key that sorts after ASCII.
		put(t, s, map[string]string{
			"b": "5", "a/2": "2", "a/10": "3", "a/1": "1", "a": "0", "ab": "4", "é": "6", "a/1/x": "7",
		})
		tests := []struct {
			name    string
			prefix  string
			limit   int
			want    []string
			wantErr error
		}{
			{name: "all, sorted by bytes", prefix: "", want: []string{"a", "a/1", "a/1/x", "a/10", "a/2", "ab", "b", "é"}},
			{name: "prefix", prefix: "a/", want: []string{"a/1", "a/1/x", "a/10", "a/2"}},
			{name: "prefix that is a key", prefix: "a/1", want: []string{"a/1", "a/1/x", "a/10"}},
			{name: "limit takes the first", prefix: "a/", limit: 2, want: []string{"a/1", "a/1/x"}},
			{name: "limit above matches", prefix: "a/", limit: 100, want: []string{"a/1", "a/1/x", "a/10", "a/2"}},
			{name: "no match", prefix: "c", want: []string{}},
			{name: "no match past every key", prefix: "\U0010ffff", want: []string{}},
			{name: "unicode prefix", prefix: "é", want: []string{"é"}},
			{name: "negative limit", limit: -1, wantErr: ErrInvalidLimit},
			{name: "prefix not UTF-8", prefix: "a\xff", wantErr: ErrInvalidKey},
			{name: "prefix too long", prefix: strings.Repeat("a", MaxKeyLen+1), wantErr: ErrInvalidKey},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				entries, err := s.List(t.Context(), tt.prefix, tt.limit)
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
					assert.Nil(t, entries)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tt.want, keys(entries))
				for _, e := range entries {
					v, _, err := s.Get(t.Context(), e.Key)
					require.NoError(t, err)
					assert.Equal(t, v, e.Value, e.Key)
				}
			})
		}
	})
}

func TestStore_ListLimitCap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		s := ns(t, open(t, Config{NoSync: true}), "node")
		for i := range MaxListLimit + 5 {
			require.NoError(t, s.Put(t.Context(), fmt.Sprintf("k%05d", i), []byte{byte(i)}))
		}
		for _, limit := range []int{0, MaxListLimit + 1, 1 << 30} {
			entries, err := s.List(t.Context(), "k", limit)
			require.NoError(t, err)
			require.Len(t, entries, MaxListLimit, "limit %d", limit)
			assert.Equal(t, "k00000", entries[0].Key)
			assert.Equal(t, fmt.Sprintf("k%05d", MaxListLimit-1), entries[MaxListLimit-1].Key)
		}
	})
}

func TestStore_Copies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		s := ns(t, open(t, Config{}), "node")
		in := []byte("value")
		require.NoError(t, s.Put(ctx, "a", in))
		in[0] = 'X'

		got, _, err := s.Get(ctx, "a")
		require.NoError(t, err)
		got[0] = 'Y'
		entries, err := s.List(ctx, "", 0)
		require.NoError(t, err)
		entries[0].Value[0] = 'Z'

		assert.Equal(t, map[string]string{"a": "value"}, dump(t, s))
	})
}

func TestDB_Namespace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		db := open(t, Config{})
		a, b := ns(t, db, "node-a"), ns(t, db, "node-b")
		// "node" is a prefix of both names: it must still be separate.
		c := ns(t, db, "node")
		assert.Equal(t, "node-a", a.Namespace())

		put(t, a, map[string]string{"k": "a", "only-a": "1"})
		put(t, b, map[string]string{"k": "b"})
		existed, err := c.Delete(ctx, "k")
		require.NoError(t, err)
		assert.False(t, existed)
		existed, err = b.Delete(ctx, "only-a")
		require.NoError(t, err)
		assert.False(t, existed)

		assert.Equal(t, map[string]string{"k": "a", "only-a": "1"}, dump(t, a))
		assert.Equal(t, map[string]string{"k": "b"}, dump(t, b))
		assert.Empty(t, dump(t, c))
		assert.Equal(t, map[string]string{"k": "a", "only-a": "1"}, dump(t, ns(t, db, "node-a")), "a second view sees the same keys")

		for _, bad := range []string{"", strings.Repeat("n", MaxNamespaceLen+1), "n\xff"} {
			_, err := db.Namespace(bad)
			assert.ErrorIs(t, err, ErrInvalidNamespace, "%q", bad)
		}
		_, err = db.Namespace(strings.Repeat("n", MaxNamespaceLen))
		assert.NoError(t, err)
	})
}

// calls runs every Store method once on s and returns their errors by name.
func calls(ctx context.Context, s Store) map[string]error {
	_, _, getErr := s.Get(ctx, "a")
	_, delErr := s.Delete(ctx, "a")
	_, listErr := s.List(ctx, "", 0)
	return map[string]error{
		"get":    getErr,
		"put":    s.Put(ctx, "a", []byte("2")),
		"delete": delErr,
		"list":   listErr,
	}
}

func TestStore_Close(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		db := open(t, Config{})
		s, other := ns(t, db, "node"), ns(t, db, "node")
		put(t, s, map[string]string{"a": "1"})

		require.NoError(t, s.Close())
		require.NoError(t, s.Close(), "second Close")
		for name, err := range calls(ctx, s) {
			assert.ErrorIs(t, err, ErrClosed, name)
		}
		assert.Equal(t, map[string]string{"a": "1"}, dump(t, other), "closing a view leaves the namespace alone")

		require.NoError(t, db.Close())
		require.NoError(t, db.Close(), "second Close")
		for name, err := range calls(ctx, other) {
			assert.ErrorIs(t, err, ErrClosed, name)
		}
		_, err := db.Namespace("node")
		assert.ErrorIs(t, err, ErrClosed)
	})
}

func TestStore_Context(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		s := ns(t, open(t, Config{}), "node")
		put(t, s, map[string]string{"a": "1"})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for name, err := range calls(ctx, s) {
			assert.ErrorIs(t, err, context.Canceled, name)
		}
		assert.Equal(t, map[string]string{"a": "1"}, dump(t, s))
	})
}

func TestConfig_withDefaults(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		want    Config
		wantErr bool
	}{
		{name: "zero", want: Config{MaxValueSize: DefaultMaxValueSize, LockTimeout: DefaultLockTimeout}},
		{name: "kept", cfg: Config{MaxValueSize: 7, LockTimeout: 3, NoSync: true}, want: Config{MaxValueSize: 7, LockTimeout: 3, NoSync: true}},
		{name: "largest value size", cfg: Config{MaxValueSize: 1 << 30}, want: Config{MaxValueSize: 1 << 30, LockTimeout: DefaultLockTimeout}},
		{name: "value size too large", cfg: Config{MaxValueSize: 1<<30 + 1}, wantErr: true},
		{name: "negative value size", cfg: Config{MaxValueSize: -1}, wantErr: true},
		{name: "negative lock timeout", cfg: Config{LockTimeout: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.withDefaults()
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalidConfig)
				_, err = NewMemory(tt.cfg)
				require.ErrorIs(t, err, ErrInvalidConfig)
				_, err = OpenBolt(t.TempDir()+"/kv.db", tt.cfg)
				require.ErrorIs(t, err, ErrInvalidConfig)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
