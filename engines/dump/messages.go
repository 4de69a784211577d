package dump

import "errors"

// Messages named by the ONTAP seeds, verbatim.
const (
	MsgLockSnapshot     = "Unable to lock a snapshot needed by dump"
	MsgReadOnlyDest     = "Destination volume is read-only"
	MsgRecordTooSmall   = "Tape record size is too small. Try a larger size."
	MsgRecordSizeFmt    = "Tape record size should be %d and not %d"
	MsgMediaErrorRead   = "Media error on tape read"
	MsgAtEndOfTape      = "Already at the end of tape"
	MsgTruncationFmt    = "Truncation failed for src inode %d. Error %d. Skipping inode."
	MsgNoFilesCreated   = "No files were created"
	MsgRestoreFailedFmt = "Restore of the file %s failed"
	MsgSessionLimitFmt  = "Maximum number of allowed dumps or restores (%d) in progress"
	MsgInvalidPath      = "Invalid volume path"
	MsgTapeReadError    = "Tape read error"
)

// Sentinel errors callers act on; their texts are the seed messages where
// one exists.
var (
	ErrLockSnapshot = errors.New(MsgLockSnapshot)
	ErrReadOnlyDest = errors.New(MsgReadOnlyDest)
	ErrNoFiles      = errors.New(MsgNoFilesCreated)
	ErrAtEndOfTape  = errors.New(MsgAtEndOfTape)
	ErrMediaRead    = errors.New(MsgMediaErrorRead)
	ErrInvalidPath  = errors.New(MsgInvalidPath)
	ErrBadEnv       = errors.New("invalid environment variable")
	ErrSessionLimit = errors.New("Maximum number of allowed dumps or restores in progress")
	ErrNoBase       = errors.New("no base dump for this incremental level")
	ErrNoSpace      = errors.New("not enough space or inodes on the destination volume")
)
