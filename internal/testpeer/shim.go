package testpeer

import (
	"embed"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The LD_PRELOAD shims the tests load into real peers, one copy each:
// gmalloc0.c (Debian's ndmjob sends zero-length TAPE_WRITEs), skip_tbwr.c
// (two client bugs of ndmjob's test-tape) and sgshim.c (mtx and sg3_utils
// talk SG_IO to our devices). Each file says why it exists.
//
//go:embed shims/*.c
var shims embed.FS

// Shim compiles shims/NAME.c with gcc into an LD_PRELOAD library in a
// temporary directory and returns its path. Without gcc and libc6-dev's
// headers the peer is unavailable (a skip locally, a failure in CI).
func Shim(t testing.TB, name string) string {
	t.Helper()
	gcc := Program(t, "gcc", "/usr/bin/gcc")
	src, err := shims.ReadFile("shims/" + name + ".c")
	if err != nil {
		t.Fatalf("no shim %s: %v", name, err)
	}
	dir := t.TempDir()
	c := filepath.Join(dir, name+".c")
	if err := os.WriteFile(c, src, 0o644); err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(dir, name+".so")
	if out, err := exec.Command(gcc, "-O2", "-shared", "-fPIC", "-o", so, c, "-ldl").CombinedOutput(); err != nil {
		Unavailable(t, "building the %s shim (needs gcc and libc6-dev): %v\n%s", name, err, out)
	}
	return so
}
