package ndmp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestThreeWayWithNdmjobDaemon runs three-way operations between two
// different implementations: our DATA service (butype lab) streams into
// the mover of ndmjob's own daemon over TCP, and recovers from it.
func TestThreeWayWithNdmjobDaemon(t *testing.T) {
	l := newLab(t, labConfig())
	n := newNdmjobBenchT(t, 1)
	daemon := n.startDaemon(t) + "/4m,ndmp,ndmp"
	tape := n.tapeFile(t)
	out := ndmjob(t, n.env, "-c", "-v", "-D", l.agent("4m"), "-T", daemon, "-B", "lab", "-C", "/vs1/vol1",
		"-E", "SIZE=3000000", "-E", "RANDOM=y", "-f", tape)
	mustContain(t, out, `SESS "Operation ended OKAY"`, "DATA: bytes 2929KB")
	out = ndmjob(t, n.env, "-x", "-v", "-D", l.agent("4m"), "-T", daemon, "-B", "lab", "-C", "/vs1/vol1",
		"-E", "SIZE=3000000", "-E", "RANDOM=y", "-f", tape)
	mustContain(t, out, `SESS "Operation ended OKAY"`)

	// The other way: ndmjob's DATA agent (tar) into our mover, and back.
	src := t.TempDir()
	files := map[string]string{"a.txt": "hello tape\n", "sub/b.bin": strings.Repeat("0123456789", 50000)}
	for name, body := range files {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out = ndmjob(t, n.env, "-c", "-v", "-D", daemon, "-T", l.agent("4m"), "-B", "tar", "-C", src, "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`)
	dst := t.TempDir()
	out = ndmjob(t, n.env, "-x", "-v", "-D", daemon, "-T", l.agent("4m"), "-B", "tar", "-C", dst, "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`)
	for name, body := range files {
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || string(got) != body {
			t.Fatalf("restored %s: %d bytes, %v", name, len(got), err)
		}
	}
	waitNoSessions(t, l)
}
