package volume

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/dgraph-io/badger/v4"
)

const maxProblems = 100

// check walks the active file system and every stored block version:
//   - every directory entry names an existing inode of the entry's type;
//     directories are reached once and point back to their parent;
//   - every live inode is reachable from the root and its link count equals
//     its names (directories: 2 + subdirectories);
//   - each file's allocated-block count matches its present blocks, and no
//     block lies past the end of file;
//   - the volume counters (inodes, live blocks, stored blocks) match;
//   - every stored block version is seen by the active file system or a
//     snapshot (no leaks); no orphan record is pending; free inode numbers
//     are not in use.
func (v *Volume) check() (Report, error) {
	v.mu.Lock() // a consistent picture: no writer while checking
	defer v.mu.Unlock()
	db, err := v.store.acquire()
	if err != nil {
		return Report{}, err
	}
	defer v.store.release()
	v.rmu.RLock()
	ctr := v.ctr
	snaps := append([]SnapshotInfo(nil), v.snaps...)
	v.rmu.RUnlock()
	r := Report{Volume: v.svm + ":" + v.name, Snapshots: len(snaps)}
	problem := func(f string, a ...any) {
		if len(r.Problems) < maxProblems {
			r.Problems = append(r.Problems, fmt.Sprintf(f, a...))
		}
	}
	live := uint64(math.MaxUint64)
	err = db.View(func(txn *badger.Txn) error {
		// 1. Live inodes.
		inodes := map[uint64]inode{}
		pfx := kID(pInode, v.id)
		it := txn.NewIterator(iterOpts(pfx))
		for item := seekLive(it, pfx); item != nil; {
			k := item.Key()
			if len(k) != 21 {
				problem("malformed inode key %x", k)
				item = seekLive(it, append(item.KeyCopy(nil), 0))
				continue
			}
			ino := binary.BigEndian.Uint64(k[5:13])
			if item, ok := seekAt(it, pfxInode(v.id, ino), live); ok {
				raw, err := item.ValueCopy(nil)
				if err != nil {
					it.Close()
					return err
				}
				n, err := decodeInode(raw)
				if err != nil {
					problem("inode %d: undecodable record", ino)
				} else {
					inodes[ino] = n
				}
			}
			item = seekLive(it, pfxInode(v.id, ino+1))
		}
		it.Close()
		if _, ok := inodes[RootIno]; !ok {
			problem("root inode %d is missing", RootIno)
			return nil
		}
		// 2. Walk the tree from the root.
		refs := map[uint64]uint32{}
		subdirs := map[uint64]uint32{}
		seenDir := map[uint64]bool{RootIno: true}
		queue := []uint64{RootIno}
		for len(queue) > 0 {
			d := queue[0]
			queue = queue[1:]
			err := forDirents(txn, v.id, d, "", live, func(name string, ino uint64, mode uint32) bool {
				n, ok := inodes[ino]
				switch {
				case !ok:
					problem("directory %d: entry %q names missing inode %d", d, name, ino)
					return true
				case n.Mode&sIFMT != mode&sIFMT:
					problem("directory %d: entry %q has type %o, inode %d has %o", d, name, mode&sIFMT, ino, n.Mode&sIFMT)
				}
				refs[ino]++
				if n.Mode&sIFMT == sIFDIR {
					subdirs[d]++
					if seenDir[ino] {
						problem("directory %d is linked more than once (again as %q in %d)", ino, name, d)
						return true
					}
					seenDir[ino] = true
					if n.Parent != d {
						problem("directory %d (%q) records parent %d, found in %d", ino, name, n.Parent, d)
					}
					queue = append(queue, ino)
				}
				return true
			})
			if err != nil {
				return err
			}
		}
		// 3. Link counts, reachability, blocks.
		var liveBlocks uint64
		inos := make([]uint64, 0, len(inodes))
		for ino := range inodes {
			inos = append(inos, ino)
		}
		sort.Slice(inos, func(i, j int) bool { return inos[i] < inos[j] })
		for _, ino := range inos {
			n := inodes[ino]
			r.Inodes++
			if ino >= ctr.NextIno {
				problem("inode %d is beyond the allocation counter %d", ino, ctr.NextIno)
			}
			isDir := n.Mode&sIFMT == sIFDIR
			if isDir {
				r.Directories++
			}
			if ino != RootIno && refs[ino] == 0 {
				problem("inode %d is not reachable from the root", ino)
			}
			want := refs[ino]
			if isDir {
				want = 2 + subdirs[ino]
			}
			if n.Nlink != want {
				problem("inode %d: link count %d, found %d", ino, n.Nlink, want)
			}
			present, beyond := countBlocks(txn, v.id, ino, live, n.Size)
			if n.Mode&sIFMT != sIFREG && present > 0 {
				problem("inode %d (type %o) has %d data blocks", ino, n.Mode&sIFMT, present)
			}
			if present != n.Blocks {
				problem("inode %d: records %d blocks, has %d", ino, n.Blocks, present)
			}
			if beyond > 0 {
				problem("inode %d: %d blocks past end of file (size %d)", ino, beyond, n.Size)
			}
			liveBlocks += present
		}
		r.LiveBlocks = liveBlocks
		if r.Inodes != ctr.Inodes {
			problem("inode counter %d, found %d inodes", ctr.Inodes, r.Inodes)
		}
		if liveBlocks != ctr.Live {
			problem("live block counter %d, found %d", ctr.Live, liveBlocks)
		}
		// 4. Every stored block version must be visible somewhere.
		stored, leaked, err := storedBlocks(txn, v.id, snaps)
		if err != nil {
			return err
		}
		r.StoredBlocks = stored
		if leaked > 0 {
			problem("%d stored block versions are seen by no snapshot nor the active file system", leaked)
		}
		if stored != ctr.Total {
			problem("stored block counter %d, found %d", ctr.Total, stored)
		}
		// 5. Orphans and free list.
		it = txn.NewIterator(badger.IteratorOptions{Prefix: kID(pOrphan, v.id)})
		for it.Rewind(); it.Valid(); it.Next() {
			problem("pending orphan record for inode %d", binary.BigEndian.Uint64(it.Item().Key()[5:]))
		}
		it.Close()
		it = txn.NewIterator(badger.IteratorOptions{Prefix: kID(pFree, v.id)})
		for it.Rewind(); it.Valid(); it.Next() {
			ino := binary.BigEndian.Uint64(it.Item().Key()[5:])
			if _, ok := inodes[ino]; ok {
				problem("inode %d is both in use and on the free list", ino)
			}
		}
		it.Close()
		return nil
	})
	return r, err
}

