package volume

import (
	"errors"
	"syscall"
)

// Sentinel errors callers act on. Each also matches the errno a POSIX
// caller (the FUSE layer) should return, via errors.Is.
var (
	// ErrVolumeOffline: the volume is offline; matches syscall.EIO.
	ErrVolumeOffline = &stateError{"volume is offline", syscall.EIO}
	// ErrVolumeRestricted: the volume is restricted (restore only); matches syscall.EIO.
	ErrVolumeRestricted = &stateError{"volume is restricted", syscall.EIO}
	// ErrReadOnly: a write to a snapshot or a DP volume; matches syscall.EROFS.
	ErrReadOnly = &stateError{"read-only file system (snapshot or DP volume)", syscall.EROFS}
	// ErrNoVolume: no such volume; matches syscall.ENOENT.
	ErrNoVolume = &stateError{"volume does not exist", syscall.ENOENT}
	// ErrVolumeExists: the volume name is taken; matches syscall.EEXIST.
	ErrVolumeExists = &stateError{"volume already exists", syscall.EEXIST}
	// ErrVolumeNotOffline: deleting a volume that is not offline; matches syscall.EBUSY.
	ErrVolumeNotOffline = &stateError{"volume must be offline before it is deleted", syscall.EBUSY}
	// ErrNoSnapshot: no such snapshot (or a view of a deleted one); matches syscall.ENOENT.
	ErrNoSnapshot = &stateError{"snapshot does not exist", syscall.ENOENT}
	// ErrSnapshotExists: snapshot name taken; matches syscall.EEXIST.
	ErrSnapshotExists = &stateError{"snapshot already exists", syscall.EEXIST}
	// ErrNotStore: the directory holds something other than a tapelab store.
	ErrNotStore = errors.New("not a tapelab volume store")
	// ErrClosed: the store was closed.
	ErrClosed = &stateError{"volume store is closed", syscall.EIO}
	// ErrInvalid: a bad name, size, path or argument; matches syscall.EINVAL.
	ErrInvalid = &stateError{"invalid argument", syscall.EINVAL}
)

type stateError struct {
	msg   string
	errno syscall.Errno
}

func (e *stateError) Error() string { return e.msg }

// Is makes the sentinel match its errno too.
func (e *stateError) Is(target error) bool {
	if t, ok := target.(syscall.Errno); ok {
		return t == e.errno
	}
	return false
}

// errNotImplemented marks API parts still being written.
var errNotImplemented = &stateError{"volume: not implemented yet", syscall.ENOSYS}
