package volume

import (
	"testing"
)

// seeksOf returns how many iterator Seeks fn did in point lookups and
// writes (seekIn). Tests using it must not run in parallel.
func seeksOf(fn func()) int64 {
	before := seekSteps.Load()
	fn()
	return seekSteps.Load() - before
}

// TestPointLookupAfterFreeIsBounded: freeing a big file's blocks leaves
// Badger delete markers for every block until compaction. A write or read
// of one block afterwards must cost a few Seeks (the block's own versions),
// not one per deleted block after it (the quadratic rewrite: every block
// write walked all the old file's markers).
func TestPointLookupAfterFreeIsBounded(t *testing.T) {
	const blocks = 2048 // 8 MiB
	const bound = 16    // Seeks allowed for one 4 KiB write or read
	check := func(t *testing.T, w *View, ino uint64) {
		t.Helper()
		data := pattern(BlockSize, 7)
		if n := seeksOf(func() { must[int](t)(w.Write(ino, 0, data)) }); n > bound {
			t.Errorf("writing block 0: %d seeks, want <= %d", n, bound)
		}
		// a partial block: reads the old version first
		if n := seeksOf(func() { must[int](t)(w.Write(ino, 100, data[:50])) }); n > bound {
			t.Errorf("partial write of block 0: %d seeks, want <= %d", n, bound)
		}
		buf := make([]byte, BlockSize)
		if n := seeksOf(func() { must[int](t)(w.Read(ino, 0, buf)) }); n > bound {
			t.Errorf("reading block 0: %d seeks, want <= %d", n, bound)
		}
		want := append([]byte{}, data...)
		copy(want[100:], data[:50])
		equal(t, buf, want)
		// a whole 1 MiB write: a few Seeks per block, not per deleted block
		big := pattern(1<<20, 9)
		if n := seeksOf(func() { must[int](t)(w.Write(ino, 0, big)) }); n > 256*4+bound {
			t.Errorf("1 MiB write: %d seeks, want <= %d", n, 256*4+bound)
		}
		if n := seeksOf(func() { must[[]Extent](t)(w.Extents(ino)) }); n > 256*2+bound {
			t.Errorf("extents of a 1 MiB file: %d seeks, want <= %d", n, 256*2+bound)
		}
		equal(t, readAll(t, w, ino), big)
	}

	t.Run("truncate", func(t *testing.T) {
		_, v, w := newVolume(t, 64<<20)
		f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
		must[int](t)(w.Write(f.Ino, 0, pattern(blocks*BlockSize, 1)))
		must[Attr](t)(w.SetAttr(f.Ino, SetAttrIn{Valid: SetSize, Size: 0}))
		check(t, w, f.Ino)
		checkClean(t, v)
	})

	t.Run("reused inode number", func(t *testing.T) {
		s := newStore(t, "")
		defer s.Close()
		// limit 3: root, f, g; the next file must reuse f's number
		v := must[*Volume](t)(s.CreateVolume(Spec{SVM: "vs1", Name: "v", Size: 64 << 20, InodeLimit: 3}))
		w := must[*View](t)(v.Active())
		f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
		must[Attr](t)(w.Create(RootIno, "g", 0o644, Owner{}))
		must[int](t)(w.Write(f.Ino, 0, pattern(blocks*BlockSize, 2)))
		must[struct{}](t)(struct{}{}, w.Unlink(RootIno, "f"))
		h := must[Attr](t)(w.Create(RootIno, "h", 0o644, Owner{}))
		if h.Ino != f.Ino || h.Gen != f.Gen+1 {
			t.Fatalf("h: ino %d gen %d, want the freed ino %d gen %d", h.Ino, h.Gen, f.Ino, f.Gen+1)
		}
		check(t, w, h.Ino)
		checkClean(t, v)
	})
}

