package server

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Role is what a bearer token may do.
type Role int

const (
	// RoleInvoke may list nodes, run computations, batches and effects, read the cache
	// and breaker state and stream events.
	RoleInvoke Role = iota + 1
	// RoleAdmin may do everything RoleInvoke may, and clear the cache, operate breakers,
	// reload nodes and read the effect journal (it holds before-images).
	RoleAdmin
)

// ParseRole parses "invoke" or "admin".
func ParseRole(s string) (Role, bool) {
	switch s {
	case "invoke":
		return RoleInvoke, true
	case "admin":
		return RoleAdmin, true
	}
	return 0, false
}

func (r Role) String() string {
	switch r {
	case RoleInvoke:
		return "invoke"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// authorize wraps h: the request needs a bearer token of at least role (nothing when the
// server has no tokens). A missing or unknown token gets 401, a token of a lesser role
// 403. Tokens are compared in constant time and never logged.
func (s *Server) authorize(role Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(s.opts.Tokens) == 0 {
			h(w, r)
			return
		}
		got := s.roleOf(r)
		switch {
		case got == 0:
			w.Header().Set("WWW-Authenticate", `Bearer realm="onex-host"`)
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "a valid bearer token is required")
		case got < role:
			writeError(w, http.StatusForbidden, codeForbidden, "this endpoint needs the "+role.String()+" role")
		default:
			h(w, r)
		}
	}
}

// roleOf returns the role of the request's bearer token, or 0.
func (s *Server) roleOf(r *http.Request) Role {
	// The scheme is case-insensitive (RFC 9110 §11.1): "bearer", "BEARER" and "Bearer"
	// all name it.
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return 0
	}
	token = strings.TrimLeft(token, " ")
	if token == "" {
		return 0
	}
	var role Role
	for t, rl := range s.opts.Tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			role = rl
		}
	}
	return role
}
