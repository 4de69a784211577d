package volume

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"syscall"

	"github.com/dgraph-io/badger/v4"
)

// snapRec is the stored snapshot record.
type snapRec struct {
	SnapshotInfo
	Deleting bool `json:"deleting,omitempty"` // deletion started, not finished
}

func (v *Volume) snapshots() []SnapshotInfo {
	v.rmu.RLock()
	defer v.rmu.RUnlock()
	return append([]SnapshotInfo(nil), v.snaps...)
}

func (v *Volume) createSnapshot(name string) (SnapshotInfo, error) {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
		return SnapshotInfo{}, fmt.Errorf("snapshot name %q: %w", name, ErrInvalid)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	db, err := v.store.acquire()
	if err != nil {
		return SnapshotInfo{}, err
	}
	defer v.store.release()
	v.rmu.RLock()
	st, dead := v.meta.State, v.deleted
	dup := false
	for _, s := range v.snaps {
		dup = dup || s.Name == name
	}
	ctr := v.ctr
	v.rmu.RUnlock()
	switch {
	case dead:
		return SnapshotInfo{}, fmt.Errorf("volume %s: %w", v.name, ErrNoVolume)
	case st == StateOffline:
		return SnapshotInfo{}, fmt.Errorf("volume %s: %w", v.name, ErrVolumeOffline)
	case dup:
		return SnapshotInfo{}, fmt.Errorf("volume %s: snapshot %q: %w", v.name, name, ErrSnapshotExists)
	}
	si := SnapshotInfo{Name: name, Epoch: ctr.Epoch, Created: v.store.opts.Now().UTC()}
	ctr.Epoch++
	rec, _ := json.Marshal(snapRec{SnapshotInfo: si})
	err = db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(kSnap(v.id, si.Epoch), rec); err != nil {
			return err
		}
		return txn.Set(kID(pCtr, v.id), ctr.encode())
	})
	if err == nil {
		err = db.Sync()
	}
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("volume %s: create snapshot %q: %w", v.name, name, err)
	}
	v.rmu.Lock()
	v.ctr = ctr
	v.snaps = append(v.snaps, si)
	v.rmu.Unlock()
	return si, nil
}

// neighbours returns the epochs of the snapshots before and after the one
// at index i of v.snaps (0 and the live epoch at the ends).
func (v *Volume) neighbours(snaps []SnapshotInfo, i int) (prev, next uint64) {
	if i > 0 {
		prev = snaps[i-1].Epoch
	}
	next = v.ctr.Epoch
	if i+1 < len(snaps) {
		next = snaps[i+1].Epoch
	}
	return prev, next
}

func (v *Volume) deleteSnapshot(name string) (int64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.alive(); err != nil {
		return 0, err
	}
	v.rmu.RLock()
	idx := -1
	for i, s := range v.snaps {
		if s.Name == name {
			idx = i
		}
	}
	v.rmu.RUnlock()
	if idx < 0 {
		return 0, fmt.Errorf("volume %s: snapshot %q: %w", v.name, name, ErrNoSnapshot)
	}
	return v.reapSnapshot(idx)
}

