package volume

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"syscall"

	"github.com/dgraph-io/badger/v4"
)

// This file holds the epoch copy-on-write mechanics shared by all record
// kinds (inodes, dirents, xattrs, blocks): reading the version visible at an
// epoch, and replacing the live version while keeping what snapshots see.

// iterOpts are the options of iterators used for point lookups: all Badger
// versions, so that a Seek costs O(1) even on a key rewritten many times
// since the last compaction (a plain iterator's Seek prefetches the next
// distinct key, skipping every older version of the current one). Such
// iterators must move with seekLive, never Next.
func iterOpts(prefix []byte) badger.IteratorOptions {
	return badger.IteratorOptions{Prefix: prefix, AllVersions: true}
}

// seekLive positions it on the newest version of the first existing key >=
// key (skipping deleted keys) and returns it, or nil. It is for scans: it
// walks every deleted key up to the next live one, so point lookups use
// seekIn instead.
func seekLive(it *badger.Iterator, key []byte) *badger.Item {
	return seekIn(it, key, nil)
}

// seekSteps counts the Seeks done by seekIn (tests: the cost of a point
// lookup must not grow with the deleted keys after the record).
var seekSteps atomic.Int64

// seekIn is seekLive bounded to keys starting with within: it returns nil
// as soon as the next key (deleted or not) is outside within, so a point
// lookup of one record costs O(its versions), however many deleted keys
// (Badger delete markers of a freed file's blocks, not yet compacted away)
// follow it.
func seekIn(it *badger.Iterator, key, within []byte) *badger.Item {
	it.Seek(key)
	seekSteps.Add(1)
	for it.Valid() {
		item := it.Item()
		if within != nil && !bytes.HasPrefix(item.Key(), within) {
			return nil
		}
		if !item.IsDeletedOrExpired() {
			return item
		}
		it.Seek(append(item.KeyCopy(nil), 0)) // the next distinct key
		seekSteps.Add(1)
	}
	return nil
}

// seekAt positions it on the version of record prefix visible at epoch e
// and reports whether one exists that is not a tombstone. it must have been
// created with Prefix covering prefix.
func seekAt(it *badger.Iterator, prefix []byte, e uint64) (*badger.Item, bool) {
	item := seekIn(it, withEpoch(prefix, e), prefix)
	if item == nil {
		return nil, false
	}
	k := item.Key()
	if len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
		return nil, false
	}
	if item.UserMeta()&metaTomb != 0 {
		return item, false
	}
	return item, true
}

// getAt returns a copy of the record version visible at epoch e.
func getAt(txn *badger.Txn, prefix []byte, e uint64) ([]byte, bool, error) {
	it := txn.NewIterator(iterOpts(prefix))
	defer it.Close()
	return valueAt(it, prefix, e)
}

// valueAt is getAt on an iterator covering prefix.
func valueAt(it *badger.Iterator, prefix []byte, e uint64) ([]byte, bool, error) {
	item, ok := seekAt(it, prefix, e)
	if !ok {
		return nil, false, nil
	}
	v, err := item.ValueCopy(nil)
	return v, err == nil, err
}

func getInodeAt(txn *badger.Txn, id uint32, ino, e uint64) (inode, bool, error) {
	raw, ok, err := getAt(txn, pfxInode(id, ino), e)
	if err != nil || !ok {
		return inode{}, false, err
	}
	n, err := decodeInode(raw)
	if err != nil {
		return n, false, fmt.Errorf("inode %d: %w", ino, err)
	}
	return n, true, nil
}

func getDirentAt(txn *badger.Txn, id uint32, parent uint64, name string, e uint64) (uint64, uint32, bool, error) {
	raw, ok, err := getAt(txn, pfxDirent(id, parent, name), e)
	if err != nil || !ok {
		return 0, 0, false, err
	}
	ino, mode, err := decodeDirent(raw)
	if err != nil {
		return 0, 0, false, fmt.Errorf("directory %d entry %q: %w", parent, name, err)
	}
	return ino, mode, true, nil
}

// wtx is one mutating transaction on the live epoch of a volume. The caller
// holds v.mu, so there is exactly one wtx per volume at a time.
type wtx struct {
	v        *Volume
	txn      *badger.Txn
	epoch    uint64 // live epoch C
	lastSnap uint64 // newest snapshot epoch, 0 if none
	ctr      counters
	now      int64
	orphans  []uint64 // inodes whose blocks must be freed after commit
	hist     map[string]bool
	written  int64 // block bytes put (for writeBehind)
}

var errNoSpace = errors.New("no space left on volume")

