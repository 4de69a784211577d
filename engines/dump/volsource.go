package dump

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"syscall"

	"tapelab/engines/dump/format"
	"tapelab/volume"
)

// VolumeSource adapts a volume view (normally a snapshot) to Source.
type VolumeSource struct{ V *volume.View }

func attrOfVolume(a volume.Attr) Attr {
	return Attr{Ino: a.Ino, Mode: a.Mode, UID: a.UID, GID: a.GID, Nlink: a.Nlink, Size: a.Size,
		Blocks: a.Blocks, Rdev: a.Rdev, Atime: a.Atime, Mtime: a.Mtime, Ctime: a.Ctime}
}

// GetAttr implements Source.
func (s VolumeSource) GetAttr(ino uint64) (Attr, error) {
	a, err := s.V.GetAttr(ino)
	return attrOfVolume(a), err
}

// ReadDir implements Source.
func (s VolumeSource) ReadDir(ino uint64, fn func(DirEntry) bool) error {
	return s.V.ReadDir(ino, "", func(e volume.DirEntry) bool {
		return fn(DirEntry{Name: e.Name, Ino: e.Ino, Mode: e.Mode})
	})
}

// ReadAt implements Source.
func (s VolumeSource) ReadAt(ino uint64, p []byte, off int64) (int, error) {
	n, err := s.V.Read(ino, off, p)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// Extents implements Source.
func (s VolumeSource) Extents(ino uint64) ([]format.Extent, error) {
	ext, err := s.V.Extents(ino)
	if err != nil {
		return nil, err
	}
	out := make([]format.Extent, len(ext))
	for i, e := range ext {
		out[i] = format.Extent{Off: e.Off, Len: e.Len}
	}
	return out, nil
}

// Inodes implements InodeTable.
func (s VolumeSource) Inodes(from uint64, fn func(Attr) bool) error {
	return s.V.Inodes(from, func(a volume.Attr) bool { return fn(attrOfVolume(a)) })
}

// Readlink implements Source.
func (s VolumeSource) Readlink(ino uint64) (string, error) { return s.V.Readlink(ino) }

// Xattrs implements Source.
func (s VolumeSource) Xattrs(ino uint64) ([]format.Xattr, error) {
	names, err := s.V.ListXattr(ino)
	if err != nil {
		return nil, err
	}
	out := make([]format.Xattr, 0, len(names))
	for _, n := range names {
		v, err := s.V.GetXattr(ino, n)
		if err != nil {
			if errors.Is(err, syscall.ENODATA) {
				continue
			}
			return nil, err
		}
		out = append(out, format.Xattr{Name: n, Value: v})
	}
	return out, nil
}

// Resolve implements Source.
func (s VolumeSource) Resolve(p string) (Attr, error) {
	a, err := s.V.Resolve(p)
	return attrOfVolume(a), err
}

// VolumeTarget adapts a writable volume view to Target; paths are relative
// to the directory Base (an inode of the view). It caches path lookups
// (a restore touches each path several times); renames and removals clear
// the cache.
type VolumeTarget struct {
	V     *volume.View
	Base  uint64
	cache map[string]uint64
	// absent is the last path Lstat found missing (Create need not look
	// it up again); any change clears it.
	absent string

	// batching (volbatch.go); batch is nil when off
	batch     *volume.Batch
	queue     []queued // one per batch operation
	pendFiles []pendFile
	pendPath  map[string]int  // path -> pendFiles index
	dirty     map[string]bool // existing paths with queued changes
	bufs      [][]byte        // write buffers the batch holds
	failures  []DeferredError
	stopped   error // the failure that stopped the queue (ENOSPC): nothing more is applied
	flying    *flight
}

// NewVolumeTarget returns a Target writing below directory base of v.
func NewVolumeTarget(v *volume.View, base uint64) *VolumeTarget {
	return &VolumeTarget{V: v, Base: base, cache: map[string]uint64{}}
}

func (t *VolumeTarget) remember(p string, ino uint64) {
	if t.cache == nil {
		t.cache = map[string]uint64{}
	}
	if len(t.cache) > 1<<16 {
		clear(t.cache)
	}
	t.cache[p] = ino
}

func (t *VolumeTarget) forget() { clear(t.cache); t.absent = "" }

func (t *VolumeTarget) resolve(p string) (uint64, error) {
	if p == "" || p == "." {
		return t.Base, nil
	}
	if ino, ok := t.cache[p]; ok {
		return ino, nil
	}
	dir, name := path.Split(p)
	parent, err := t.resolve(strings.TrimSuffix(dir, "/"))
	if err != nil {
		return 0, err
	}
	if name == "" || name == "." {
		return parent, nil
	}
	a, err := t.V.Lookup(parent, name)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p, err)
	}
	t.remember(p, a.Ino)
	return a.Ino, nil
}

