package volume

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"reflect"
	"sort"
	"syscall"
	"testing"
)

// fileState is everything a view shows about one inode.
type fileState struct {
	attr    Attr
	dirents []DirEntry
	xattrs  map[string]string
	data    []byte
}

// dumpView reads a whole view through the public API (the brute-force reference).
func dumpView(t testing.TB, w *View) map[uint64]*fileState {
	t.Helper()
	out := map[uint64]*fileState{}
	var attrs []Attr
	if err := w.Inodes(0, func(a Attr) bool { attrs = append(attrs, a); return true }); err != nil {
		t.Fatal(err)
	}
	for _, a := range attrs {
		fs := &fileState{attr: a, xattrs: map[string]string{}}
		if a.IsDir() {
			if err := w.ReadDir(a.Ino, "", func(e DirEntry) bool { fs.dirents = append(fs.dirents, e); return true }); err != nil {
				t.Fatal(err)
			}
		}
		if a.IsRegular() {
			fs.data = make([]byte, a.Size)
			if _, err := w.Read(a.Ino, 0, fs.data); err != nil {
				t.Fatal(err)
			}
		}
		names, err := w.ListXattr(a.Ino)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			v, err := w.GetXattr(a.Ino, n)
			if err != nil {
				t.Fatal(err)
			}
			fs.xattrs[n] = string(v)
		}
		out[a.Ino] = fs
	}
	return out
}

func blockOf(d []byte, blk uint64) []byte {
	b := make([]byte, BlockSize)
	if o := blk * BlockSize; o < uint64(len(d)) {
		copy(b, d[o:])
	}
	return b
}

// bruteDiff computes what Volume.Changes must return, from two dumps.
func bruteDiff(a, b map[uint64]*fileState) []InodeChange {
	var out []InodeChange
	inos := map[uint64]bool{}
	for i := range a {
		inos[i] = true
	}
	for i := range b {
		inos[i] = true
	}
	for ino := range inos {
		fa, fb := a[ino], b[ino]
		c := InodeChange{Ino: ino}
		same := fa != nil && fb != nil && fa.attr.Gen == fb.attr.Gen
		c.Created = fb != nil && !same
		c.Deleted = fa != nil && !same
		if same {
			c.Attr = fa.attr != fb.attr
			c.Dirents = !reflect.DeepEqual(fa.dirents, fb.dirents)
			c.Xattrs = !reflect.DeepEqual(fa.xattrs, fb.xattrs)
		} else if fb != nil {
			c.Dirents = len(fb.dirents) > 0
			c.Xattrs = len(fb.xattrs) > 0
		}
		if fb != nil && fb.attr.IsRegular() {
			size := fb.attr.Size
			for blk := uint64(0); blk*BlockSize < size; blk++ {
				bb := blockOf(fb.data, blk)
				var differs bool
				if same {
					differs = !bytes.Equal(blockOf(fa.data, blk), bb)
				} else {
					differs = !bytes.Equal(bb, make([]byte, BlockSize))
				}
				if differs {
					o := int64(blk * BlockSize)
					l := min(int64(BlockSize), int64(size)-o)
					if m := len(c.Data); m > 0 && c.Data[m-1].Off+c.Data[m-1].Len == o {
						c.Data[m-1].Len += l
					} else {
						c.Data = append(c.Data, Extent{o, l})
					}
				}
			}
		}
		if c.Created || c.Deleted || c.Attr || c.Dirents || c.Xattrs || len(c.Data) > 0 {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ino < out[j].Ino })
	return out
}

