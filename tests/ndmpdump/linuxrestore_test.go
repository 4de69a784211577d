package ndmpdump_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"tapelab/dma"
	"tapelab/internal/testlab"
	"tapelab/internal/testpeer"
	"tapelab/ndmp/wire"
	"tapelab/node"
)

var restoreTocRE = regexp.MustCompile(`^\s*(\d+)\s+\.(/.*)?$`)

// TestLinuxRestoreOfOurBackup: `tapelab backup` writes a level 0 image of a
// FUSE-filled volume to a cartridge over NDMP; `tapelab vtl tape
// export-file` takes that tape file off the cartridge; Linux restore lists
// it (-t) and rebuilds it (-r) in a temporary directory, identical to the
// volume: contents, modes, owners, symlinks, hard links, fifo, xattr, mtimes.
func TestLinuxRestoreOfOurBackup(t *testing.T) {
	restore := testpeer.Program(t, "restore", "/usr/sbin/restore", "/sbin/restore")
	l := newLab(t)
	l.Run("volume", "create", "/vs1/src", "--size", "64m")
	src := l.mount("src")
	want := fill(t, sourceTree(t), src)
	l.library("TL0001L8", true)
	// A first image, so ours is tape file 1, not the start of the tape.
	l.Run("backup", "/vs1/src/docs", "--level", "0", "--tape", "nrst0a", "--quiet")
	var b struct {
		Backup struct {
			TapeFile  int `json:"tape_file"`
			Cartridge string
		}
	}
	l.JSON(&b, "backup", "/vs1/src", "--level", "0", "--tape", "nrst0a")
	if b.Backup.Cartridge != "TL0001L8" || b.Backup.TapeFile != 1 {
		t.Fatalf("backup: %+v", b)
	}
	img := filepath.Join(t.TempDir(), "level0.img")
	var r node.TapeFileResult
	l.JSON(&r, "vtl", "tape", "export-file", "TL0001L8", "--file", "1", "--out", img)
	st, err := os.Stat(img)
	if err != nil || st.Size() != r.Bytes || r.Bytes < 1<<20 || !r.Terminated || r.Records < 2 {
		t.Fatalf("export-file: %+v (file: %v %v)", r, st, err)
	}

	// restore -t: the table of contents names exactly the tree's paths.
	out, err := exec.Command(restore, "-t", "-f", img).CombinedOutput()
	if err != nil {
		t.Fatalf("restore -t: %v\n%s", err, testlab.Tail(string(out), 4000))
	}
	var listed []string
	for _, line := range strings.Split(string(out), "\n") {
		if m := restoreTocRE.FindStringSubmatch(line); m != nil {
			p := strings.TrimPrefix(m[2], "/")
			if p == "" {
				p = "."
			}
			listed = append(listed, p)
		}
	}
	sort.Strings(listed)
	if d := diffRows(listed, paths(want)); d != "" {
		t.Errorf("restore -t differs from the tree (- tree, + listed):\n%s\nrestore -t output:\n%s", d, testlab.Tail(string(out), 4000))
	}

	// restore -r into an empty directory.
	dir := t.TempDir()
	cmd := exec.Command(restore, "-r", "-f", img)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restore -r: %v\n%s", err, testlab.Tail(string(out), 4000))
	}
	sameTree(t, "Linux restore -r of our image", manifest(t, dir, "restoresymtable"), want)
	if _, err := os.Stat(filepath.Join(dir, "restoresymtable")); err != nil {
		t.Errorf("restore -r left no restoresymtable (did it run?): %v", err)
	}
	os.Remove(filepath.Join(dir, "restoresymtable"))
	diffR(t, src, dir)
}

// TestLinuxDumpImageRestoredOverNDMP: a level 0 and a level 1 image made by
// Linux dump (fixtures/dump) are put on a cartridge with `tapelab vtl tape
// import-file` (tape files 0 and 1, 64 KiB records), then our DMA restores
// them over NDMP without a catalog, by tape file number, into a volume:
// after each the tree seen through FUSE is the fixture's expectation.
func TestLinuxDumpImageRestoredOverNDMP(t *testing.T) {
	l := newLab(t)
	l.Run("volume", "create", "/vs1/lx", "--size", "64m")
	l.library("TL0002L8", false) // in its slot: import-file loads it into a free drive
	for i, f := range []string{"level0.dump", "level1.dump"} {
		var r node.TapeFileResult
		l.JSON(&r, "vtl", "tape", "import-file", "TL0002L8", "--in", filepath.Join("..", "..", "fixtures", "dump", f), "--record-size", "64k")
		st, err := os.Stat(filepath.Join("..", "..", "fixtures", "dump", f))
		if err != nil || r.File != i || r.Bytes != st.Size() || r.Records != (st.Size()+65535)/65536 {
			t.Fatalf("import-file %s: %+v (%v)", f, r, err)
		}
	}
	l.Run("vtl", "tape", "load", "TL0002L8", "--drive", "st0")
	l.Run("ndmp", "user", "add", "restorer", "--password", "Restore-Lab-7")
	srv := dma.Server{Addr: l.addr, User: "restorer", Password: "Restore-Lab-7"}
	for i, expect := range []string{"expect-level0.tsv", "expect-level1.tsv"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		res, err := dma.Recover(ctx, dma.Job{Data: srv, Device: "nrst0a", Butype: "dump", RecordSize: 64 << 10,
			Env: []wire.PVal{{Name: "FILESYSTEM", Value: "/vs1/lx"}, {Name: "TYPE", Value: "dump"}}}, i, nil)
		cancel()
		if err != nil {
			t.Fatalf("recover tape file %d: %v", i, err)
		}
		if res.BytesRead == 0 {
			t.Fatalf("recover tape file %d read nothing: %+v", i, res)
		}
		// lost+found is in the image (an ext2 file system); the fixture's
		// manifest leaves it out, as its manifest.py does.
		m := l.mount("lx")
		sameTree(t, "Linux dump "+expect[7:13]+" restored over NDMP", anonymousGroups(manifest(t, m, "lost+found")), fixtureManifest(t, expect))
		l.Run("volume", "unmount", m)
	}
	if out := l.Run("volume", "check", "/vs1/lx"); !strings.Contains(out, "consistent") {
		t.Errorf("volume check:\n%s", out)
	}
}
