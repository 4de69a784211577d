package volume

import (
	"time"
)

// This file is the exported surface of the package: the store, volumes,
// views (the POSIX-like file system API) and the low-level snapshot hooks
// the snapshot package builds on. Implementations live in the other files.

// RootIno is the inode number of a volume's root directory (as in UFS/ext2,
// which keeps the dump format natural: inode 1 is unused, 2 is the root).
const RootIno uint64 = 2

// BlockSize is the unit of data storage, allocation and accounting.
const BlockSize = 4096

// Type is a volume's type: read-write or data protection (read-only to
// clients; the target of SnapMirror/SMTape restores).
type Type string

const (
	TypeRW Type = "RW"
	TypeDP Type = "DP"
)

// State is a volume's administrative state.
type State string

const (
	// Online: clients and engines may read (and write, for RW volumes).
	StateOnline State = "online"
	// Restricted: no client access; only restore engines may write
	// (through RestoreTarget). ONTAP's state for SMTape baseline restores.
	StateRestricted State = "restricted"
	// Offline: no access at all.
	StateOffline State = "offline"
)

// Options configure a Store.
type Options struct {
	// SyncWrites makes every commit durable (fsync) before it returns. When
	// false (the default) commits survive a process kill (SIGKILL) but only
	// Sync/Fsync guarantee durability against power loss.
	SyncWrites bool
	// Now is the clock for inode times and creation times; nil = time.Now.
	Now func() time.Time
	// Logf receives the storage engine's warnings and errors; nil discards.
	Logf func(format string, args ...any)
}

// Spec describes a volume to create.
type Spec struct {
	SVM  string // storage VM (vserver) name
	Name string // volume name: letters, digits, '_', starting with a letter or '_', at most 203 chars
	// Size in bytes: at least MinSize, rounded up to a multiple of BlockSize.
	// It bounds the data blocks stored for the volume, live and snapshot-held.
	Size int64
	Type Type // TypeRW (default when empty) or TypeDP
	// InodeLimit is the maximum number of inodes (files of any type,
	// including the root); 0 = default, one per 32 KiB of Size but at least 256.
	InodeLimit uint64
}

// Limits on volume sizes.
const (
	MinSize int64 = 1 << 20
	MaxSize int64 = 100 << 40
)

// Info is what `volume show`, df and df -i report about a volume.
type Info struct {
	SVM        string
	Name       string
	UUID       string
	Type       Type
	State      State
	Created    time.Time
	Size       int64  // bytes
	Used       int64  // bytes of data blocks stored: live + held only by snapshots
	Available  int64  // Size - Used
	LiveUsed   int64  // bytes of data blocks the active file system references
	SnapUsed   int64  // bytes held only by snapshots (Used - LiveUsed)
	Inodes     uint64 // inodes in use in the active file system
	InodeLimit uint64
	InodesFree uint64
	Snapshots  int
}

// Modify lists the volume properties to change; nil fields are unchanged.
type Modify struct {
	Size       *int64  // may not drop below the bytes in use
	InodeLimit *uint64 // may not drop below the inodes in use
	Type       *Type   // e.g. DP -> RW after a SnapMirror break
}

// Owner is the owner of a new inode.
type Owner struct {
	UID uint32
	GID uint32
}

// Attr are the attributes of an inode (what stat(2) returns).
type Attr struct {
	Ino    uint64
	Gen    uint64 // generation: bumped each time the inode number is reused
	Mode   uint32 // file type (syscall.S_IFREG, S_IFDIR, ...) | permission bits
	UID    uint32
	GID    uint32
	Nlink  uint32
	Size   uint64 // bytes; for symlinks the target length
	Blocks uint64 // allocated space in 512-byte units (st_blocks), holes excluded
	Rdev   uint64 // device number for character/block devices (unix.Mkdev)
	Atime  time.Time
	Mtime  time.Time
	Ctime  time.Time
	Crtime time.Time // creation (birth) time
}

// IsDir reports whether the inode is a directory.
func (a Attr) IsDir() bool { return a.Mode&sIFMT == sIFDIR }

// IsRegular reports whether the inode is a regular file.
func (a Attr) IsRegular() bool { return a.Mode&sIFMT == sIFREG }

// SetAttrMask says which fields of a SetAttrIn apply.
type SetAttrMask uint32

const (
	SetMode SetAttrMask = 1 << iota // permission bits (type bits are ignored)
	SetUID
	SetGID
	SetSize // truncate or extend (holes)
	SetAtime
	SetMtime
	SetCtime // otherwise ctime becomes now whenever anything changes
)