// mutate runs fn in one transaction on the live epoch and commits it, then
// frees orphaned blocks in follow-up transactions. Caller holds v.mu.
func (v *Volume) mutate(fn func(t *wtx) error) error {
	orphans, err := v.mutateOnce(fn)
	if err != nil {
		return err
	}
	for _, ino := range orphans {
		if err := v.freeOrphan(ino); err != nil {
			return err
		}
	}
	return nil
}

func (v *Volume) mutateOnce(fn func(t *wtx) error) ([]uint64, error) {
	db, err := v.store.acquire()
	if err != nil {
		return nil, err
	}
	defer v.store.release()
	txn := db.NewTransaction(true)
	defer txn.Discard()
	v.rmu.RLock()
	t := &wtx{v: v, txn: txn, ctr: v.ctr, epoch: v.ctr.Epoch, now: v.store.opts.Now().UnixNano()}
	if n := len(v.snaps); n > 0 {
		t.lastSnap = v.snaps[n-1].Epoch
	}
	capacity := v.capacityBlocks()
	v.rmu.RUnlock()
	if err := fn(t); err != nil {
		return nil, err
	}
	if t.ctr.Total > capacity && t.ctr.Total > v.ctr.Total {
		return nil, errno(syscall.ENOSPC, "volume %s: %d blocks needed, %d available", v.name,
			t.ctr.Total-v.ctr.Total, capacity-min(capacity, v.ctr.Total))
	}
	if err := txn.Set(kID(pCtr, v.id), t.ctr.encode()); err != nil {
		return nil, err
	}
	if err := txn.Commit(); err != nil {
		if errors.Is(err, badger.ErrTxnTooBig) {
			return nil, errno(syscall.EFBIG, "volume %s: operation too large for one transaction", v.name)
		}
		return nil, fmt.Errorf("volume %s: commit: %w", v.name, err)
	}
	v.rmu.Lock()
	v.ctr = t.ctr
	v.rmu.Unlock()
	if wb := v.store.wb; wb != nil {
		wb.add(t.written)
	}
	return t.orphans, nil
}

// putAt replaces the live version of record prefix with val (nil = delete;
// for blocks: a hole), keeping versions that snapshots see:
//   - newest version born in the live epoch: overwritten in place;
//   - born earlier and visible to a snapshot: a new version is born and the
//     old one goes on the dead list of the live epoch (ZFS deadlist);
//   - born earlier, invisible to every snapshot: deleted outright.
//
// A tombstone is written when deleting would otherwise uncover an older
// version. it must iterate a Prefix covering prefix and be private to this
// call sequence. data marks block records (space accounting). It reports
// whether a new version was born (the change goes into the history index)
// and the change in live data blocks (-1, 0, +1).
func (t *wtx) putAt(it *badger.Iterator, prefix, val []byte, data bool) (born bool, liveDelta int, err error) {
	var oldKey []byte
	var birth uint64
	oldPresent, found := false, false
	if item := seekIn(it, prefix, prefix); item != nil {
		k := item.Key()
		if len(k) == len(prefix)+8 && bytes.HasPrefix(k, prefix) {
			found = true
			oldKey = item.KeyCopy(nil)
			birth = birthOf(oldKey)
			oldPresent = item.UserMeta()&metaTomb == 0
		}
	}
	if found && !oldPresent && val == nil {
		return false, 0, nil // already absent (a tombstone or a hole)
	}
	olderExists := false
	if found && val == nil {
		if item := seekIn(it, append(oldKey[:len(oldKey):len(oldKey)], 0), prefix); item != nil {
			k := item.Key()
			olderExists = len(k) == len(prefix)+8 && bytes.HasPrefix(k, prefix)
		}
	}
	return t.replace(prefix, val, data, found, oldKey, birth, oldPresent, olderExists)
}

