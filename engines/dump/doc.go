// Package dump is the "dump" backup engine: it writes BSD dump images
// (4.4BSD new format, as Linux dump 0.4b47 writes them; see package
// format for the byte layout) from volume snapshots, and restores such
// images (ours or Linux dump's) into volumes. It implements
// engines.Engine for the NDMP DATA service and never opens sockets or
// tape drives: a backup writes BackupRequest.Stream, a recover reads
// RecoverRequest.Stream (and calls Seek for direct access recovery).
//
// Backup (seed 001/002): FILESYSTEM=/SVM/VOL[/.snapshot/NAME][/subtree].
// Without a snapshot name an automatic snapshot_for_backup.N is created
// and locked for the duration; a named snapshot is locked and kept.
// Phases: I (inode map: the inode table for a whole
// volume, directory traversal for subtrees or with EXCLUDE), II (maps
// written), III (directories, with FH_ADD_DIR/ADD_NODE history), IIIa
// (ACLs: carried per inode as EXT_XATTR records, which Linux restore
// understands), IIIb (offset map: with HIST=Y every node's FhInfo is the
// byte offset of its header), IV (files in inode order), V (no-op).
// Inode numbers in the image are the volume's (the root is 2; a subtree
// root is swapped with 2), so images of successive levels name the same
// files the same way, as restore -r requires.
//
// Levels 0-31 follow seed 001's increment chains: a level-N dump is based
// on the most recent dump of the same path at a lower level, found in the
// dump history (DATA/dumpdates: "path level unix-time snapshot epoch
// flags" lines, replaced per path and level when UPDATE=Y). BASE_DATE/
// DUMP_DATE tokens (level<<32 | time) are the alternative.
//
// Incrementals use the snapshot difference (volume.Changes, which costs
// what changed) between the base dump's snapshot and the one dumped, while
// the base snapshot exists: the history records each dump's snapshot by
// name, epoch and creation second, so a snapshot deleted and made again
// under the same name, or a history copied from elsewhere, does not match.
// Selected: every inode created, or whose data, entries, extended
// attributes or attributes changed, except for the access time alone (and
// with IGNORE_CTIME the change time alone: "the file and its attributes
// have not changed", the seed's definition). When the base snapshot is
// gone (deleted by a user, released, an unknown BASE_DATE token, an old
// history) the dump falls back to BSD dump's rule, the inodes whose ctime
// (mtime with IGNORE_CTIME) is not older than the base date, and says so
// in the event log (an Options event "incremental by inode change times:
// <why>"; the diff path logs "incremental from snapshot diff: A..B, N
// inodes changed"). Phase I is the same on both paths: the directory walk
// gives the in-use map (TS_CLRI) and every inode's place, the selection
// marks the changed inodes, and every directory holding a name of one
// (each name of a hard-linked file, as BSD dump's mapdirs) or on the path
// to one is dumped with all its current entries, so restore -r reproduces
// deletions, renames and links. Files carry no parent pointer in the
// volume, so the walk stays; the diff replaces the per-inode time test
// and sees changes the times do not show (data rewritten by a tool that
// sets mtime and ctime back, for instance).
//
// Base snapshots (the policy): ONTAP deletes snapshot_for_backup.N after
// the backup. Here the automatic snapshot of a successful LEVEL/UPDATE=Y
// dump below level 31 is kept, unlocked and marked "kept" in the history,
// as long as a later incremental can be based on it, and deleted as soon
// as none can: when a later dump of the path at the same or a lower level
// is recorded (the chain rule makes it, or a newer one, every later
// dump's base). A path therefore keeps one snapshot per level still on its
// chain (0,1,1,1: two; 0,2,3,1,4: three). At most WithBaseSnapshots
// (default 32) are kept per volume, the oldest released first; at the
// 255-snapshot limit any snapshot creation (a backup's or a user's) first
// releases the oldest unlocked kept base (snapshot.AddReclaimer; a
// running dump's base is locked), logged as an Options event; a kept base
// deleted by a user only costs the diff.
// BASE_DATE dumps record their snapshot under their DUMP_DATE token
// ("token:" + path records, apart from the LEVEL/UPDATE history, which
// they leave alone) by the same rule, so the incremental given that token
// diffs against it. Dumps with LEVEL and UPDATE=N, failed dumps and level
// 31 delete their snapshot as ONTAP does; WithBaseSnapshots(0) keeps none.
// Deletions that fail (a running dump holds the snapshot as its base) stay
// in the history ("-" lines) and are retried after each backup of the
// volume.
//
// Restore (seed 002): phase I reads the maps and every directory, phase
// II creates directories and, for the next level of a chain, turns the
// last image's tree into the new one by directory entry (parent inode,
// name), as BSD restore's symbol table does: names of files that are gone
// or on the new image are removed, moved directories and the last names of
// kept files go through a holding directory (.dumprestore.tmp), removed
// directories go deepest first, and new names of kept files are linked
// (restore.go, reconcile); phase III writes the files. The chain state
// (the directory tree of the last image restored to a destination, like
// Linux restore's restoresymtable) is kept in
// DATA/restore/<destination>.json. Existing files are overwritten,
// directories are not. A full restore into a volume queues its files'
// changes and applies them in batches (volbatch.go, volume.Batch); every
// restore returns with its data durable (Volume.Sync; syncfs for a local
// tree). EXTRACT=Y/E restores named subtrees (E: under
// another name), LIST lists, NOWRITE reads without writing, FORCE skips
// the free-inode check. DIRECT=Y with FhInfo positions seeks to each
// file's header and reads only its records; a directory needs
// ENHANCED_DAR_ENABLED=Y (else "No files were created") and is read from
// the start (the directories) up to its last file in inode order, in
// bounded windows, not to the end of the image (the image holds no
// offset map of phase IV, so the files in between are read and skipped).
//
// The backup event log (seed 001 format "type timestamp identifier event
// (event_info)"; Tape_open and Tape_close name the tape device, as the
// DATA service passes it in BackupRequest.Device) is DATA/backup, rotated weekly to backup.0 .. backup.5;
// EventLog.SetEnabled is the backup.log.enable switch.
//
// Layers: WriteImage (phases I-V over a Source) and ReadImage (phases
// I-III into a Target) are the pure halves; VolumeSource/VolumeTarget
// adapt volume views to them, and package localfs adapts a host
// directory, which is how the tests compare the engine with Linux dump and
// restore on the same trees (internal/gentree builds the trees,
// internal/manifest compares them, internal/linuxdump runs the reference
// tools). Without a data directory the history and the chain state are
// kept in memory, and no base snapshots are kept (the history that would
// delete them would not outlive the process).
package dump
