package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Client calls a running node over its admin socket.
type Client struct {
	http *http.Client
}

// ErrNoNode means no node serves the data directory's socket.
var ErrNoNode = errors.New("no tapelab node is running on this data directory")

// RemoteError is an error a node returned for a call; its text is the
// user-facing message.
type RemoteError struct{ Message string }

func (e *RemoteError) Error() string { return e.Message }

// Dial connects to the node serving dataDir, or returns ErrNoNode.
func Dial(dataDir string) (*Client, error) {
	path := SocketPath(dataDir)
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoNode, err)
	}
	conn.Close()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}
	return &Client{http: &http.Client{Transport: tr}}, nil
}

// Call sends one call and decodes its result into result (may be nil).
func (c *Client) Call(ctx context.Context, name string, args, result any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("admin: encode %s arguments: %w", name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://tapelab/v1/call/"+name, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin: %s: %w", name, err)
	}
	defer resp.Body.Close()
	var rep reply
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return fmt.Errorf("admin: %s: bad reply: %w", name, err)
	}
	if rep.Error != "" {
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%w: %s", ErrUnknownCall, name)
		}
		return &RemoteError{Message: rep.Error}
	}
	return decodeResult(name, rep.Result, result)
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Caller is what CLI commands use: a remote Client or an in-process Mux.
type Caller interface {
	Call(ctx context.Context, name string, args, result any) error
}
