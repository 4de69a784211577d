package fs_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"tapelab/volume"
)

func stat(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return &st
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPOSIX(t *testing.T) {
	_, vol := newVolume(t, 128<<20)
	mp := mountVolume(t, vol, nil)
	m := mp.Dir()
	p := func(name string) string { return filepath.Join(m, name) }

	t.Run("hard links", func(t *testing.T) {
		os.WriteFile(p("h1"), []byte("x"), 0o644)
		if err := os.Link(p("h1"), p("h2")); err != nil {
			t.Fatal(err)
		}
		a, b := stat(t, p("h1")), stat(t, p("h2"))
		if a.Ino != b.Ino || a.Nlink != 2 || b.Nlink != 2 {
			t.Errorf("h1 ino %d nlink %d, h2 ino %d nlink %d", a.Ino, a.Nlink, b.Ino, b.Nlink)
		}
		os.WriteFile(p("h2"), []byte("through h2"), 0o644)
		if got := readFile(t, p("h1")); got != "through h2" {
			t.Errorf("h1 = %q", got)
		}
		os.Remove(p("h1"))
		if st := stat(t, p("h2")); st.Nlink != 1 {
			t.Errorf("nlink after unlink = %d", st.Nlink)
		}
	})
	t.Run("rename over existing", func(t *testing.T) {
		os.WriteFile(p("r1"), []byte("new"), 0o644)
		os.WriteFile(p("r2"), []byte("old"), 0o644)
		ino := stat(t, p("r1")).Ino
		if err := os.Rename(p("r1"), p("r2")); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, p("r2")); got != "new" {
			t.Errorf("r2 = %q", got)
		}
		if stat(t, p("r2")).Ino != ino {
			t.Errorf("inode changed across rename")
		}
		if _, err := os.Lstat(p("r1")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("r1 still there: %v", err)
		}
		// renameat2 RENAME_NOREPLACE and RENAME_EXCHANGE.
		os.WriteFile(p("r3"), []byte("three"), 0o644)
		if err := unix.Renameat2(unix.AT_FDCWD, p("r3"), unix.AT_FDCWD, p("r2"), unix.RENAME_NOREPLACE); err != unix.EEXIST {
			t.Errorf("RENAME_NOREPLACE over existing: %v", err)
		}
		if err := unix.Renameat2(unix.AT_FDCWD, p("r3"), unix.AT_FDCWD, p("r2"), unix.RENAME_EXCHANGE); err != nil {
			t.Fatal(err)
		}
		if readFile(t, p("r2")) != "three" || readFile(t, p("r3")) != "new" {
			t.Errorf("exchange: r2=%q r3=%q", readFile(t, p("r2")), readFile(t, p("r3")))
		}
	})
	t.Run("O_APPEND", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			f, err := os.OpenFile(p("log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(f, "line %d\n", i)
			f.Close()
		}
		if got := readFile(t, p("log")); got != "line 0\nline 1\nline 2\n" {
			t.Errorf("log = %q", got)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		os.WriteFile(p("t"), bytes.Repeat([]byte("a"), 10000), 0o644)
		if err := os.Truncate(p("t"), 100); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p("t"), 5000); err != nil {
			t.Fatal(err)
		}
		want := append(bytes.Repeat([]byte("a"), 100), make([]byte, 4900)...)
		if got := readFile(t, p("t")); got != string(want) {
			t.Errorf("after shrink+grow: %d bytes, first diff somewhere", len(got))
		}
		f, _ := os.OpenFile(p("t"), os.O_WRONLY|os.O_TRUNC, 0)
		f.Close()
		if st := stat(t, p("t")); st.Size != 0 {
			t.Errorf("O_TRUNC left %d bytes", st.Size)
		}
	})
	t.Run("mmap and fsync", func(t *testing.T) {
		data := bytes.Repeat([]byte("0123456789abcdef"), 20000)
		f, err := os.Create(p("mm"))
		if err != nil {
			t.Fatal(err)
		}
		f.Write(data)
		if err := f.Sync(); err != nil {
			t.Errorf("fsync: %v", err)
		}
		f.Close()
		f, _ = os.Open(p("mm"))
		defer f.Close()
		b, err := syscall.Mmap(int(f.Fd()), 0, len(data), syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Munmap(b)
		if !bytes.Equal(b, data) {
			t.Errorf("mmap content differs")
		}
		// A shared writable mapping, msync'ed.
		g, _ := os.OpenFile(p("mm"), os.O_RDWR, 0)
		defer g.Close()
		w, err := syscall.Mmap(int(g.Fd()), 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		copy(w, "MMAP")
		unix.Msync(w, unix.MS_SYNC)
		syscall.Munmap(w)
		if got := readFile(t, p("mm"))[:6]; got != "MMAP45" {
			t.Errorf("after mmap write: %q", got)
		}
	})
	t.Run("sparse", func(t *testing.T) {
		f, _ := os.Create(p("sparse"))
		f.WriteAt([]byte("end"), 8<<20)
		f.Sync()
		f.Close()
		st := stat(t, p("sparse"))
		if st.Size != 8<<20+3 || st.Blocks > 64 {
			t.Errorf("sparse: size %d blocks %d", st.Size, st.Blocks)
		}
		b, _ := os.ReadFile(p("sparse"))
		if !bytes.Equal(b[:8<<20], make([]byte, 8<<20)) || string(b[8<<20:]) != "end" {
			t.Errorf("hole does not read as zeros")
		}
	})
	t.Run("mknod and mkfifo", func(t *testing.T) {
		if err := syscall.Mkfifo(p("fifo"), 0o640); err != nil {
			t.Fatal(err)
		}
		if st := stat(t, p("fifo")); st.Mode != syscall.S_IFIFO|0o640 {
			t.Errorf("fifo mode %o", st.Mode)
		}
		if err := syscall.Mknod(p("tty"), syscall.S_IFCHR|0o600, int(unix.Mkdev(4, 300))); err != nil {
			t.Fatal(err)
		}
		st := stat(t, p("tty"))
		if st.Mode != syscall.S_IFCHR|0o600 || unix.Major(st.Rdev) != 4 || unix.Minor(st.Rdev) != 300 {
			t.Errorf("char dev mode %o rdev %d:%d", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		if err := syscall.Mknod(p("blk"), syscall.S_IFBLK|0o600, int(unix.Mkdev(259, 70000))); err != nil {
			t.Fatal(err)
		}
		if st := stat(t, p("blk")); unix.Major(st.Rdev) != 259 || unix.Minor(st.Rdev) != 70000 {
			t.Errorf("block dev rdev %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		// A FIFO on the mount works as a pipe (the kernel serves it).
		out := sh(t, fmt.Sprintf(`f=%s; (echo through-fifo > $f &) ; cat $f`, q(p("fifo"))))
		if out != "through-fifo\n" {
			t.Errorf("fifo carried %q", out)
		}
	})
	t.Run("symlinks", func(t *testing.T) {
		target := strings.Repeat("long/", 200) + "end"
		if err := os.Symlink(target, p("sl")); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.Readlink(p("sl")); got != target {
			t.Errorf("readlink = %q", got)
		}
		st := stat(t, p("sl"))
		if st.Mode&syscall.S_IFMT != syscall.S_IFLNK || st.Size != int64(len(target)) {
			t.Errorf("symlink mode %o size %d", st.Mode, st.Size)
		}
		os.Symlink("log", p("sl2"))
		if got := readFile(t, p("sl2")); !strings.HasPrefix(got, "line 0") {
			t.Errorf("following symlink read %q", got)
		}
	})
	t.Run("ownership and permissions", func(t *testing.T) {
		os.WriteFile(p("own"), []byte("x"), 0o644)
		if err := syscall.Chmod(p("own"), 0o4751); err != nil {
			t.Fatal(err)
		}
		if st := stat(t, p("own")); st.Mode&0o7777 != 0o4751 {
			t.Fatalf("chmod 4751 gave %o", st.Mode&0o7777)
		}
		if err := os.Lchown(p("own"), 1000, 2000); err != nil {
			t.Fatal(err)
		}
		st := stat(t, p("own"))
		if st.Uid != 1000 || st.Gid != 2000 {
			t.Errorf("owner %d:%d", st.Uid, st.Gid)
		}
		if st.Mode&0o7777 != 0o751 {
			t.Errorf("chown left mode %o (suid must be cleared)", st.Mode&0o7777)
		}
		// suid cleared when an unprivileged user writes (HANDLE_KILLPRIV_V2).
		os.WriteFile(p("suid"), []byte("x"), 0o644)
		syscall.Chmod(p("suid"), 0o6777)
		if st := stat(t, p("suid")); st.Mode&0o7777 != 0o6777 {
			t.Fatalf("chmod 6777 gave %o", st.Mode&0o7777)
		}
		sh(t, fmt.Sprintf(`setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo more >> %s'`, p("suid")))
		if st := stat(t, p("suid")); st.Mode&0o7777 != 0o777 {
			t.Errorf("after unprivileged write mode %o, want 0777", st.Mode&0o7777)
		}
		// Files created by another user belong to them; sgid dirs pass on their group.
		os.Mkdir(p("shared"), 0o777)
		os.Chown(p("shared"), 0, 4321)
		syscall.Chmod(p("shared"), 0o2777)
		sh(t, fmt.Sprintf(`setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'umask 022; touch %[1]s/mine; mkdir %[1]s/sub'`, p("shared")))
		if st := stat(t, p("shared/mine")); st.Uid != 65534 || st.Gid != 4321 {
			t.Errorf("file in sgid dir owned %d:%d", st.Uid, st.Gid)
		}
		if st := stat(t, p("shared/sub")); st.Mode&syscall.S_ISGID == 0 || st.Gid != 4321 {
			t.Errorf("dir in sgid dir: mode %o gid %d", st.Mode, st.Gid)
		}
		// The kernel enforces modes for other users (default_permissions).
		os.WriteFile(p("secret"), []byte("x"), 0o600)
		if _, err := shErr(fmt.Sprintf(`setpriv --reuid=65534 --regid=65534 --clear-groups cat %s`, p("secret"))); err == nil {
			t.Errorf("nobody read a 0600 root file")
		}
	})
	t.Run("nanosecond times", func(t *testing.T) {
		os.WriteFile(p("times"), nil, 0o644)
		sh(t, fmt.Sprintf(`touch -m -d '2003-04-05 06:07:08.123456789 UTC' %[1]s && touch -a -d '1999-01-02 03:04:05.987654321 UTC' %[1]s`, p("times")))
		st := stat(t, p("times"))
		if st.Mtim.Sec != 1049522828 || st.Mtim.Nsec != 123456789 {
			t.Errorf("mtime %d.%09d", st.Mtim.Sec, st.Mtim.Nsec)
		}
		if st.Atim.Sec != 915246245 || st.Atim.Nsec != 987654321 {
			t.Errorf("atime %d.%09d", st.Atim.Sec, st.Atim.Nsec)
		}
	})
	t.Run("unlinked open file", func(t *testing.T) {
		f, err := os.Create(p("tmp"))
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("before ")
		if err := os.Remove(p("tmp")); err != nil {
			t.Fatal(err)
		}
		f.WriteString("after")
		f.Sync()
		var st syscall.Stat_t
		syscall.Fstat(int(f.Fd()), &st)
		buf := make([]byte, 64)
		n, _ := f.ReadAt(buf, 0)
		if string(buf[:n]) != "before after" {
			t.Errorf("read through unlinked fd: %q", buf[:n])
		}
		f.Close()
		ents, _ := os.ReadDir(m)
		for _, e := range ents {
			if e.Name() == "tmp" || strings.HasPrefix(e.Name(), ".tapelab") {
				t.Errorf("listing shows %s", e.Name())
			}
		}
		// Replaced by rename while open: the old content stays readable.
		os.WriteFile(p("victim"), []byte("old content"), 0o644)
		g, _ := os.Open(p("victim"))
		os.WriteFile(p("replacement"), []byte("new"), 0o644)
		if err := os.Rename(p("replacement"), p("victim")); err != nil {
			t.Fatal(err)
		}
		n, _ = g.ReadAt(buf, 0)
		g.Close()
		if string(buf[:n]) != "old content" {
			t.Errorf("replaced open file reads %q", buf[:n])
		}
	})
	t.Run("volume stays consistent", func(t *testing.T) {
		rep, err := vol.Check()
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Errorf("check: %v", rep.Problems)
		}
	})
}

func TestOrphanLeftoversRemoved(t *testing.T) {
	_, vol := newVolume(t, 16<<20)
	v, err := vol.Active()
	if err != nil {
		t.Fatal(err)
	}
	// What a crashed mount leaves: an unlinked-but-open file parked in the
	// hidden directory.
	d, err := v.Mkdir(v.Root(), ".tapelab-unlinked", 0o700, volume.Owner{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Create(d.Ino, "7.1", 0o644, volume.Owner{}); err != nil {
		t.Fatal(err)
	}
	mp := mountVolume(t, vol, nil)
	if _, err := v.Lookup(v.Root(), ".tapelab-unlinked"); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("leftover orphan directory still present: %v", err)
	}
	if _, err := os.Stat(filepath.Join(mp.Dir(), ".tapelab-unlinked")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphan directory visible through the mount: %v", err)
	}
	if err := os.Mkdir(filepath.Join(mp.Dir(), ".tapelab-unlinked"), 0o755); !errors.Is(err, syscall.EACCES) {
		t.Errorf("mkdir of the reserved name: %v", err)
	}
	rep, err := vol.Check()
	if err != nil || !rep.OK() {
		t.Errorf("check: %v %v", err, rep.Problems)
	}
}

func TestLimits(t *testing.T) {
	_, vol := newVolume(t, 64<<20) // 2048 inodes
	mp := mountVolume(t, vol, nil)
	m := mp.Dir()

	// A big directory lists completely (readdir across many replies).
	d := filepath.Join(m, "many")
	os.Mkdir(d, 0o755)
	for i := 0; i < 1500; i++ {
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("entry-with-a-longish-name-%05d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.TrimSpace(sh(t, fmt.Sprintf(`ls -f %s | wc -l`, q(d)))); n != "1502" {
		t.Errorf("ls -f lists %s entries, want 1502 (with . and ..)", n)
	}
	if err := os.Remove(d); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("rmdir of a full directory: %v", err)
	}
	sh(t, fmt.Sprintf(`rm -r %s`, q(d)))

	// Filling the volume: the error reaches the writer (at fsync at the
	// latest, with the writeback cache) and the volume stays consistent.
	// (Random data: the volume stores all-zero blocks as holes.)
	out, err := shErr(fmt.Sprintf(`dd if=/dev/urandom of=%s/fill bs=1M count=96 conv=fsync status=none`, q(m)))
	if err == nil || !strings.Contains(out, "No space left on device") {
		t.Errorf("filling a 64 MiB volume with 96 MiB: %v %s", err, out)
	}
	os.Remove(filepath.Join(m, "fill"))
	if err := os.WriteFile(filepath.Join(m, "after"), []byte("space again"), 0o644); err != nil {
		t.Errorf("write after freeing space: %v", err)
	}
	// Extended attribute limits are the kernel's (64 KiB values).
	if err := syscall.Setxattr(filepath.Join(m, "after"), "user.big", make([]byte, 70000), 0); !errors.Is(err, syscall.E2BIG) {
		t.Errorf("70000-byte xattr: %v", err)
	}
	rep, err := vol.Check()
	if err != nil || !rep.OK() {
		t.Errorf("check: %v %v", err, rep.Problems)
	}
}