func (t *VolumeTarget) parent(p string) (uint64, string, error) {
	dir, name := path.Split(p)
	ino, err := t.resolve(strings.TrimSuffix(dir, "/"))
	return ino, name, err
}

// Lstat implements Target.
func (t *VolumeTarget) Lstat(p string) (Attr, error) {
	t.settle(p)
	ino, err := t.resolve(p)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			t.absent = p
		}
		return Attr{}, err
	}
	a, err := t.V.GetAttr(ino)
	return attrOfVolume(a), err
}

// Mkdir implements Target.
func (t *VolumeTarget) Mkdir(p string, perm uint32) error {
	t.flushAll()
	t.absent = ""
	dir, name, err := t.parent(p)
	if err != nil {
		return err
	}
	a, err := t.V.Mkdir(dir, name, perm, volume.Owner{})
	if err == nil {
		t.remember(p, a.Ino)
	}
	return err
}

// Create implements Target.
func (t *VolumeTarget) Create(p string, perm uint32) (FileWriter, error) {
	t.settle(p)
	dir, name, err := t.parent(p)
	if err != nil {
		return nil, err
	}
	if t.batching() && p == t.absent {
		// Lstat just found no p, and nothing changed since
		f, err := t.queueCreate(p, func(parent volume.Ref, name string) (int, volume.Ref) {
			return t.batch.Create(parent, name, perm, volume.Owner{})
		})
		if err != nil {
			return nil, err
		}
		t.absent = ""
		return &batchFile{t: t, file: f}, nil
	}
	t.flushAll()
	t.absent = ""
	if a, err := t.V.Lookup(dir, name); err == nil && a.IsRegular() {
		if _, err := t.V.SetAttr(a.Ino, volume.SetAttrIn{Valid: volume.SetSize}); err != nil {
			return nil, err
		}
		return &volFile{v: t.V, ino: a.Ino}, nil
	}
	a, err := t.V.Create(dir, name, perm, volume.Owner{})
	if err != nil {
		return nil, err
	}
	t.remember(p, a.Ino)
	return &volFile{v: t.V, ino: a.Ino}, nil
}

// coalescer gathers the 1 KiB writes of a restored file into runs of up
// to volWriteBuf contiguous bytes (buf, starting at off).
type coalescer struct {
	buf []byte
	off int64
}

const volWriteBuf = 1 << 20

// add appends p at off, after handing the current run to emit when p does
// not continue it or would overflow it.
func (c *coalescer) add(p []byte, off int64, emit func() error) error {
	if len(c.buf) > 0 && (off != c.off+int64(len(c.buf)) || len(c.buf)+len(p) > volWriteBuf) {
		if err := emit(); err != nil {
			return err
		}
	}
	if len(c.buf) == 0 {
		c.off = off
		if c.buf == nil {
			c.buf = (*bufPool.Get().(*[]byte))[:0]
		}
	}
	c.buf = append(c.buf, p...)
	return nil
}

// release returns the buffer (if still ours) to the pool.
func (c *coalescer) release() {
	if c.buf != nil {
		b := c.buf[:0]
		bufPool.Put(&b)
		c.buf = nil
	}
}

// volFile coalesces the 1 KiB writes of a restore into large writes.
type volFile struct {
	v   *volume.View
	ino uint64
	coalescer
}

func (f *volFile) flush() error {
	if len(f.buf) == 0 {
		return nil
	}
	_, err := f.v.Write(f.ino, f.off, f.buf)
	f.buf = f.buf[:0]
	return err
}