// countBlocks counts the present blocks of ino at epoch e and those at or
// past the end of file.
func countBlocks(txn *badger.Txn, id uint32, ino, e, size uint64) (present, beyond uint64) {
	for _, x := range blockExtentsRaw(txn, id, ino, e) {
		present++
		if x*BlockSize >= size {
			beyond++
		}
	}
	return present, beyond
}

// blockExtentsRaw lists the present block numbers of ino at epoch e.
func blockExtentsRaw(txn *badger.Txn, id uint32, ino, e uint64) []uint64 {
	var blks []uint64
	pfx := u64(kID(pBlock, id), ino)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: pfx})
	defer it.Close()
	last := uint64(math.MaxUint64)
	decided := false
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		blk := binary.BigEndian.Uint64(k[13:21])
		if blk != last {
			last, decided = blk, false
		}
		if decided || birthOf(k) > e {
			continue
		}
		decided = true
		if it.Item().UserMeta()&metaTomb == 0 {
			blks = append(blks, blk)
		}
	}
	return blks
}

// storedBlocks counts present block versions and those no view can see: a
// version born at b and superseded at b' is seen by the live view when it
// is the newest, and by snapshots with epoch in [b, b').
func storedBlocks(txn *badger.Txn, id uint32, snaps []SnapshotInfo) (stored, leaked uint64, err error) {
	pfx := kID(pBlock, id)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: pfx})
	defer it.Close()
	var lastRec []byte
	var newerBirth uint64
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != 29 {
			return 0, 0, errBadRecord
		}
		rec := k[:21]
		b := birthOf(k)
		newest := !bytesEqual(rec, lastRec)
		if newest {
			lastRec = append(lastRec[:0], rec...)
		}
		if it.Item().UserMeta()&metaTomb == 0 {
			stored++
			if !newest {
				i := sort.Search(len(snaps), func(i int) bool { return snaps[i].Epoch >= b })
				if i == len(snaps) || snaps[i].Epoch >= newerBirth {
					leaked++
				}
			}
		}
		newerBirth = b
	}
	return stored, leaked, nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
