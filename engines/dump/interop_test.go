package dump_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"tapelab/engines/dump"
	"tapelab/engines/dump/format"
	"tapelab/engines/dump/internal/gentree"
	"tapelab/engines/dump/internal/linuxdump"
	"tapelab/engines/dump/localfs"
	"tapelab/internal/manifest"
	"tapelab/internal/testpeer"
)

// shmDir is a temp dir on tmpfs: restore -C compares inode flags, and
// ext4 sets EXTENTS_FL on everything (see the dump-tools notes).
func shmDir(t testing.TB) string {
	t.Helper()
	base := "/dev/shm"
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		return t.TempDir()
	}
	d, err := os.MkdirTemp(base, "dumptest-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func dumpDir(t testing.TB, src string, info format.VolumeInfo) []byte {
	t.Helper()
	s, err := localfs.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := dump.WriteImage(context.Background(), s, &buf, dump.DumpSpec{Root: format.RootIno, Info: info}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func run(t testing.TB, dir string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func manifestOf(t testing.TB, dir string, usec bool) []string {
	t.Helper()
	m, err := manifest.Dir(dir, manifest.Options{MtimeUsec: usec})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Images we write restore with Linux restore -r, -x, -t and -C to a tree
// identical to the source.
func TestOurImageLinuxRestore(t *testing.T) {
	restore := testpeer.Program(t, "restore", "/usr/sbin/restore", "/sbin/restore")
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 1, Bulk: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	for _, info := range []format.VolumeInfo{
		{Date: time.Unix(1704164645, 0), Label: "tapelab", Filesys: "/vs1/vol1", Dev: "snapshot_for_backup.0", Host: "tapelab"},
		{Date: time.Unix(1704164645, 0), BigEndian: true, Ntrec: 64},
	} {
		img := dumpDir(t, src, info)
		work := shmDir(t)
		imgPath := filepath.Join(work, "img.dump")
		if err := os.WriteFile(imgPath, img, 0o644); err != nil {
			t.Fatal(err)
		}
		// -r: full restore
		rr := filepath.Join(work, "rr")
		os.Mkdir(rr, 0o755)
		if out, err := run(t, rr, restore, "-r", "-f", imgPath); err != nil {
			t.Fatalf("restore -r: %v\n%s", err, out)
		}
		if d := manifest.Diff(manifestOf(t, rr, true), manifestOf(t, src, true)); d != "" {
			t.Errorf("restore -r (be=%v) differs:\n%s", info.BigEndian, d)
		}
		// sparse file restored sparse
		var sb, rb int64
		if st, err := os.Stat(filepath.Join(src, "sparse")); err == nil {
			sb = blocks(st)
		}
		if st, err := os.Stat(filepath.Join(rr, "sparse")); err == nil {
			rb = blocks(st)
		}
		if rb > sb+16 || rb == 0 {
			t.Errorf("sparse file: %d blocks restored, %d in source", rb, sb)
		}
		t.Logf("manifest rows: %d", len(manifestOf(t, rr, true)))
		// -C: compare against the source
		if out, err := run(t, work, restore, "-C", "-f", imgPath, "-D", src); err != nil {
			t.Errorf("restore -C: %v\n%s", err, out)
		}
		// -t: list
		out, err := run(t, work, restore, "-t", "-f", imgPath)
		if err != nil {
			t.Fatalf("restore -t: %v\n%s", err, out)
		}
		var listed []string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.SplitN(strings.TrimSpace(l), "\t", 2); len(f) == 2 {
				listed = append(listed, f[1])
			}
		}
		var want []string
		filepath.Walk(src, func(p string, _ os.FileInfo, _ error) error {
			rel, _ := filepath.Rel(src, p)
			if rel == "." {
				want = append(want, ".")
			} else {
				want = append(want, "./"+rel)
			}
			return nil
		})
		sort.Strings(listed)
		sort.Strings(want)
		if strings.Join(listed, "\n") != strings.Join(want, "\n") {
			t.Errorf("restore -t lists:\n%s\nwant:\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
		}
		// -x of named files
		rx := filepath.Join(work, "rx")
		os.Mkdir(rx, 0o755)
		if out, err := run(t, rx, restore, "-x", "-a", "-o", "-f", imgPath, "./dir/nested/deep.txt", "./acl.txt"); err != nil {
			t.Fatalf("restore -x: %v\n%s", err, out)
		}
		for _, f := range []string{"dir/nested/deep.txt", "acl.txt"} {
			a, _ := os.ReadFile(filepath.Join(src, f))
			b, err := os.ReadFile(filepath.Join(rx, f))
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("restore -x %s: %v", f, err)
			}
		}
		if _, err := os.Stat(filepath.Join(rx, "hello.txt")); err == nil {
			t.Errorf("restore -x extracted an unnamed file")
		}
	}
}

func blocks(st os.FileInfo) int64 {
	if s, ok := st.Sys().(interface{ Blocks() int64 }); ok {
		return s.Blocks()
	}
	return sysBlocks(st)
}

// Images Linux dump writes from an ext2 image of a tree are restored by
// our engine to a tree identical to the source.
func TestLinuxDumpOurRestore(t *testing.T) {
	testpeer.Program(t, "dump", "/usr/sbin/dump", "/sbin/dump")
	testpeer.Program(t, "mke2fs", "/usr/sbin/mke2fs", "/sbin/mke2fs")
	testpeer.Program(t, "unshare", "/usr/bin/unshare")
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 2, Bulk: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(src, 0o755) // mke2fs -d does not copy the root's mode
	work := t.TempDir()
	img := filepath.Join(work, "src.ext2")
	if err := linuxdump.MakeExt2(src, img, "48M", 512); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "l0.dump")
	if _, err := linuxdump.Dump(work, "-0", "-f", out, img); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	dst := shmDir(t)
	restoreImage(t, data, dst, dump.RestoreSpec{State: &dump.RestoreState{}})
	opts := manifest.Options{NoRootMtime: true}
	got, _ := manifest.Dir(dst, opts)
	want, _ := manifest.Dir(src, opts)
	if d := manifest.Diff(got, want); d != "" {
		t.Errorf("our restore of a Linux dump differs from the source:\n%s", d)
	}
}

// The ONTAP/Solaris flavour (big-endian, c_flags DR_NEWHEADER only,
// Solaris dinode, 4.3BSD directory entries) restores with Linux restore
// too, except that it reads only 16-bit owners from such images (as the
// format notes say): ids above 65535 come back as 65535.
func TestOldFormatLinuxRestore(t *testing.T) {
	restore := testpeer.Program(t, "restore", "/usr/sbin/restore", "/sbin/restore")
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	img := dumpDir(t, src, format.VolumeInfo{Date: time.Unix(1704164645, 0), BigEndian: true, OldFormat: true, Ntrec: 63})
	work := shmDir(t)
	p := filepath.Join(work, "img")
	os.WriteFile(p, img, 0o644)
	rr := filepath.Join(work, "rr")
	os.Mkdir(rr, 0o755)
	if out, err := run(t, rr, restore, "-r", "-f", p); err != nil {
		t.Fatalf("restore -r: %v\n%s", err, out)
	}
	want := manifestOf(t, src, true)
	for i, row := range want {
		if strings.HasPrefix(row, "owner-70000.txt\t") {
			want[i] = strings.Replace(row, "\t70000\t70001\t", "\t65535\t65535\t", 1)
		}
	}
	if d := manifest.Diff(manifestOf(t, rr, true), want); d != "" {
		t.Errorf("restore -r of an old-format image:\n%s", d)
	}
	// our reader gets the 32-bit ids back from the Solaris fields
	dst := shmDir(t)
	restoreImage(t, img, dst, dump.RestoreSpec{State: &dump.RestoreState{}})
	if d := manifest.Diff(manifestOf(t, dst, true), manifestOf(t, src, true)); d != "" {
		t.Errorf("our restore of an old-format image:\n%s", d)
	}
}

// A fresh Linux level-0/level-1 chain (the level-1 changes made offline
// with debugfs, as the fixtures were) restored by our engine in chain
// order reproduces the changed tree.
func TestLinuxIncrementalChainOurRestore(t *testing.T) {
	testpeer.Program(t, "dump", "/usr/sbin/dump", "/sbin/dump")
	debugfs := testpeer.Program(t, "debugfs", "/usr/sbin/debugfs", "/sbin/debugfs")
	testpeer.Program(t, "mke2fs", "/usr/sbin/mke2fs", "/sbin/mke2fs")
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 9}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(src, 0o755)
	work := t.TempDir()
	img := filepath.Join(work, "fs.ext2")
	if err := linuxdump.MakeExt2(src, img, "16M", 256); err != nil {
		t.Fatal(err)
	}
	dd := filepath.Join(work, "dumpdates")
	os.WriteFile(dd, nil, 0o644)
	l0, l1 := filepath.Join(work, "l0.dump"), filepath.Join(work, "l1.dump")
	if _, err := linuxdump.Dump(work, "-0", "-u", "-D", dd, "-f", l0, img); err != nil {
		t.Fatal(err)
	}
	// the level-1 changes, on the image and on the source tree alike
	newFile := filepath.Join(work, "new.txt")
	os.WriteFile(newFile, []byte("new in level 1\n"), 0o644)
	const when = 1800000000
	cmds := strings.Join([]string{
		"rm hello.txt", "rmdir emptydir", "mkdir newdir", "write " + newFile + " newdir/file.txt",
		"ln rand-20000.bin renamed-20000.bin", "unlink rand-20000.bin", "sif xattr.txt mode 0100600", "sif xattr.txt ctime @1800000000",
		"sif newdir mode 040755", "sif newdir/file.txt mode 0100644",
		"sif / mtime @1800000000", "sif newdir mtime @1800000000", "sif newdir/file.txt mtime @1800000000",
	}, "\n") + "\n"
	cmdFile := filepath.Join(work, "l1.cmd")
	os.WriteFile(cmdFile, []byte(cmds), 0o644)
	if out, err := exec.Command(debugfs, "-w", "-f", cmdFile, img).CombinedOutput(); err != nil {
		t.Fatalf("debugfs: %v\n%s", err, out)
	}
	if _, err := linuxdump.Dump(work, "-1", "-u", "-D", dd, "-f", l1, img); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(filepath.Join(src, "hello.txt")))
	must(os.Remove(filepath.Join(src, "emptydir")))
	must(os.Mkdir(filepath.Join(src, "newdir"), 0o755))
	must(os.WriteFile(filepath.Join(src, "newdir", "file.txt"), []byte("new in level 1\n"), 0o644))
	must(os.Rename(filepath.Join(src, "rand-20000.bin"), filepath.Join(src, "renamed-20000.bin")))
	must(os.Chmod(filepath.Join(src, "xattr.txt"), 0o600))
	for _, p := range []string{"newdir/file.txt", "newdir", ""} {
		must(os.Chtimes(filepath.Join(src, p), time.Unix(when, 0), time.Unix(when, 0)))
	}
	dst := shmDir(t)
	state := &dump.RestoreState{}
	for _, f := range []string{l0, l1} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		restoreImage(t, data, dst, dump.RestoreSpec{State: state})
	}
	opts := manifest.Options{NoRootMtime: true}
	got, _ := manifest.Dir(dst, opts)
	want, _ := manifest.Dir(src, opts)
	if d := manifest.Diff(got, want); d != "" {
		t.Errorf("level 0 + level 1 of Linux dump restored by us:\n%s", d)
	}
}
