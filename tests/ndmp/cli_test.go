package ndmp_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tapelab/ndmp/client"
	"tapelab/ndmp/wire"
)

var (
	binOnce sync.Once
	binPath string
	binDir  string // removed by TestMain when we built the binary
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// tapelabBin is $TAPELAB_BIN or a binary built once for these tests.
func tapelabBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binPath = os.Getenv("TAPELAB_BIN"); binPath != "" {
			return
		}
		dir, err := os.MkdirTemp("", "tapelab-ndmp-bin")
		if err != nil {
			binErr = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "tapelab")
		out, err := exec.Command("go", "build", "-o", binPath, "tapelab/cmd/tapelab").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("building tapelab: %v", binErr)
	}
	return binPath
}

type cliLab struct {
	t   *testing.T
	bin string
	dir string
}

func (l *cliLab) run(args ...string) string {
	l.t.Helper()
	c := exec.Command(l.bin, append([]string{"--data", l.dir}, args...)...)
	c.Env = append(os.Environ(), "TAPELAB_DATA=")
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	if err := c.Run(); err != nil {
		l.t.Fatalf("tapelab %s: %v\n%s%s", strings.Join(args, " "), err, o.String(), e.String())
	}
	return o.String()
}

// TestCLINDMP drives `tapelab ndmp ...` and `tapelab tape ...` against a
// running `tapelab serve`, with a real DMA session to look at.
func TestCLINDMP(t *testing.T) {
	l := &cliLab{t: t, bin: tapelabBin(t), dir: t.TempDir()}
	serve := exec.Command(l.bin, "--data", l.dir, "serve", "--ndmp", "127.0.0.1:0")
	serve.Env = append(os.Environ(), "TAPELAB_DATA=")
	var serveOut syncBuffer
	serve.Stdout, serve.Stderr = &serveOut, &serveOut
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Signal(os.Interrupt); serve.Wait() })
	var addr string
	for i := 0; addr == ""; i++ {
		if m := regexp.MustCompile(`NDMP v4 on (\S+)`).FindStringSubmatch(serveOut.String()); m != nil {
			addr = m[1]
		}
		if i == 600 {
			t.Fatalf("serve did not start:\n%s", serveOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.run("vtl", "library", "create", "lib0", "--drives", "1", "--slots", "3")
	l.run("vtl", "tape", "create", "TL0001L8", "--library", "lib0")
	l.run("vtl", "tape", "create", "TL0002L8", "--library", "lib0")

	l.run("ndmp", "user", "add", "backup", "--password", "secret")
	out := l.run("ndmp", "generate-password", "--user", "vsadmin")
	m := regexp.MustCompile(`Password:\s+(\S+)`).FindStringSubmatch(out)
	if m == nil || len(m[1]) != 16 {
		t.Fatalf("generate-password:\n%s", out)
	}
	pw := m[1]
	l.run("ndmp", "modify", "--plaintext=true", "--max-sessions=12")
	out = l.run("ndmp", "show")
	for _, want := range []string{"Authentication type plaintext:      true", "Maximum NDMP sessions:              12", "Listening on:                       " + addr, "Users:                              backup, vsadmin"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if out := l.run("ndmp", "version"); !strings.Contains(out, "NDMP version 4") {
		t.Errorf("version: %s", out)
	}

	// Labels and moves over NDMP, through the node's own DMA credentials.
	out = l.run("tape", "labels")
	if !regexp.MustCompile(`1024\s+slot\s+full\s+TL0001L8`).MatchString(out) {
		t.Fatalf("labels:\n%s", out)
	}
	l.run("tape", "load", "--from", "1024")
	out = l.run("tape", "labels")
	if !regexp.MustCompile(`256\s+drive\s+full\s+TL0001L8\s+1024`).MatchString(out) {
		t.Fatalf("after load:\n%s", out)
	}

	// A DMA session to watch: status, probe, trace, kill.
	c, err := client.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect("vsadmin", pw, false); err != nil {
		t.Fatal(err)
	}
	if err := c.TapeOpen("nrst0a", wire.TapeReadMode); err != nil {
		t.Fatal(err)
	}
	out = l.run("ndmp", "status")
	m = regexp.MustCompile(`(?m)^(\d+)\s+127\.0\.0\.1:\d+\s+vsadmin\s+nrst0a\s+IDLE`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("status:\n%s", out)
	}
	id := m[1]
	out = l.run("ndmp", "probe", id)
	if !strings.Contains(out, "Tape device:") || !strings.Contains(out, "nrst0a") || !strings.Contains(out, "READ") {
		t.Fatalf("probe:\n%s", out)
	}
	out = l.run("ndmp", "log", "start", id)
	tm := regexp.MustCompile(`trace:\s+(\S+)`).FindStringSubmatch(out)
	if tm == nil {
		t.Fatalf("log start:\n%s", out)
	}
	c.TapeGetState()
	l.run("ndmp", "log", "stop", id)
	if tr, _ := os.ReadFile(tm[1]); !strings.Contains(string(tr), "NDMP4_TAPE_GET_STATE") {
		t.Fatalf("trace file:\n%s", tr)
	}
	out = l.run("ndmp", "query", addr, "--user", "backup", "--password", "secret", "--text")
	if !strings.Contains(out, "NDMP Agent "+addr+" NDMPv4") || !strings.Contains(out, "Backup type info of dump format") {
		t.Fatalf("query:\n%s", out)
	}
	l.run("ndmp", "kill", id)
	if _, err := c.TapeGetState(); err == nil {
		t.Fatal("killed session still answers")
	}
	// Its drive is free: unload through the changer.
	l.run("tape", "unload", "--from", "256")
	l.run("tape", "move", "1024", "1026")
	out = l.run("tape", "labels")
	if !regexp.MustCompile(`1026\s+slot\s+full\s+TL0001L8`).MatchString(out) {
		t.Fatalf("after move:\n%s", out)
	}

	l.run("ndmp", "off")
	if _, err := client.Dial(addr); err == nil {
		t.Fatal("connection accepted while off")
	}
	l.run("ndmp", "on")
	if out := l.run("ndmp", "kill-all"); !strings.Contains(out, "sessions terminated") {
		t.Fatalf("kill-all: %s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for a process writing while we read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
