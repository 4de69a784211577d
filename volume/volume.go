package volume

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"sync"
	"syscall"

	"github.com/dgraph-io/badger/v4"
)

// Volume is one volume of a store.
type Volume struct {
	store     *Store
	id        uint32
	svm, name string

	// mu serializes every mutation of the volume (one writer at a time, so
	// Badger transactions never conflict and counters stay exact).
	mu sync.Mutex
	// rmu guards meta, ctr, snaps and deleted for readers.
	rmu     sync.RWMutex
	meta    volMeta
	ctr     counters
	snaps   []SnapshotInfo // sorted by epoch
	deleted bool
}

// View is the active file system or a snapshot of a volume.
type View struct {
	vol     *Volume
	snap    string
	epoch   uint64 // math.MaxUint64 for the active file system
	restore bool   // restore target: allowed while restricted, writable
}

func (v *Volume) loadSnapshots(txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: kID(pSnap, v.id)})
	defer it.Close()
	v.snaps = nil
	for it.Rewind(); it.Valid(); it.Next() {
		raw, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		var r snapRec
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("volume %s: snapshot record: %w", v.name, errBadRecord)
		}
		if !r.Deleting {
			v.snaps = append(v.snaps, r.SnapshotInfo)
		}
	}
	sort.Slice(v.snaps, func(i, j int) bool { return v.snaps[i].Epoch < v.snaps[j].Epoch })
	return nil
}

func (v *Volume) capacityBlocks() uint64 { return uint64(v.meta.Size / BlockSize) }

func (v *Volume) info() Info {
	v.rmu.RLock()
	defer v.rmu.RUnlock()
	m, c := v.meta, v.ctr
	used := int64(c.Total) * BlockSize
	return Info{
		SVM: m.SVM, Name: m.Name, UUID: m.UUID, Type: m.Type, State: m.State, Created: m.Created,
		Size: m.Size, Used: used, Available: max(m.Size-used, 0),
		LiveUsed: int64(c.Live) * BlockSize, SnapUsed: int64(c.Total-c.Live) * BlockSize,
		Inodes: c.Inodes, InodeLimit: m.InodeLimit, InodesFree: m.InodeLimit - min(c.Inodes, m.InodeLimit),
		Snapshots: len(v.snaps),
	}
}

// saveMeta writes the volume's JSON record (caller holds v.mu).
func (v *Volume) saveMeta(m volMeta) error {
	db, err := v.store.acquire()
	if err != nil {
		return err
	}
	defer v.store.release()
	mb, _ := json.Marshal(m)
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(kID(pVolMeta, v.id), mb) }); err != nil {
		return fmt.Errorf("volume %s: %w", v.name, err)
	}
	v.rmu.Lock()
	v.meta = m
	v.rmu.Unlock()
	return nil
}

func (v *Volume) setState(st State) error {
	switch st {
	case StateOnline, StateRestricted, StateOffline:
	default:
		return fmt.Errorf("volume %s: invalid state %q (online, restricted, offline): %w", v.name, st, ErrInvalid)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.alive(); err != nil {
		return err
	}
	m := v.meta
	m.State = st
	return v.saveMeta(m)
}

func (v *Volume) modify(mod Modify) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.alive(); err != nil {
		return err
	}
	m := v.meta
	if mod.Size != nil {
		size := (*mod.Size + BlockSize - 1) / BlockSize * BlockSize
		if *mod.Size < MinSize || *mod.Size > MaxSize {
			return fmt.Errorf("volume %s: invalid size %d: must be between %d and %d bytes: %w", v.name, *mod.Size, MinSize, MaxSize, ErrInvalid)
		}
		if uint64(size/BlockSize) < v.ctr.Total {
			return fmt.Errorf("volume %s: size %d is below the %d bytes in use: %w", v.name, size, v.ctr.Total*BlockSize, ErrInvalid)
		}
		m.Size = size
	}
	if mod.InodeLimit != nil {
		if *mod.InodeLimit < v.ctr.Inodes || *mod.InodeLimit > 1<<31 {
			return fmt.Errorf("volume %s: inode limit %d is below the %d inodes in use or too large: %w", v.name, *mod.InodeLimit, v.ctr.Inodes, ErrInvalid)
		}
		m.InodeLimit = *mod.InodeLimit
	}
	if mod.Type != nil {
		if *mod.Type != TypeRW && *mod.Type != TypeDP {
			return fmt.Errorf("volume %s: invalid type %q: %w", v.name, *mod.Type, ErrInvalid)
		}
		m.Type = *mod.Type
	}
	return v.saveMeta(m)
}

func (v *Volume) alive() error {
	v.rmu.RLock()
	defer v.rmu.RUnlock()
	if v.deleted {
		return fmt.Errorf("volume %s: %w", v.name, ErrNoVolume)
	}
	return nil
}

func (v *Volume) active(restore bool) (*View, error) {
	w := &View{vol: v, epoch: math.MaxUint64, restore: restore}
	if err := w.access(false); err != nil {
		return nil, err
	}
	return w, nil
}

func (v *Volume) snapshotView(name string) (*View, error) {
	v.rmu.RLock()
	defer v.rmu.RUnlock()
	for _, s := range v.snaps {
		if s.Name == name {
			w := &View{vol: v, snap: name, epoch: s.Epoch}
			if v.meta.State != StateOnline {
				return nil, w.stateErr(v.meta.State)
			}
			return w, nil
		}
	}
	return nil, fmt.Errorf("volume %s: snapshot %q: %w", v.name, name, ErrNoSnapshot)
}

func (w *View) stateErr(st State) error {
	if st == StateOffline {
		return fmt.Errorf("volume %s: %w", w.vol.name, ErrVolumeOffline)
	}
	return fmt.Errorf("volume %s: %w", w.vol.name, ErrVolumeRestricted)
}

// access checks that the view may be used now (volume state, snapshot
// still present, writability).
func (w *View) access(write bool) error {
	v := w.vol
	v.rmu.RLock()
	defer v.rmu.RUnlock()
	if v.deleted {
		return fmt.Errorf("volume %s: %w", v.name, ErrNoVolume)
	}
	switch v.meta.State {
	case StateOnline:
	case StateRestricted:
		if !w.restore {
			return w.stateErr(v.meta.State)
		}
	default:
		return w.stateErr(v.meta.State)
	}
	if w.snap != "" {
		found := false
		for _, s := range v.snaps {
			if s.Epoch == w.epoch {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("volume %s: snapshot %q: %w", v.name, w.snap, ErrNoSnapshot)
		}
	}
	if write && w.readOnlyLocked() {
		return fmt.Errorf("volume %s: %w", v.name, ErrReadOnly)
	}
	return nil
}

// readOnlyLocked: snapshots always; the active file system while the
// volume is DP (followed live, so a DP -> RW change applies to open views).
func (w *View) readOnlyLocked() bool {
	return w.snap != "" || (!w.restore && w.vol.meta.Type == TypeDP)
}

func (w *View) isReadOnly() bool {
	w.vol.rmu.RLock()
	defer w.vol.rmu.RUnlock()
	return w.readOnlyLocked()
}

// errno wraps a syscall errno with context.
func errno(e syscall.Errno, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, e)...)
}
