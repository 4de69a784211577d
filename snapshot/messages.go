package snapshot

// Messages named by the ONTAP seeds (dump engine event messages), verbatim.
const (
	MsgCreateFailed = "Failed to create snapshot"
	MsgFindFailed   = "Failed to find snapshot"
	MsgLockFailed   = "Failed to lock snapshot"
	MsgDeleteFailed = "Failed to delete snapshot"
)

// Causes appended after the message (seed "Cause" texts where they exist).
const (
	causeLimit = "The volume already contains the maximum number of snapshots."
)