// TestFreeBlocksOneSeekPerBlock: freeing a file's blocks visits each block
// once (the key after a block's newest version is its older version or the
// next block), with and without a snapshot holding the blocks.
func TestFreeBlocksOneSeekPerBlock(t *testing.T) {
	const blocks = 1024
	for _, snap := range []bool{false, true} {
		_, v, w := newVolume(t, 64<<20)
		f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
		data := pattern(blocks*BlockSize, 3)
		must[int](t)(w.Write(f.Ino, 0, data))
		if snap {
			must[SnapshotInfo](t)(v.CreateSnapshot("s"))
			// rewrite every other block: those have an older version
			for b := 0; b < blocks; b += 2 {
				must[int](t)(w.Write(f.Ino, int64(b)*BlockSize, pattern(BlockSize, 4)))
			}
		}
		n := seeksOf(func() { must[Attr](t)(w.SetAttr(f.Ino, SetAttrIn{Valid: SetSize, Size: 0})) })
		limit := int64(blocks + 32)
		if snap {
			limit += blocks / 2 // one more Seek past each block's older version
		}
		if n > limit {
			t.Errorf("snapshot %v: truncating %d blocks took %d seeks, want <= %d", snap, blocks, n, limit)
		}
		if a := must[Attr](t)(w.GetAttr(f.Ino)); a.Size != 0 || a.Blocks != 0 {
			t.Errorf("after truncate: %+v", a)
		}
		if snap {
			sv := must[*View](t)(v.SnapshotView("s"))
			equal(t, readAll(t, sv, f.Ino), data)
		}
		checkClean(t, v)
	}
}

// TestFreshInodeNumbersFirst: a freed inode number is not handed out
// again while never-used numbers within the inode limit remain.
func TestFreshInodeNumbersFirst(t *testing.T) {
	_, v, w := newVolume(t, 16<<20)
	a := must[Attr](t)(w.Create(RootIno, "a", 0o644, Owner{}))
	must[struct{}](t)(struct{}{}, w.Unlink(RootIno, "a"))
	b := must[Attr](t)(w.Create(RootIno, "b", 0o644, Owner{}))
	if b.Ino == a.Ino || b.Gen != 1 {
		t.Fatalf("b: ino %d gen %d right after freeing ino %d", b.Ino, b.Gen, a.Ino)
	}
	if b.Ino >= 1<<32 {
		t.Fatal("inode number too large")
	}
	checkClean(t, v)
}

// TestAppendIsOneSeek: writing blocks that have no key yet (appending to a
// file, filling a never-written region) checks the whole range with one
// Seek instead of one per block, and reads back exactly, including partial
// first and last blocks (zeros around the data) and holes in between.
func TestAppendIsOneSeek(t *testing.T) {
	_, v, w := newVolume(t, 64<<20)
	f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
	var want []byte
	write := func(off int64, data []byte) {
		t.Helper()
		if n := seeksOf(func() { must[int](t)(w.Write(f.Ino, off, data)) }); n > 2 {
			t.Errorf("write of %d bytes at %d into fresh blocks: %d seeks, want <= 2", len(data), off, n)
		}
		if end := int(off) + len(data); end > len(want) {
			want = append(want, make([]byte, end-len(want))...)
		}
		copy(want[off:], data)
	}
	write(0, pattern(1<<20, 1))
	write(1<<20, pattern(1<<20, 2))
	write(2<<20+100, pattern(3*BlockSize, 3))                                   // partial first and last block
	write(4<<20+7, append(make([]byte, 2*BlockSize), pattern(BlockSize, 4)...)) // zeros stay holes
	equal(t, readAll(t, w, f.Ino), want)
	checkClean(t, v)
	// Overwriting existing blocks takes the per-block path and stays exact.
	over := pattern(BlockSize+10, 5)
	must[int](t)(w.Write(f.Ino, 1<<20-5, over))
	copy(want[1<<20-5:], over)
	equal(t, readAll(t, w, f.Ino), want)
	checkClean(t, v)
}