// reapSnapshot deletes v.snaps[idx] (caller holds v.mu): mark it deleting
// (views fail from now on), free the versions only it saw by walking the
// dead lists of the deaths in (E, next], then drop the record. A crash
// in between resumes at the next Open.
func (v *Volume) reapSnapshot(idx int) (int64, error) {
	// The store lock is taken per transaction (mutateOnce takes it too, and
	// a nested read lock deadlocks against a waiting GC).
	db := storeTxns{v.store}
	v.rmu.Lock()
	si := v.snaps[idx]
	prev, next := v.neighbours(v.snaps, idx)
	oldest := idx == 0
	v.snaps = append(v.snaps[:idx:idx], v.snaps[idx+1:]...)
	newOldest := v.ctr.Epoch
	if len(v.snaps) > 0 {
		newOldest = v.snaps[0].Epoch
	}
	v.rmu.Unlock()
	rec, _ := json.Marshal(snapRec{SnapshotInfo: si, Deleting: true})
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(kSnap(v.id, si.Epoch), rec) }); err != nil {
		return 0, fmt.Errorf("volume %s: delete snapshot %q: %w", v.name, si.Name, err)
	}
	var freed int64
	// Walk dead lists L|id|d for d in (E, next]; free versions born after prev.
	start := u64(kID(pDead, v.id), si.Epoch+1)
	for {
		var more bool
		var chunkFreed int64
		_, err := v.mutateOnce(func(t *wtx) error {
			it := t.txn.NewIterator(badger.IteratorOptions{Prefix: kID(pDead, v.id)})
			n := 0
			chunkFreed = 0
			touched := map[string]bool{}
			for it.Seek(start); it.Valid(); it.Next() {
				item := it.Item()
				k := item.Key()
				if binary.BigEndian.Uint64(k[5:13]) > next {
					break
				}
				if n >= 5000 {
					more = true
					start = item.KeyCopy(nil)
					break
				}
				n++
				ver := k[13:]
				if birthOf(ver) <= prev {
					continue // still seen by the previous snapshot
				}
				flag, err := item.ValueCopy(nil)
				if err == nil {
					err = t.txn.Delete(item.KeyCopy(nil))
				}
				if err == nil {
					err = t.txn.Delete(append([]byte{}, ver...))
				}
				if err != nil {
					it.Close()
					return err
				}
				touched[string(ver[:len(ver)-8])] = true
				if len(flag) == 1 && flag[0] == 1 {
					t.ctr.Total--
					chunkFreed += BlockSize
				}
			}
			it.Close()
			return t.dropBottomTombstones(touched)
		})
		freed += chunkFreed
		if err != nil {
			return freed, fmt.Errorf("volume %s: delete snapshot %q: %w", v.name, si.Name, err)
		}
		if !more {
			break
		}
	}
	// If it was the oldest snapshot, drop the history entries no diff can
	// use any more (births at or before the new oldest), then the record.
	for oldest {
		n := 0
		err := db.Update(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: kID(pHist, v.id)})
			defer it.Close()
			for it.Rewind(); it.Valid() && n < 20000; it.Next() {
				k := it.Item().Key()
				if binary.BigEndian.Uint64(k[5:13]) > newOldest {
					break
				}
				if err := txn.Delete(it.Item().KeyCopy(nil)); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return freed, fmt.Errorf("volume %s: delete snapshot %q: %w", v.name, si.Name, err)
		}
		if n < 20000 {
			break
		}
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Delete(kSnap(v.id, si.Epoch)) }); err != nil {
		return freed, fmt.Errorf("volume %s: delete snapshot %q: %w", v.name, si.Name, err)
	}
	return freed, nil
}

