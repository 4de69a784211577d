package node

import (
	"context"
	"errors"
	"os"
	"testing"

	"tapelab/admin"
)

func TestOneOwnerPerDataDirectory(t *testing.T) {
	dir := t.TempDir()
	n, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Open: want ErrBusy, got %v", err)
	}
	var names []string
	if err := n.Mux().Call(context.Background(), "node.calls", nil, &names); err != nil || len(names) == 0 {
		t.Fatalf("node.calls: %v %v", names, err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	n2.Close()
}

func TestAdminSocketServesTheSameCalls(t *testing.T) {
	dir, err := os.MkdirTemp("/tmp", "node") // short: sun_path holds 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.ServeAdmin(); err != nil {
		t.Fatal(err)
	}
	cl, err := admin.Dial(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var remote, local []string
	if err := cl.Call(context.Background(), "node.calls", nil, &remote); err != nil {
		t.Fatal(err)
	}
	if err := n.Mux().Call(context.Background(), "node.calls", nil, &local); err != nil {
		t.Fatal(err)
	}
	if len(remote) != len(local) || remote[0] != local[0] {
		t.Fatalf("remote %v local %v", remote, local)
	}
}
