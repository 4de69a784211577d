package volume

import (
	"bytes"
	"encoding/binary"
	"math"
	"syscall"

	"github.com/dgraph-io/badger/v4"
)

// MaxFileSize is the largest file size (8 TiB).
const MaxFileSize = 1 << 43

// writeChunk bounds one transaction of a write: 1 MiB (the FUSE MaxWrite)
// = 256 block versions + dead-list entries, far below Badger's txn limits.
const writeChunk = 1 << 20

func trimZeros(b []byte) []byte {
	i := len(b)
	for i >= 8 && binary.LittleEndian.Uint64(b[i-8:i]) == 0 {
		i -= 8
	}
	for i > 0 && b[i-1] == 0 {
		i--
	}
	return b[:i]
}

func regular(n *inode, ino uint64) error {
	switch n.Mode & sIFMT {
	case sIFREG:
		return nil
	case sIFDIR:
		return errno(syscall.EISDIR, "inode %d", ino)
	}
	return errno(syscall.EINVAL, "inode %d is not a regular file", ino)
}

func (w *View) write(ino uint64, off int64, data []byte) (int, error) {
	if off < 0 || off+int64(len(data)) > MaxFileSize {
		return 0, errno(syscall.EFBIG, "write at %d+%d", off, len(data))
	}
	if err := w.access(true); err != nil {
		return 0, err
	}
	done := 0
	for done < len(data) || len(data) == 0 {
		pos := off + int64(done)
		n := min(len(data)-done, writeChunk)
		err := w.update(func(t *wtx) error { return t.writeData(ino, pos, data[done:done+n]) })
		if err != nil {
			return done, err
		}
		done += n
		if len(data) == 0 {
			break
		}
	}
	return done, nil
}

func (t *wtx) writeData(ino uint64, off int64, data []byte) error {
	return writeDataIn(t, ino, off, data, false)
}

// writeDataIn writes data at off into regular file ino. known says the
// caller knows that no key exists for the blocks written (a Batch writing
// past the end of a file it created under a never-used inode number: no
// iterator then, see bread); otherwise one Seek finds out.
func writeDataIn(r recs, ino uint64, off int64, data []byte, known bool) error {
	t := r.tx()
	n, err := r.inode(ino)
	if err != nil {
		return err
	}
	if err := regular(&n, ino); err != nil {
		return err
	}
	if len(data) > 0 {
		end := off + int64(len(data))
		first, last := uint64(off/BlockSize), uint64((end-1)/BlockSize)
		// fresh: no key at all (not even a deleted one) for blocks
		// first..last, as when appending: every block is then born here
		// with nothing to read or replace, which saves a Seek per block.
		fresh := known
		var it *badger.Iterator
		if !fresh {
			inoPfx := u64(kID(pBlock, t.v.id), ino)
			it = t.txn.NewIterator(iterOpts(inoPfx))
			defer it.Close()
			fresh = noKeysIn(it, inoPfx, first, last)
		}
		liveDelta := 0
		runStart, runEnd := uint64(0), uint64(0)
		for blk := first; blk <= last; blk++ {
			bstart := int64(blk) * BlockSize
			lo, hi := max(off, bstart)-bstart, min(end, bstart+BlockSize)-bstart
			src := data[bstart+lo-off : bstart+hi-off]
			pfx := pfxBlock(t.v.id, ino, blk)
			var val []byte
			if lo == 0 && hi == BlockSize {
				val = trimZeros(src)
			} else {
				buf := make([]byte, BlockSize)
				if fresh {
					// nothing to merge with: the rest of the block is zeros
				} else if item, ok := seekAt(it, pfx, math.MaxUint64); ok {
					if err := item.Value(func(v []byte) error { copy(buf, v); return nil }); err != nil {
						return err
					}
				}
				copy(buf[lo:hi], src)
				val = trimZeros(buf)
			}
			if len(val) == 0 {
				val = nil
			}
			var born bool
			var d int
			var err error
			if fresh {
				born, d, err = t.replace(pfx, val, true, false, nil, 0, false, false)
			} else {
				born, d, err = t.putAt(it, pfx, val, true)
			}
			if err != nil {
				return err
			}
			liveDelta += d
			if born {
				if runEnd != blk {
					if runEnd > runStart {
						if err := t.histBlocks(ino, runStart, runEnd); err != nil {
							return err
						}
					}
					runStart = blk
				}
				runEnd = blk + 1
			}
		}
		if runEnd > runStart {
			if err := t.histBlocks(ino, runStart, runEnd); err != nil {
				return err
			}
		}
		t.written += int64(len(data))
		n.Blocks = uint64(int64(n.Blocks) + int64(liveDelta))
		n.Size = max(n.Size, uint64(end))
	}
	n.Mtime, n.Ctime = t.now, t.now
	return r.setInode(ino, &n)
}

