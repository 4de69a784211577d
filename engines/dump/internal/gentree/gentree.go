// Package gentree builds deterministic test trees for the dump engine's
// tests and benchmarks: every file type the dump format carries (holes,
// hard links, symlinks, devices, FIFOs, sockets, long and UTF-8 names,
// 32-bit owners, xattrs, POSIX ACLs) plus, when asked, a bulk of
// random files of mixed sizes.
package gentree

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Options size a tree.
type Options struct {
	Seed int64
	// Bulk is the approximate number of bytes of extra random files
	// (log-uniform sizes 1 KiB - 2 MiB, in 3 levels of directories).
	Bulk int64
	// NoSpecial leaves out device nodes and sockets.
	NoSpecial bool
}

// Base is the mtime used for the fixed entries (with a microsecond part).
var Base = time.Unix(1700000000, 123456000)

// ACL returns a POSIX ACL xattr value (version 2) with a named user and
// group entry; def is for a default ACL.
func ACL(uid, gid uint32, def bool) []byte {
	le := binary.LittleEndian
	b := make([]byte, 4)
	le.PutUint32(b, 2)
	add := func(tag, perm uint16, id uint32) {
		var e [8]byte
		le.PutUint16(e[0:], tag)
		le.PutUint16(e[2:], perm)
		le.PutUint32(e[4:], id)
		b = append(b, e[:]...)
	}
	u := uint16(6)
	if def {
		u = 7
	}
	add(0x01, u, 0xffffffff)
	add(0x02, u, uid)
	add(0x04, 4, 0xffffffff)
	add(0x08, 4, gid)
	add(0x10, u, 0xffffffff)
	add(0x20, 4, 0xffffffff)
	return b
}

// Build creates the tree in dir (which must exist and be empty).
func Build(dir string, o Options) error {
	rng := rand.New(rand.NewSource(o.Seed + 1))
	w := func(rel string, data []byte, perm os.FileMode) error {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, perm)
	}
	rnd := func(n int) []byte { b := make([]byte, n); rng.Read(b); return b }
	steps := []func() error{
		func() error { return w("hello.txt", []byte("hello, world\n"), 0o644) },
		func() error { return w("empty", nil, 0o644) },
		func() error { return w("dir/nested/deep.txt", []byte("deep file\n"), 0o644) },
		func() error { return os.MkdirAll(filepath.Join(dir, "emptydir"), 0o755) },
		func() error { return w("rand-20000.bin", rnd(20000), 0o644) },
		func() error { return w("multi-700000.bin", rnd(700000), 0o600) },
		func() error { return w("setuid-bin", []byte("#!/bin/sh\n"), 0o755) },
		func() error { return os.Chmod(filepath.Join(dir, "setuid-bin"), 0o4755) },
		func() error { return w("owner-70000.txt", []byte("big ids\n"), 0o644) },
		func() error { return os.Chown(filepath.Join(dir, "owner-70000.txt"), 70000, 70001) },
		func() error { return w("owner-1000.txt", []byte("1000\n"), 0o640) },
		func() error { return os.Chown(filepath.Join(dir, "owner-1000.txt"), 1000, 1000) },
		func() error { return os.Symlink("hello.txt", filepath.Join(dir, "symlink-short")) },
		func() error {
			return os.Symlink("dir/nested/"+strings.Repeat("x", 90), filepath.Join(dir, "symlink-long"))
		},
		func() error { return os.Link(filepath.Join(dir, "hello.txt"), filepath.Join(dir, "hardlink-to-hello")) },
		func() error { return unix.Mkfifo(filepath.Join(dir, "fifo"), 0o640) },
		func() error {
			// data at 0 and at 1 MiB + 3 KiB, trailing hole up to 3 MiB
			f, err := os.Create(filepath.Join(dir, "sparse"))
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte(strings.Repeat("A", 4096)), 0); err != nil {
				return err
			}
			if _, err := f.WriteAt([]byte(strings.Repeat("B", 5000)), 1<<20+3072); err != nil {
				return err
			}
			return f.Truncate(3 << 20)
		},
		func() error { return w("xattr.txt", []byte("xattrs\n"), 0o644) },
		func() error {
			p := filepath.Join(dir, "xattr.txt")
			if err := unix.Lsetxattr(p, "user.comment", []byte("fixture xattr"), 0); err != nil {
				return err
			}
			return unix.Lsetxattr(p, "user.binary", []byte{0, 0xff, 0x80}, 0)
		},
		func() error { return w("acl.txt", []byte("acl\n"), 0o664) },
		func() error {
			return unix.Lsetxattr(filepath.Join(dir, "acl.txt"), "system.posix_acl_access", ACL(1000, 1000, false), 0)
		},
		func() error { return os.MkdirAll(filepath.Join(dir, "acldir"), 0o755) },
		func() error {
			return unix.Lsetxattr(filepath.Join(dir, "acldir"), "system.posix_acl_default", ACL(1000, 1000, true), 0)
		},
		func() error { return w("acldir/inherits.txt", []byte("in acl dir\n"), 0o644) },
		func() error { return w("ünïcødé-名前.txt", []byte("unicode\n"), 0o644) },
		func() error { return w("name with spaces.txt", []byte("spaces\n"), 0o644) },
		func() error {
			for i := 0; i < 5; i++ {
				if err := w(fmt.Sprintf("longnames/%d-%s", i, strings.Repeat("L", 200)), []byte(fmt.Sprint(i)), 0o644); err != nil {
					return err
				}
			}
			return nil
		},
		func() error { return os.MkdirAll(filepath.Join(dir, "sticky"), 0o755) },
		func() error { return os.Chmod(filepath.Join(dir, "sticky"), os.ModeSticky|0o777) },
		func() error { return w("y2040.txt", []byte("2040\n"), 0o644) },
	}
	if !o.NoSpecial {
		steps = append(steps, func() error {
			return unix.Mknod(filepath.Join(dir, "chardev-1-3"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3)))
		})
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	if o.Bulk > 0 {
		var total int64
		for i := 0; total < o.Bulk; i++ {
			// log-uniform 1 KiB .. 2 MiB
			size := int64(1024 * (1 << uint(rng.Intn(12))))
			size += rng.Int63n(size)
			size = min(size, o.Bulk-total+1024)
			rel := fmt.Sprintf("bulk/d%d/e%d/f%05d.bin", i%7, i%5, i)
			if err := w(rel, rnd(int(size)), 0o644); err != nil {
				return err
			}
			if i%50 == 0 {
				if err := unix.Lsetxattr(filepath.Join(dir, rel), "user.index", []byte(fmt.Sprint(i)), 0); err != nil {
					return err
				}
			}
			total += size
		}
		// one big sparse file in the bulk
		f, err := os.Create(filepath.Join(dir, "bulk", "sparse-64m"))
		if err != nil {
			return err
		}
		_, err = f.WriteAt(rnd(12288), 32<<20)
		if err == nil {
			err = f.Truncate(64 << 20)
		}
		f.Close()
		if err != nil {
			return err
		}
	}
	// times: deterministic, with microseconds; deepest first so that
	// setting a child does not change its parent afterwards.
	var paths []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	for i := len(paths) - 1; i >= 0; i-- {
		t := Base.Add(time.Duration(i) * time.Minute)
		if strings.HasSuffix(paths[i], "y2040.txt") {
			t = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}
