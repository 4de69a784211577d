package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tapelab/internal/testpeer"
)

// TestBackupRestoreThroughTheCLI is a user's session: a running node, data
// copied in with cp through a FUSE mount, a library with a cartridge made
// with the vtl commands, level 0 and level 1 backups over NDMP, a chain
// restore into a new volume compared with diff -r, and a single-file DAR.
func TestBackupRestoreThroughTheCLI(t *testing.T) {
	testpeer.FUSE(t)
	l := newLab(t)
	l.Serve()

	l.Run("volume", "create", "/vs1/src", "--size", "128m")
	l.Run("volume", "create", "/vs1/dst", "--size", "128m")
	l.Run("volume", "create", "/vs1/one", "--size", "32m")
	l.Run("volume", "create", "/vs1/dirdar", "--size", "32m")
	mnt := func(vol string) string { return l.Mount("/vs1/" + vol) }
	src := mnt("src")
	tree := filepath.Join(t.TempDir(), "tree")
	for i, sz := range []int{0, 100, 5000, 70000, 300000} {
		dir := filepath.Join(tree, "d"+string(rune('a'+i%3)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "f"+string(rune('0'+i))), bytes.Repeat([]byte{byte(i + 1)}, sz), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("da/f0", filepath.Join(tree, "link")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", tree+"/.", src).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}

	l.Run("vtl", "library", "create", "lib1", "--drives", "1", "--slots", "4")
	l.Run("vtl", "tape", "create", "TL0001L8", "--library", "lib1", "--capacity", "256m")
	l.Run("vtl", "tape", "load", "TL0001L8", "--drive", "st0")

	l.Run("snapshot", "create", "/vs1/src", "base")
	var b0 struct {
		Backup struct {
			ID        int
			TapeFile  int `json:"tape_file"`
			Cartridge string
			Files     int
		}
	}
	l.JSON(&b0, "backup", "/vs1/src", "--level", "0", "--snapshot", "base", "--tape", "nrst0a")
	if b0.Backup.Cartridge != "TL0001L8" || b0.Backup.Files < 8 || b0.Backup.ID != 1 || b0.Backup.TapeFile != 0 {
		t.Fatalf("level 0: %+v", b0)
	}
	if err := os.WriteFile(filepath.Join(src, "da", "f0"), []byte("changed after level 0\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "db", "f1")); err != nil {
		t.Fatal(err)
	}
	l.Run("snapshot", "create", "/vs1/src", "incr")
	out := l.Run("backup", "/vs1/src", "--level", "1", "--snapshot", "incr")
	if !strings.Contains(out, "tape file 1") {
		t.Fatalf("level 1 summary:\n%s", out)
	}
	if out := l.Run("catalog", "list"); !strings.Contains(out, "2 backups.") {
		t.Fatalf("catalog:\n%s", out)
	}
	// The level 1 came from the snapshot diff base..incr; the event log
	// names the tape device.
	evlog, err := os.ReadFile(filepath.Join(l.Dir, "log", "backup"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{" Options (incremental from snapshot diff: base..incr, ", " Tape_open (nrst0a)"} {
		if !strings.Contains(string(evlog), ev) {
			t.Errorf("event log lacks %q:\n%s", ev, evlog)
		}
	}

	// Backup 2 is a level 1: the restore applies backup 1 first.
	out = l.Run("restore", "2", "--to", "/vs1/dst")
	if !strings.Contains(out, "Bytes read") {
		t.Fatalf("restore output:\n%s", out)
	}
	dst := mnt("dst")
	if out, err := exec.Command("diff", "-r", "--no-dereference", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("diff -r src dst: %v\n%s", err, out)
	}

	// Single file by direct access from the level 0 image.
	l.Run("restore", "1", "--to", "/vs1/one", "/dc/f2")
	one := mnt("one")
	got, err := os.ReadFile(filepath.Join(one, "dc", "f2"))
	if err != nil || len(got) != 5000 || got[0] != 3 {
		t.Fatalf("DAR restore: %d bytes, %v", len(got), err)
	}
	if _, err := os.Stat(filepath.Join(one, "da", "f0")); !os.IsNotExist(err) {
		t.Fatalf("DAR restored more than asked: %v", err)
	}
	// A directory by enhanced DAR (the DMA sets ENHANCED_DAR_ENABLED for
	// directories): the data server reads the directories and then the
	// image in bounded windows up to the directory's last file.
	out = l.Run("restore", "1", "--to", "/vs1/dirdar", "/da")
	if !strings.Contains(out, "Bytes read") {
		t.Fatalf("directory DAR output:\n%s", out)
	}
	dd := mnt("dirdar") // mounted after the restore: no kernel cache of the empty volume
	if got, err := os.ReadFile(filepath.Join(dd, "da", "f3")); err != nil || len(got) != 70000 || got[0] != 4 {
		t.Fatalf("directory DAR da/f3: %d bytes, %v\n%s", len(got), err, out)
	}
	if st, err := os.Stat(filepath.Join(dd, "da", "f0")); err != nil || st.Size() != 0 {
		t.Fatalf("directory DAR da/f0 (empty at level 0): %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(dd, "db")); !os.IsNotExist(err) {
		t.Fatalf("directory DAR restored another directory: %v", err)
	}
	for _, v := range []string{"src", "dst", "one", "dirdar"} {
		if out := l.Run("volume", "check", "/vs1/"+v); !strings.Contains(out, "consistent") {
			t.Fatalf("check %s:\n%s", v, out)
		}
	}
}

// TestDemo runs the README's main job.
func TestDemo(t *testing.T) {
	l := newLab(t)
	var steps []struct{ Step, Result string }
	l.JSON(&steps, "demo")
	if len(steps) < 10 {
		t.Fatalf("demo ran %d steps: %+v", len(steps), steps)
	}
	last := steps[len(steps)-1]
	if !strings.Contains(last.Result, "consistent") {
		t.Fatalf("last step: %+v", last)
	}
}
