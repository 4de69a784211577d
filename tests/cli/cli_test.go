// Package cli_test runs the tapelab binary the way a user does: with and
// without a running node, through a real FUSE mount, with bad input.
package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tapelab/internal/testpeer"
)

var tapelabBin string

func TestMain(m *testing.M) {
	tapelabBin = os.Getenv("TAPELAB_BIN")
	var tmp string
	if tapelabBin == "" {
		var err error
		tmp, err = os.MkdirTemp("", "tapelab-bin")
		if err != nil {
			panic(err)
		}
		tapelabBin = filepath.Join(tmp, "tapelab")
		cmd := exec.Command("go", "build", "-o", tapelabBin, "tapelab/cmd/tapelab")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			panic("build tapelab: " + err.Error())
		}
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// lab is one data directory; short path so the admin socket fits sun_path.
type lab struct {
	t   *testing.T
	dir string
}

func newLab(t *testing.T) *lab {
	dir, err := os.MkdirTemp("/tmp", "tl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return &lab{t: t, dir: dir}
}

func (l *lab) cmd(args ...string) *exec.Cmd {
	c := exec.Command(tapelabBin, append([]string{"--data", l.dir}, args...)...)
	c.Env = append(os.Environ(), "TAPELAB_DATA=")
	return c
}

// run runs tapelab and returns stdout; it fails the test on a non-zero exit.
func (l *lab) run(args ...string) string {
	l.t.Helper()
	out, errOut, err := l.try(args...)
	if err != nil {
		l.t.Fatalf("tapelab %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (l *lab) try(args ...string) (string, string, error) {
	c := l.cmd(args...)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	err := c.Run()
	return o.String(), e.String(), err
}

func (l *lab) json(v any, args ...string) {
	l.t.Helper()
	out := l.run(append([]string{"--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		l.t.Fatalf("tapelab %v: bad JSON %q: %v", args, out, err)
	}
}

type volInfo struct {
	SVM, Name, State, Type string
	Size                   int64
	Snapshots              int
}

func checkVolumes(t *testing.T, l *lab, want int) []volInfo {
	t.Helper()
	var vs []volInfo
	l.json(&vs, "volume", "list")
	if len(vs) != want {
		t.Fatalf("volume list: want %d volumes, got %+v", want, vs)
	}
	return vs
}

func TestCommandsWithAndWithoutARunningNode(t *testing.T) {
	l := newLab(t)
	// No node running: each command opens the data directory itself.
	l.run("volume", "create", "/vs1/vol1", "--size", "64m")
	l.run("snapshot", "create", "/vs1/vol1", "s1")
	vs := checkVolumes(t, l, 1)
	if vs[0].SVM != "vs1" || vs[0].Name != "vol1" || vs[0].Size != 64<<20 || vs[0].State != "online" || vs[0].Snapshots != 1 {
		t.Fatalf("volume: %+v", vs[0])
	}
	if out := l.run("volume", "list"); !strings.Contains(out, "vol1") || !strings.Contains(out, "Vserver") {
		t.Fatalf("volume list table:\n%s", out)
	}

	// A node running: the same commands go over the admin socket (the data
	// directory is locked, so they could not open it themselves).
	serve := l.cmd("serve", "--ndmp", "127.0.0.1:0")
	var serveOut bytes.Buffer
	serve.Stdout, serve.Stderr = &serveOut, &serveOut
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(l.dir, "tapelab.sock")); return err == nil }, "admin socket")
	l.run("volume", "create", "/vs1/vol2", "--size", "32m", "--type", "DP")
	l.run("volume", "restrict", "/vs1/vol2")
	vs = checkVolumes(t, l, 2)
	if vs[1].Name != "vol2" || vs[1].Type != "DP" || vs[1].State != "restricted" {
		t.Fatalf("vol2: %+v", vs[1])
	}
	var snaps []struct{ Name string }
	l.json(&snaps, "snapshot", "list", "/vs1/vol1")
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
	l.run("volume", "create", "/vs1/vol1", "--size", "16m")
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
		out, errOut, err := l.try(args...)
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
	l.run("volume", "create", "/vs1/vol1", "--size", "64m")
	mnt := filepath.Join(l.dir, "mnt")
	m := l.cmd("volume", "mount", "/vs1/vol1", mnt)
	var mOut bytes.Buffer
	m.Stdout, m.Stderr = &mOut, &mOut
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
	l.run("snapshot", "create", "/vs1/vol1", "after_hello")
	got, err := os.ReadFile(filepath.Join(mnt, ".snapshot", "after_hello", "hello.txt"))
	if err != nil || string(got) != "hello tape\n" {
		t.Fatalf(".snapshot read: %q %v", got, err)
	}
	l.run("volume", "unmount", mnt)
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
	if out := l.run("volume", "check", "/vs1/vol1"); !strings.Contains(out, "consistent") {
		t.Fatalf("check:\n%s", out)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
