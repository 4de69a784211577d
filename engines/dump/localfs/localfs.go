// Package localfs exposes a directory of the host file system as a dump
// Source (to back it up with our writer) and as a dump Target (to restore
// into it). The tests use it to compare our engine with Linux dump/restore
// on the same trees; the engine proper works on volumes.
//
// Inode numbers of a Source are synthetic and deterministic: the root is 2
// and the other inodes are numbered 3, 4, ... in sorted depth-first order
// (hard links share one number), so images are reproducible.
package localfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/xattr"
	"golang.org/x/sys/unix"

	"tapelab/engines/dump"
	"tapelab/engines/dump/format"
)

type node struct {
	path string // relative, "" for the root
	attr dump.Attr
	ents []dump.DirEntry
}

// Source is a local directory tree, scanned once at Open.
type Source struct {
	root   string
	nodes  map[uint64]*node
	byPath map[string]uint64
}

// Open scans dir.
func Open(dir string) (*Source, error) {
	s := &Source{root: dir, nodes: map[uint64]*node{}, byPath: map[string]uint64{}}
	type key struct{ dev, ino uint64 }
	seen := map[key]uint64{}
	next := uint64(3)
	var walk func(rel string, ino uint64) error
	walk = func(rel string, ino uint64) error {
		full := filepath.Join(dir, rel)
		var st unix.Stat_t
		if err := unix.Lstat(full, &st); err != nil {
			return err
		}
		n := &node{path: rel, attr: attrOf(&st, ino)}
		s.nodes[ino] = n
		s.byPath[rel] = ino
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil
		}
		des, err := os.ReadDir(full)
		if err != nil {
			return err
		}
		sort.Slice(des, func(i, j int) bool { return des[i].Name() < des[j].Name() })
		for _, de := range des {
			crel := de.Name()
			if rel != "" {
				crel = rel + "/" + de.Name()
			}
			var cst unix.Stat_t
			if err := unix.Lstat(filepath.Join(dir, crel), &cst); err != nil {
				return err
			}
			k := key{uint64(cst.Dev), cst.Ino}
			cino, ok := seen[k]
			isDir := cst.Mode&unix.S_IFMT == unix.S_IFDIR
			if !ok || isDir {
				cino = next
				next++
				seen[k] = cino
				n.ents = append(n.ents, dump.DirEntry{Name: de.Name(), Ino: cino, Mode: cst.Mode & unix.S_IFMT})
				if err := walk(crel, cino); err != nil {
					return err
				}
				continue
			}
			n.ents = append(n.ents, dump.DirEntry{Name: de.Name(), Ino: cino, Mode: cst.Mode & unix.S_IFMT})
			s.byPath[crel] = cino
		}
		return nil
	}
	if err := walk("", format.RootIno); err != nil {
		return nil, err
	}
	return s, nil
}

func attrOf(st *unix.Stat_t, ino uint64) dump.Attr {
	return dump.Attr{
		Ino: ino, Mode: st.Mode, UID: st.Uid, GID: st.Gid, Nlink: uint32(st.Nlink),
		Size: uint64(st.Size), Blocks: uint64(st.Blocks), Rdev: st.Rdev,
		Atime: time.Unix(st.Atim.Unix()), Mtime: time.Unix(st.Mtim.Unix()), Ctime: time.Unix(st.Ctim.Unix()),
	}
}

func (s *Source) node(ino uint64) (*node, error) {
	n, ok := s.nodes[ino]
	if !ok {
		return nil, fmt.Errorf("localfs: inode %d: %w", ino, os.ErrNotExist)
	}
	return n, nil
}

func (s *Source) full(n *node) string { return filepath.Join(s.root, n.path) }

// GetAttr implements dump.Source.
func (s *Source) GetAttr(ino uint64) (dump.Attr, error) {
	n, err := s.node(ino)
	if err != nil {
		return dump.Attr{}, err
	}
	return n.attr, nil
}

// ReadDir implements dump.Source.
func (s *Source) ReadDir(ino uint64, fn func(dump.DirEntry) bool) error {
	n, err := s.node(ino)
	if err != nil {
		return err
	}
	for _, e := range n.ents {
		if !fn(e) {
			break
		}
	}
	return nil
}

// ReadAt implements dump.Source.
func (s *Source) ReadAt(ino uint64, p []byte, off int64) (int, error) {
	n, err := s.node(ino)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(s.full(n))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.ReadAt(p, off)
}

// Extents implements dump.Source with SEEK_DATA/SEEK_HOLE.
func (s *Source) Extents(ino uint64) ([]format.Extent, error) {
	n, err := s.node(ino)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.full(n))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(n.attr.Size)
	out := []format.Extent{}
	for off := int64(0); off < size; {
		d, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
		if err != nil {
			if errors.Is(err, syscall.ENXIO) {
				break
			}
			return nil, nil // no hole support: whole file
		}
		h, err := unix.Seek(int(f.Fd()), d, unix.SEEK_HOLE)
		if err != nil {
			return nil, nil
		}
		out = append(out, format.Extent{Off: d, Len: min(h, size) - d})
		off = h
	}
	return out, nil
}

