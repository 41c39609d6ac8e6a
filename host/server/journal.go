package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/internal/journal"
)

// DefaultJournalLimit bounds GET /v1/journal's answer unless the request's limit says
// otherwise.
const DefaultJournalLimit = 100

// listJournal is GET /v1/journal: the journal's records, newest first, read while the
// host runs (the journal file is locked by this process, so `onex-host journal list` can
// read it only through here). Query: state (repeatable), node, operation_id, limit
// (default DefaultJournalLimit, 0 for all). Records hold before-images, hence the admin
// role.
func (s *Server) listJournal(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := host.JournalFilter{States: q["state"], Node: q.Get("node"), OperationID: q.Get("operation_id"),
		Limit: DefaultJournalLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("limit %q is not a count", v))
			return
		}
		f.Limit = n
	}
	recs, err := s.host.JournalRecords(f)
	if err != nil && !(errors.Is(err, journal.ErrCorrupt) && recs != nil) {
		writeJournalError(w, err)
		return
	}
	if err != nil {
		// Every intact record is answered; the damaged ones are named in the log.
		s.log.WarnContext(r.Context(), "journal: damaged records left out of the listing", "error", err)
	}
	writeJSON(w, http.StatusOK, recs)
}

// getJournal is GET /v1/journal/{id}: one record.
func (s *Server) getJournal(w http.ResponseWriter, r *http.Request) {
	rec, err := s.host.JournalRecord(r.PathValue("id"))
	if err != nil {
		writeJournalError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// writeJournalError answers a failed journal read: 404 for no journal or no such
// transaction, 400 for a bad filter, else 500.
func writeJournalError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, host.ErrNoJournal), errors.Is(err, journal.ErrNotFound):
		writeError(w, http.StatusNotFound, codeNotFound, err.Error())
	case errors.Is(err, host.ErrInvalidInput):
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
	}
}
