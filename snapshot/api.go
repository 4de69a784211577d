package snapshot

import (
	"errors"
	"time"

	"tapelab/volume"
)

// MaxPerVolume is the most snapshots a volume holds (ONTAP's limit).
const MaxPerVolume = 255

// AutoBackupPrefix names the snapshots the dump engine creates for a backup:
// "snapshot_for_backup.N".
const AutoBackupPrefix = "snapshot_for_backup."

// Sentinel errors; the error texts start with the seed message of the
// failed operation (MsgCreateFailed, ...) followed by the cause.
var (
	ErrLimit    = errors.New("snapshot limit reached")     // 256th snapshot
	ErrExists   = errors.New("snapshot name already used") // duplicate name
	ErrBadName  = errors.New("invalid snapshot name")      // naming rules
	ErrNotFound = errors.New("snapshot not found")         // also matches volume.ErrNoSnapshot
	ErrLocked   = errors.New("snapshot is locked")         // Delete of a locked snapshot
)

// Info describes one snapshot (snapshot show).
type Info struct {
	SVM     string
	Volume  string
	Name    string
	Created time.Time
	Epoch   uint64
	// Unique is the data bytes only this snapshot holds: what deleting it frees.
	Unique int64
	// Holders are the current lock holders (e.g. "dump backup session 3").
	Holders []string
}

// ChangeKind classifies an inode in a Diff.
type ChangeKind int

const (
	Modified ChangeKind = iota
	Created
	Deleted
)

func (k ChangeKind) String() string {
	switch k {
	case Created:
		return "created"
	case Deleted:
		return "deleted"
	}
	return "modified"
}

// Change is one inode that differs between the two sides of a Diff.
type Change struct {
	Ino  uint64
	Kind ChangeKind
	// Reused: the inode number was freed and reused (new generation)
	// between the two sides; Kind is Created.
	Reused  bool
	Attr    bool            // attributes changed
	Dirents bool            // directory entries changed
	Xattrs  bool            // extended attributes changed
	Data    []volume.Extent // changed byte ranges (block granularity)
}

// DiffResult lists what changed between two snapshots, or a snapshot and the
// active file system (To == "").
type DiffResult struct {
	From, To string
	Changes  []Change // sorted by inode number
}

// ValidateName checks the snapshot naming rules: 1-255 characters, letters,
// digits, '_', '-', '.', starting with a letter, digit or '_'.
func ValidateName(name string) error { return validateName(name) }

// Create takes a snapshot of v's active file system. It fails with an error
// starting "Failed to create snapshot" when the volume already holds
// MaxPerVolume snapshots and no Reclaimer gives one up (ErrLimit), the name
// is used (ErrExists) or invalid (ErrBadName).
func Create(v *volume.Volume, name string) (Info, error) { return create(v, name) }

// Reclaimer gives up one snapshot of v that its owner keeps only as an
// optimisation (the dump engine's incremental bases), deleting it with
// Delete; it reports whether it did. It must not delete a locked snapshot
// nor one of another owner.
type Reclaimer func(v *volume.Volume) bool

// AddReclaimer registers r until remove is called: when Create finds the
// volume at MaxPerVolume it asks the reclaimers, in registration order, to
// give up a snapshot, and retries, before it fails with ErrLimit. So
// snapshots kept as an optimisation never take a place a user or a backup
// needs.
func AddReclaimer(r Reclaimer) (remove func()) { return addReclaimer(r) }

// AutoBackupName returns the next unused "snapshot_for_backup.N" name for
// v: N counts from 0 per volume since the process started (ONTAP resets it
// at reboot) and skips names in use.
func AutoBackupName(v *volume.Volume) string { return autoBackupName(v) }

// Delete deletes a snapshot and frees what only it referenced; it returns
// the bytes freed. A locked snapshot is not deleted: the error starts with
// "Failed to delete snapshot" and names the holders (ErrLocked).
func Delete(v *volume.Volume, name string) (int64, error) { return del(v, name) }

// List returns v's snapshots, oldest first.
func List(v *volume.Volume) ([]Info, error) { return list(v) }

// Show returns one snapshot (ErrNotFound, "Failed to find snapshot").
func Show(v *volume.Volume, name string) (Info, error) { return show(v, name) }

// Lock holds a snapshot for holder (for instance a backup session) until
// release is called; Delete refuses while any hold exists. Locks live in
// memory. Fails with "Failed to lock snapshot" when the snapshot is absent.
func Lock(v *volume.Volume, name, holder string) (release func(), err error) {
	return lock(v, name, holder)
}

// View returns the read-only view of a snapshot.
func View(v *volume.Volume, name string) (*volume.View, error) { return view(v, name) }

// Diff compares snapshot from with snapshot to, or with the active file
// system when to is "". Cost is proportional to what changed.
func Diff(v *volume.Volume, from, to string) (*DiffResult, error) { return diff(v, from, to) }

// Reclaim runs the store's space reclamation (after deletes).
func Reclaim(s *volume.Store) error { return s.GC() }
