// Package cli_test runs the tapelab binary the way a user does: with and
// without a running node, through a real FUSE mount, with bad input.
package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tapelab/internal/testlab"
	"tapelab/internal/testpeer"
)

var tapelabBin string

func TestMain(m *testing.M) { testlab.Main(m, &tapelabBin) }

func newLab(t *testing.T) *testlab.Lab { return testlab.New(t, tapelabBin) }

var waitFor = testlab.WaitFor

type volInfo struct {
	SVM, Name, State, Type string
	Size                   int64
	Snapshots              int
}

func checkVolumes(t *testing.T, l *testlab.Lab, want int) []volInfo {
	t.Helper()
	var vs []volInfo
	l.JSON(&vs, "volume", "list")
	if len(vs) != want {
		t.Fatalf("volume list: want %d volumes, got %+v", want, vs)
	}
	return vs
}

func TestCommandsWithAndWithoutARunningNode(t *testing.T) {
	l := newLab(t)
	// No node running: each command opens the data directory itself.
	l.Run("volume", "create", "/vs1/vol1", "--size", "64m")
	l.Run("snapshot", "create", "/vs1/vol1", "s1")
	vs := checkVolumes(t, l, 1)
	if vs[0].SVM != "vs1" || vs[0].Name != "vol1" || vs[0].Size != 64<<20 || vs[0].State != "online" || vs[0].Snapshots != 1 {
		t.Fatalf("volume: %+v", vs[0])
	}
	if out := l.Run("volume", "list"); !strings.Contains(out, "vol1") || !strings.Contains(out, "Vserver") {
		t.Fatalf("volume list table:\n%s", out)
	}

	// A node running: the same commands go over the admin socket (the data
	// directory is locked, so they could not open it themselves).
	serve := l.Cmd("serve", "--ndmp", "127.0.0.1:0")
	serveOut := &testlab.Output{}
	serve.Stdout, serve.Stderr = serveOut, serveOut
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(l.Dir, "tapelab.sock")); return err == nil }, "admin socket")
	l.Run("volume", "create", "/vs1/vol2", "--size", "32m", "--type", "DP")
	l.Run("volume", "restrict", "/vs1/vol2")
	vs = checkVolumes(t, l, 2)
	if vs[1].Name != "vol2" || vs[1].Type != "DP" || vs[1].State != "restricted" {
		t.Fatalf("vol2: %+v", vs[1])
	}
	var snaps []struct{ Name string }
	l.JSON(&snaps, "snapshot", "list", "/vs1/vol1")
	if len(snaps) != 1 || snaps[0].Name != "s1" {
		t.Fatalf("snapshots: %+v", snaps)
	}
	if err := serve.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := serve.Wait(); err != nil {
		t.Fatalf("serve exit: %v\n%s", err, serveOut.String())
	}
	// After the node stopped, the state it wrote is there for the next one.
	checkVolumes(t, l, 2)
}

func TestBadInputChangesNothing(t *testing.T) {
	l := newLab(t)
	l.Run("volume", "create", "/vs1/vol1", "--size", "16m")
	for _, args := range [][]string{
		{"volume", "create", "/vs1/bad-name!", "--size", "16m"},
		{"volume", "create", "/vs1/vol9", "--size", "lots"},
		{"volume", "create", "/vs1/vol9", "--size", "1k"},
		{"volume", "create", "vol9"},
		{"volume", "create", "/vs1/vol1", "--size", "16m"},
		{"volume", "show", "/vs1/nope"},
		{"snapshot", "create", "/vs1/vol1", "bad name/x"},
		{"snapshot", "delete", "/vs1/vol1", "nope"},
	} {
		out, errOut, err := l.Try(args...)
		if err == nil {
			t.Errorf("tapelab %v succeeded: %s", args, out)
			continue
		}
		if !strings.HasPrefix(errOut, "Error: ") || len(strings.TrimSpace(errOut)) < 12 {
			t.Errorf("tapelab %v: unclear error %q", args, errOut)
		}
	}
	checkVolumes(t, l, 1)
}

func TestMountUnmountFromAnotherShell(t *testing.T) {
	testpeer.FUSE(t)
	l := newLab(t)
	l.Run("volume", "create", "/vs1/vol1", "--size", "64m")
	mnt := filepath.Join(l.Dir, "mnt")
	m := l.Cmd("volume", "mount", "/vs1/vol1", mnt)
	mOut := &testlab.Output{}
	m.Stdout, m.Stderr = mOut, mOut
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Process.Kill()
		m.Wait()
		exec.Command("fusermount3", "-uz", mnt).Run()
	})
	waitFor(t, func() bool { return strings.Contains(mOut.String(), "Mounted") }, "mount")
	if err := os.WriteFile(filepath.Join(mnt, "hello.txt"), []byte("hello tape\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Another command while the mount process owns the directory: served
	// over its admin socket.
	l.Run("snapshot", "create", "/vs1/vol1", "after_hello")
	got, err := os.ReadFile(filepath.Join(mnt, ".snapshot", "after_hello", "hello.txt"))
	if err != nil || string(got) != "hello tape\n" {
		t.Fatalf(".snapshot read: %q %v", got, err)
	}
	l.Run("volume", "unmount", mnt)
	done := make(chan error, 1)
	go func() { done <- m.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("mount process: %v\n%s", err, mOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("mount process did not exit after unmount:\n%s", mOut.String())
	}
	if out := l.Run("volume", "check", "/vs1/vol1"); !strings.Contains(out, "consistent") {
		t.Fatalf("check:\n%s", out)
	}
}