// replace is putAt once the live version is known: found says whether
// the record has a version (the newest: oldKey, born in birth, present or a
// tombstone), olderExists whether an older version lies under it (only
// needed when deleting).
func (t *wtx) replace(prefix, val []byte, data, found bool, oldKey []byte, birth uint64, oldPresent, olderExists bool) (born bool, liveDelta int, err error) {
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	newPresent := val != nil
	liveDelta = b2i(newPresent) - b2i(oldPresent)
	setv := func(k []byte) error {
		if val == nil {
			return t.txn.SetEntry(badger.NewEntry(k, nil).WithMeta(metaTomb))
		}
		if data && writeBlockSums {
			return t.txn.SetEntry(badger.NewEntry(k, val).WithMeta(blockMeta(val)))
		}
		return t.txn.Set(k, val)
	}
	totalDelta := 0
	switch {
	case !found:
		if val == nil {
			return false, 0, nil
		}
		err = setv(withEpoch(prefix, t.epoch))
		born = true
		totalDelta = 1
	case birth == t.epoch:
		if val == nil && !olderExists {
			err = t.txn.Delete(oldKey)
		} else {
			err = setv(oldKey)
		}
		totalDelta = b2i(newPresent) - b2i(oldPresent)
	default:
		visible := birth <= t.lastSnap
		if visible {
			flag := byte(0)
			if oldPresent && data {
				flag = 1
			}
			err = t.txn.Set(kDead(t.v.id, t.epoch, oldKey), []byte{flag})
			totalDelta = b2i(newPresent)
		} else {
			err = t.txn.Delete(oldKey)
			totalDelta = b2i(newPresent) - b2i(oldPresent)
		}
		if err == nil && (val != nil || visible || olderExists) {
			err = setv(withEpoch(prefix, t.epoch))
			born = true
		}
	}
	if err != nil {
		return false, 0, err
	}
	if data {
		t.ctr.Live = uint64(int64(t.ctr.Live) + int64(liveDelta))
		t.ctr.Total = uint64(int64(t.ctr.Total) + int64(totalDelta))
	}
	return born, liveDelta, nil
}

// getLive returns a copy of the live version of a record. A version born
// in the live epoch is necessarily the newest, so an exact Get of that key
// (cheap) answers the common case of records already touched this epoch;
// otherwise an iterator finds the newest older version.
func (t *wtx) getLive(prefix []byte) ([]byte, bool, error) { return t.getLiveFrom(t.txn, prefix) }

// getLiveFrom is getLive reading older versions through older (t.txn, or
// a Batch's read-only transaction over the committed state).
func (t *wtx) getLiveFrom(older *badger.Txn, prefix []byte) ([]byte, bool, error) {
	item, err := t.txn.Get(withEpoch(prefix, t.epoch))
	switch {
	case err == nil:
		if item.UserMeta()&metaTomb != 0 {
			return nil, false, nil
		}
		v, err := item.ValueCopy(nil)
		return v, err == nil, err
	case !errors.Is(err, badger.ErrKeyNotFound):
		return nil, false, err
	}
	return getAt(older, prefix, math.MaxUint64)
}

// put is putAt with its own iterator (metadata records). A record already
// born in the live epoch is overwritten in place without an iterator.
func (t *wtx) put(prefix, val []byte) (bool, error) { return t.putFrom(t.txn, prefix, val) }

// putFrom is put finding the version to replace through older (see
// getLiveFrom).
func (t *wtx) putFrom(older *badger.Txn, prefix, val []byte) (bool, error) {
	if val != nil {
		key := withEpoch(prefix, t.epoch)
		if _, err := t.txn.Get(key); err == nil {
			return false, t.txn.Set(key, val)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return false, err
		}
	}
	it := older.NewIterator(iterOpts(prefix))
	defer it.Close()
	born, _, err := t.putAt(it, prefix, val, false)
	return born, err
}

// histMeta records in the history index that a version of a metadata
// record of inode ino (kind I, D with a name, X with a name) was born.
func (t *wtx) histMeta(ino uint64, kind byte, name string) error {
	if t.lastSnap == 0 {
		return nil // no snapshot to diff from: births now are never asked for
	}
	if t.hist == nil {
		t.hist = map[string]bool{}
	}
	k := kHist(t.v.id, t.epoch, ino, kind, []byte(name))
	if kind != hInode {
		k = append(k, 0)
	}
	if t.hist[string(k)] {
		return nil
	}
	t.hist[string(k)] = true
	return t.txn.Set(k, nil)
}

// histBlocks records that versions of blocks [from, to) of ino were born.
func (t *wtx) histBlocks(ino, from, to uint64) error {
	if t.lastSnap == 0 {
		return nil
	}
	k := kHist(t.v.id, t.epoch, ino, hBlock, binary.BigEndian.AppendUint64(nil, from))
	return t.txn.Set(k, binary.BigEndian.AppendUint64(nil, to))
}

func (t *wtx) inode(ino uint64) (inode, error) { return t.inodeFrom(t.txn, ino) }

// inodeFrom is inode reading older versions through older (see getLiveFrom).
func (t *wtx) inodeFrom(older *badger.Txn, ino uint64) (inode, error) {
	raw, ok, err := t.getLiveFrom(older, pfxInode(t.v.id, ino))
	if err != nil {
		return inode{}, err
	}
	if !ok {
		return inode{}, errno(syscall.ENOENT, "inode %d", ino)
	}
	n, err := decodeInode(raw)
	if err != nil {
		return n, fmt.Errorf("inode %d: %w", ino, err)
	}
	return n, nil
}

