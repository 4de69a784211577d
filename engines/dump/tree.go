package dump

import (
	"io/fs"
	"time"

	"tapelab/engines/dump/format"
)

// Attr are the attributes of one inode as the engine sees them (a volume
// inode, or a file of a local directory tree).
type Attr struct {
	Ino   uint64
	Mode  uint32 // type bits (S_IFMT) | permission bits
	UID   uint32
	GID   uint32
	Nlink uint32
	Size  uint64
	// Blocks is the allocated space in 512-byte units.
	Blocks uint64
	Rdev   uint64 // unix.Mkdev encoding
	Atime  time.Time
	Mtime  time.Time
	Ctime  time.Time
}

// IsDir reports a directory.
func (a Attr) IsDir() bool { return a.Mode&format.IFMT == format.IFDIR }

// DirEntry is one directory entry (no "." or "..").
type DirEntry struct {
	Name string
	Ino  uint64
	Mode uint32 // type bits
}

// Source is what a backup reads: a snapshot view of a volume (see
// VolumeSource) or, in tests and benchmarks, a local directory tree
// (package localfs). Inode numbers must be stable across snapshots of the
// same volume so that incremental dumps and restores can follow renames.
type Source interface {
	GetAttr(ino uint64) (Attr, error)
	// ReadDir lists a directory in a stable order, without "." and "..".
	ReadDir(ino uint64, fn func(DirEntry) bool) error
	ReadAt(ino uint64, p []byte, off int64) (int, error)
	// Extents lists the data ranges of a regular file (nil = no holes known).
	Extents(ino uint64) ([]format.Extent, error)
	Readlink(ino uint64) (string, error)
	Xattrs(ino uint64) ([]format.Xattr, error)
	// Resolve walks a slash-separated relative path from the root
	// ("" = the root) without following symlinks.
	Resolve(path string) (Attr, error)
}

// FileWriter receives a restored file's data.
type FileWriter interface {
	WriteAt(p []byte, off int64) (int, error)
	Truncate(size int64) error
	Close() error
}

// Target is what a restore writes, addressed by slash-separated paths
// relative to the restore root ("" = the root itself). Errors for missing
// entries match fs.ErrNotExist.
type Target interface {
	Lstat(path string) (Attr, error)
	Mkdir(path string, perm uint32) error
	// Create creates or truncates a regular file.
	Create(path string, perm uint32) (FileWriter, error)
	Symlink(target, path string) error
	Mknod(path string, mode uint32, rdev uint64) error
	Link(oldpath, newpath string) error
	// Remove removes a file or an empty directory; RemoveAll a subtree.
	Remove(path string) error
	RemoveAll(path string) error
	Rename(oldpath, newpath string) error
	// SetAttr sets permission bits, owner and times (not following symlinks
	// for owner and times; permissions are not applied to symlinks).
	SetAttr(path string, a Attr) error
	SetXattr(path, name string, value []byte) error
	// Free reports the free bytes and inodes of the destination.
	Free() (bytes, inodes uint64, err error)
}

var errNotExist = fs.ErrNotExist