// resumeDeletes finishes snapshot deletions a crash interrupted, and
// orphan frees (called at Open).
func (v *Volume) resumeDeletes() error {
	db := v.store.db
	var pending []SnapshotInfo
	var orphans []uint64
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: kID(pSnap, v.id)})
		for it.Rewind(); it.Valid(); it.Next() {
			raw, err := it.Item().ValueCopy(nil)
			if err != nil {
				it.Close()
				return err
			}
			var r snapRec
			if json.Unmarshal(raw, &r) == nil && r.Deleting {
				pending = append(pending, r.SnapshotInfo)
			}
		}
		it.Close()
		it = txn.NewIterator(badger.IteratorOptions{Prefix: kID(pOrphan, v.id)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			orphans = append(orphans, binary.BigEndian.Uint64(it.Item().Key()[5:]))
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, ino := range orphans {
		if err := v.freeOrphan(ino); err != nil {
			return err
		}
	}
	for _, p := range pending {
		// Put it back in order so reapSnapshot finds its neighbours.
		v.rmu.Lock()
		v.snaps = append(v.snaps, p)
		sort.Slice(v.snaps, func(i, j int) bool { return v.snaps[i].Epoch < v.snaps[j].Epoch })
		idx := sort.Search(len(v.snaps), func(i int) bool { return v.snaps[i].Epoch >= p.Epoch })
		v.rmu.Unlock()
		if _, err := v.reapSnapshot(idx); err != nil {
			return err
		}
	}
	return nil
}

func (v *Volume) snapshotUnique(name string) (int64, error) {
	db, err := v.store.acquire()
	if err != nil {
		return 0, err
	}
	defer v.store.release()
	v.rmu.RLock()
	idx := -1
	for i, s := range v.snaps {
		if s.Name == name {
			idx = i
		}
	}
	if idx < 0 {
		v.rmu.RUnlock()
		return 0, fmt.Errorf("volume %s: snapshot %q: %w", v.name, name, ErrNoSnapshot)
	}
	e := v.snaps[idx].Epoch
	prev, next := v.neighbours(v.snaps, idx)
	v.rmu.RUnlock()
	var unique int64
	err = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: kID(pDead, v.id), PrefetchValues: true})
		defer it.Close()
		for it.Seek(u64(kID(pDead, v.id), e+1)); it.Valid(); it.Next() {
			k := it.Item().Key()
			if binary.BigEndian.Uint64(k[5:13]) > next {
				break
			}
			if birthOf(k[13:]) <= prev {
				continue
			}
			err := it.Item().Value(func(f []byte) error {
				if len(f) == 1 && f[0] == 1 {
					unique += BlockSize
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return unique, err
}

// ---- changes (diff) ----

type histAcc struct {
	inode   bool
	dirents map[string]bool
	xattrs  map[string]bool
	blocks  [][2]uint64
}

func (v *Volume) changes(from, to *View) ([]InodeChange, error) {
	if from.vol != v || to.vol != v {
		return nil, fmt.Errorf("changes: views of another volume: %w", ErrInvalid)
	}
	if err := from.access(false); err != nil {
		return nil, err
	}
	if err := to.access(false); err != nil {
		return nil, err
	}
	a, b := from.epoch, to.epoch
	if b == math.MaxUint64 {
		v.rmu.RLock()
		b = v.ctr.Epoch
		v.rmu.RUnlock()
	}
	if from.snap == "" || a >= b {
		return nil, fmt.Errorf("changes: from must be a snapshot older than to: %w", ErrInvalid)
	}
	db, err := v.store.acquire()
	if err != nil {
		return nil, err
	}
	defer v.store.release()
	var out []InodeChange
	err = db.View(func(txn *badger.Txn) error {
		acc := map[uint64]*histAcc{}
		hp := kID(pHist, v.id)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: hp, PrefetchValues: true})
		for it.Seek(u64(append([]byte{}, hp...), a+1)); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) < 22 {
				it.Close()
				return errBadRecord
			}
			if binary.BigEndian.Uint64(k[5:13]) > b {
				break
			}
			ino := binary.BigEndian.Uint64(k[13:21])
			h := acc[ino]
			if h == nil {
				h = &histAcc{dirents: map[string]bool{}, xattrs: map[string]bool{}}
				acc[ino] = h
			}
			sub := k[22:]
			switch k[21] {
			case hInode:
				h.inode = true
			case hDirent:
				h.dirents[string(bytes.TrimSuffix(sub, []byte{0}))] = true
			case hXattr:
				h.xattrs[string(bytes.TrimSuffix(sub, []byte{0}))] = true
			case hBlock:
				val, err := it.Item().ValueCopy(nil)
				if err != nil || len(sub) != 8 || len(val) != 8 {
					it.Close()
					return errBadRecord
				}
				h.blocks = append(h.blocks, [2]uint64{binary.BigEndian.Uint64(sub), binary.BigEndian.Uint64(val)})
			}
		}
		it.Close()
		inos := make([]uint64, 0, len(acc))
		for ino := range acc {
			inos = append(inos, ino)
		}
		sort.Slice(inos, func(i, j int) bool { return inos[i] < inos[j] })
		// One iterator each for inode records and blocks, shared by all
		// inodes (in ascending order): creating iterators per inode cost
		// more than the lookups.
		its := diffIters{
			inodes: txn.NewIterator(iterOpts(kID(pInode, v.id))),
			blocks: txn.NewIterator(iterOpts(kID(pBlock, v.id))),
		}
		defer its.inodes.Close()
		defer its.blocks.Close()
		for _, ino := range inos {
			c, ok, err := v.diffInode(txn, its, ino, acc[ino], a, b)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, c)
			}
		}
		return nil
	})
	return out, err
}

// diffIters are the iterators diffInode reads inode records and blocks
// with (AllVersions, over all of the volume's inodes and blocks).
type diffIters struct{ inodes, blocks *badger.Iterator }

