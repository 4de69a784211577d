package volume

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"

	"github.com/dgraph-io/badger/v4"
)

// A Batch queues mutations of a writable view (creates, writes, attribute
// and xattr changes, hard links) and applies them in as few transactions
// as possible, for callers that make many small changes in a row (a
// restore creating thousands of files). Each operation behaves as if it
// were the View method of the same name called alone, in queue order:
// the same checks, the same errors, the same copy-on-write, space and
// inode accounting, history and dead-list records. Only the grouping into
// transactions differs (and so the ctime/mtime stamped by the store's
// clock: one reading per transaction).
//
// How the grouping keeps the single-call semantics:
//   - a transaction takes operations until about batchTxnData bytes of
//     data or batchTxnEntries records, and ends after an operation that
//     leaves blocks to free (a truncation), so the blocks are freed before
//     the next operation, as View.SetAttr does;
//   - an operation that could need more new blocks than the volume has
//     left runs in a transaction of its own, which fails with ENOSPC
//     exactly when the single call would;
//   - when an operation fails inside a shared transaction, the
//     transaction is discarded, the operations before it are applied again
//     and committed, and the failing one is run alone (so it fails, with
//     nothing of it applied, exactly as a single call).
//
// An ENOSPC failure (no space or no inodes left) stops the batch: the
// operations before it are committed (nothing is lost), the later ones are
// not applied and report ErrNotApplied. Other failures are per operation:
// later operations still run, except those on an inode whose create failed
// (they fail with the create's error).
//
// Write keeps a reference to its data until Commit returns.
type Batch struct {
	w   *View
	ops []bop
	n   int // caller operations queued
	// data is the bytes of write data queued.
	data int
}

// Ref names an inode in a batch: an existing inode (InodeRef) or the inode
// a create of the same batch makes (the Ref that create returned).
type Ref struct {
	ino uint64
	op  int // 1 + index of the creating bop; 0 for an existing inode
}

// InodeRef refers to an existing inode.
func InodeRef(ino uint64) Ref { return Ref{ino: ino} }

// BatchResult is the outcome of one queued operation.
type BatchResult struct {
	Ino uint64 // creates: the new inode; links: the inode linked
	N   int    // writes: bytes written (as View.Write's n)
	Err error
}

// ErrNotApplied is the result of operations queued after one that failed
// with ENOSPC: the batch stopped before them.
var ErrNotApplied = errors.New("volume: batch stopped before this operation (no space)")

type bopKind uint8

const (
	bopMknod bopKind = iota + 1
	bopLink
	bopWrite
	bopSetAttr
	bopSetXattr
)

// bop is one operation as applied; writes larger than writeChunk are split
// into several bops of the same caller operation, as View.Write splits
// them into transactions.
type bop struct {
	kind   bopKind
	of     int  // caller operation index
	chunk  bool // a continuation chunk of the previous bop's write
	ino    Ref  // the inode changed (link: the inode linked)
	parent Ref  // mknod, link: the directory
	name   string
	mode   uint32
	rdev   uint64
	target string
	owner  Owner
	off    int64
	data   []byte
	attr   SetAttrIn
	flags  uint32
	err    error // found when queued: fails without touching the store
}

// Bounds of one batch transaction, well inside Badger's (with the store's
// 32 MiB memtable a transaction may hold ~52,000 records).
const (
	batchTxnData    = 2 << 20
	batchTxnEntries = 1024
)

// NewBatch returns an empty batch of mutations of w.
func (w *View) NewBatch() *Batch { return &Batch{w: w} }

// Len reports the operations queued; DataBytes the write data queued.
func (b *Batch) Len() int       { return b.n }
func (b *Batch) DataBytes() int { return b.data }

func (b *Batch) add(op bop) int {
	op.of = b.n
	b.n++
	b.ops = append(b.ops, op)
	return op.of
}

// Mknod queues View.Mknod; the Ref names the new inode in later operations.
func (b *Batch) Mknod(parent Ref, name string, mode uint32, rdev uint64, o Owner) (int, Ref) {
	return b.mknod(parent, name, mode, rdev, "", o)
}

