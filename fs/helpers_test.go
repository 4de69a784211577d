package fs_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tapelab/fs"
	"tapelab/internal/testpeer"
	"tapelab/volume"
)

func TestMain(m *testing.M) {
	if os.Getenv(writerEnv) != "" {
		os.Exit(durabilityWriter())
	}
	if os.Getenv(childEnv) != "" {
		os.Exit(durabilityChild())
	}
	os.Exit(m.Run())
}

// newVolume creates a store in a temp dir with one RW volume of size bytes.
func newVolume(t testing.TB, size int64) (*volume.Store, *volume.Volume) {
	t.Helper()
	st, err := volume.Open(filepath.Join(t.TempDir(), "db"), volume.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	vol, err := st.CreateVolume(volume.Spec{SVM: "vs1", Name: "vol1", Size: size})
	if err != nil {
		t.Fatalf("create volume: %v", err)
	}
	return st, vol
}

// mountVolume mounts vol in a temp dir and unmounts it at cleanup.
func mountVolume(t testing.TB, vol *volume.Volume, opts *fs.Options) *fs.MountPoint {
	t.Helper()
	testpeer.FUSE(t)
	dir := t.TempDir()
	// Other users (setpriv --reuid tests) must reach the mount point.
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	mp, err := fs.Mount(vol, filepath.Join(dir, "mnt"), opts)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() {
		if err := mp.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return mp
}

// sh runs a shell command line (cd happens inside the child, after exec,
// so the fork never touches the mount this process serves) and returns its
// output; failure fails the test.
func sh(t testing.TB, script string) string {
	t.Helper()
	out, err := shErr(script)
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, clip(out))
	}
	return out
}

func shErr(script string) (string, error) {
	cmd := exec.Command("/bin/bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "GIT_CONFIG_NOSYSTEM=1", "HOME="+os.TempDir())
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	return buf.String(), err
}

// clip bounds what a failing test prints.
func clip(s string) string {
	if len(s) > 4000 {
		return s[:4000] + fmt.Sprintf("\n... (%d more bytes)", len(s)-4000)
	}
	return s
}

func need(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		testpeer.Program(t, n)
	}
}

func q(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