func (v *Volume) diffInode(txn *badger.Txn, its diffIters, ino uint64, h *histAcc, a, b uint64) (InodeChange, bool, error) {
	c := InodeChange{Ino: ino}
	rb, okb, ra, oka, err := valuesAt(its.inodes, pfxInode(v.id, ino), b, a)
	if err != nil {
		return c, false, err
	}
	if !oka && !okb {
		return c, false, nil
	}
	var na, nb inode
	if oka {
		if na, err = decodeInode(ra); err != nil {
			return c, false, err
		}
	}
	if okb {
		if nb, err = decodeInode(rb); err != nil {
			return c, false, err
		}
	}
	same := oka && okb && na.Gen == nb.Gen
	c.Created = okb && !same
	c.Deleted = oka && !same
	if same {
		c.Attr = !bytes.Equal(ra, rb)
	}
	if !okb {
		return c, true, nil
	}
	if !same {
		// A new inode (or a new generation of a reused number): everything it
		// has is new; report which kinds of content it has.
		c.Dirents = nb.Mode&sIFMT == sIFDIR && !dirEmpty(txn, v.id, ino, b)
		xs, err := listXattrAt(txn, v.id, ino, b)
		if err != nil {
			return c, false, err
		}
		c.Xattrs = len(xs) > 0
		if nb.Mode&sIFMT == sIFREG {
			c.Data = blockExtents(txn, v.id, ino, b, nb.Size)
		}
		return c, true, nil
	}
	differs := func(pfx []byte) (bool, error) {
		va, oa, err := getAt(txn, pfx, a)
		if err != nil {
			return false, err
		}
		vb, ob, err := getAt(txn, pfx, b)
		return oa != ob || !bytes.Equal(va, vb), err
	}
	for name := range h.dirents {
		d, err := differs(pfxDirent(v.id, ino, name))
		if err != nil {
			return c, false, err
		}
		c.Dirents = c.Dirents || d
	}
	for name := range h.xattrs {
		d, err := differs(pfxXattr(v.id, ino, name))
		if err != nil {
			return c, false, err
		}
		c.Xattrs = c.Xattrs || d
	}
	if nb.Mode&sIFMT == sIFREG {
		var blks []uint64
		seen := map[uint64]bool{}
		it := its.blocks
		var scratch []byte
		for _, r := range h.blocks {
			for blk := r[0]; blk < r[1]; blk++ {
				if seen[blk] || blk*BlockSize >= nb.Size {
					continue
				}
				seen[blk] = true
				d, err := blockDiffers(txn, it, v.id, ino, blk, a, b, &scratch)
				if err != nil {
					return c, false, err
				}
				if d {
					blks = append(blks, blk)
				}
			}
		}
		sort.Slice(blks, func(i, j int) bool { return blks[i] < blks[j] })
		for _, blk := range blks {
			o := int64(blk) * BlockSize
			l := min(int64(BlockSize), int64(nb.Size)-o)
			if m := len(c.Data); m > 0 && c.Data[m-1].Off+c.Data[m-1].Len == o {
				c.Data[m-1].Len += l
			} else {
				c.Data = append(c.Data, Extent{o, l})
			}
		}
	}
	return c, c.Created || c.Deleted || c.Attr || c.Dirents || c.Xattrs || len(c.Data) > 0, nil
}

// valuesAt returns copies of the versions of record prefix visible at
// epochs hi and lo (lo < hi) with one Seek: versions sort newest first, so
// the one visible at lo follows the one at hi (as in blockDiffers). A Seek
// per epoch cost a diff most of its time.
func valuesAt(it *badger.Iterator, prefix []byte, hi, lo uint64) (vHi []byte, okHi bool, vLo []byte, okLo bool, err error) {
	item := seekIn(it, withEpoch(prefix, hi), prefix)
	if item == nil || len(item.Key()) != len(prefix)+8 {
		return nil, false, nil, false, nil // no version at or before hi
	}
	okHi = item.UserMeta()&metaTomb == 0
	if okHi {
		if vHi, err = item.ValueCopy(nil); err != nil {
			return nil, false, nil, false, err
		}
	}
	if birthOf(item.Key()) <= lo {
		return vHi, okHi, vHi, okHi, nil // one version serves both
	}
	cur := visibleBelow(it, prefix, item.KeyCopy(nil), lo)
	if cur == nil || cur.UserMeta()&metaTomb != 0 {
		return vHi, okHi, nil, false, nil
	}
	vLo, err = cur.ValueCopy(nil)
	return vHi, okHi, vLo, err == nil, err
}

