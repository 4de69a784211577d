package dump

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
	"weak"

	"tapelab/engines"
	"tapelab/snapshot"
	"tapelab/volume"
)

// DefaultBaseSnapshots is how many automatic snapshots the engine keeps
// per volume as bases of later incrementals (WithBaseSnapshots).
const DefaultBaseSnapshots = 32

// Incremental selection methods, as the Options event and the log name them.
const (
	IncrementalFromDiff  = "incremental from snapshot diff"
	IncrementalFromCtime = "incremental by inode change times"
)

// volumeOfKey returns the SVM and volume of a dump history path
// (/SVM/VOL[/rel] or /SVM/VOL//DMP_NAME).
func volumeOfKey(key string) (svm, vol string) {
	parts := strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(key, TokenPrefix), "/"), "/", 3)
	if len(parts) < 2 {
		return "", ""
	}
	return parts[0], parts[1]
}

func onVolume(r DumpRecord, v *volume.Volume) bool {
	svm, vol := volumeOfKey(r.Path)
	return svm == v.SVM() && vol == v.Name()
}

// recordedSnapshot returns the snapshot a dump was taken from if it still
// exists: same name, same epoch and the creation second that is the dump
// date (a snapshot deleted and made again under the same name, or a
// history imported from elsewhere, does not match).
func recordedSnapshot(v *volume.Volume, r DumpRecord) (snapshot.Info, bool) {
	if r.Snapshot == "" {
		return snapshot.Info{}, false
	}
	in, err := snapshot.Show(v, r.Snapshot)
	if err != nil {
		return snapshot.Info{}, false
	}
	if r.SnapshotEpoch != 0 && in.Epoch != r.SnapshotEpoch {
		return snapshot.Info{}, false
	}
	if !in.Created.Truncate(time.Second).Equal(r.Date) {
		return snapshot.Info{}, false
	}
	return in, true
}

// createBackupSnapshot creates the automatic snapshot of a backup, after
// deleting the retired bases of the volume. At the volume's snapshot limit
// snapshot.Create asks the engine's reclaimer (reclaimBase) to give up a
// kept base first; the base of this dump is locked by then, so it stays.
func (e *Engine) createBackupSnapshot(v *volume.Volume, name string, log logger) (snapshot.Info, error) {
	e.collectBases(v, log)
	return snapshot.Create(v, name)
}

// registerReclaimer makes the kept bases give way at the snapshot limit,
// for backups and users alike (snapshot.AddReclaimer). The registration
// holds the engine weakly and ends when the engine is collected.
func (e *Engine) registerReclaimer() {
	wp := weak.Make(e)
	remove := snapshot.AddReclaimer(func(v *volume.Volume) bool {
		if e := wp.Value(); e != nil {
			return e.reclaimBase(v)
		}
		return false
	})
	runtime.AddCleanup(e, func(remove func()) { remove() }, remove)
}

// reclaimBase gives up the oldest unlocked kept base snapshot of v (a
// volume of this engine's store), logging it in the event log.
func (e *Engine) reclaimBase(v *volume.Volume) bool {
	if cur, err := e.store.Volume(v.SVM(), v.Name()); err != nil || cur != v {
		return false
	}
	live, _, err := e.history.Kept()
	if err != nil {
		return false
	}
	for _, r := range live {
		if !onVolume(r, v) {
			continue
		}
		if in, ok := recordedSnapshot(v, r); !ok || len(in.Holders) > 0 {
			continue // gone, or the base of a running dump
		}
		why := "the volume has the maximum number of snapshots"
		if e.releaseBase(v, r, why, logger{}) {
			_ = e.events.Event("dmp", r.Path, "Options", fmt.Sprintf("base snapshot %s of the level %d dump released: %s", r.Snapshot, r.Level, why))
			return true
		}
	}
	return false
}

// releaseBase retires a kept base snapshot and deletes it; the chain of
// its path goes on by inode change times. It reports whether the snapshot
// was deleted.
func (e *Engine) releaseBase(v *volume.Volume, r DumpRecord, why string, log logger) bool {
	if err := e.history.Retire(r); err != nil {
		log.Message(engines.LogWarning, "DUMP: "+err.Error())
		return false
	}
	log.Message(engines.LogWarning, fmt.Sprintf("DUMP: releasing the base snapshot %s of the level %d dump of %s: %s", r.Snapshot, r.Level, r.Path, why))
	return e.deleteRetired(v, r, log)
}

// deleteRetired deletes a retired base snapshot and forgets it; one that
// is locked (a running dump reads it) stays on the list for the next try.
func (e *Engine) deleteRetired(v *volume.Volume, r DumpRecord, log logger) bool {
	if _, ok := recordedSnapshot(v, r); ok {
		if _, err := snapshot.Delete(v, r.Snapshot); err != nil && !errors.Is(err, snapshot.ErrNotFound) {
			log.Message(engines.LogWarning, "DUMP: "+err.Error())
			return false
		}
	}
	if err := e.history.Forget(r); err != nil {
		log.Message(engines.LogWarning, "DUMP: "+err.Error())
		return false
	}
	return true
}