// Readlink implements dump.Source.
func (s *Source) Readlink(ino uint64) (string, error) {
	n, err := s.node(ino)
	if err != nil {
		return "", err
	}
	return os.Readlink(s.full(n))
}

// Xattrs implements dump.Source.
func (s *Source) Xattrs(ino uint64) ([]format.Xattr, error) {
	n, err := s.node(ino)
	if err != nil {
		return nil, err
	}
	return listXattrs(s.full(n))
}

// Resolve implements dump.Source.
func (s *Source) Resolve(path string) (dump.Attr, error) {
	path = strings.Trim(filepath.ToSlash(filepath.Clean("/"+path)), "/")
	ino, ok := s.byPath[path]
	if !ok {
		return dump.Attr{}, fmt.Errorf("localfs: %s: %w", path, os.ErrNotExist)
	}
	return s.nodes[ino].attr, nil
}

func listXattrs(p string) ([]format.Xattr, error) {
	names, err := xattr.LList(p)
	if err != nil {
		if errors.Is(err, syscall.ENOTSUP) {
			return nil, nil
		}
		return nil, err
	}
	var out []format.Xattr
	for _, name := range names {
		v, err := xattr.LGet(p, name)
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, format.Xattr{Name: name, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Target restores into a local directory.
type Target struct{ Root string }

func (t Target) p(rel string) string { return filepath.Join(t.Root, filepath.FromSlash(rel)) }

// Lstat implements dump.Target.
func (t Target) Lstat(path string) (dump.Attr, error) {
	var st unix.Stat_t
	if err := unix.Lstat(t.p(path), &st); err != nil {
		return dump.Attr{}, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	return attrOf(&st, st.Ino), nil
}

// Mkdir implements dump.Target.
func (t Target) Mkdir(path string, perm uint32) error {
	return os.Mkdir(t.p(path), os.FileMode(perm&0o777))
}

// file coalesces the 1 KiB writes of a restore into large writes.
type file struct {
	f   *os.File
	buf []byte
	off int64
}

const writeBuf = 1 << 20

// bufPool recycles the write buffers of restored files.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, writeBuf); return &b }}

func (f *file) flush() error {
	if len(f.buf) == 0 {
		return nil
	}
	_, err := f.f.WriteAt(f.buf, f.off)
	f.buf = f.buf[:0]
	return err
}

func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if len(f.buf) > 0 && (off != f.off+int64(len(f.buf)) || len(f.buf)+len(p) > writeBuf) {
		if err := f.flush(); err != nil {
			return 0, err
		}
	}
	if len(f.buf) == 0 {
		f.off = off
		if f.buf == nil {
			f.buf = (*bufPool.Get().(*[]byte))[:0]
		}
	}
	f.buf = append(f.buf, p...)
	return len(p), nil
}

func (f *file) Truncate(size int64) error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.f.Truncate(size)
}

func (f *file) Close() error {
	err := f.flush()
	if f.buf != nil {
		b := f.buf[:0]
		bufPool.Put(&b)
		f.buf = nil
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Create implements dump.Target.
func (t Target) Create(path string, perm uint32) (dump.FileWriter, error) {
	f, err := os.OpenFile(t.p(path), os.O_RDWR|os.O_CREATE|os.O_TRUNC, os.FileMode(perm&0o777))
	if err != nil {
		return nil, err
	}
	return &file{f: f}, nil
}

// Symlink implements dump.Target.
func (t Target) Symlink(target, path string) error { return os.Symlink(target, t.p(path)) }

// Mknod implements dump.Target.
func (t Target) Mknod(path string, mode uint32, rdev uint64) error {
	return unix.Mknod(t.p(path), mode, int(rdev))
}

// Link implements dump.Target.
func (t Target) Link(oldpath, newpath string) error { return os.Link(t.p(oldpath), t.p(newpath)) }

// Remove implements dump.Target.
func (t Target) Remove(path string) error { return os.Remove(t.p(path)) }

// RemoveAll implements dump.Target.
func (t Target) RemoveAll(path string) error { return os.RemoveAll(t.p(path)) }

// Rename implements dump.Target.
func (t Target) Rename(oldpath, newpath string) error { return os.Rename(t.p(oldpath), t.p(newpath)) }

// SetAttr implements dump.Target.
func (t Target) SetAttr(path string, a dump.Attr) error {
	p := t.p(path)
	if err := unix.Lchown(p, int(a.UID), int(a.GID)); err != nil {
		return err
	}
	if a.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Chmod(p, a.Mode&0o7777); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(a.Atime.UnixNano()), unix.NsecToTimespec(a.Mtime.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// SetXattr implements dump.Target.
func (t Target) SetXattr(path, name string, value []byte) error {
	return xattr.LSet(t.p(path), name, value)
}

// Free implements dump.Target.
func (t Target) Free() (uint64, uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(t.Root, &st); err != nil {
		return 0, 0, err
	}
	return st.Bavail * uint64(st.Bsize), st.Ffree, nil
}

var _ io.Closer = (*file)(nil)