// randomOps applies n random namespace/data/xattr operations to the live view.
func randomOps(t testing.TB, r *rand.Rand, w *View, n int) {
	t.Helper()
	ignore := func(err error) {
		if err != nil && !isErrno(err) {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	for i := 0; i < n; i++ {
		var dirs, files []uint64
		w.Inodes(0, func(a Attr) bool {
			if a.IsDir() {
				dirs = append(dirs, a.Ino)
			} else if a.IsRegular() {
				files = append(files, a.Ino)
			}
			return true
		})
		dir := dirs[r.Intn(len(dirs))]
		name := fmt.Sprintf("n%d", r.Intn(12))
		switch op := r.Intn(12); {
		case op < 2:
			_, err := w.Create(dir, name, 0o644, Owner{})
			ignore(err)
		case op == 2:
			_, err := w.Mkdir(dir, name, 0o755, Owner{})
			ignore(err)
		case op == 3:
			ignore(w.Unlink(dir, name))
		case op == 4:
			ignore(w.Rename(dir, name, dirs[r.Intn(len(dirs))], fmt.Sprintf("n%d", r.Intn(12)), 0))
		case op == 5 && len(files) > 0:
			_, err := w.Link(files[r.Intn(len(files))], dir, name)
			ignore(err)
		case op == 6 && len(files) > 0:
			ignore(w.SetXattr(files[r.Intn(len(files))], fmt.Sprintf("user.x%d", r.Intn(3)), []byte{byte(r.Intn(3))}, 0))
		case op == 7 && len(files) > 0:
			_, err := w.SetAttr(files[r.Intn(len(files))], SetAttrIn{Valid: SetSize, Size: uint64(r.Intn(40000))})
			ignore(err)
		case op == 8 && len(files) > 0:
			_, err := w.SetAttr(files[r.Intn(len(files))], SetAttrIn{Valid: SetMode, Mode: uint32(r.Intn(0o777))})
			ignore(err)
		case op == 9:
			ignore(w.Rmdir(dir, name))
		default:
			if len(files) > 0 {
				buf := make([]byte, r.Intn(20000))
				if r.Intn(4) > 0 {
					r.Read(buf)
				}
				_, err := w.Write(files[r.Intn(len(files))], int64(r.Intn(30000)), buf)
				ignore(err)
			}
		}
	}
}

func isErrno(err error) bool {
	for _, e := range []syscall.Errno{syscall.ENOENT, syscall.EEXIST, syscall.ENOTEMPTY, syscall.ENOTDIR, syscall.EISDIR, syscall.EINVAL, syscall.ENODATA} {
		if errorsIs(err, e) {
			return true
		}
	}
	return false
}

func TestSnapshotIsolationAndDiff(t *testing.T) {
	dir := t.TempDir()
	st := newStore(t, dir)
	defer func() { st.Close() }()
	v := must[*Volume](t)(st.CreateVolume(Spec{SVM: "vs1", Name: "vol1", Size: 64 << 20}))
	w := must[*View](t)(v.Active())
	seed := int64(1)
	if s := os.Getenv("TAPELAB_MODEL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	r := rand.New(rand.NewSource(seed))
	type snapDump struct {
		name string
		dump map[uint64]*fileState
	}
	var snaps []snapDump
	for round := 0; round < 6; round++ {
		randomOps(t, r, w, 60)
		name := fmt.Sprintf("s%d", round)
		must[SnapshotInfo](t)(v.CreateSnapshot(name))
		snaps = append(snaps, snapDump{name, dumpView(t, w)})
		checkClean(t, v)
		if round == 3 { // everything (epochs, dead lists, history) survives a reopen
			st.Close()
			st = newStore(t, dir)
			v = must[*Volume](t)(st.Volume("vs1", "vol1"))
			w = must[*View](t)(v.Active())
		}
	}
	randomOps(t, r, w, 60)
	live := dumpView(t, w)
	compared := 0
	verify := func() {
		t.Helper()
		for _, s := range snaps {
			sv := must[*View](t)(v.SnapshotView(s.name))
			if got := dumpView(t, sv); !reflect.DeepEqual(got, s.dump) {
				t.Fatalf("snapshot %s changed", s.name)
			}
			_, err := sv.Write(RootIno, 0, []byte("x"))
			wantErrno(t, err, syscall.EROFS)
			_, err = sv.Create(RootIno, "x", 0o644, Owner{})
			wantErrno(t, err, syscall.EROFS)
		}
		for i, a := range snaps {
			va := must[*View](t)(v.SnapshotView(a.name))
			for _, b := range append(snaps[i+1:], snapDump{"", live}) {
				vb := w
				if b.name != "" {
					vb = must[*View](t)(v.SnapshotView(b.name))
				}
				got := must[[]InodeChange](t)(v.Changes(va, vb))
				want := bruteDiff(a.dump, b.dump)
				if len(got) == 0 && len(want) == 0 {
					continue
				}
				compared += len(want)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("diff %s..%q:\n got %+v\nwant %+v", a.name, b.name, got, want)
				}
			}
		}
	}
	verify()
	// Delete a middle, the oldest and the newest snapshot; the others stay intact.
	for _, i := range []int{2, 0, -1} {
		if i < 0 {
			i = len(snaps) - 1
		}
		must[int64](t)(v.DeleteSnapshot(snaps[i].name))
		snaps = append(snaps[:i:i], snaps[i+1:]...)
		checkClean(t, v)
		verify()
	}
	t.Logf("compared %d inode changes; live has %d inodes", compared, len(live))
	if compared < 50 {
		t.Fatalf("random ops produced too few changes (%d)", compared)
	}
	if _, err := v.SnapshotView("s2"); !errorsIs(err, ErrNoSnapshot) {
		t.Fatal(err)
	}
	for _, s := range snaps {
		must[int64](t)(v.DeleteSnapshot(s.name))
	}
	r2 := checkClean(t, v)
	if r2.StoredBlocks != r2.LiveBlocks {
		t.Fatalf("after deleting all snapshots: stored %d live %d", r2.StoredBlocks, r2.LiveBlocks)
	}
	if n := countKeys(t, v, pDead); n != 0 {
		t.Errorf("%d dead-list keys left", n)
	}
	if n := countKeys(t, v, pHist); n != 0 {
		t.Errorf("%d history keys left", n)
	}
}

func TestSnapshotDeleteReclaims(t *testing.T) {
	_, v, w := newVolume(t, 16<<20)
	f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
	must[int](t)(w.Write(f.Ino, 0, pattern(1<<20, 1)))
	must[SnapshotInfo](t)(v.CreateSnapshot("a"))
	must[int](t)(w.Write(f.Ino, 0, pattern(512<<10, 2))) // half overwritten
	must[SnapshotInfo](t)(v.CreateSnapshot("b"))
	must[struct{}](t)(struct{}{}, w.Unlink(RootIno, "f")) // the rest dies too
	i := v.Info()
	if i.LiveUsed != 0 || i.Used != (1<<20)+(512<<10) || i.SnapUsed != i.Used {
		t.Fatalf("info %+v", i)
	}
	ua := must[int64](t)(v.SnapshotUnique("a"))
	ub := must[int64](t)(v.SnapshotUnique("b"))
	if ua != 512<<10 || ub != 512<<10 {
		t.Fatalf("unique a %d b %d", ua, ub)
	}
	sa := must[*View](t)(v.SnapshotView("a"))
	equal(t, readAll(t, sa, f.Ino), pattern(1<<20, 1))
	freed := must[int64](t)(v.DeleteSnapshot("a"))
	if freed != 512<<10 {
		t.Fatalf("freed %d", freed)
	}
	_, err := sa.GetAttr(f.Ino)
	if !errorsIs(err, ErrNoSnapshot) {
		t.Fatalf("view of deleted snapshot: %v", err)
	}
	sb := must[*View](t)(v.SnapshotView("b"))
	want := pattern(1<<20, 1)
	copy(want, pattern(512<<10, 2))
	equal(t, readAll(t, sb, f.Ino), want)
	checkClean(t, v)
	freed = must[int64](t)(v.DeleteSnapshot("b"))
	if freed != 1<<20 || v.Info().Used != 0 {
		t.Fatalf("freed %d, used %d", freed, v.Info().Used)
	}
	checkClean(t, v)
	// Nothing is left behind: no block versions or tombstones, no dead-list
	// or history entries.
	for _, p := range []byte{pBlock, pDead, pHist} {
		if n := countKeys(t, v, p); n != 0 {
			t.Errorf("%d keys with prefix %c left", n, p)
		}
	}
	if _, err := v.CreateSnapshot("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.CreateSnapshot("a"); !errorsIs(err, ErrSnapshotExists) {
		t.Fatal(err)
	}
}

// TestDiffBlockChecksums: blocks carry checksum bits (metaSum) that let a
// diff tell changed blocks apart without reading them; a rewrite with the
// same bytes, different bytes with the same bits, holes and blocks written
// without bits (older stores) are still judged by their bytes.
func TestDiffBlockChecksums(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			defer func() { writeBlockSums = true }()
			s, v, w := newVolume(t, 64<<20)
			defer s.Close()
			r := rand.New(rand.NewSource(3))
			block := func() []byte {
				b := make([]byte, BlockSize)
				r.Read(b)
				return b
			}
			f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
			orig := make([][]byte, 8)
			writeBlockSums = !legacy // the snapshot's versions: with or without bits
			for i := range orig {
				orig[i] = block()
				must[int](t)(w.Write(f.Ino, int64(i)*BlockSize, orig[i]))
			}
			must[SnapshotInfo](t)(v.CreateSnapshot("s0"))
			writeBlockSums = true
			// block 1: the same bytes again; block 2: other bytes; block 3:
			// other bytes with the same checksum bits; block 4: a hole;
			// block 5: other bytes, then its first bytes back again.
			must[int](t)(w.Write(f.Ino, 1*BlockSize, orig[1]))
			must[int](t)(w.Write(f.Ino, 2*BlockSize, block()))
			var twin []byte
			for twin = block(); blockMeta(twin) != blockMeta(orig[3]); twin = block() {
			}
			must[int](t)(w.Write(f.Ino, 3*BlockSize, twin))
			if err := w.PunchHole(f.Ino, 4*BlockSize, BlockSize); err != nil {
				t.Fatal(err)
			}
			must[int](t)(w.Write(f.Ino, 5*BlockSize, block()))
			must[int](t)(w.Write(f.Ino, 5*BlockSize, orig[5]))
			base := must[*View](t)(v.SnapshotView("s0"))
			chs := must[[]InodeChange](t)(v.Changes(base, w))
			var got []Extent
			for _, c := range chs {
				if c.Ino == f.Ino {
					got = c.Data
				}
			}
			want := []Extent{{2 * BlockSize, 3 * BlockSize}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("changed data %+v, want %+v", got, want)
			}
		})
	}
}