// collectBases deletes the retired base snapshots of v and, beyond
// e.maxBases kept bases on v, retires the oldest.
func (e *Engine) collectBases(v *volume.Volume, log logger) {
	live, retired, err := e.history.Kept()
	if err != nil {
		log.Message(engines.LogWarning, "DUMP: the dump history: "+err.Error())
		return
	}
	for _, r := range retired {
		if onVolume(r, v) {
			e.deleteRetired(v, r, log)
		}
	}
	var mine []DumpRecord
	for _, r := range live {
		if onVolume(r, v) {
			mine = append(mine, r)
		}
	}
	for i := 0; len(mine)-i > e.maxBases; i++ {
		e.releaseBase(v, mine[i], fmt.Sprintf("more than %d base snapshots kept in the volume", e.maxBases), log)
	}
}

// changedSince selects the inodes of an incremental. From the snapshot
// difference between the base dump's snapshot and the one being dumped
// when the base snapshot still exists (method IncrementalFromDiff): every
// inode created, or whose data, directory entries, extended attributes or
// attributes differ, except a change of the access time alone (and, with
// IGNORE_CTIME, of the change time alone: the file and its attributes are
// unchanged, the seed's definition). Else, as BSD dump does, the inodes
// whose ctime (mtime with IGNORE_CTIME) is not older than the base date
// (IncrementalFromCtime); why says why the diff could not be used.
func changedSince(vol *volume.Volume, view *volume.View, epoch uint64, base DumpRecord, ignoreCtime bool) (changed func(uint64, Attr) bool, method, why string, err error) {
	in, ok := recordedSnapshot(vol, base)
	switch {
	case ok && in.Epoch == epoch:
		// the base dump was of this very snapshot: nothing changed
		return func(uint64, Attr) bool { return false }, IncrementalFromDiff,
			fmt.Sprintf("%s..%s, 0 inodes changed", base.Snapshot, view.Snapshot()), nil
	case ok && in.Epoch > epoch:
		return ctimeSince(base.Date, ignoreCtime), IncrementalFromCtime,
			fmt.Sprintf("the base snapshot %s is newer than %s", base.Snapshot, view.Snapshot()), nil
	case ok:
		set, err := diffSelection(vol, base.Snapshot, view, ignoreCtime)
		if err != nil {
			return nil, "", "", err
		}
		return func(ino uint64, _ Attr) bool { return set[ino] }, IncrementalFromDiff,
			fmt.Sprintf("%s..%s, %d inodes changed", base.Snapshot, view.Snapshot(), len(set)), nil
	}
	switch {
	case base.Snapshot == "":
		why = "the base dump's snapshot is not recorded"
	default:
		why = fmt.Sprintf("the base snapshot %s no longer exists", base.Snapshot)
	}
	return ctimeSince(base.Date, ignoreCtime), IncrementalFromCtime, why, nil
}

// ctimeSince is BSD dump's selection: the inodes whose ctime (mtime with
// IGNORE_CTIME) is not older than the base date, in whole seconds.
func ctimeSince(date time.Time, ignoreCtime bool) func(uint64, Attr) bool {
	since := date.Unix()
	return func(_ uint64, a Attr) bool {
		if a.Mtime.Unix() >= since {
			return true
		}
		return !ignoreCtime && a.Ctime.Unix() >= since
	}
}

// diffSelection is the set of inodes an incremental from snapshot base to
// view dumps (see changedSince).
func diffSelection(vol *volume.Volume, base string, view *volume.View, ignoreCtime bool) (map[uint64]bool, error) {
	baseView, err := snapshot.View(vol, base)
	if err != nil {
		return nil, err
	}
	chs, err := vol.Changes(baseView, view)
	if err != nil {
		return nil, fmt.Errorf("dump: snapshot difference %s..%s: %w", base, view.Snapshot(), err)
	}
	set := make(map[uint64]bool, len(chs))
	for _, c := range chs {
		if c.Deleted && !c.Created {
			continue // gone: its directory lists what is left
		}
		if !c.Created && !c.Dirents && !c.Xattrs && len(c.Data) == 0 {
			// attributes only: not for the access time alone (BSD dump
			// does not dump for it either), with IGNORE_CTIME not for
			// the change time alone
			a, e1 := baseView.GetAttr(c.Ino)
			b, e2 := view.GetAttr(c.Ino)
			if e1 == nil && e2 == nil && sameAttrs(a, b, ignoreCtime) {
				continue
			}
		}
		set[c.Ino] = true
	}
	return set, nil
}

func sameAttrs(a, b volume.Attr, ignoreCtime bool) bool {
	a.Atime, b.Atime = time.Time{}, time.Time{}
	if ignoreCtime {
		a.Ctime, b.Ctime = time.Time{}, time.Time{}
	}
	return a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID && a.Nlink == b.Nlink && a.Size == b.Size &&
		a.Blocks == b.Blocks && a.Rdev == b.Rdev && a.Gen == b.Gen && a.Mtime.Equal(b.Mtime) &&
		a.Ctime.Equal(b.Ctime) && a.Crtime.Equal(b.Crtime)
}
