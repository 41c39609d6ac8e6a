// Command fulfil is the shop the fulfil workflow (fulfil.yaml) talks to: a small HTTP
// API with orders, stock reservations and a carrier, kept in memory. It logs every
// request it answers, so the saga's compensating calls show.
//
//	go run ./examples/fulfil [-listen 127.0.0.1:18090]
//
//	GET  /orders/{id}           {"id", "prices", "currency"}; 404 for an unknown order
//	POST /stock/{id}/reserve    reserves the order's items (again: nothing more)
//	POST /stock/{id}/release    releases them (again, or never reserved: nothing)
//	POST /shipments/{id}        {"tracking": "TR-…"}; 422 for an address the carrier does not serve
//	GET  /stock                 {"reserved": [order ids]}
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"sync"
)

// order is one order of the shop.
type order struct {
	ID       string    `json:"id"`
	Prices   []float64 `json:"prices"`
	Currency string    `json:"currency"`
	address  string
}

// orders: the carrier serves Berlin, not Atlantis.
var orders = map[string]order{
	"A-1": {ID: "A-1", Prices: []float64{12.5, 7.5, 10}, Currency: "EUR", address: "Berlin"},
	"B-2": {ID: "B-2", Prices: []float64{20, 5}, Currency: "USD", address: "Atlantis"},
}

// shop is the API's state. It is safe for concurrent use.
type shop struct {
	log io.Writer
	// mu guards reserved and tracking.
	mu       sync.Mutex
	reserved map[string]bool
	tracking map[string]string // order id → tracking number, given once
}

func newShop(log io.Writer) *shop {
	return &shop{log: log, reserved: map[string]bool{}, tracking: map[string]string{}}
}

// Handler serves the API.
func (s *shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		o, ok := orders[r.PathValue("id")]
		if !ok {
			s.answer(w, r, http.StatusNotFound, map[string]string{"error": "no such order"})
			return
		}
		s.answer(w, r, http.StatusOK, o)
	})
	mux.HandleFunc("POST /stock/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		id, action := r.PathValue("id"), r.PathValue("action")
		if _, ok := orders[id]; !ok || (action != "reserve" && action != "release") {
			s.answer(w, r, http.StatusNotFound, map[string]string{"error": "no such order or action"})
			return
		}
		s.mu.Lock()
		s.reserved[id] = action == "reserve"
		s.mu.Unlock()
		s.answer(w, r, http.StatusOK, map[string]any{"id": id, "reserved": action == "reserve"})
	})
	mux.HandleFunc("POST /shipments/{id}", func(w http.ResponseWriter, r *http.Request) {
		o, ok := orders[r.PathValue("id")]
		if !ok {
			s.answer(w, r, http.StatusNotFound, map[string]string{"error": "no such order"})
			return
		}
		if o.address != "Berlin" {
			s.answer(w, r, http.StatusUnprocessableEntity, map[string]string{"error": "the carrier does not deliver to " + o.address})
			return
		}
		s.mu.Lock()
		t, ok := s.tracking[o.ID]
		if !ok {
			t = fmt.Sprintf("TR-%d", 1001+len(s.tracking))
			s.tracking[o.ID] = t
		}
		s.mu.Unlock()
		s.answer(w, r, http.StatusOK, map[string]string{"tracking": t})
	})
	mux.HandleFunc("GET /stock", func(w http.ResponseWriter, r *http.Request) {
		s.answer(w, r, http.StatusOK, map[string][]string{"reserved": s.reservations()})
	})
	return mux
}

// reservations returns the ids of the orders whose stock is reserved, sorted.
func (s *shop) reservations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := []string{}
	for id, r := range s.reserved {
		if r {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// answer writes v as JSON with status and logs the request.
func (s *shop) answer(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	fmt.Fprintf(s.log, "shop: %s %s → %d\n", r.Method, r.URL.Path, status)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:18090", "the address to serve the shop's API on")
	flag.Parse()
	log.SetFlags(0)
	fmt.Fprintf(os.Stderr, "shop: serving on http://%s\n", *listen)
	log.Fatal(http.ListenAndServe(*listen, newShop(os.Stderr).Handler()))
}
