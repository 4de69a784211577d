package ndmp_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tapelab/internal/testpeer"
	"tapelab/ndmp"
	"tapelab/ndmp/vtldev"
	"tapelab/vtl"
)

const ndmjobPath = "/usr/lib/amanda/ndmjob"

// lab is a VTL library (2 drives, 10 slots, 2 mail slots, cartridges
// TL0001L8.. in slots 1-6, TL0001L8 loaded in drive st0) and an NDMP server
// with user ndmp/ndmp on a free 127.0.0.1 port.
type lab struct {
	inv  *vtl.Inventory
	srv  *ndmp.Server
	addr string
	emap vtl.ElementMap
	dir  string
}

func newLab(t *testing.T, cfg ndmp.Config) *lab { return newLabLoaded(t, cfg, true) }

// newLabLoaded is newLab, with drive st0 left empty when load is false.
func newLabLoaded(t *testing.T, cfg ndmp.Config, load bool) *lab {
	t.Helper()
	dir := t.TempDir()
	inv, err := vtl.Open(filepath.Join(dir, "vtl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inv.Close() })
	lib, err := inv.CreateLibrary(vtl.LibrarySpec{Name: "lib0", Drives: 2, Slots: 10, MailSlots: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		if _, err := inv.CreateCartridge(vtl.CartridgeSpec{Barcode: fmt.Sprintf("TL%04dL8", i), Library: "lib0", Slot: i, Capacity: 64 << 20}); err != nil {
			t.Fatal(err)
		}
	}
	if load {
		if err := inv.LoadCartridge("TL0001L8", "st0"); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Devices = vtldev.New(inv)
	if cfg.DataDir == "" {
		cfg.DataDir = dir
	}
	srv, err := ndmp.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Users().Add("ndmp", "ndmp"); err != nil {
		t.Fatal(err)
	}
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &lab{inv: inv, srv: srv, addr: a.String(), emap: lib.Changer().Elements(), dir: dir}
}

// agent is the ndmjob agent string for the lab with flags (4, 4m, 4t).
func (l *lab) agent(flags string) string { return l.addr + "/" + flags + ",ndmp,ndmp" }

// ndmjob runs ndmjob and returns its output (it often exits 0 on failure:
// callers assert on the lines).
func ndmjob(t *testing.T, env []string, args ...string) string {
	t.Helper()
	nj := testpeer.Program(t, "ndmjob", ndmjobPath)
	cmd := exec.Command(nj, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	out, _ := cmd.CombinedOutput()
	if len(out) > 64<<10 {
		out = out[len(out)-64<<10:]
	}
	return string(out)
}

func mustContain(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("output lacks %q", l)
		}
	}
	if t.Failed() {
		t.Fatalf("ndmjob output:\n%s", out)
	}
}

// waitNoSessions waits until every session has ended (released its devices).
func waitNoSessions(t *testing.T, l *lab) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if len(l.srv.Sessions()) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("sessions still open: %+v", l.srv.Sessions())
}
