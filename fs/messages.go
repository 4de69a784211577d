package fs

import "errors"

// Sentinel errors Mount returns; callers (the node, the CLI) act on them.
var (
	// ErrMounted: another live file system is mounted at the mount point.
	ErrMounted = errors.New("mount point is already in use by a live mount")
	// ErrNotDir: the mount point exists and is not a directory.
	ErrNotDir = errors.New("mount point is not a directory")
	// ErrNotOnline: the volume is offline or restricted; clients cannot mount it.
	ErrNotOnline = errors.New("volume is not online")
)
