package reducer

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// KeyInfo is one key of a node as Keys lists it.
type KeyInfo struct {
	Key      string `json:"key"`
	Sequence uint64 `json:"sequence"` // the key's last applied sequence
}

// Keys lists up to limit keys of node that have a state, in the store's order — shorter
// keys first, keys of one length in byte order — starting after the key after ("" starts
// at the first; after need not exist). It returns more = true when keys follow the last
// one listed: pass that key as after for the next page. A limit <= 0 lists every key. A
// page costs O(limit), whatever the number of keys. Each call reads one consistent
// snapshot; a key created between two pages is listed later only when it sorts after the
// cursor. Errors: ErrClosed, or a corrupt record.
func (s *Store) Keys(node, after string, limit int) (keys []KeyInfo, more bool, err error) {
	prefix := nodePrefix(node)
	err = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketState).Cursor()
		k, v := c.Seek(prefix)
		if after != "" {
			start := nodeKey(node, after)
			if k, v = c.Seek(start); bytes.Equal(k, start) {
				k, v = c.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if limit > 0 && len(keys) == limit {
				more = true
				return nil
			}
			key, ok := keyOf(k, len(prefix))
			if !ok || len(v) < 8 {
				return errCorrupt
			}
			keys = append(keys, KeyInfo{Key: key, Sequence: binary.BigEndian.Uint64(v)})
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("reducer: keys of node %s: %w", node, err)
	}
	return keys, more, nil
}

// keyOf decodes the key of a state record whose node prefix is n bytes long.
func keyOf(nk []byte, n int) (string, bool) {
	l, w := binary.Uvarint(nk[n:])
	if w <= 0 || uint64(len(nk)-n-w) != l {
		return "", false
	}
	return string(nk[n+w:]), true
}
