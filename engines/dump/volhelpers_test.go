package dump_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tapelab/engines"
	"tapelab/engines/dump"
	"tapelab/engines/dump/format"
	"tapelab/engines/dump/localfs"
	"tapelab/volume"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// advance moves the clock (whole seconds matter to dump dates).
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type lab struct {
	store *volume.Store
	eng   *dump.Engine
	clk   *clock
	data  string
	// ctimePath: backup deletes the kept base snapshots first, as a user
	// may, so incrementals take the ctime fallback
	ctimePath bool
}

func newLab(t testing.TB) *lab {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, err := volume.Open(t.TempDir(), volume.Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	data := t.TempDir()
	return &lab{store: s, clk: clk, data: data,
		eng: dump.New(s, dump.WithDataDir(data), dump.WithClock(clk.now), dump.WithHostname("labhost"))}
}

func (l *lab) volume(t testing.TB, name string, size int64) (*volume.Volume, *volume.View) {
	t.Helper()
	v, err := l.store.CreateVolume(volume.Spec{SVM: "vs1", Name: name, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	w, err := v.Active()
	if err != nil {
		t.Fatal(err)
	}
	return v, w
}

// copyToVolume copies a local tree into the view (attributes, xattrs,
// holes, hard links, symlinks, special files).
func copyToVolume(t testing.TB, src string, w *volume.View) {
	t.Helper()
	s, err := localfs.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	made := map[uint64]uint64{2: volume.RootIno}
	var dirs []func()
	var walk func(sino, vino uint64)
	walk = func(sino, vino uint64) {
		s.ReadDir(sino, func(e dump.DirEntry) bool {
			a, _ := s.GetAttr(e.Ino)
			if v, ok := made[e.Ino]; ok {
				if _, err := w.Link(v, vino, e.Name); err != nil {
					t.Fatal(err)
				}
				return true
			}
			var va volume.Attr
			var err error
			switch a.Mode & unix.S_IFMT {
			case unix.S_IFDIR:
				va, err = w.Mkdir(vino, e.Name, a.Mode&0o7777, volume.Owner{})
			case unix.S_IFREG:
				va, err = w.Create(vino, e.Name, a.Mode&0o7777, volume.Owner{})
				if err == nil {
					ext, _ := s.Extents(e.Ino)
					if ext == nil {
						ext = []format.Extent{{Off: 0, Len: int64(a.Size)}}
					}
					for _, x := range ext {
						buf := make([]byte, x.Len)
						n, rerr := s.ReadAt(e.Ino, buf, x.Off)
						if rerr != nil && !errors.Is(rerr, io.EOF) {
							t.Fatal(rerr)
						}
						if _, err := w.Write(va.Ino, x.Off, buf[:n]); err != nil {
							t.Fatal(err)
						}
					}
					_, err = w.SetAttr(va.Ino, volume.SetAttrIn{Valid: volume.SetSize, Size: a.Size})
				}
			case unix.S_IFLNK:
				target, _ := s.Readlink(e.Ino)
				va, err = w.Symlink(vino, e.Name, target, volume.Owner{})
			default:
				va, err = w.Mknod(vino, e.Name, a.Mode, a.Rdev, volume.Owner{})
			}
			if err != nil {
				t.Fatal(err)
			}
			made[e.Ino] = va.Ino
			xs, _ := s.Xattrs(e.Ino)
			for _, x := range xs {
				if err := w.SetXattr(va.Ino, x.Name, x.Value, 0); err != nil {
					t.Fatal(err)
				}
			}
			setAttrs := func() {
				in := volume.SetAttrIn{Valid: volume.SetUID | volume.SetGID | volume.SetAtime | volume.SetMtime,
					UID: a.UID, GID: a.GID, Atime: a.Atime, Mtime: a.Mtime}
				if a.Mode&unix.S_IFMT != unix.S_IFLNK {
					in.Valid |= volume.SetMode
					in.Mode = a.Mode & 0o7777
				}
				if _, err := w.SetAttr(va.Ino, in); err != nil {
					t.Fatal(err)
				}
			}
			if a.IsDir() {
				walk(e.Ino, va.Ino)
				dirs = append(dirs, setAttrs)
			} else {
				setAttrs()
			}
			return true
		})
	}
	walk(2, volume.RootIno)
	for i := len(dirs) - 1; i >= 0; i-- {
		dirs[i]()
	}
	ra, _ := s.GetAttr(2)
	w.SetAttr(volume.RootIno, volume.SetAttrIn{Valid: volume.SetMode | volume.SetAtime | volume.SetMtime, Mode: ra.Mode & 0o7777, Atime: ra.Atime, Mtime: ra.Mtime})
}

// copyFromVolume materialises a view below rel into a local directory.
func copyFromVolume(t testing.TB, w *volume.View, rel, dst string) {
	t.Helper()
	root, err := w.Resolve(rel)
	if err != nil {
		t.Fatal(err)
	}
	tgt := localfs.Target{Root: dst}
	seen := map[uint64]string{}
	var dirs []func()
	var walk func(ino uint64, p string)
	walk = func(ino uint64, p string) {
		w.ReadDir(ino, "", func(e volume.DirEntry) bool {
			cp := filepath.Join(p, e.Name)
			a, err := w.GetAttr(e.Ino)
			if err != nil {
				t.Fatal(err)
			}
			if first, ok := seen[e.Ino]; ok {
				if err := os.Link(filepath.Join(dst, first), filepath.Join(dst, cp)); err != nil {
					t.Fatal(err)
				}
				return true
			}
			seen[e.Ino] = cp
			switch a.Mode & unix.S_IFMT {
			case unix.S_IFDIR:
				os.Mkdir(filepath.Join(dst, cp), 0o700)
			case unix.S_IFREG:
				f, err := os.Create(filepath.Join(dst, cp))
				if err != nil {
					t.Fatal(err)
				}
				ext, _ := w.Extents(e.Ino)
				for _, x := range ext {
					buf := make([]byte, x.Len)
					n, _ := w.Read(e.Ino, x.Off, buf)
					f.WriteAt(buf[:n], x.Off)
				}
				f.Truncate(int64(a.Size))
				f.Close()
			case unix.S_IFLNK:
				target, _ := w.Readlink(e.Ino)
				os.Symlink(target, filepath.Join(dst, cp))
			default:
				if err := unix.Mknod(filepath.Join(dst, cp), a.Mode, int(a.Rdev)); err != nil {
					t.Fatal(err)
				}
			}
			ino := e.Ino
			setX := func() {
				names, _ := w.ListXattr(ino)
				for _, n := range names {
					v, _ := w.GetXattr(ino, n)
					if err := unix.Lsetxattr(filepath.Join(dst, cp), n, v, 0); err != nil && !errors.Is(err, syscall.ENOTSUP) {
						t.Fatal(err)
					}
				}
			}
			da := dump.Attr{Mode: a.Mode, UID: a.UID, GID: a.GID, Atime: a.Atime, Mtime: a.Mtime}
			fix := func() {
				setX()
				if err := tgt.SetAttr(cp, da); err != nil {
					t.Fatal(err)
				}
			}
			if a.IsDir() {
				walk(e.Ino, cp)
				dirs = append(dirs, fix)
			} else {
				fix()
			}
			return true
		})
	}
	walk(root.Ino, "")
	for i := len(dirs) - 1; i >= 0; i-- {
		dirs[i]()
	}
	tgt.SetAttr("", dump.Attr{Mode: root.Mode, UID: root.UID, GID: root.GID, Atime: root.Atime, Mtime: root.Mtime})
}

// recorder collects file history, log lines and progress.
type recorder struct {
	mu     sync.Mutex
	dirs   []string
	nodes  map[uint64]engines.FileStat
	toc    map[string]engines.FileStat
	msgs   []string
	files  map[string]error
	phases []string
	bytes  int64
}

func newRecorder() *recorder {
	return &recorder{nodes: map[uint64]engines.FileStat{}, toc: map[string]engines.FileStat{}, files: map[string]error{}}
}

func (r *recorder) AddFile(path string, st engines.FileStat) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.toc[path] = st
	return nil
}
func (r *recorder) AddDir(name string, dir, node uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dirs = append(r.dirs, name)
	return nil
}
func (r *recorder) AddNode(st engines.FileStat) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nodes[st.Node] = st
	return nil
}
func (r *recorder) Message(level engines.LogLevel, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, text)
}
func (r *recorder) File(path string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[path] = err
}
func (r *recorder) Phase(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phases = append(r.phases, name)
}
func (r *recorder) Add(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bytes += n
}