func (t *wtx) setInode(ino uint64, n *inode) error {
	born, err := t.put(pfxInode(t.v.id, ino), n.encode())
	if err == nil && born {
		err = t.histMeta(ino, hInode, "")
	}
	return err
}

func (t *wtx) dirent(parent uint64, name string) (uint64, uint32, bool, error) {
	raw, ok, err := t.getLive(pfxDirent(t.v.id, parent, name))
	if err != nil || !ok {
		return 0, 0, false, err
	}
	ino, mode, err := decodeDirent(raw)
	if err != nil {
		return 0, 0, false, fmt.Errorf("directory %d entry %q: %w", parent, name, err)
	}
	return ino, mode, true, nil
}

// setDirent sets (ino != 0) or removes (ino == 0) an entry of parent.
func (t *wtx) setDirent(parent uint64, name string, ino uint64, mode uint32) error {
	var val []byte
	if ino != 0 {
		val = encodeDirent(ino, mode)
	}
	born, err := t.put(pfxDirent(t.v.id, parent, name), val)
	if err == nil && born {
		err = t.histMeta(parent, hDirent, name)
	}
	return err
}

func (t *wtx) setXattrRec(ino uint64, name string, val []byte) error {
	born, err := t.put(pfxXattr(t.v.id, ino, name), val)
	if err == nil && born {
		err = t.histMeta(ino, hXattr, name)
	}
	return err
}

// allocIno takes a never-used inode number while those stay within the
// inode limit (numbers 2 .. limit+1, as in UFS), else the lowest free one
// (with a new generation), enforcing the inode limit. Fresh numbers first
// keep a new file off the keys its predecessor just freed (Badger delete
// markers that scans of the number's blocks would walk until compaction).
func (t *wtx) allocIno() (uint64, uint64, error) {
	t.v.rmu.RLock()
	limit := t.v.meta.InodeLimit
	t.v.rmu.RUnlock()
	if t.ctr.Inodes >= limit {
		return 0, 0, errno(syscall.ENOSPC, "volume %s: all %d inodes are in use (inode limit)", t.v.name, limit)
	}
	if t.ctr.NextIno <= limit+1 && t.ctr.NextIno < math.MaxUint32 {
		ino := t.ctr.NextIno
		t.ctr.NextIno++
		t.ctr.Inodes++
		return ino, 1, nil
	}
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: kID(pFree, t.v.id)})
	it.Rewind()
	if it.Valid() {
		k := it.Item().KeyCopy(nil)
		g, err := it.Item().ValueCopy(nil)
		it.Close()
		if err != nil || len(g) != 8 {
			return 0, 0, fmt.Errorf("free inode record %x: %w", k, errBadRecord)
		}
		if err := t.txn.Delete(k); err != nil {
			return 0, 0, err
		}
		t.ctr.Inodes++
		return binary.BigEndian.Uint64(k[5:]), binary.BigEndian.Uint64(g) + 1, nil
	}
	it.Close()
	ino := t.ctr.NextIno
	if ino >= math.MaxUint32 {
		return 0, 0, errno(syscall.ENOSPC, "volume %s: inode numbers exhausted", t.v.name)
	}
	t.ctr.NextIno++
	t.ctr.Inodes++
	return ino, 1, nil
}

// dropInode deletes inode ino (its last link is gone): the inode record and
// xattrs now, the data blocks after commit (orphan record, so a crash in
// between is finished at the next Open).
func (t *wtx) dropInode(ino uint64, n *inode) error {
	born, err := t.put(pfxInode(t.v.id, ino), nil)
	if err != nil {
		return err
	}
	if born {
		if err := t.histMeta(ino, hInode, ""); err != nil {
			return err
		}
	}
	t.ctr.Inodes--
	names, err := listXattrAt(t.txn, t.v.id, ino, math.MaxUint64)
	if err != nil {
		return err
	}
	for _, x := range names {
		if err := t.setXattrRec(ino, x, nil); err != nil {
			return err
		}
	}
	if n.Mode&sIFMT == sIFREG && n.Blocks > 0 {
		t.orphans = append(t.orphans, ino)
		return t.txn.Set(kOrphan(t.v.id, ino), orphanRec(0, n.Gen, true))
	}
	return t.txn.Set(kFree(t.v.id, ino), binary.BigEndian.AppendUint64(nil, n.Gen))
}

