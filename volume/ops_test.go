package volume

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func names(t *testing.T, w *View, dir uint64) []string {
	t.Helper()
	var out []string
	if err := w.ReadDir(dir, "", func(e DirEntry) bool { out = append(out, e.Name); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAllInodeTypes(t *testing.T) {
	_, v, w := newVolume(t, 8<<20)
	o := Owner{UID: 1, GID: 2}
	d := must[Attr](t)(w.Mkdir(RootIno, "dir", 0o750, o))
	if !d.IsDir() || d.Nlink != 2 {
		t.Fatalf("mkdir: %+v", d)
	}
	if r := must[Attr](t)(w.GetAttr(RootIno)); r.Nlink != 3 {
		t.Fatalf("root nlink %d, want 3", r.Nlink)
	}
	fifo := must[Attr](t)(w.Mknod(d.Ino, "fifo", syscall.S_IFIFO|0o600, 0, o))
	chr := must[Attr](t)(w.Mknod(d.Ino, "chr", syscall.S_IFCHR|0o600, unix.Mkdev(4, 64), o))
	blk := must[Attr](t)(w.Mknod(d.Ino, "blk", syscall.S_IFBLK|0o600, unix.Mkdev(8, 1), o))
	sock := must[Attr](t)(w.Mknod(d.Ino, "sock", syscall.S_IFSOCK|0o600, 0, o))
	ln := must[Attr](t)(w.Symlink(d.Ino, "link", "../some/target", o))
	for _, c := range []struct {
		a    Attr
		typ  uint32
		rdev uint64
	}{{fifo, syscall.S_IFIFO, 0}, {chr, syscall.S_IFCHR, unix.Mkdev(4, 64)}, {blk, syscall.S_IFBLK, unix.Mkdev(8, 1)}, {sock, syscall.S_IFSOCK, 0}, {ln, syscall.S_IFLNK, 0}} {
		got := must[Attr](t)(w.GetAttr(c.a.Ino))
		if got.Mode&syscall.S_IFMT != c.typ || got.Rdev != c.rdev || got.UID != 1 || got.GID != 2 {
			t.Errorf("inode %d: %+v", c.a.Ino, got)
		}
	}
	if tg := must[string](t)(w.Readlink(ln.Ino)); tg != "../some/target" || ln.Size != 14 {
		t.Fatalf("readlink %q size %d", tg, ln.Size)
	}
	_, err := w.Readlink(fifo.Ino)
	wantErrno(t, err, syscall.EINVAL)
	got := names(t, w, d.Ino)
	want := []string{"blk", "chr", "fifo", "link", "sock"}
	if len(got) != len(want) {
		t.Fatalf("readdir %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("readdir %v, want %v", got, want)
		}
	}
	// resume after a cookie
	var after []string
	must[struct{}](t)(struct{}{}, w.ReadDir(d.Ino, "fifo", func(e DirEntry) bool { after = append(after, e.Name); return true }))
	if len(after) != 2 || after[0] != "link" {
		t.Fatalf("readdir after fifo: %v", after)
	}
	if p := must[uint64](t)(w.Parent(d.Ino)); p != RootIno {
		t.Fatalf("parent %d", p)
	}
	if a := must[Attr](t)(w.Resolve("dir/link")); a.Ino != ln.Ino {
		t.Fatal("resolve")
	}
	_, err = w.Read(d.Ino, 0, make([]byte, 1))
	wantErrno(t, err, syscall.EISDIR)
	_, err = w.Write(chr.Ino, 0, []byte("x"))
	wantErrno(t, err, syscall.EINVAL)
	err = w.Rmdir(RootIno, "dir")
	wantErrno(t, err, syscall.ENOTEMPTY)
	err = w.Unlink(RootIno, "dir")
	wantErrno(t, err, syscall.EISDIR)
	err = w.Rmdir(d.Ino, "fifo")
	wantErrno(t, err, syscall.ENOTDIR)
	_, err = w.Create(fifo.Ino, "x", 0o644, o)
	wantErrno(t, err, syscall.ENOTDIR)
	for _, bad := range []string{"", ".", "..", "a/b", "a\x00b", string(make([]byte, 256))} {
		_, err := w.Create(RootIno, bad, 0o644, o)
		if !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENAMETOOLONG) {
			t.Errorf("create %q: %v", bad, err)
		}
	}
	// Inodes iterates in inode order.
	var inos []uint64
	must[struct{}](t)(struct{}{}, w.Inodes(0, func(a Attr) bool { inos = append(inos, a.Ino); return true }))
	if len(inos) != 7 || inos[0] != RootIno {
		t.Fatalf("inodes %v", inos)
	}
	for i := 1; i < len(inos); i++ {
		if inos[i] <= inos[i-1] {
			t.Fatalf("inodes out of order: %v", inos)
		}
	}
	checkClean(t, v)
	for _, n := range want {
		must[struct{}](t)(struct{}{}, w.Unlink(d.Ino, n))
	}
	must[struct{}](t)(struct{}{}, w.Rmdir(RootIno, "dir"))
	if r := must[Attr](t)(w.GetAttr(RootIno)); r.Nlink != 2 {
		t.Fatalf("root nlink %d after rmdir", r.Nlink)
	}
	checkClean(t, v)
}

func TestHardLinks(t *testing.T) {
	_, v, w := newVolume(t, 8<<20)
	f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
	must[int](t)(w.Write(f.Ino, 0, pattern(9000, 1)))
	d := must[Attr](t)(w.Mkdir(RootIno, "d", 0o755, Owner{}))
	l := must[Attr](t)(w.Link(f.Ino, d.Ino, "g"))
	if l.Nlink != 2 || l.Ino != f.Ino {
		t.Fatalf("link: %+v", l)
	}
	_, err := w.Link(d.Ino, RootIno, "dd")
	wantErrno(t, err, syscall.EPERM)
	_, err = w.Link(f.Ino, RootIno, "d")
	wantErrno(t, err, syscall.EEXIST)
	checkClean(t, v)
	must[struct{}](t)(struct{}{}, w.Unlink(RootIno, "f"))
	if a := must[Attr](t)(w.Lookup(d.Ino, "g")); a.Nlink != 1 {
		t.Fatalf("nlink after unlink: %d", a.Nlink)
	}
	equal(t, readAll(t, w, f.Ino), pattern(9000, 1))
	checkClean(t, v)
	must[struct{}](t)(struct{}{}, w.Unlink(d.Ino, "g"))
	r := checkClean(t, v)
	if r.StoredBlocks != 0 {
		t.Fatalf("blocks left: %+v", r)
	}
}

func TestRename(t *testing.T) {
	_, v, w := newVolume(t, 8<<20)
	o := Owner{}
	a := must[Attr](t)(w.Mkdir(RootIno, "a", 0o755, o))
	b := must[Attr](t)(w.Mkdir(RootIno, "b", 0o755, o))
	f := must[Attr](t)(w.Create(a.Ino, "f", 0o644, o))
	g := must[Attr](t)(w.Create(b.Ino, "g", 0o644, o))
	must[int](t)(w.Write(g.Ino, 0, pattern(5000, 2)))
	// plain move across directories
	must[struct{}](t)(struct{}{}, w.Rename(a.Ino, "f", b.Ino, "f2", 0))
	if x := must[Attr](t)(w.Lookup(b.Ino, "f2")); x.Ino != f.Ino {
		t.Fatal("moved file")
	}
	_, err := w.Lookup(a.Ino, "f")
	wantErrno(t, err, syscall.ENOENT)
	// replace an existing file: g's inode and blocks are freed
	must[struct{}](t)(struct{}{}, w.Rename(b.Ino, "f2", b.Ino, "g", 0))
	_, err = w.GetAttr(g.Ino)
	wantErrno(t, err, syscall.ENOENT)
	if r := checkClean(t, v); r.StoredBlocks != 0 {
		t.Fatalf("replaced file's blocks not freed: %+v", r)
	}
	// no-replace / exchange
	h := must[Attr](t)(w.Create(b.Ino, "h", 0o644, o))
	wantErrno(t, w.Rename(b.Ino, "g", b.Ino, "h", RenameNoReplace), syscall.EEXIST)
	must[struct{}](t)(struct{}{}, w.Rename(b.Ino, "g", b.Ino, "h", RenameExchange))
	if x := must[Attr](t)(w.Lookup(b.Ino, "h")); x.Ino != f.Ino {
		t.Fatal("exchange")
	}
	if x := must[Attr](t)(w.Lookup(b.Ino, "g")); x.Ino != h.Ino {
		t.Fatal("exchange 2")
	}
	// directories: move a into b, nlinks follow
	must[struct{}](t)(struct{}{}, w.Rename(RootIno, "a", b.Ino, "a", 0))
	if p := must[uint64](t)(w.Parent(a.Ino)); p != b.Ino {
		t.Fatalf("parent after move %d", p)
	}
	if x := must[Attr](t)(w.GetAttr(RootIno)); x.Nlink != 3 {
		t.Fatalf("root nlink %d", x.Nlink)
	}
	if x := must[Attr](t)(w.GetAttr(b.Ino)); x.Nlink != 3 {
		t.Fatalf("b nlink %d", x.Nlink)
	}
	wantErrno(t, w.Rename(RootIno, "b", a.Ino, "b", 0), syscall.EINVAL) // into own subtree
	c := must[Attr](t)(w.Mkdir(RootIno, "c", 0o755, o))
	wantErrno(t, w.Rename(RootIno, "c", b.Ino, "g", 0), syscall.ENOTDIR)
	wantErrno(t, w.Rename(b.Ino, "g", RootIno, "c", 0), syscall.EISDIR)
	wantErrno(t, w.Rename(RootIno, "c", RootIno, "b", 0), syscall.ENOTEMPTY)
	// directory over an empty directory
	must[Attr](t)(w.Mkdir(RootIno, "e", 0o755, o))
	must[struct{}](t)(struct{}{}, w.Rename(RootIno, "c", RootIno, "e", 0))
	if x := must[Attr](t)(w.Lookup(RootIno, "e")); x.Ino != c.Ino {
		t.Fatal("dir over empty dir")
	}
	wantErrno(t, w.Rename(RootIno, "nope", RootIno, "x", 0), syscall.ENOENT)
	// same inode under two names: no-op
	must[Attr](t)(w.Link(h.Ino, RootIno, "h2"))
	must[struct{}](t)(struct{}{}, w.Rename(b.Ino, "g", RootIno, "h2", 0))
	checkClean(t, v)
}

func TestSparseAndTruncate(t *testing.T) {
	_, v, w := newVolume(t, 16<<20)
	f := must[Attr](t)(w.Create(RootIno, "sparse", 0o644, Owner{}))
	must[int](t)(w.Write(f.Ino, 1<<20, []byte("tail")))
	a := must[Attr](t)(w.GetAttr(f.Ino))
	if a.Size != 1<<20+4 || a.Blocks != 8 {
		t.Fatalf("sparse attr: size %d blocks %d", a.Size, a.Blocks)
	}
	buf := make([]byte, 8192)
	n := must[int](t)(w.Read(f.Ino, 1<<20-4096, buf))
	if n != 4100 {
		t.Fatalf("read %d", n)
	}
	for i := 0; i < 4096; i++ {
		if buf[i] != 0 {
			t.Fatal("hole not zero")
		}
	}
	if string(buf[4096:4100]) != "tail" {
		t.Fatal("tail")
	}
	ex := must[[]Extent](t)(w.Extents(f.Ino))
	if len(ex) != 1 || ex[0] != (Extent{1 << 20, 4}) {
		t.Fatalf("extents %v", ex)
	}
	// punching a hole frees whole blocks, zeroes partial ones, keeps the size
	must[int](t)(w.Write(f.Ino, 0, pattern(3*4096, 6)))
	must[struct{}](t)(struct{}{}, w.PunchHole(f.Ino, 100, 2*4096))
	if a := must[Attr](t)(w.GetAttr(f.Ino)); a.Size != 1<<20+4 || a.Blocks != 3*8 {
		t.Fatalf("after punch: size %d blocks %d", a.Size, a.Blocks)
	}
	want0 := pattern(3*4096, 6)
	clear(want0[100 : 100+2*4096])
	got0 := make([]byte, 3*4096)
	must[int](t)(w.Read(f.Ino, 0, got0))
	equal(t, got0, want0)
	must[struct{}](t)(struct{}{}, w.PunchHole(f.Ino, 0, 1<<30))
	if a := must[Attr](t)(w.GetAttr(f.Ino)); a.Size != 1<<20+4 || a.Blocks != 0 {
		t.Fatalf("after punching everything: size %d blocks %d", a.Size, a.Blocks)
	}
	must[int](t)(w.Write(f.Ino, 1<<20, []byte("tail")))
	// all-zero writes stay holes
	must[int](t)(w.Write(f.Ino, 0, make([]byte, 64<<10)))
	if a := must[Attr](t)(w.GetAttr(f.Ino)); a.Blocks != 8 {
		t.Fatalf("zero write allocated: %d", a.Blocks)
	}
	// truncate down into a block, extend again: no stale data reappears
	must[int](t)(w.Write(f.Ino, 0, pattern(3*4096, 5)))
	must[Attr](t)(w.SetAttr(f.Ino, SetAttrIn{Valid: SetSize, Size: 5000}))
	a = must[Attr](t)(w.GetAttr(f.Ino))
	if a.Size != 5000 || a.Blocks != 16 {
		t.Fatalf("after truncate: size %d blocks %d", a.Size, a.Blocks)
	}
	must[Attr](t)(w.SetAttr(f.Ino, SetAttrIn{Valid: SetSize, Size: 2 << 20}))
	got := readAll(t, w, f.Ino)
	want := make([]byte, 2<<20)
	copy(want, pattern(3*4096, 5)[:5000])
	equal(t, got, want)
	checkClean(t, v)
	must[Attr](t)(w.SetAttr(f.Ino, SetAttrIn{Valid: SetSize, Size: 0}))
	if r := checkClean(t, v); r.StoredBlocks != 0 {
		t.Fatalf("truncate to 0 left blocks: %+v", r)
	}
	// a large multi-chunk write and read back
	big := pattern(3<<20+123, 9)
	must[int](t)(w.Write(f.Ino, 777, big))
	got = make([]byte, len(big))
	must[int](t)(w.Read(f.Ino, 777, got))
	equal(t, got, big)
	checkClean(t, v)
}

func TestSetAttrTimes(t *testing.T) {
	_, _, w := newVolume(t, 8<<20)
	f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
	at := time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC)
	mt := time.Date(2002, 2, 3, 4, 5, 6, 123456789, time.UTC)
	a := must[Attr](t)(w.SetAttr(f.Ino, SetAttrIn{Valid: SetAtime | SetMtime | SetMode | SetUID | SetGID, Atime: at, Mtime: mt, Mode: 0o4711, UID: 7, GID: 8}))
	a2 := must[Attr](t)(w.GetAttr(f.Ino))
	if !a2.Atime.Equal(at) || !a2.Mtime.Equal(mt) || a2.Mode != syscall.S_IFREG|0o4711 || a2.UID != 7 || a2.GID != 8 || a != a2 {
		t.Fatalf("setattr: %+v", a2)
	}
	if !a2.Ctime.After(f.Ctime) || !a2.Crtime.Equal(f.Crtime) {
		t.Fatalf("ctime/crtime: %+v vs %+v", a2, f)
	}
	ct := time.Date(2003, 1, 1, 0, 0, 0, 1, time.UTC)
	a3 := must[Attr](t)(w.SetAttr(f.Ino, SetAttrIn{Valid: SetCtime, Ctime: ct}))
	if !a3.Ctime.Equal(ct) {
		t.Fatal("ctime")
	}
}

func TestXattrs(t *testing.T) {
	_, v, w := newVolume(t, 8<<20)
	f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
	must[struct{}](t)(struct{}{}, w.SetXattr(f.Ino, "user.a", []byte("1"), 0))
	must[struct{}](t)(struct{}{}, w.SetXattr(f.Ino, "system.posix_acl_access", []byte{2, 0, 0, 0, 1, 0, 6, 0}, 0))
	must[struct{}](t)(struct{}{}, w.SetXattr(f.Ino, "user.empty", nil, XattrCreate))
	wantErrno(t, w.SetXattr(f.Ino, "user.a", []byte("2"), XattrCreate), syscall.EEXIST)
	wantErrno(t, w.SetXattr(f.Ino, "user.b", []byte("2"), XattrReplace), syscall.ENODATA)
	must[struct{}](t)(struct{}{}, w.SetXattr(f.Ino, "user.a", []byte("22"), XattrReplace))
	if x := must[[]byte](t)(w.GetXattr(f.Ino, "user.a")); string(x) != "22" {
		t.Fatalf("get %q", x)
	}
	if x := must[[]byte](t)(w.GetXattr(f.Ino, "user.empty")); len(x) != 0 {
		t.Fatal("empty")
	}
	l := must[[]string](t)(w.ListXattr(f.Ino))
	if len(l) != 3 || l[0] != "system.posix_acl_access" || l[1] != "user.a" || l[2] != "user.empty" {
		t.Fatalf("list %v", l)
	}
	_, err := w.GetXattr(f.Ino, "user.none")
	wantErrno(t, err, syscall.ENODATA)
	must[struct{}](t)(struct{}{}, w.RemoveXattr(f.Ino, "user.a"))
	wantErrno(t, w.RemoveXattr(f.Ino, "user.a"), syscall.ENODATA)
	wantErrno(t, w.SetXattr(f.Ino, "user.big", make([]byte, MaxXattrSize+1), 0), syscall.E2BIG)
	// big values go to the value log; still round-trip
	bigv := pattern(MaxXattrSize, 4)
	must[struct{}](t)(struct{}{}, w.SetXattr(f.Ino, "user.big", bigv, 0))
	equal(t, must[[]byte](t)(w.GetXattr(f.Ino, "user.big")), bigv)
	checkClean(t, v)
}

func TestNoSpaceNothingLost(t *testing.T) {
	_, v, w := newVolume(t, 1<<20) // 256 blocks
	f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
	data := pattern(900<<10, 1)
	must[int](t)(w.Write(f.Ino, 0, data))
	g := must[Attr](t)(w.Create(RootIno, "g", 0o644, Owner{}))
	n, err := w.Write(g.Ino, 0, pattern(200<<10, 2))
	wantErrno(t, err, syscall.ENOSPC)
	if n != 0 {
		t.Fatalf("partial write %d", n)
	}
	equal(t, readAll(t, w, f.Ino), data)
	if a := must[Attr](t)(w.GetAttr(g.Ino)); a.Size != 0 || a.Blocks != 0 {
		t.Fatalf("failed write changed g: %+v", a)
	}
	st := must[Statfs](t)(w.Statfs())
	if st.Blocks != 256 || st.Bfree != 256-225 {
		t.Fatalf("statfs %+v", st)
	}
	// overwriting in place needs no new space
	must[int](t)(w.Write(f.Ino, 0, pattern(900<<10, 3)))
	checkClean(t, v)
	// with a snapshot holding the old blocks, an overwrite needs space
	must[SnapshotInfo](t)(v.CreateSnapshot("s1"))
	_, err = w.Write(f.Ino, 0, pattern(200<<10, 4))
	wantErrno(t, err, syscall.ENOSPC)
	equal(t, readAll(t, w, f.Ino), pattern(900<<10, 3))
	must[int64](t)(v.DeleteSnapshot("s1"))
	must[int](t)(w.Write(f.Ino, 0, pattern(200<<10, 4)))
	checkClean(t, v)
}

func TestInodeLimitAndReuse(t *testing.T) {
	s := newStore(t, "")
	defer s.Close()
	v := must[*Volume](t)(s.CreateVolume(Spec{SVM: "vs1", Name: "v", Size: 4 << 20, InodeLimit: 5}))
	w := must[*View](t)(v.Active())
	var created []Attr
	for i := 0; i < 4; i++ {
		created = append(created, must[Attr](t)(w.Create(RootIno, string(rune('a'+i)), 0o644, Owner{})))
	}
	_, err := w.Create(RootIno, "e", 0o644, Owner{})
	wantErrno(t, err, syscall.ENOSPC)
	if st := must[Statfs](t)(w.Statfs()); st.Files != 5 || st.Ffree != 0 {
		t.Fatalf("statfs %+v", st)
	}
	must[struct{}](t)(struct{}{}, w.Unlink(RootIno, "b"))
	e := must[Attr](t)(w.Create(RootIno, "e", 0o644, Owner{}))
	if e.Ino != created[1].Ino || e.Gen != created[1].Gen+1 {
		t.Fatalf("reuse: ino %d gen %d, freed ino %d gen %d", e.Ino, e.Gen, created[1].Ino, created[1].Gen)
	}
	if e.Ino >= 1<<32 {
		t.Fatal("inode number too large")
	}
	checkClean(t, v)
}

func TestStatesAndTypes(t *testing.T) {
	s, v, w := newVolume(t, 4<<20)
	f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
	must[struct{}](t)(struct{}{}, v.SetState(StateRestricted))
	_, err := w.GetAttr(f.Ino)
	if !errors.Is(err, ErrVolumeRestricted) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("restricted: %v", err)
	}
	_, err = v.Active()
	if !errors.Is(err, ErrVolumeRestricted) {
		t.Fatal(err)
	}
	rt := must[*View](t)(v.RestoreTarget())
	must[int](t)(rt.Write(f.Ino, 0, []byte("restored")))
	must[struct{}](t)(struct{}{}, v.SetState(StateOffline))
	_, err = rt.GetAttr(f.Ino)
	if !errors.Is(err, ErrVolumeOffline) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("offline: %v", err)
	}
	if i := v.Info(); i.State != StateOffline {
		t.Fatal(i.State)
	}
	must[struct{}](t)(struct{}{}, v.SetState(StateOnline))
	dp := TypeDP
	must[struct{}](t)(struct{}{}, v.Modify(Modify{Type: &dp}))
	w = must[*View](t)(v.Active())
	if !w.ReadOnly() {
		t.Fatal("DP active view writable")
	}
	_, err = w.Write(f.Ino, 0, []byte("x"))
	if !errors.Is(err, syscall.EROFS) || !errors.Is(err, ErrReadOnly) {
		t.Fatalf("DP write: %v", err)
	}
	if string(readAll(t, w, f.Ino)) != "restored" && string(readAll(t, w, f.Ino)) != "Restored" {
		t.Fatal("data")
	}
	rw := TypeRW
	must[struct{}](t)(struct{}{}, v.Modify(Modify{Type: &rw}))
	if w.ReadOnly() {
		t.Fatal("DP -> RW not followed by the open view")
	}
	must[int](t)(w.Write(f.Ino, 0, []byte("R")))
	must[struct{}](t)(struct{}{}, v.Modify(Modify{Type: &dp}))
	err = s.DeleteVolume("vs1", "vol1")
	if !errors.Is(err, ErrVolumeNotOffline) {
		t.Fatalf("delete online: %v", err)
	}
	small := int64(1000)
	if err := v.Modify(Modify{Size: &small}); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	bigger := int64(64 << 20)
	must[struct{}](t)(struct{}{}, v.Modify(Modify{Size: &bigger}))
	if v.Info().Size != 64<<20 {
		t.Fatal("resize")
	}
	must[struct{}](t)(struct{}{}, v.SetState(StateOffline))
	must[struct{}](t)(struct{}{}, s.DeleteVolume("vs1", "vol1"))
	if _, err := s.Volume("vs1", "vol1"); !errors.Is(err, ErrNoVolume) || !errors.Is(err, syscall.ENOENT) {
		t.Fatal(err)
	}
	_, err = w.GetAttr(RootIno)
	wantErrno(t, err, syscall.ENOENT)
	if len(s.Volumes()) != 0 {
		t.Fatal("volumes left")
	}
	// a new volume with the same name starts empty
	v2 := must[*Volume](t)(s.CreateVolume(Spec{SVM: "vs1", Name: "vol1", Size: 4 << 20}))
	w2 := must[*View](t)(v2.Active())
	if len(names(t, w2, RootIno)) != 0 {
		t.Fatal("recreated volume not empty")
	}
}