// SetAttrIn carries new attribute values for SetAttr.
type SetAttrIn struct {
	Valid SetAttrMask
	Mode  uint32
	UID   uint32
	GID   uint32
	Size  uint64
	Atime time.Time
	Mtime time.Time
	Ctime time.Time
}

// DirEntry is one entry of a directory (without "." and "..").
type DirEntry struct {
	Name string
	Ino  uint64
	Mode uint32 // file type bits only (S_IFMT part)
}

// Extent is a range of a file that holds data (not a hole).
type Extent struct {
	Off int64
	Len int64
}

// Statfs is what statfs(2) reports for a view.
type Statfs struct {
	Bsize   uint32 // BlockSize
	Blocks  uint64 // volume size in blocks
	Bfree   uint64
	Bavail  uint64
	Files   uint64 // inode limit
	Ffree   uint64
	NameLen uint32 // MaxNameLen
}

// MaxNameLen is the longest directory entry name; MaxSymlinkLen the longest
// symlink target; MaxXattrSize the largest extended attribute value.
const (
	MaxNameLen    = 255
	MaxSymlinkLen = 4095
	MaxXattrSize  = 64 << 10
)

// Rename flags (the Linux renameat2 values).
const (
	RenameNoReplace uint32 = 1
	RenameExchange  uint32 = 2
)

// Xattr flags (the Linux setxattr values).
const (
	XattrCreate  uint32 = 1
	XattrReplace uint32 = 2
)

// SnapshotInfo is the low-level record of one snapshot of a volume.
// Epoch orders snapshots: a snapshot sees every version born at or before it.
type SnapshotInfo struct {
	Name    string
	Epoch   uint64
	Created time.Time
}

// InodeChange is one inode that differs between two views of a volume
// (see Volume.Changes).
type InodeChange struct {
	Ino     uint64
	Created bool // absent (or another generation) in the older view
	Deleted bool // absent (or another generation) in the newer view
	Attr    bool // attributes differ (mode, owner, size, times, links, ...)
	Dirents bool // directory entries added/removed/retargeted (Created: has entries)
	Xattrs  bool // extended attributes differ (Created: has xattrs)
	// Data lists the byte ranges whose contents differ, merged and sorted
	// (block granularity); for Created, all data ranges of the new inode.
	Data []Extent
}

// Report is the result of Volume.Check.
type Report struct {
	Volume       string
	Inodes       uint64 // inodes reachable in the active file system
	Directories  uint64
	LiveBlocks   uint64 // data blocks referenced by the active file system
	StoredBlocks uint64 // data block versions stored (live + snapshots)
	Snapshots    int
	Problems     []string // empty = consistent
}

// OK reports whether no problem was found.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// ---- Store ----

// Open opens (creating if needed) the store in dir (one Badger database,
// normally DATA/db). A directory holding something other than a tapelab
// store, or a corrupt one, yields an error and is left unchanged.
func Open(dir string, opts Options) (*Store, error) { return openStore(dir, opts) }

// Close flushes and closes the store. Volumes and views become unusable.
func (s *Store) Close() error { return s.close() }

// CreateVolume creates an empty online volume with a root directory (0755,
// owned by root).
func (s *Store) CreateVolume(spec Spec) (*Volume, error) { return s.createVolume(spec) }

// Volume returns an existing volume (an error matching ErrNoVolume when absent).
func (s *Store) Volume(svm, name string) (*Volume, error) { return s.volume(svm, name) }

// Volumes lists all volumes, sorted by SVM then name.
func (s *Store) Volumes() []Info { return s.volumes() }

// DeleteVolume deletes an offline volume with all its data and snapshots
// (ErrVolumeNotOffline otherwise).
func (s *Store) DeleteVolume(svm, name string) error { return s.deleteVolume(svm, name) }

// GC reclaims storage engine space freed by deletes (L0 compaction, flatten,
// value-log GC). Run it after deleting snapshots. It blocks all I/O while it runs.
func (s *Store) GC() error { return s.gc() }

// DiskUsage returns the bytes the store's files occupy on disk.
func (s *Store) DiskUsage() (int64, error) { return s.diskUsage() }

// ParsePath splits an NDMP path "/SVM/VOL[/sub/path]" into its parts; rel
// is "" or a cleaned relative path without a leading slash.
func ParsePath(p string) (svm, vol, rel string, err error) { return parsePath(p) }

