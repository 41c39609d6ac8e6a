package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/onexhost/onex-host/host"
)

// remoteJournal reads a running host's journal through its admin API (GET /v1/journal):
// the journal file is locked by the host while it runs.
type remoteJournal struct {
	url   string
	token string
}

// run serves the verbs list and show against the server.
func (r remoteJournal) run(ctx context.Context, e *env, args []string, f host.JournalFilter, asJSON bool) error {
	switch verb, rest := args[0], args[1:]; verb {
	case "list":
		q := url.Values{}
		for _, s := range f.States {
			q.Add("state", s)
		}
		if f.Node != "" {
			q.Set("node", f.Node)
		}
		if f.OperationID != "" {
			q.Set("operation_id", f.OperationID)
		}
		if f.Limit > 0 {
			q.Set("limit", strconv.Itoa(f.Limit))
		}
		var recs []host.JournalRecord
		if err := r.get(ctx, "/v1/journal?"+q.Encode(), &recs); err != nil {
			return failure{err}
		}
		return printRecords(e, recs, asJSON)
	case "show":
		if len(rest) != 1 {
			return fmt.Errorf("journal show: want one transaction id")
		}
		var rec host.JournalRecord
		if err := r.get(ctx, "/v1/journal/"+url.PathEscape(rest[0]), &rec); err != nil {
			return failure{err}
		}
		return printJSON(e, rec)
	default:
		return fmt.Errorf("journal %s: not with --server (the API only reads: list and show)", verb)
	}
}

// get sends GET path to the server and decodes a 200's body into out.
func (r remoteJournal) get(ctx context.Context, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := apiRequest(ctx, r.url, r.token, http.MethodGet, path, nil)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("journal: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
			return fmt.Errorf("journal: %s: %d %s: %s", r.url, resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("journal: %s: %s", r.url, resp.Status)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("journal: decoding the answer: %w", err)
	}
	return nil
}

// apiRequest is a request to a serve's API at base: method path with body, and the
// bearer token (else $ONEX_TOKEN; none when both are empty).
func apiRequest(ctx context.Context, base, token, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base, "/")+path, body)
	if err != nil {
		return nil, err
	}
	if token == "" {
		token = os.Getenv("ONEX_TOKEN")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}
