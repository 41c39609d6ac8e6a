package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// maxTokenFileSize bounds a token file.
const maxTokenFileSize = 64 << 10

// Token is one API token: its name, role (RoleInvoke or RoleAdmin) and secret value.
// String and GoString leave the value out, and so does encoding/json, so printing or
// logging a Token does not leak it. It is a plain value.
type Token struct {
	Name  string
	Role  string
	Value string `json:"-"`
}

// String returns the name and role: "ci (invoke)".
func (t Token) String() string { return t.Name + " (" + t.Role + ")" }

// GoString returns Go syntax with the value redacted, for %#v.
func (t Token) GoString() string {
	return fmt.Sprintf("config.Token{Name:%q, Role:%q, Value:\"[redacted]\"}", t.Name, t.Role)
}

// Tokens reads the value of every auth token, in the file's order, from its environment
// variable or file; surrounding white space is trimmed. Each call reads them afresh. The
// error is a wrapped *FieldError naming the token's field: an unset variable, a missing
// or unreadable file, an empty value, two tokens with the same value. No error contains
// a token's value. Without tokens it returns nil (authentication is off).
func (f *File) Tokens() ([]Token, error) {
	if err := f.checkAuth(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var out []Token
	seen := make(map[string]int, len(f.Auth.Tokens)) // value → index
	for i, t := range f.Auth.Tokens {
		field := fmt.Sprintf("auth.tokens[%d]", i)
		var v string
		if t.Env != "" {
			s, ok := os.LookupEnv(t.Env)
			if !ok {
				return nil, fmt.Errorf("config: %w", fieldErr(field+".env", "environment variable %s is not set", t.Env))
			}
			v = strings.TrimSpace(s)
		} else {
			s, err := readSecret(f.path(t.File))
			if err != nil {
				return nil, fmt.Errorf("config: %w", fieldErr(field+".file", "%q: %v", t.File, err))
			}
			v = s
		}
		if v == "" {
			return nil, fmt.Errorf("config: %w", fieldErr(field, "the token %q is empty", t.Name))
		}
		if j, dup := seen[v]; dup {
			return nil, fmt.Errorf("config: %w", fieldErr(field, "the token %q has the same value as auth.tokens[%d]", t.Name, j))
		}
		seen[v] = i
		out = append(out, Token{Name: t.Name, Role: t.Role, Value: v})
	}
	return out, nil
}

// readSecret reads a token file, trimmed. Its errors never hold the content.
func readSecret(path string) (string, error) {
	fd, err := os.Open(path)
	if err != nil {
		return "", pathErr(err)
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return "", pathErr(err)
	}
	if !fi.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(fd, maxTokenFileSize+1))
	if err != nil {
		return "", pathErr(err)
	}
	if len(b) > maxTokenFileSize {
		return "", fmt.Errorf("larger than %d bytes", maxTokenFileSize)
	}
	return strings.TrimSpace(string(b)), nil
}

// pathErr drops the path from an *fs.PathError (the field's message quotes it already)
// and says "no such file" for a missing one.
func pathErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("no such file")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