func orphanRec(from, gen uint64, deleted bool) []byte {
	b := binary.BigEndian.AppendUint64(nil, from)
	b = binary.BigEndian.AppendUint64(b, gen)
	if deleted {
		return append(b, 1)
	}
	return append(b, 0)
}

// freeOrphan frees the blocks an orphan record names, in transactions of
// at most freeChunk blocks, then removes the record (and frees the inode
// number of a deleted inode). Caller holds v.mu.
func (v *Volume) freeOrphan(ino uint64) error {
	for {
		done := false
		_, err := v.mutateOnce(func(t *wtx) error {
			raw, err := t.txn.Get(kOrphan(v.id, ino))
			if errors.Is(err, badger.ErrKeyNotFound) {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			rec, err := raw.ValueCopy(nil)
			if err != nil || len(rec) != 17 {
				return fmt.Errorf("orphan record of inode %d: %w", ino, errBadRecord)
			}
			from, gen, deleted := binary.BigEndian.Uint64(rec), binary.BigEndian.Uint64(rec[8:]), rec[16] == 1
			freed, more, err := t.freeBlocks(ino, from)
			if err != nil {
				return err
			}
			if !deleted && freed > 0 {
				n, err := t.inode(ino)
				if err != nil {
					return err
				}
				n.Blocks -= min(n.Blocks, freed)
				if err := t.setInode(ino, &n); err != nil {
					return err
				}
			}
			if more {
				return nil
			}
			done = true
			if err := t.txn.Delete(kOrphan(v.id, ino)); err != nil {
				return err
			}
			if deleted {
				return t.txn.Set(kFree(v.id, ino), binary.BigEndian.AppendUint64(nil, gen))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("volume %s: freeing blocks of inode %d: %w", v.name, ino, err)
		}
		if done {
			return nil
		}
	}
}

const freeChunk = 4096

// freeBlocks turns up to freeChunk present live blocks >= from of ino into
// holes. It reports how many it freed and whether more may remain. One
// Seek per block: the key after a block's newest version is either an
// older version of it (what putAt would look for) or the next block.
func (t *wtx) freeBlocks(ino, from uint64) (uint64, bool, error) {
	pfx := u64(kID(pBlock, t.v.id), ino)
	it := t.txn.NewIterator(iterOpts(pfx))
	defer it.Close()
	var blks []uint64
	var freed uint64
	more := false
	// The first key of each block is its newest version.
	for item := seekLive(it, pfxBlock(t.v.id, ino, from)); item != nil; {
		if len(blks) == freeChunk {
			more = true
			break
		}
		k := item.KeyCopy(nil)
		if len(k) != len(pfx)+16 {
			return 0, false, fmt.Errorf("block key %x: %w", k, errBadRecord)
		}
		blk := binary.BigEndian.Uint64(k[13:21])
		present := item.UserMeta()&metaTomb == 0
		bpfx := k[:21:21]
		item = seekLive(it, append(k[:len(k):len(k)], 0))
		olderExists := item != nil && bytes.HasPrefix(item.Key(), bpfx)
		if olderExists { // on to the next block
			item = nil
			if blk != math.MaxUint64 {
				item = seekLive(it, pfxBlock(t.v.id, ino, blk+1))
			}
		}
		if !present {
			continue // a tombstone: already a hole
		}
		blks = append(blks, blk)
		_, d, err := t.replace(bpfx, nil, true, true, k, birthOf(k), true, olderExists)
		if err != nil {
			return 0, false, err
		}
		if d < 0 {
			freed++
		}
	}
	for i := 0; i < len(blks); {
		j := i + 1
		for j < len(blks) && blks[j] == blks[j-1]+1 {
			j++
		}
		if err := t.histBlocks(ino, blks[i], blks[j-1]+1); err != nil {
			return 0, false, err
		}
		i = j
	}
	return freed, more, nil
}

func listXattrAt(txn *badger.Txn, id uint32, ino, e uint64) ([]string, error) {
	pfx := u64(kID(pXattr, id), ino)
	it := txn.NewIterator(iterOpts(pfx))
	defer it.Close()
	var names []string
	for item := seekLive(it, pfx); item != nil; {
		k := item.Key()
		if len(k) < len(pfx)+9 {
			return nil, errBadRecord
		}
		name := string(k[len(pfx) : len(k)-9])
		recPfx := pfxXattr(id, ino, name)
		if _, ok := seekAt(it, recPfx, e); ok {
			names = append(names, name)
		}
		// on to the next name (past every version of this one)
		item = seekLive(it, withEpoch(recPfx, 0))
	}
	return names, nil
}