// visibleBelow moves it on from prev, a version of record prefix, to the
// version visible at epoch lo: the next distinct key born at or before lo
// that Badger has not deleted (nil: none). With AllVersions, Badger lists a
// key's own older versions right after it (stale: skipped), and a key whose
// newest version is a delete marker is gone.
func visibleBelow(it *badger.Iterator, prefix, prev []byte, lo uint64) *badger.Item {
	for it.Next(); it.Valid(); it.Next() {
		cur := it.Item()
		k := cur.Key()
		if !bytes.HasPrefix(k, prefix) {
			return nil
		}
		if bytes.Equal(k, prev) {
			continue
		}
		prev = cur.KeyCopy(prev[:0])
		if cur.IsDeletedOrExpired() || len(k) != len(prefix)+8 || birthOf(k) > lo {
			continue
		}
		return cur
	}
	return nil
}

// blockDiffers compares block blk of ino at epochs a and b: the same
// version means the same contents; a hole and a stored block differ (stored
// blocks are never all zeros); two different stored versions are compared
// byte for byte. it iterates the inode's blocks (iterOpts, AllVersions).
// Versions sort newest first, so one Seek finds the version visible at the
// later epoch and the one visible at the earlier epoch is reached with
// Next, usually the very next key.
// Versions that carry checksum bits (metaSum) and differ in them differ,
// known without reading either from the value log.
// scratch holds a version's bytes (reused across calls); txn is the
// transaction of it.
func blockDiffers(txn *badger.Txn, it *badger.Iterator, id uint32, ino, blk, a, b uint64, scratch *[]byte) (bool, error) {
	lo, hi := min(a, b), max(a, b)
	pfx := pfxBlock(id, ino, blk)
	item := seekIn(it, withEpoch(pfx, hi), pfx)
	if item == nil || len(item.Key()) != len(pfx)+8 {
		return false, nil // absent at hi, so at lo too
	}
	if birthOf(item.Key()) <= lo {
		return false, nil // one version serves both epochs
	}
	metaHi := item.UserMeta()
	presentHi := metaHi&metaTomb == 0
	if presentHi && metaHi&metaSum == 0 {
		// no checksum: the bytes will be needed (the iterator moves on)
		v, err := item.ValueCopy((*scratch)[:0])
		if err != nil {
			return false, err
		}
		*scratch = v
	}
	// The version visible at lo: the first older key born <= lo.
	hiKey := item.KeyCopy(nil)
	itemLo := visibleBelow(it, pfx, item.KeyCopy(nil), lo)
	presentLo := itemLo != nil && itemLo.UserMeta()&metaTomb == 0
	if presentLo != presentHi || !presentLo {
		return presentLo != presentHi, nil
	}
	if metaHi&metaSum != 0 {
		metaLo := itemLo.UserMeta()
		if metaLo&metaSum != 0 && metaLo != metaHi {
			return true, nil // checksums differ
		}
		// Same checksum bits, or none at lo: compare the bytes. The
		// later version is the newest of its key (seekIn skips deleted
		// keys), so a Get finds it again.
		hiItem, err := txn.Get(hiKey)
		if err != nil {
			return false, err
		}
		v, err := hiItem.ValueCopy((*scratch)[:0])
		if err != nil {
			return false, err
		}
		*scratch = v
	}
	differ := false
	err := itemLo.Value(func(valLo []byte) error {
		differ = !bytes.Equal(valLo, *scratch)
		return nil
	})
	return differ, err
}

var _ = syscall.ENOENT

// dropBottomTombstones removes, for each record prefix, the tombstones at
// the bottom of its version stack (no older version below them): they hide
// nothing, so every epoch reads the same without them. Called after
// snapshot deletion removed versions under them.
func (t *wtx) dropBottomTombstones(recs map[string]bool) error {
	for rec := range recs {
		pfx := []byte(rec)
		it := t.txn.NewIterator(badger.IteratorOptions{Prefix: pfx})
		type ver struct {
			key  []byte
			tomb bool
		}
		var vers []ver
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != len(pfx)+8 {
				continue
			}
			vers = append(vers, ver{it.Item().KeyCopy(nil), it.Item().UserMeta()&metaTomb != 0})
		}
		it.Close()
		for i := len(vers) - 1; i >= 0 && vers[i].tomb; i-- {
			if err := t.txn.Delete(vers[i].key); err != nil {
				return err
			}
		}
	}
	return nil
}
