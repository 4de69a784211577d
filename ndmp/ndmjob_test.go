package ndmp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tapelab/internal/testpeer"
)

const ndmjobPath = "/usr/lib/amanda/ndmjob"

// startTestServer runs a server with user ndmp/ndmp on a free port.
func startTestServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Users().Add("ndmp", "ndmp"); err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, addr.String()
}

// buildShim compiles an LD_PRELOAD shim from testdata: gmalloc0.c makes
// Debian's ndmjob send zero-length TAPE_WRITEs (g_malloc(0) returns NULL
// there); skip_tbwr.c works around two client bugs of test-tape (see the file).
func buildShim(t *testing.T, name string) string {
	t.Helper()
	gcc := testpeer.Program(t, "gcc")
	so := filepath.Join(t.TempDir(), name+".so")
	out, err := exec.Command(gcc, "-O2", "-shared", "-fPIC", "-o", so, filepath.Join("testdata", name+".c")).CombinedOutput()
	if err != nil {
		t.Fatalf("building %s.so: %v\n%s", name, err, out)
	}
	return so
}

func runNdmjob(t *testing.T, env []string, args ...string) string {
	t.Helper()
	nj := testpeer.Program(t, "ndmjob", ndmjobPath)
	cmd := exec.Command(nj, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func TestNdmjobTestTapeMemTape(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	_, addr := startTestServer(t, Config{Devices: &memDevices{tapes: []*memTape{tape}}})
	shims := buildShim(t, "gmalloc0") + " " + buildShim(t, "skip_tbwr")
	out := runNdmjob(t, []string{"LD_PRELOAD=" + shims}, "-o", "test-tape", "-v", "-T", addr+"/4m,ndmp,ndmp", "-f", "nrst0a")
	for _, phase := range []string{"T-OC", "T-BGS", "T-BW", "T-BR", "T-WRITE", "T-READ", "T-MTIO"} {
		if !strings.Contains(out, "Test "+phase+" Passed") {
			t.Errorf("phase %s did not pass", phase)
		}
	}
	if !strings.Contains(out, `FINAL test-tape Passed`) || t.Failed() {
		t.Fatalf("ndmjob test-tape did not pass:\n%s", out)
	}
}

func TestNdmjobTestMoverMemTape(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	_, addr := startTestServer(t, Config{Devices: &memDevices{tapes: []*memTape{tape}}})
	out := runNdmjob(t, nil, "-o", "test-mover", "-v", "-T", addr+"/4m,ndmp,ndmp", "-f", "nrst0a")
	if !strings.Contains(out, `FINAL test-mover Passed`) || !strings.Contains(out, "LOCAL and TCP addressing tested.") {
		t.Fatalf("ndmjob test-mover did not pass:\n%s", out)
	}
}
