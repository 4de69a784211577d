package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"

	"tapelab/admin"
)

// ErrBusy means another process owns the data directory.
var ErrBusy = errors.New("the data directory is in use by another tapelab process")

// Options configure a node.
type Options struct {
	// Log receives node-level messages; nil discards them.
	Log io.Writer
}

// Node owns a data directory. Its fields are set by Open in the order of
// the areas' dependencies; each area's init hook fills its own part.
type Node struct {
	Dir  string
	Opts Options

	lock *os.File
	mux  *admin.Mux

	mu      sync.Mutex
	closers []func() error // run in reverse order by Close
	areas   map[string]any // per-area state, keyed by area name

	srv *admin.Server
}

// area is one part of a node: it opens its state and registers its calls.
type area struct {
	name     string
	register func(n *Node, m *admin.Mux) error
}

// areas are registered by the area files' init funcs; Open runs them in
// areaOrder (an area may use the ones before it), then any others by name.
var areas = map[string]func(n *Node, m *admin.Mux) error{}

// areaOrder lists the areas in dependency order.
var areaOrder = []string{"volume", "vtl", "ndmp", "backup"}

// registerArea is called from an area file's init func.
func registerArea(name string, fn func(n *Node, m *admin.Mux) error) {
	if _, dup := areas[name]; dup {
		panic("node: duplicate area " + name)
	}
	areas[name] = fn
}

func orderedAreas() []area {
	var out []area
	seen := map[string]bool{}
	for _, name := range areaOrder {
		if fn, ok := areas[name]; ok {
			out = append(out, area{name, fn})
			seen[name] = true
		}
	}
	var rest []string
	for name := range areas {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		out = append(out, area{name, areas[name]})
	}
	return out
}

// Open becomes the node of dir: it creates the directory if needed, takes
// the owner lock (ErrBusy if another process holds it), opens every area
// and registers their admin calls.
func Open(dir string, opts Options) (*Node, error) {
	if dir == "" {
		return nil, errors.New("no data directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", abs, err)
	}
	lf, err := os.OpenFile(filepath.Join(abs, "tapelab.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", abs, err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrBusy, abs)
		}
		return nil, fmt.Errorf("lock %s: %w", abs, err)
	}
	n := &Node{Dir: abs, Opts: opts, lock: lf, mux: admin.NewMux(), areas: map[string]any{}}
	if n.Opts.Log == nil {
		n.Opts.Log = io.Discard
	}
	n.mux.Handle("node.calls", func(context.Context, json.RawMessage) (any, error) { return n.mux.Names(), nil })
	for _, a := range orderedAreas() {
		if err := a.register(n, n.mux); err != nil {
			n.Close()
			return nil, fmt.Errorf("%s: %w", a.name, err)
		}
	}
	return n, nil
}

// SetArea stores an area's state (its store, library, server) under name.
func (n *Node) SetArea(name string, v any) {
	n.mu.Lock()
	n.areas[name] = v
	n.mu.Unlock()
}

// Area returns what SetArea stored under name, or nil.
func (n *Node) Area(name string) any {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.areas[name]
}

// Mux returns the node's admin calls, for in-process dispatch.
func (n *Node) Mux() *admin.Mux { return n.mux }

// OnClose registers f to run when the node closes (reverse order).
func (n *Node) OnClose(f func() error) {
	n.mu.Lock()
	n.closers = append(n.closers, f)
	n.mu.Unlock()
}

// ServeAdmin starts serving the admin API on DATA/tapelab.sock in the
// background until Close.
func (n *Node) ServeAdmin() error {
	srv, err := admin.Listen(n.Dir, n.mux)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	n.srv = srv
	go srv.Serve()
	return nil
}

// Close stops the admin API, closes every area and releases the lock.
func (n *Node) Close() error {
	var errs []error
	if n.srv != nil {
		errs = append(errs, n.srv.Close())
		n.srv = nil
	}
	n.mu.Lock()
	closers := n.closers
	n.closers = nil
	n.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		errs = append(errs, closers[i]())
	}
	if n.lock != nil {
		_ = syscall.Flock(int(n.lock.Fd()), syscall.LOCK_UN)
		errs = append(errs, n.lock.Close())
		n.lock = nil
	}
	return errors.Join(errs...)
}
