package dump_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tapelab/engines/dump"
	"tapelab/engines/dump/format"
	"tapelab/engines/dump/localfs"
	"tapelab/internal/manifest"
)

func fixturePath(name string) string { return filepath.Join("..", "..", "fixtures", "dump", name) }

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixturePath(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func restoreImage(t testing.TB, img []byte, dir string, spec dump.RestoreSpec) *dump.RestoreStats {
	t.Helper()
	rd, err := format.NewReader(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	st, err := dump.ReadImage(context.Background(), rd, localfs.Target{Root: dir}, spec)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func compareTree(t testing.TB, dir, expect string) {
	t.Helper()
	got, err := manifest.Dir(dir, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := manifest.File(fixturePath(expect))
	if err != nil {
		t.Fatal(err)
	}
	if d := manifest.Diff(got, want); d != "" {
		t.Errorf("restored tree differs from %s:\n%s", expect, d)
	}
}

// Linux dump images (the fixtures) restored by our engine: level 0, then
// level 1 on top (deletions, renames, reused inodes, mode/xattr changes).
func TestRestoreLinuxFixtureChain(t *testing.T) {
	dir := t.TempDir()
	state := &dump.RestoreState{}
	restoreImage(t, readFixture(t, "level0.dump"), dir, dump.RestoreSpec{State: state})
	compareTree(t, dir, "expect-level0.tsv")
	restoreImage(t, readFixture(t, "level1.dump"), dir, dump.RestoreSpec{State: state})
	compareTree(t, dir, "expect-level1.tsv")
	if _, err := os.Stat(filepath.Join(dir, ".dumprestore.tmp")); !os.IsNotExist(err) {
		t.Errorf("holding directory left behind: %v", err)
	}
}

func TestRestoreOutOfOrder(t *testing.T) {
	dir := t.TempDir()
	state := &dump.RestoreState{Date: 1, Level: 0}
	rd, _ := format.NewReader(bytes.NewReader(readFixture(t, "level1.dump")))
	_, err := dump.ReadImage(context.Background(), rd, localfs.Target{Root: dir}, dump.RestoreSpec{State: state})
	if err == nil || !strings.Contains(err.Error(), "in order") {
		t.Fatalf("level 1 over an older chain: %v", err)
	}
}

// Restoring over an existing tree: files are overwritten (contents,
// links), directories are kept.
func TestRestoreOverExistingTree(t *testing.T) {
	dir := t.TempDir()
	img := readFixture(t, "level0.dump")
	restoreImage(t, img, dir, dump.RestoreSpec{State: &dump.RestoreState{}})
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("changed"), 0o644)
	os.Remove(filepath.Join(dir, "hardlink-to-hello"))
	os.WriteFile(filepath.Join(dir, "hardlink-to-hello"), []byte("a separate file"), 0o644)
	os.WriteFile(filepath.Join(dir, "dir", "extra.txt"), []byte("not on tape"), 0o644)
	restoreImage(t, img, dir, dump.RestoreSpec{State: &dump.RestoreState{}})
	// directories are not overwritten: the extra file stays
	if err := os.Remove(filepath.Join(dir, "dir", "extra.txt")); err != nil {
		t.Fatal(err)
	}
	mt := time.Unix(1700000420, 0)
	os.Chtimes(filepath.Join(dir, "dir"), mt, mt)
	compareTree(t, dir, "expect-level0.tsv")
}