// noKeysIn reports whether the iterator (over the blocks of one inode,
// prefix inoPfx) holds no key at all, live or deleted, for blocks
// first..last. One Seek: the first key at or after block first.
func noKeysIn(it *badger.Iterator, inoPfx []byte, first, last uint64) bool {
	it.Seek(u64(inoPfx[:len(inoPfx):len(inoPfx)], first))
	seekSteps.Add(1)
	if !it.Valid() {
		return true
	}
	k := it.Item().Key()
	if !bytes.HasPrefix(k, inoPfx) || len(k) < len(inoPfx)+8 {
		return true
	}
	return binary.BigEndian.Uint64(k[len(inoPfx):]) > last
}

// truncate sets the size of regular file n; blocks past the new end are
// freed after commit (orphan record), the tail of the last block is zeroed now.
func (t *wtx) truncate(ino uint64, n *inode, size uint64) error {
	if size > MaxFileSize {
		return errno(syscall.EFBIG, "truncate to %d", size)
	}
	if size < n.Size {
		if r := size % BlockSize; r != 0 {
			pfx := pfxBlock(t.v.id, ino, size/BlockSize)
			it := t.txn.NewIterator(iterOpts(pfx))
			item, ok := seekAt(it, pfx, math.MaxUint64)
			var val []byte
			var err error
			if ok {
				val, err = item.ValueCopy(nil)
			}
			if err == nil && uint64(len(val)) > r {
				nv := trimZeros(val[:r])
				if len(nv) == 0 {
					nv = nil
				}
				var born bool
				var d int
				born, d, err = t.putAt(it, pfx, nv, true)
				n.Blocks = uint64(int64(n.Blocks) + int64(d))
				if err == nil && born {
					err = t.histBlocks(ino, size/BlockSize, size/BlockSize+1)
				}
			}
			it.Close()
			if err != nil {
				return err
			}
		}
		from := (size + BlockSize - 1) / BlockSize
		if n.Blocks > 0 {
			if err := t.txn.Set(kOrphan(t.v.id, ino), orphanRec(from, n.Gen, false)); err != nil {
				return err
			}
			t.orphans = append(t.orphans, ino)
		}
	}
	n.Size = size
	return nil
}

func (w *View) read(ino uint64, off int64, buf []byte) (int, error) {
	if off < 0 {
		return 0, errno(syscall.EINVAL, "read at %d", off)
	}
	got := 0
	err := w.readTxn(func(txn *badger.Txn) error {
		n, err := w.inodeIn(txn, ino)
		if err != nil {
			return err
		}
		if err := regular(&n, ino); err != nil {
			return err
		}
		if uint64(off) >= n.Size || len(buf) == 0 {
			return nil
		}
		end := min(uint64(off)+uint64(len(buf)), n.Size)
		want := int(end - uint64(off))
		buf := buf[:want]
		clear(buf)
		// One iterator and one Seek for the whole request (visibleBlocks).
		pfx := u64(kID(pBlock, w.vol.id), ino)
		it := txn.NewIterator(iterOpts(pfx))
		defer it.Close()
		endBlk := (end + BlockSize - 1) / BlockSize
		if err := visibleBlocks(it, pfx, uint64(off)/BlockSize, endBlk, w.epoch, func(blk uint64, item *badger.Item) error {
			bstart := int64(blk) * BlockSize
			return item.Value(func(v []byte) error {
				// v covers [bstart, bstart+len(v)); copy its overlap with the request.
				lo := max(off, bstart)
				hi := min(int64(end), bstart+int64(len(v)))
				if hi > lo {
					copy(buf[lo-off:hi-off], v[lo-bstart:hi-bstart])
				}
				return nil
			})
		}); err != nil {
			return err
		}
		got = want
		return nil
	})
	return got, err
}

