// Package testlab runs the tapelab binary in end-to-end tests the way a
// user does: a fresh data directory, commands with --data, a `tapelab
// serve` node when a test needs one. It is shared by tests/cli,
// tests/ndmpdump and the other suites that drive the binary.
package testlab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary returns the tapelab binary the tests run: $TAPELAB_BIN (what
// `make test` builds), else one built now into a temporary directory that
// cleanup removes. Call it from TestMain.
func Binary() (path string, cleanup func(), err error) {
	if p := os.Getenv("TAPELAB_BIN"); p != "" {
		return p, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "tapelab-bin")
	if err != nil {
		return "", nil, err
	}
	path = filepath.Join(tmp, "tapelab")
	cmd := exec.Command("go", "build", "-o", path, "tapelab/cmd/tapelab")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(tmp)
		return "", nil, fmt.Errorf("build tapelab: %w", err)
	}
	return path, func() { os.RemoveAll(tmp) }, nil
}

// Main is a TestMain body: it sets *bin, runs the tests and exits.
func Main(m *testing.M, bin *string) {
	p, cleanup, err := Binary()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	*bin = p
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// Output collects a child's output while the test reads it.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// Lab is one data directory. Its path is short (/tmp/tlXXXX) so the admin
// socket fits sun_path's 108 bytes.
type Lab struct {
	T   testing.TB
	Dir string
	Bin string
}

// New makes a lab in a fresh directory removed at the end of the test.
func New(t testing.TB, bin string) *Lab {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "tl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return &Lab{T: t, Dir: dir, Bin: bin}
}

// Cmd is tapelab --data DIR args... (TAPELAB_DATA cleared).
func (l *Lab) Cmd(args ...string) *exec.Cmd {
	c := exec.Command(l.Bin, append([]string{"--data", l.Dir}, args...)...)
	c.Env = append(os.Environ(), "TAPELAB_DATA=")
	return c
}

// Try runs tapelab and returns its stdout, stderr and exit error.
func (l *Lab) Try(args ...string) (string, string, error) {
	c := l.Cmd(args...)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	err := c.Run()
	return o.String(), e.String(), err
}

// Run runs tapelab and returns stdout; a non-zero exit fails the test.
func (l *Lab) Run(args ...string) string {
	l.T.Helper()
	out, errOut, err := l.Try(args...)
	if err != nil {
		l.T.Fatalf("tapelab %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, Tail(out, 4000), Tail(errOut, 4000))
	}
	return out
}

// JSON runs tapelab --json args and decodes stdout into v.
func (l *Lab) JSON(v any, args ...string) {
	l.T.Helper()
	out := l.Run(append([]string{"--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		l.T.Fatalf("tapelab %v: bad JSON %q: %v", args, Tail(out, 2000), err)
	}
}

var ndmpAddrRE = regexp.MustCompile(`NDMP v4 on (127\.0\.0\.1:\d+)`)

// Serve starts `tapelab serve` with NDMP on a free loopback port, waits
// until it listens and returns that address; the node is stopped (SIGINT,
// then SIGKILL after 20 s, which fails the test) when the test ends.
func (l *Lab) Serve(extra ...string) string {
	l.T.Helper()
	serve := l.Cmd(append([]string{"serve", "--ndmp", "127.0.0.1:0"}, extra...)...)
	out := &Output{}
	serve.Stdout, serve.Stderr = out, out
	if err := serve.Start(); err != nil {
		l.T.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { serve.Wait(); close(exited) }()
	l.T.Cleanup(func() {
		serve.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			serve.Process.Kill()
			<-exited
			l.T.Errorf("tapelab serve did not stop on SIGINT:\n%s", Tail(out.String(), 4000))
		}
	})
	var addr string
	WaitFor(l.T, func() bool {
		select {
		case <-exited:
			l.T.Fatalf("tapelab serve exited:\n%s", out.String())
		default:
		}
		if m := ndmpAddrRE.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			return true
		}
		return false
	}, "tapelab serve to listen")
	return addr
}

// WaitFor polls cond every 50 ms for up to 30 s.
func WaitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Tail returns the last n bytes of s, marked when cut, so failures print
// bounded output.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Mount mounts /SVM/VOL (e.g. "/vs1/vol1") at DIR/mnt-VOL through the
// node the lab talks to, and unmounts it at cleanup (lazily if the node
// is gone).
func (l *Lab) Mount(volPath string) string {
	l.T.Helper()
	m := filepath.Join(l.Dir, "mnt-"+filepath.Base(volPath))
	l.Run("volume", "mount", volPath, m)
	l.T.Cleanup(func() {
		if err := l.Cmd("volume", "unmount", m).Run(); err != nil {
			exec.Command("fusermount3", "-uz", m).Run()
		}
	})
	return m
}
