package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SocketName is the admin socket's file name inside the data directory.
const SocketName = "tapelab.sock"

// SocketPath returns the admin socket path of a data directory.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, SocketName) }

// maxArgs bounds a request body: calls carry names and options, never data.
const maxArgs = 1 << 20

type reply struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// Server serves a Mux on a data directory's Unix socket.
type Server struct {
	mux  *Mux
	ln   net.Listener
	http *http.Server
	path string
}

// Listen creates the socket (replacing a stale one left by a killed
// process: the caller holds the data directory's lock, so no live node
// owns it) and returns a Server ready to Serve.
func Listen(dataDir string, mux *Mux) (*Server, error) {
	path := SocketPath(dataDir)
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	_ = os.Chmod(path, 0o600)
	s := &Server{mux: mux, ln: ln, path: path}
	h := http.NewServeMux()
	h.HandleFunc("/v1/call/", s.serveCall)
	s.http = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Serve answers calls until Close; it returns nil after Close.
func (s *Server) Serve() error {
	err := s.http.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops serving and removes the socket.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	_ = os.Remove(s.path)
	return err
}

func (s *Server) serveCall(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		_ = json.NewEncoder(w).Encode(reply{Error: "use POST"})
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/v1/call/")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxArgs+1))
	if err != nil || len(body) > maxArgs {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(reply{Error: "request too large or unreadable"})
		return
	}
	out, err := s.mux.dispatch(r.Context(), name, body)
	if err != nil {
		code := http.StatusUnprocessableEntity
		if errors.Is(err, ErrUnknownCall) {
			code = http.StatusNotFound
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(reply{Error: err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(reply{Result: out})
}
