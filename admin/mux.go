package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Handler serves one call. args is the raw JSON the client sent (may be
// empty); the returned value is marshalled as the call's result.
type Handler func(ctx context.Context, args json.RawMessage) (any, error)

// Mux maps call names ("volume.create") to handlers.
type Mux struct {
	mu       sync.RWMutex
	handlers map[string]Handler
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{handlers: map[string]Handler{}} }

// Handle registers h for name; registering a name twice panics (a
// programming error, like http.ServeMux).
func (m *Mux) Handle(name string, h Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.handlers[name]; dup {
		panic("admin: duplicate handler " + name)
	}
	m.handlers[name] = h
}

// Names lists the registered calls, sorted.
func (m *Mux) Names() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.handlers))
	for n := range m.handlers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ErrUnknownCall is returned for a call no handler serves.
var ErrUnknownCall = errors.New("unknown admin call")

// Call dispatches in-process: decode-free for args already in JSON.
func (m *Mux) Call(ctx context.Context, name string, args, result any) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("admin: encode %s arguments: %w", name, err)
	}
	out, err := m.dispatch(ctx, name, raw)
	if err != nil {
		return err
	}
	return decodeResult(name, out, result)
}

func (m *Mux) dispatch(ctx context.Context, name string, raw json.RawMessage) (json.RawMessage, error) {
	m.mu.RLock()
	h := m.handlers[name]
	m.mu.RUnlock()
	if h == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownCall, name)
	}
	v, err := h(ctx, raw)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("admin: encode %s result: %w", name, err)
	}
	return b, nil
}

func decodeResult(name string, raw json.RawMessage, result any) error {
	if result == nil || len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("admin: decode %s result: %w", name, err)
	}
	return nil
}

// Decode unmarshals a handler's args into v; empty args leave v unchanged.
func Decode(args json.RawMessage, v any) error {
	if len(args) == 0 || string(args) == "null" {
		return nil
	}
	if err := json.Unmarshal(args, v); err != nil {
		return fmt.Errorf("bad arguments: %w", err)
	}
	return nil
}
