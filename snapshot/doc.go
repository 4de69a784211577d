// Package snapshot is the snapshot policy of tapelab volumes: naming rules,
// ONTAP's limit of 255 snapshots per volume, locks (holds) that keep a
// snapshot from being deleted while a backup reads it, the dump engine's
// automatic names (snapshot_for_backup.N), listings with the bytes each
// snapshot holds alone, and diffs between two snapshots or a snapshot and
// the active file system.
//
// The mechanics (epochs, dead lists, history index, views) live in package
// volume, which owns the key layout and the volume's writer lock; see its
// doc.go. This package stores nothing of its own on disk: locks and the
// snapshot_for_backup counter are in memory (per process, like ONTAP's
// counter that restarts at 0 after a reboot).
//
// Unlike ONTAP's dump, which deletes snapshot_for_backup.N after every
// backup, tapelab's dump engine keeps the ones that later incrementals
// can diff against (unlocked, deletable; at most 32 per volume by
// default): the policy and its bookkeeping are the engine's (engines/dump,
// doc.go "Base snapshots"). So that such snapshots never take a place
// someone needs, Create at the 255 limit first asks the registered
// Reclaimers (AddReclaimer; the engine's gives up its oldest unlocked
// base) and fails with ErrLimit only when none gives one up.
//
// Error texts start with the ONTAP dump-engine messages of the seeds,
// verbatim (messages.go): "Failed to create snapshot" (with the seed's cause
// "The volume already contains the maximum number of snapshots." for the
// 256th), "Failed to find snapshot", "Failed to lock snapshot", "Failed to
// delete snapshot" (naming the lock holders). Sentinels (ErrLimit, ErrExists,
// ErrBadName, ErrNotFound, ErrLocked) let callers act on the cause.
package snapshot