func TestBadNamesSizesPaths(t *testing.T) {
	s := newStore(t, "")
	defer s.Close()
	for _, sp := range []Spec{
		{SVM: "vs1", Name: "1vol", Size: 4 << 20},
		{SVM: "vs1", Name: "vol-1", Size: 4 << 20},
		{SVM: "vs1", Name: "", Size: 4 << 20},
		{SVM: "", Name: "v", Size: 4 << 20},
		{SVM: "vs/1", Name: "v", Size: 4 << 20},
		{SVM: "vs1", Name: "v", Size: 1000},
		{SVM: "vs1", Name: "v", Size: MaxSize + 1},
		{SVM: "vs1", Name: "v", Size: 4 << 20, Type: "XX"},
	} {
		if _, err := s.CreateVolume(sp); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", sp, err)
		}
	}
	must[*Volume](t)(s.CreateVolume(Spec{SVM: "vs1", Name: "v", Size: 4<<20 + 1}))
	if _, err := s.CreateVolume(Spec{SVM: "vs1", Name: "v", Size: 4 << 20}); !errors.Is(err, ErrVolumeExists) {
		t.Fatal(err)
	}
	if got := s.Volumes(); len(got) != 1 || got[0].Size != 4<<20+4096 || got[0].Type != TypeRW || got[0].InodeLimit != 256 {
		t.Fatalf("volumes %+v", got)
	}
	for _, c := range []struct{ in, svm, vol, rel string }{
		{"/vs1/vol1", "vs1", "vol1", ""},
		{"/vs1/vol1/", "vs1", "vol1", ""},
		{"/vs1/vol1/a/b/../c", "vs1", "vol1", "a/c"},
		{"/vs1/vol1/../../x", "vs1", "vol1", "x"},
	} {
		svm, vol, rel, err := ParsePath(c.in)
		if err != nil || svm != c.svm || vol != c.vol || rel != c.rel {
			t.Errorf("ParsePath(%q) = %q %q %q %v", c.in, svm, vol, rel, err)
		}
	}
	for _, bad := range []string{"", "vs1/vol1", "/", "/vs1", "//vol1", "/vs1/", "/vs1/1bad"} {
		if _, _, _, err := ParsePath(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePath(%q): %v", bad, err)
		}
	}
}