// ---- Volume ----

// Name returns the volume name; SVM its storage VM.
func (v *Volume) Name() string { return v.name }

// SVM returns the volume's storage VM name.
func (v *Volume) SVM() string { return v.svm }

// Info returns the volume's properties and space/inode accounting.
func (v *Volume) Info() Info { return v.info() }

// SetState changes the administrative state. Taking a volume offline or
// restricted makes existing views fail with ErrVolumeOffline/ErrVolumeRestricted.
func (v *Volume) SetState(st State) error { return v.setState(st) }

// Modify changes size, inode limit or type.
func (v *Volume) Modify(m Modify) error { return v.modify(m) }

// Active returns the active file system: read-write for RW volumes,
// read-only (EROFS) for DP volumes. Fails unless the volume is online.
func (v *Volume) Active() (*View, error) { return v.active(false) }

// RestoreTarget returns a writable view of the active file system for
// restore engines: allowed while online or restricted, for RW and DP volumes.
func (v *Volume) RestoreTarget() (*View, error) { return v.active(true) }

// Sync makes everything committed so far durable (fsync of the store).
func (v *Volume) Sync() error { return v.store.sync() }

// Check verifies inode, directory, link-count, block-reference and
// accounting consistency of the volume. Problems are listed in the report;
// the error is for failures to read the store.
func (v *Volume) Check() (Report, error) { return v.check() }

// The following are the low-level snapshot mechanics used by package
// snapshot, which adds the naming rules, the 255 limit, locks and messages.
// Call them through package snapshot.

// CreateSnapshot records a snapshot of the active file system (O(1): one
// synced transaction). The name must be unique in the volume.
func (v *Volume) CreateSnapshot(name string) (SnapshotInfo, error) { return v.createSnapshot(name) }

// DeleteSnapshot removes a snapshot and frees the block and metadata
// versions only it referenced (cost proportional to them). It returns the
// data bytes freed. Run Store.GC afterwards to shrink the files on disk.
func (v *Volume) DeleteSnapshot(name string) (int64, error) { return v.deleteSnapshot(name) }

// Snapshots lists the volume's snapshots, oldest first.
func (v *Volume) Snapshots() []SnapshotInfo { return v.snapshots() }

// SnapshotView returns a read-only view of a snapshot.
func (v *Volume) SnapshotView(name string) (*View, error) { return v.snapshotView(name) }

// SnapshotUnique returns the data bytes that only this snapshot references
// (what deleting it would free).
func (v *Volume) SnapshotUnique(name string) (int64, error) { return v.snapshotUnique(name) }

// Changes lists the inodes that differ between two views of this volume,
// from (older snapshot) to to (newer snapshot or the active file system).
// The cost is proportional to what changed, not to the volume size.
func (v *Volume) Changes(from, to *View) ([]InodeChange, error) { return v.changes(from, to) }

// ---- View ----

// Root returns the root directory's inode number (RootIno).
func (w *View) Root() uint64 { return RootIno }

// ReadOnly reports whether writes fail with EROFS (snapshots; the active
// file system of a DP volume, following type changes).
func (w *View) ReadOnly() bool { return w.isReadOnly() }

// Snapshot returns the snapshot name, or "" for the active file system.
func (w *View) Snapshot() string { return w.snap }

// Volume returns the volume the view belongs to.
func (w *View) Volume() *Volume { return w.vol }

// Lookup finds name in directory parent.
func (w *View) Lookup(parent uint64, name string) (Attr, error) { return w.lookup(parent, name) }

// GetAttr returns an inode's attributes.
func (w *View) GetAttr(ino uint64) (Attr, error) { return w.getAttr(ino) }

// SetAttr changes the fields selected by in.Valid and returns the new attributes.
func (w *View) SetAttr(ino uint64, in SetAttrIn) (Attr, error) { return w.setAttr(ino, in) }

// Resolve walks a relative path ("" or "." = root; symlinks are not followed).
func (w *View) Resolve(path string) (Attr, error) { return w.resolve(path) }

// Parent returns the parent directory of directory ino (the root is its own parent).
func (w *View) Parent(dir uint64) (uint64, error) { return w.parent(dir) }

// Mknod creates a regular file, FIFO, socket, or character/block device
// (mode holds the type and permission bits; rdev is used for devices).
func (w *View) Mknod(parent uint64, name string, mode uint32, rdev uint64, o Owner) (Attr, error) {
	return w.mknod(parent, name, mode, rdev, "", o)
}

