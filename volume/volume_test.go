package volume

import (
	"syscall"
	"testing"
)

func TestBasicFileOps(t *testing.T) {
	_, v, w := newVolume(t, 16<<20)
	root := must[Attr](t)(w.GetAttr(RootIno))
	if !root.IsDir() || root.Nlink != 2 || root.Ino != 2 {
		t.Fatalf("root: %+v", root)
	}
	f := must[Attr](t)(w.Create(RootIno, "a.txt", 0o644, Owner{UID: 10, GID: 20}))
	if f.Mode != syscall.S_IFREG|0o644 || f.UID != 10 || f.GID != 20 || f.Nlink != 1 {
		t.Fatalf("created: %+v", f)
	}
	data := pattern(10000, 3)
	if n, err := w.Write(f.Ino, 0, data); err != nil || n != len(data) {
		t.Fatalf("write: %d %v", n, err)
	}
	equal(t, readAll(t, w, f.Ino), data)
	// partial overwrite in the middle of a block
	must[int](t)(w.Write(f.Ino, 5000, []byte("hello")))
	copy(data[5000:], "hello")
	equal(t, readAll(t, w, f.Ino), data)
	a := must[Attr](t)(w.GetAttr(f.Ino))
	if a.Size != 10000 || a.Blocks != 3*8 {
		t.Fatalf("attr after write: size %d blocks %d", a.Size, a.Blocks)
	}
	_, err := w.Create(RootIno, "a.txt", 0o644, Owner{})
	wantErrno(t, err, syscall.EEXIST)
	_, err = w.Lookup(RootIno, "nope")
	wantErrno(t, err, syscall.ENOENT)
	got := must[Attr](t)(w.Lookup(RootIno, "a.txt"))
	if got.Ino != f.Ino {
		t.Fatal("lookup ino")
	}
	checkClean(t, v)
	must[struct{}](t)(struct{}{}, w.Unlink(RootIno, "a.txt"))
	_, err = w.GetAttr(f.Ino)
	wantErrno(t, err, syscall.ENOENT)
	r := checkClean(t, v)
	if r.LiveBlocks != 0 || r.StoredBlocks != 0 || r.Inodes != 1 {
		t.Fatalf("after unlink: %+v", r)
	}
}