// Create queues View.Create.
func (b *Batch) Create(parent Ref, name string, perm uint32, o Owner) (int, Ref) {
	return b.mknod(parent, name, sIFREG|perm&07777, 0, "", o)
}

// Mkdir queues View.Mkdir.
func (b *Batch) Mkdir(parent Ref, name string, perm uint32, o Owner) (int, Ref) {
	return b.mknod(parent, name, sIFDIR|perm&07777, 0, "", o)
}

// Symlink queues View.Symlink.
func (b *Batch) Symlink(parent Ref, name, target string, o Owner) (int, Ref) {
	return b.mknod(parent, name, sIFLNK|0777, 0, target, o)
}

func (b *Batch) mknod(parent Ref, name string, mode uint32, rdev uint64, target string, o Owner) (int, Ref) {
	op := bop{kind: bopMknod, parent: parent, name: name, target: target, owner: o}
	mode, rdev, op.err = checkMknod(name, mode, rdev, target)
	op.mode, op.rdev = mode, rdev
	i := b.add(op)
	return i, Ref{op: len(b.ops)}
}

// checkMknod is the validation View.Mknod does before its transaction.
func checkMknod(name string, mode uint32, rdev uint64, target string) (uint32, uint64, error) {
	if err := validName(name); err != nil {
		return mode, rdev, err
	}
	switch mode & sIFMT {
	case sIFREG, sIFDIR, sIFLNK, sIFIFO, sIFCHR, sIFBLK, sIFSOCK:
	case 0:
		mode |= sIFREG
	default:
		return mode, rdev, errno(syscall.EINVAL, "mknod %q: file type %o", name, mode&sIFMT)
	}
	if mode&sIFMT == sIFLNK && (len(target) == 0 || len(target) > MaxSymlinkLen) {
		return mode, rdev, errno(syscall.ENAMETOOLONG, "symlink target of %d bytes", len(target))
	}
	if mode&sIFMT != sIFCHR && mode&sIFMT != sIFBLK {
		rdev = 0
	}
	return mode, rdev, nil
}

// Link queues View.Link.
func (b *Batch) Link(ino, newParent Ref, newName string) int {
	return b.add(bop{kind: bopLink, ino: ino, parent: newParent, name: newName, err: validName(newName)})
}

// Write queues View.Write. data must not change until Commit returns.
func (b *Batch) Write(ino Ref, off int64, data []byte) int {
	i := b.n
	b.n++
	b.data += len(data)
	if off < 0 || off+int64(len(data)) > MaxFileSize {
		b.ops = append(b.ops, bop{kind: bopWrite, of: i, ino: ino, err: errno(syscall.EFBIG, "write at %d+%d", off, len(data))})
		return i
	}
	for done := 0; done < len(data) || done == 0; {
		n := min(len(data)-done, writeChunk)
		b.ops = append(b.ops, bop{kind: bopWrite, of: i, chunk: done > 0, ino: ino, off: off + int64(done), data: data[done : done+n]})
		done += n
		if len(data) == 0 {
			break
		}
	}
	return i
}

// SetAttr queues View.SetAttr.
func (b *Batch) SetAttr(ino Ref, in SetAttrIn) int {
	return b.add(bop{kind: bopSetAttr, ino: ino, attr: in})
}

// SetXattr queues View.SetXattr (the value is copied).
func (b *Batch) SetXattr(ino Ref, name string, value []byte, flags uint32) int {
	if value == nil {
		value = []byte{}
	}
	return b.add(bop{kind: bopSetXattr, ino: ino, name: name, data: bytes.Clone(value), flags: flags,
		err: validXattr(name, len(value))})
}

