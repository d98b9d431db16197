package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/tapwatch/tapwatch/agent/flowstore"
)

// Changes is what VMs started doing since a point in time.
type Changes struct {
	Since time.Time `json:"since"`
	// HistoryFrom is the end of the oldest flow the store still holds: what
	// began before it cannot be told from what began at it, so with Since
	// earlier than HistoryFrom every retained service and peer looks new.
	HistoryFrom time.Time          `json:"history_from"`
	Changes     []flowstore.Change `json:"changes"`
}

// ChangesBackend is implemented by backends that can answer GET /v1/changes
// (an interface of its own so existing Backends need not change).
type ChangesBackend interface {
	Changes(ctx context.Context, vm string, since time.Time) (Changes, error)
}

// changes serves GET /v1/changes?vm=NAME&since=RFC3339.
func (s *Server) changes(w http.ResponseWriter, r *http.Request) {
	cb, ok := s.backend.(ChangesBackend)
	if !ok {
		writeJSON(w, nil, errors.New("this tapwatchd does not report changes"))
		return
	}
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			http.Error(w, "since: "+err.Error(), http.StatusBadRequest)
			return
		}
		since = t
	}
	v, err := cb.Changes(r.Context(), q.Get("vm"), since)
	writeJSON(w, v, err)
}

// Changes returns what vm ("" for all) started doing at or after since.
func (c *Client) Changes(ctx context.Context, vm string, since time.Time) (Changes, error) {
	q := url.Values{}
	if vm != "" {
		q.Set("vm", vm)
	}
	if !since.IsZero() {
		q.Set("since", since.Format(time.RFC3339Nano))
	}
	var v Changes
	return v, c.do(ctx, http.MethodGet, "/v1/changes?"+q.Encode(), nil, &v)
}
