package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/record"
	"github.com/tapwatch/tapwatch/agent/record/pcapfilter"
)

// Server serves a Backend on a unix socket.
type Server struct {
	backend Backend
	srv     *http.Server
	ln      net.Listener
}

// Listen creates the socket at path (replacing a stale one), readable and
// writable by root and group (when the group exists), and returns a Server
// ready to Serve.
func Listen(path, group string, b Backend) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("control socket dir: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod control socket: %w", err)
	}
	if group != "" {
		if g, err := user.LookupGroup(group); err == nil {
			if gid, err := strconv.Atoi(g.Gid); err == nil {
				_ = os.Chown(path, 0, gid)
			}
		}
	}
	s := &Server{backend: b, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/vms", s.vms)
	mux.HandleFunc("GET /v1/status", s.status)
	mux.HandleFunc("GET /v1/alerts", s.alerts)
	mux.HandleFunc("POST /v1/hook", s.hook)
	mux.HandleFunc("GET /v1/flows", s.flows)
	mux.HandleFunc("GET /v1/vms/{name}", s.profile)
	mux.HandleFunc("POST /v1/pcap", s.pcap)
	mux.HandleFunc("GET /v1/changes", s.changes)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// removeStale removes a socket left by a daemon that died, but refuses to
// take over one that a live daemon still answers on.
func removeStale(path string) error {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s is in use: another tapwatchd is running", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale control socket: %w", err)
	}
	return nil
}

// Serve answers requests until Shutdown.
func (s *Server) Serve() error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops the server, ending live alert streams.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

func writeJSON(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) vms(w http.ResponseWriter, r *http.Request) {
	v, err := s.backend.VMs(r.Context())
	writeJSON(w, v, err)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	v, err := s.backend.Status(r.Context())
	writeJSON(w, v, err)
}

func (s *Server) hook(w http.ResponseWriter, r *http.Request) {
	var ev HookEvent
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20)).Decode(&ev); err != nil {
		http.Error(w, "bad hook event: "+err.Error(), http.StatusBadRequest)
		return
	}
	v, err := s.backend.Hook(r.Context(), ev)
	writeJSON(w, v, err)
}

// alerts streams EVE lines as NDJSON: the recent ones, then live ones when
// follow=1, flushing after each so `tapwatch alerts -f` sees them at once.
func (s *Server) alerts(w http.ResponseWriter, r *http.Request) {
	follow := r.URL.Query().Get("follow") == "1"
	recent, live, err := s.backend.Alerts(r.Context(), r.URL.Query().Get("vm"), follow)
	if err != nil {
		writeJSON(w, nil, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	fl, _ := w.(http.Flusher)
	for _, l := range recent {
		_, _ = w.Write(append(l, '\n'))
	}
	if fl != nil {
		fl.Flush()
	}
	if !follow || live == nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case l, ok := <-live:
			if !ok {
				return
			}
			if _, err := w.Write(append(l, '\n')); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
	}
}

func (s *Server) flows(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f flowstore.Filter
	f.VM = q.Get("vm")
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			http.Error(w, "since: "+err.Error(), http.StatusBadRequest)
			return
		}
		f.Since = t
	}
	if v := q.Get("peer"); v != "" {
		a, err := netip.ParseAddr(v)
		if err != nil {
			http.Error(w, "peer: "+err.Error(), http.StatusBadRequest)
			return
		}
		f.Peer = a
	}
	if v := q.Get("port"); v != "" {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			http.Error(w, "port: "+err.Error(), http.StatusBadRequest)
			return
		}
		f.Port = uint16(n)
	}
	if v := q.Get("limit"); v != "" {
		n, _ := strconv.Atoi(v)
		f.Limit = n
	}
	v, err := s.backend.Flows(r.Context(), f)
	writeJSON(w, v, err)
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	v, err := s.backend.Profile(r.Context(), r.PathValue("name"))
	writeJSON(w, v, err)
}

// pcap streams a pcapng; errors after the first byte can only be logged by
// the client noticing a short file, so the query is checked first.
func (s *Server) pcap(w http.ResponseWriter, r *http.Request) {
	var q record.Query
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&q); err != nil {
		http.Error(w, "bad pcap query: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-pcapng")
	if _, err := s.backend.Pcap(r.Context(), q, w); err != nil {
		code := http.StatusNotFound
		var fe *pcapfilter.Error
		if errors.As(err, &fe) {
			code = http.StatusBadRequest // the caller's expression, not a missing recording
		}
		http.Error(w, err.Error(), code)
	}
}