// Commit applies the queued operations in order and empties the batch. It
// returns one result per operation (indexed as the queueing calls
// returned) and, when the batch stopped early, the error that stopped it:
// an ENOSPC failure, or a failure of the store or the volume (offline,
// deleted) that no later operation could escape.
func (b *Batch) Commit() ([]BatchResult, error) {
	ops, n := b.ops, b.n
	b.ops, b.n, b.data = nil, 0, 0
	res := make([]BatchResult, n)
	if len(ops) == 0 {
		return res, nil
	}
	a := &batchRun{v: b.w.vol, ops: ops, state: make([]bopState, len(ops)), ino: make([]uint64, len(ops)), stopAt: len(ops)}
	var err error
	if err = b.w.access(true); err == nil {
		a.v.mu.Lock()
		err = a.run()
		a.done()
		a.v.mu.Unlock()
	} else {
		a.stopAt = 0
	}
	for k := range ops {
		st, c := &a.state[k], ops[k].of
		switch {
		case k > a.stopAt:
			if res[c].Err == nil && !ops[k].chunk {
				res[c].Err = fmt.Errorf("%w: %w", ErrNotApplied, err)
			}
		case st.applied:
			if ops[k].kind == bopWrite {
				res[c].N += len(ops[k].data)
			} else {
				res[c].Ino = a.ino[k]
			}
		case st.err != nil:
			if res[c].Err == nil {
				res[c].Err = st.err
			}
		case !ops[k].chunk && res[c].Err == nil:
			res[c].Err = ErrNotApplied // not reached (cannot happen)
		}
	}
	return res, err
}

type bopState struct {
	applied bool
	err     error // failed (nothing of it applied)
}

// batchRun applies one committed batch. Caller holds v.mu.
type batchRun struct {
	v     *Volume
	ops   []bop
	state []bopState
	ino   []uint64 // creates: the inode made (valid once applied)
	r     *bread   // lookups of the current transaction
	// fresh maps regular files this batch created under never-used inode
	// numbers (generation 1: no key of theirs was ever written) to the
	// first block no write of the batch has reached: blocks from there on
	// have no key, so writes there need no lookup at all.
	fresh map[uint64]uint64
	// stopAt is the operation whose failure stopped the batch (len(ops)
	// when none did): nothing after it counts as applied or failed.
	stopAt int
}

// batchNewWrites counts writes into blocks known to have no key (tests).
var batchNewWrites atomic.Int64

// errBatchRetry discards a transaction in which an operation failed.
var errBatchRetry = errors.New("volume: batch operation failed")

// ready settles ops[k] without a transaction if it cannot run: a
// validation error, or a failed inode or write chunk it depends on. It
// reports whether k still has to be applied.
func (a *batchRun) ready(k int) bool {
	op := &a.ops[k]
	if op.err != nil {
		a.state[k].err = op.err
		return false
	}
	if op.chunk && !a.state[k-1].applied {
		// View.Write stops at the first failed chunk; the result
		// already carries that chunk's error
		return false
	}
	for _, r := range []Ref{op.ino, op.parent} {
		if r.op > 0 {
			if e := a.state[r.op-1].err; e != nil {
				a.state[k].err = fmt.Errorf("inode of operation %d: %w", a.ops[r.op-1].of, e)
				return false
			}
		}
	}
	return true
}

func (a *batchRun) resolve(r Ref) uint64 {
	if r.op > 0 {
		return a.ino[r.op-1]
	}
	return r.ino
}

func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

// run applies every operation; it returns the error that stopped it.
func (a *batchRun) run() error {
	for i := 0; i < len(a.ops); {
		if !a.ready(i) {
			i++
			continue
		}
		end, failed := i, -1
		orphans, err := a.v.mutateOnce(func(t *wtx) error {
			a.v.rmu.RLock()
			capacity := a.v.capacityBlocks()
			a.v.rmu.RUnlock()
			data, entries := 0, 0
			for k := i; k < len(a.ops); k++ {
				if k > i {
					if !a.ready(k) {
						end = k + 1
						continue
					}
					op := &a.ops[k]
					if data+len(op.data) > batchTxnData || entries+op.entries() > batchTxnEntries ||
						t.ctr.Total+op.maxNewBlocks() > capacity {
						break
					}
				}
				if err := a.try(t, k); err != nil {
					failed = k
					return errBatchRetry
				}
				data += len(a.ops[k].data)
				entries += a.ops[k].entries()
				end = k + 1
				if len(t.orphans) > 0 {
					break // free the blocks before anything else runs
				}
			}
			return nil
		})
		switch {
		case err == nil:
			if err := a.freeOrphans(orphans, end-1); err != nil {
				return err
			}
			i = end
		case errors.Is(err, errBatchRetry):
			a.undo(i, failed+1)
			if failed > i {
				if err := a.replay(i, failed); err != nil {
					return err
				}
			}
			if err := a.single(failed); err != nil {
				return err
			}
			i = failed + 1
		case end == i:
			a.stopAt = i
			a.state[i].err = err
			return err // nothing ran: the store or the volume failed
		default:
			// the commit failed (no space, too large, the store): one at
			// a time, so each operation gets its own outcome
			a.undo(i, end)
			for k := i; k < end; k++ {
				if a.ready(k) {
					if err := a.single(k); err != nil {
						return err
					}
				}
			}
			i = end
		}
	}
	return nil
}