func (f *volFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.add(p, off, f.flush); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (f *volFile) Truncate(size int64) error {
	if err := f.flush(); err != nil {
		return err
	}
	_, err := f.v.SetAttr(f.ino, volume.SetAttrIn{Valid: volume.SetSize, Size: uint64(size)})
	return err
}

func (f *volFile) Close() error {
	err := f.flush()
	f.release()
	return err
}

// bufPool recycles the write buffers of restored files.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, volWriteBuf); return &b }}

// Symlink implements Target.
func (t *VolumeTarget) Symlink(target, p string) error {
	if t.batching() {
		_, err := t.queueCreate(p, func(parent volume.Ref, name string) (int, volume.Ref) {
			return t.batch.Symlink(parent, name, target, volume.Owner{})
		})
		t.absent = ""
		return err
	}
	dir, name, err := t.parent(p)
	if err != nil {
		return err
	}
	a, err := t.V.Symlink(dir, name, target, volume.Owner{})
	if err == nil {
		t.remember(p, a.Ino)
	}
	return err
}

// Mknod implements Target.
func (t *VolumeTarget) Mknod(p string, mode uint32, rdev uint64) error {
	if t.batching() {
		_, err := t.queueCreate(p, func(parent volume.Ref, name string) (int, volume.Ref) {
			return t.batch.Mknod(parent, name, mode, rdev, volume.Owner{})
		})
		t.absent = ""
		return err
	}
	dir, name, err := t.parent(p)
	if err != nil {
		return err
	}
	a, err := t.V.Mknod(dir, name, mode, rdev, volume.Owner{})
	if err == nil {
		t.remember(p, a.Ino)
	}
	return err
}

// Link implements Target.
func (t *VolumeTarget) Link(oldpath, newpath string) error {
	if t.batching() {
		t.settle(newpath)
		ref, f, err := t.ref(oldpath)
		if err != nil {
			return err
		}
		dir, name, err := t.parent(newpath)
		if err != nil {
			return err
		}
		k := t.batch.Link(ref, volume.InodeRef(dir), name)
		t.add(k, queued{path: newpath, op: "link", file: f})
		t.dirty[newpath] = true
		if f < 0 {
			t.dirty[oldpath] = true // its link count changes
		}
		t.absent = ""
		return nil
	}
	ino, err := t.resolve(oldpath)
	if err != nil {
		return err
	}
	dir, name, err := t.parent(newpath)
	if err != nil {
		return err
	}
	_, err = t.V.Link(ino, dir, name)
	return err
}

// Remove implements Target.
func (t *VolumeTarget) Remove(p string) error {
	t.flushAll()
	dir, name, err := t.parent(p)
	if err != nil {
		return err
	}
	a, err := t.V.Lookup(dir, name)
	if err != nil {
		return err
	}
	t.forget()
	if a.IsDir() {
		return t.V.Rmdir(dir, name)
	}
	return t.V.Unlink(dir, name)
}

// RemoveAll implements Target.
func (t *VolumeTarget) RemoveAll(p string) error {
	t.flushAll()
	a, err := t.Lstat(p)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return nil
		}
		return err
	}
	if a.IsDir() {
		var names []string
		ino, _ := t.resolve(p)
		if err := t.V.ReadDir(ino, "", func(e volume.DirEntry) bool { names = append(names, e.Name); return true }); err != nil {
			return err
		}
		for _, n := range names {
			if err := t.RemoveAll(joinRel(p, n)); err != nil {
				return err
			}
		}
	}
	return t.Remove(p)
}

// Rename implements Target.
func (t *VolumeTarget) Rename(oldpath, newpath string) error {
	t.flushAll()
	od, on, err := t.parent(oldpath)
	if err != nil {
		return err
	}
	nd, nn, err := t.parent(newpath)
	if err != nil {
		return err
	}
	t.forget()
	return t.V.Rename(od, on, nd, nn, 0)
}

// SetAttr implements Target.
func (t *VolumeTarget) SetAttr(p string, a Attr) error {
	in := volume.SetAttrIn{Valid: volume.SetUID | volume.SetGID | volume.SetAtime | volume.SetMtime,
		UID: a.UID, GID: a.GID, Atime: a.Atime, Mtime: a.Mtime}
	if a.Mode&format.IFMT != format.IFLNK {
		in.Valid |= volume.SetMode
		in.Mode = a.Mode & 0o7777
	}
	if t.batching() {
		ref, f, err := t.ref(p)
		if err != nil {
			return err
		}
		t.add(t.batch.SetAttr(ref, in), queued{path: p, op: "attr", file: f})
		if f < 0 {
			t.dirty[p] = true
		}
		t.maybeFlush()
		return nil
	}
	ino, err := t.resolve(p)
	if err != nil {
		return err
	}
	_, err = t.V.SetAttr(ino, in)
	return err
}

// SetXattr implements Target.
func (t *VolumeTarget) SetXattr(p, name string, value []byte) error {
	if t.batching() {
		ref, f, err := t.ref(p)
		if err != nil {
			return err
		}
		t.add(t.batch.SetXattr(ref, name, value, 0), queued{path: p, op: "xattr", name: name, file: f})
		if f < 0 {
			t.dirty[p] = true
		}
		return nil
	}
	ino, err := t.resolve(p)
	if err != nil {
		return err
	}
	return t.V.SetXattr(ino, name, value, 0)
}

// Free implements Target.
func (t *VolumeTarget) Free() (uint64, uint64, error) {
	t.flushAll()
	st, err := t.V.Statfs()
	if err != nil {
		return 0, 0, err
	}
	return st.Bavail * uint64(st.Bsize), st.Ffree, nil
}
