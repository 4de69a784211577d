package ndmp

import (
	"os"
	"os/exec"
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
	shims := testpeer.Shim(t, "gmalloc0") + " " + testpeer.Shim(t, "skip_tbwr")
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
