package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/container"
	"github.com/onexhost/onex-host/host/events"
)

// sseBuffer is how many events a slow event-stream client may fall behind before the
// newest are dropped for it (counted; other subscribers are unaffected).
const sseBuffer = 256

// streamEvents streams the bus as server-sent events: one "event: <event_type>", "id:
// <envelope_id>", "data: <envelope JSON>" record per event whose topic matches the topic
// query parameter (a NATS-style pattern; default every ONEX topic), until the client goes.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	pattern := r.URL.Query().Get("topic")
	if pattern == "" {
		pattern = "onex.evt.>"
	}
	s.streamBus(w, r, pattern, nil)
}

// streamBus streams the bus's events on topics matching pattern, and for which keep (when
// not nil) returns true, as server-sent events until the client goes.
func (s *Server) streamBus(w http.ResponseWriter, r *http.Request, pattern string, keep func(abi.Event) bool) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "internal", "streaming is not supported by this connection")
		return
	}
	ch := make(chan abi.Event, 1)
	bus, err := container.Get[*events.Bus](s.host.Services(), host.ServiceEvents)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	sub, err := bus.Subscribe(pattern, func(ctx context.Context, e abi.Event) error {
		if keep != nil && !keep(e) {
			return nil
		}
		select {
		case ch <- e:
			return nil
		case <-r.Context().Done():
			return r.Context().Err()
		}
	}, events.SubscribeOptions{Buffer: sseBuffer, Policy: events.Drop, Name: "sse " + r.RemoteAddr})
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	defer sub.Close()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": subscribed to %s\n\n", pattern)
	flusher.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case e := <-ch:
			b, err := json.Marshal(e)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: %s\nid: %s\ndata: %s\n\n", e.EventType, e.EnvelopeID, b); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}
