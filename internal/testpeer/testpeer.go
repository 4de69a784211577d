// Package testpeer decides what a test does when a real peer program
// (ndmjob, restore, iscsi-inq, tshark, /dev/fuse, ...) is missing: locally
// (CI unset) the test is skipped with the reason; in CI (CI=true) it fails,
// because a missing peer must never pass silently.
package testpeer

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (CI set to a non-empty value
// other than "false" or "0").
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// Unavailable skips t (locally) or fails it (in CI) with the reason.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("required peer unavailable in CI: "+format, args...)
	}
	t.Skipf("peer unavailable (set CI=true to make this a failure): "+format, args...)
}

// Program returns the path of an executable, found on PATH or at one of the
// given absolute paths; when it is missing it calls Unavailable.
func Program(t testing.TB, name string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	Unavailable(t, "%s not found (install it with `make deps`)", name)
	return ""
}

// FUSE checks that /dev/fuse exists and fusermount3 is installed.
func FUSE(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		Unavailable(t, "/dev/fuse: %v", err)
	}
	Program(t, "fusermount3")
}