// stop reports whether a failure ends the batch: no space, or the volume
// or store gone.
func stop(err error) bool {
	return isNoSpace(err) || errors.Is(err, ErrNoVolume) || errors.Is(err, badger.ErrDBClosed) ||
		errors.Is(err, ErrVolumeOffline) || errors.Is(err, ErrVolumeRestricted)
}

// try applies ops[k] in t and marks it applied (undone if t is discarded).
func (a *batchRun) try(t *wtx, k int) error {
	if err := a.apply(t, k); err != nil {
		return err
	}
	a.state[k].applied = true
	return nil
}

// undo forgets the operations of a discarded transaction.
func (a *batchRun) undo(i, end int) {
	for k := i; k < end; k++ {
		a.state[k].applied = false
	}
}

// freeOrphans frees the blocks the committed operations up to last left
// to free; a failure is last's (as View.SetAttr reports it) and stops the
// batch (the orphan record finishes the job at the next Open).
func (a *batchRun) freeOrphans(orphans []uint64, last int) error {
	for _, ino := range orphans {
		if err := a.v.freeOrphan(ino); err != nil {
			a.state[last].applied, a.state[last].err = false, err
			a.stopAt = last
			return err
		}
	}
	return nil
}

// replay applies ops[i:end), which all succeeded in a discarded
// transaction, again in one transaction; should that fail, one by one.
func (a *batchRun) replay(i, end int) error {
	orphans, err := a.v.mutateOnce(func(t *wtx) error {
		for k := i; k < end; k++ {
			if a.ready(k) {
				if err := a.try(t, k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		return a.freeOrphans(orphans, end-1)
	}
	a.undo(i, end)
	for k := i; k < end; k++ {
		if a.ready(k) {
			if err := a.single(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// single applies ops[k] in a transaction of its own, as the View method
// would; it returns an error only when the failure stops the batch.
func (a *batchRun) single(k int) error {
	err := a.v.mutate(func(t *wtx) error { return a.try(t, k) })
	if err != nil {
		a.state[k].applied = false
		a.state[k].err = err
		if stop(err) {
			a.stopAt = k
			return err
		}
	}
	return nil
}

// entries estimates the records an operation writes.
func (op *bop) entries() int {
	if op.kind == bopWrite {
		return 3*(len(op.data)/BlockSize+2) + 2
	}
	return 8
}

// maxNewBlocks bounds the block versions an operation can add.
func (op *bop) maxNewBlocks() uint64 {
	switch op.kind {
	case bopWrite:
		if len(op.data) == 0 {
			return 0
		}
		return uint64((op.off+int64(len(op.data))-1)/BlockSize-op.off/BlockSize) + 1
	case bopSetAttr:
		if op.attr.Valid&SetSize != 0 {
			return 1 // the new last block, copied on write
		}
	}
	return 0
}

// apply runs ops[k] in t.
func (a *batchRun) apply(t *wtx, k int) error {
	op := &a.ops[k]
	if a.r == nil || a.r.t != t {
		// the committed state for this transaction's lookups (its own
		// writes are found by Get); the store's read lock is held by
		// mutateOnce, so the db cannot be swapped meanwhile
		if a.r != nil {
			a.r.r.Discard()
		}
		a.r = &bread{t: t, r: a.v.store.db.NewTransaction(false)}
	}
	b := *a.r
	switch op.kind {
	case bopMknod:
		ino, gen, _, err := mknodIn(b, a.resolve(op.parent), op.name, op.mode, op.rdev, op.target, op.owner)
		a.ino[k] = ino
		if err == nil && gen == 1 && op.mode&sIFMT == sIFREG {
			if a.fresh == nil {
				a.fresh = map[uint64]uint64{}
			}
			a.fresh[ino] = 0
		}
		return err
	case bopLink:
		ino := a.resolve(op.ino)
		a.ino[k] = ino
		_, err := linkIn(b, ino, a.resolve(op.parent), op.name)
		return err
	case bopWrite:
		ino := a.resolve(op.ino)
		from, ok := a.fresh[ino]
		if !ok || len(op.data) == 0 {
			return t.writeData(ino, op.off, op.data)
		}
		first, last := uint64(op.off/BlockSize), uint64((op.off+int64(len(op.data))-1)/BlockSize)
		var err error
		if first >= from {
			batchNewWrites.Add(1)
			err = writeDataIn(b, ino, op.off, op.data, true)
		} else {
			err = t.writeData(ino, op.off, op.data)
		}
		a.fresh[ino] = max(from, last+1)
		return err
	case bopSetAttr:
		if op.attr.Valid&SetSize != 0 {
			delete(a.fresh, a.resolve(op.ino)) // truncation frees (deletes) keys
		}
		_, err := setAttrIn(b, a.resolve(op.ino), op.attr)
		return err
	case bopSetXattr:
		return setXattrIn(b, a.resolve(op.ino), op.name, op.data, op.flags)
	}
	return errno(syscall.EINVAL, "batch operation %d", op.kind)
}

// done discards the read transaction of the last write transaction.
func (a *batchRun) done() {
	if a.r != nil {
		a.r.r.Discard()
		a.r = nil
	}
}

// The operations below are the transaction bodies of View.Mknod, Link,
// SetAttr and SetXattr (meta.go) for a batch transaction, with one
// difference in how they read. A Badger iterator on a write transaction
// merges (and first sorts) all its pending writes, so in a transaction of
// many operations every lookup through one costs O(pending log pending):
// with ~100 small files per transaction that was 40% of a restore. These
// bodies read through bread instead: the exact live-epoch key on the
// write transaction (a Get, which sees pending writes), else the
// committed state through a read-only transaction (iterators without
// pending writes). That is exact for the records they read (inodes,
// directory entries, xattrs) because a batch operation never deletes
// one: every change it makes to such a record writes its live-epoch key
// (see replace: an overwrite in place, or a new version born now), so a
// record without that key pending has no pending change at all.

// bread reads the live version of a metadata record in a batch
// transaction (see above).
type bread struct {
	t *wtx
	r *badger.Txn // read-only: the committed state
}

func (b bread) get(prefix []byte) ([]byte, bool, error) { return b.t.getLiveFrom(b.r, prefix) }

// put is wtx.put finding the version to replace in the committed state.
func (b bread) put(prefix, val []byte) (bool, error) { return b.t.putFrom(b.r, prefix, val) }

func (b bread) inode(ino uint64) (inode, error) { return b.t.inodeFrom(b.r, ino) }

func (b bread) dirOf(ino uint64) (inode, error) { return dirOfIn(b, ino) }

func (b bread) setInode(ino uint64, n *inode) error {
	born, err := b.put(pfxInode(b.t.v.id, ino), n.encode())
	if err == nil && born {
		err = b.t.histMeta(ino, hInode, "")
	}
	return err
}

func (b bread) direntExists(parent uint64, name string) (bool, error) {
	_, ok, err := b.get(pfxDirent(b.t.v.id, parent, name))
	return ok, err
}

func (b bread) setDirent(parent uint64, name string, ino uint64, mode uint32) error {
	born, err := b.put(pfxDirent(b.t.v.id, parent, name), encodeDirent(ino, mode))
	if err == nil && born {
		err = b.t.histMeta(parent, hDirent, name)
	}
	return err
}

func (b bread) tx() *wtx { return b.t }

func (b bread) xattrExists(ino uint64, name string) (bool, error) {
	_, ok, err := b.get(pfxXattr(b.t.v.id, ino, name))
	return ok, err
}

func (b bread) setXattrRec(ino uint64, name string, val []byte) error {
	born, err := b.put(pfxXattr(b.t.v.id, ino, name), val)
	if err == nil && born {
		err = b.t.histMeta(ino, hXattr, name)
	}
	return err
}