func (w *View) extents(ino uint64) (exts []Extent, err error) {
	err = w.readTxn(func(txn *badger.Txn) error {
		n, err := w.inodeIn(txn, ino)
		if err != nil {
			return err
		}
		if err := regular(&n, ino); err != nil {
			return err
		}
		exts = blockExtents(txn, w.vol.id, ino, w.epoch, n.Size)
		return nil
	})
	return exts, err
}

// blockExtents lists the data ranges of ino at epoch e, clipped to size.
func blockExtents(txn *badger.Txn, id uint32, ino, e, size uint64) []Extent {
	var exts []Extent
	nblk := (size + BlockSize - 1) / BlockSize // blocks [0, nblk) can hold data
	if nblk == 0 {
		return nil
	}
	pfx := u64(kID(pBlock, id), ino)
	it := txn.NewIterator(iterOpts(pfx))
	defer it.Close()
	visibleBlocks(it, pfx, 0, nblk, e, func(blk uint64, _ *badger.Item) error {
		o := int64(blk) * BlockSize
		l := min(int64(BlockSize), int64(size)-o)
		if m := len(exts); m > 0 && exts[m-1].Off+exts[m-1].Len == o {
			exts[m-1].Len += l
		} else {
			exts = append(exts, Extent{o, l})
		}
		return nil
	})
	return exts
}

// visibleBlocks calls fn, in order, for each block in [first, end) of the
// inode whose block keys start with pfx that holds data at epoch e (it
// iterates pfx with AllVersions). One Seek, then Next in key order: a
// block's versions sort newest first, so the first one born at or before e
// is the visible one (a Seek per block cost most of a sequential read).
func visibleBlocks(it *badger.Iterator, pfx []byte, first, end, e uint64, fn func(blk uint64, item *badger.Item) error) error {
	it.Seek(withEpoch(u64(pfx[:len(pfx):len(pfx)], first), math.MaxUint64))
	seekSteps.Add(1)
	var prev []byte
	served := uint64(math.MaxUint64) // block whose visible version was found
	for ; it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if len(k) != len(pfx)+16 || !bytes.HasPrefix(k, pfx) {
			return nil
		}
		if bytes.Equal(k, prev) {
			continue // an older Badger version of a key already seen
		}
		prev = append(prev[:0], k...)
		blk := binary.BigEndian.Uint64(k[len(pfx):])
		if blk >= end {
			return nil // and don't walk what follows
		}
		if item.IsDeletedOrExpired() || blk == served || birthOf(k) > e {
			continue // deleted, older than the version found, or born after e
		}
		served = blk
		if item.UserMeta()&metaTomb != 0 {
			continue // a hole at e
		}
		if err := fn(blk, item); err != nil {
			return err
		}
	}
	return nil
}

var zeroChunk = make([]byte, writeChunk) // never modified

func (w *View) punchHole(ino uint64, off, length int64) error {
	if off < 0 || length < 0 {
		return errno(syscall.EINVAL, "punch hole at %d+%d", off, length)
	}
	for length > 0 {
		n := min(length, writeChunk)
		err := w.update(func(t *wtx) error {
			in, err := t.inode(ino)
			if err != nil {
				return err
			}
			if err := regular(&in, ino); err != nil {
				return err
			}
			end := min(off+n, int64(in.Size))
			if off >= end {
				return nil
			}
			return t.writeData(ino, off, zeroChunk[:end-off])
		})
		if err != nil {
			return err
		}
		off, length = off+n, length-n
	}
	return nil
}