// Create creates an empty regular file with permission bits perm.
func (w *View) Create(parent uint64, name string, perm uint32, o Owner) (Attr, error) {
	return w.mknod(parent, name, sIFREG|perm&07777, 0, "", o)
}

// Mkdir creates a directory.
func (w *View) Mkdir(parent uint64, name string, perm uint32, o Owner) (Attr, error) {
	return w.mknod(parent, name, sIFDIR|perm&07777, 0, "", o)
}

// Symlink creates a symbolic link to target.
func (w *View) Symlink(parent uint64, name, target string, o Owner) (Attr, error) {
	return w.mknod(parent, name, sIFLNK|0777, 0, target, o)
}

// Readlink returns a symlink's target.
func (w *View) Readlink(ino uint64) (string, error) { return w.readlink(ino) }

// Link adds a hard link newParent/newName to ino (not for directories).
func (w *View) Link(ino, newParent uint64, newName string) (Attr, error) {
	return w.link(ino, newParent, newName)
}

// Unlink removes a non-directory entry; the inode and its data are freed
// when its last link goes (there is no open-file tracking: callers keeping
// unlinked files open must hold their own reference).
func (w *View) Unlink(parent uint64, name string) error { return w.remove(parent, name, false) }

// Rmdir removes an empty directory.
func (w *View) Rmdir(parent uint64, name string) error { return w.remove(parent, name, true) }

// Rename moves oldParent/oldName to newParent/newName, replacing an existing
// target (as rename(2)), or with RenameNoReplace / RenameExchange.
func (w *View) Rename(oldParent uint64, oldName string, newParent uint64, newName string, flags uint32) error {
	return w.rename(oldParent, oldName, newParent, newName, flags)
}

// ReadDir calls fn for each entry of directory ino whose name sorts after
// `after` ("" = from the start), in byte order of names, until fn returns
// false. The last name seen is a stable cookie for resuming.
func (w *View) ReadDir(ino uint64, after string, fn func(DirEntry) bool) error {
	return w.readDir(ino, after, fn)
}

// Read reads into buf from offset off; n < len(buf) only at end of file.
// Holes read as zeros.
func (w *View) Read(ino uint64, off int64, buf []byte) (int, error) { return w.read(ino, off, buf) }

// Write writes data at offset off, extending the file as needed. It fails
// with ENOSPC (and writes nothing) when the volume lacks space.
func (w *View) Write(ino uint64, off int64, data []byte) (int, error) {
	return w.write(ino, off, data)
}

// PunchHole turns [off, off+length) of a regular file into a hole: it
// reads as zeros and whole blocks are freed; the size does not change
// (fallocate PUNCH_HOLE|KEEP_SIZE). Writing zeros has the same effect on
// whole blocks: the store never keeps all-zero blocks.
func (w *View) PunchHole(ino uint64, off, length int64) error {
	return w.punchHole(ino, off, length)
}

// Extents returns the data (non-hole) ranges of a regular file, merged and sorted.
func (w *View) Extents(ino uint64) ([]Extent, error) { return w.extents(ino) }

// Fsync makes the file's committed changes durable.
func (w *View) Fsync(ino uint64) error { return w.vol.store.sync() }

// Statfs reports space and inode usage of the volume.
func (w *View) Statfs() (Statfs, error) { return w.statfs() }

// GetXattr returns an extended attribute's value (ENODATA when absent).
// Names are opaque to the store (user.*, trusted.*, security.*, system.*).
func (w *View) GetXattr(ino uint64, name string) ([]byte, error) { return w.getXattr(ino, name) }

// SetXattr sets an extended attribute; flags XattrCreate (EEXIST if present)
// or XattrReplace (ENODATA if absent).
func (w *View) SetXattr(ino uint64, name string, value []byte, flags uint32) error {
	return w.setXattr(ino, name, value, flags)
}

// ListXattr returns the names of an inode's extended attributes, sorted.
func (w *View) ListXattr(ino uint64) ([]string, error) { return w.listXattr(ino) }

// RemoveXattr removes an extended attribute (ENODATA when absent).
func (w *View) RemoveXattr(ino uint64, name string) error { return w.removeXattr(ino, name) }

// Inodes calls fn with the attributes of every inode of the view in
// increasing inode-number order, starting at from, until fn returns false.
func (w *View) Inodes(from uint64, fn func(Attr) bool) error { return w.inodes(from, fn) }
