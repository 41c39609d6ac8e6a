package server

import (
	"embed"
	"io/fs"
	"net/http"
)

// uiFiles is the status page: plain HTML, CSS and JavaScript, no build step, nothing
// fetched from elsewhere.
//
//go:embed ui
var uiFiles embed.FS

// uiPolicy is the status page's Content-Security-Policy: its own scripts, styles and API
// only (no inline script, so data the page shows cannot run as code), and no framing (the
// admin buttons cannot be clickjacked).
const uiPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// handleUI adds the status page and what it reads to mux:
//
//	GET /ui                 redirects to /ui/
//	GET /ui/                the page and its files (no token: they hold no data)
//	GET /ui/config.json     {"auth": bool}: whether the page must ask for a token
//	GET /v1/status          invoke: one snapshot of what the page shows (status)
//
// The page keeps the token the operator types in sessionStorage (the tab's session) and
// sends it as a bearer header on every request, including the event stream, which it
// reads with fetch rather than EventSource (that cannot set headers): no token is ever in
// a URL, so none reaches a log.
func (s *Server) handleUI(mux *http.ServeMux) {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embedded tree always has ui/
	}
	files := http.StripPrefix("/ui/", http.FileServerFS(sub))
	mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) {
		// Relative, so that the page also works where an embedder mounts the handler
		// under a prefix.
		http.Redirect(w, r, "ui/", http.StatusMovedPermanently)
	})
	mux.Handle("GET /ui/", uiHeaders(files))
	mux.Handle("GET /ui/config.json", uiHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"auth": len(s.opts.Tokens) > 0})
	})))
	mux.HandleFunc("GET /v1/status", s.authorize(RoleInvoke, s.serveStatus))
}

// uiHeaders sets the page's security and caching headers: the files are revalidated on
// every load, so a new binary's page replaces the old one at once.
func uiHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", uiPolicy)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
