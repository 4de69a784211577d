package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
)

type echoArgs struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func testMux() *Mux {
	m := NewMux()
	m.Handle("echo", func(ctx context.Context, raw json.RawMessage) (any, error) {
		var a echoArgs
		if err := Decode(raw, &a); err != nil {
			return nil, err
		}
		return map[string]any{"name": a.Name, "double": 2 * a.N}, nil
	})
	m.Handle("fail", func(ctx context.Context, raw json.RawMessage) (any, error) {
		return nil, fmt.Errorf("Failed to create snapshot")
	})
	return m
}

func TestSocketRoundTripMatchesInProcess(t *testing.T) {
	dir, err := os.MkdirTemp("/tmp", "adm") // short path: sun_path is 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	m := testMux()
	srv, err := Listen(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Close()
	c, err := Dial(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for _, caller := range []Caller{c, m} {
		var out struct {
			Name   string `json:"name"`
			Double int    `json:"double"`
		}
		if err := caller.Call(ctx, "echo", echoArgs{Name: "vol1", N: 21}, &out); err != nil {
			t.Fatalf("%T: %v", caller, err)
		}
		if out.Name != "vol1" || out.Double != 42 {
			t.Fatalf("%T: got %+v", caller, out)
		}
		err := caller.Call(ctx, "fail", nil, nil)
		if err == nil || err.Error() != "Failed to create snapshot" {
			t.Fatalf("%T: error text %v", caller, err)
		}
		if err := caller.Call(ctx, "nope", nil, nil); !errors.Is(err, ErrUnknownCall) {
			t.Fatalf("%T: unknown call: %v", caller, err)
		}
	}
}

func TestDialWithoutNode(t *testing.T) {
	if _, err := Dial(t.TempDir()); !errors.Is(err, ErrNoNode) {
		t.Fatalf("want ErrNoNode, got %v", err)
	}
}
