package kv

import (
	"fmt"
	"unicode/utf8"
)

// checkNamespace returns nil or an error wrapping ErrInvalidNamespace.
func checkNamespace(ns string) error {
	switch {
	case ns == "":
		return fmt.Errorf("%w: namespace is empty", ErrInvalidNamespace)
	case len(ns) > MaxNamespaceLen:
		return fmt.Errorf("%w: namespace is %d bytes, above the limit of %d", ErrInvalidNamespace, len(ns), MaxNamespaceLen)
	case !utf8.ValidString(ns):
		return fmt.Errorf("%w: namespace %q is not valid UTF-8", ErrInvalidNamespace, ns)
	}
	return nil
}

// checkKey returns nil or an error wrapping ErrInvalidKey.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: key is empty", ErrInvalidKey)
	}
	return checkPrefix(key)
}

// checkPrefix is checkKey without the rule against empty strings: every
// key starts with the empty prefix.
func checkPrefix(s string) error {
	switch {
	case len(s) > MaxKeyLen:
		return fmt.Errorf("%w: %d bytes, above the limit of %d", ErrInvalidKey, len(s), MaxKeyLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %.64q is not valid UTF-8", ErrInvalidKey, s)
	}
	return nil
}

// listLimit returns the number of entries List returns at most for the
// limit a caller asked for, or an error wrapping ErrInvalidLimit.
func listLimit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, fmt.Errorf("%w: %d is negative", ErrInvalidLimit, limit)
	case limit == 0 || limit > MaxListLimit:
		return MaxListLimit, nil
	}
	return limit, nil
}
