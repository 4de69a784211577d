// Package dump is the "dump" backup engine: it writes BSD dump images
// (4.4BSD new format, as Linux dump 0.4b47 writes them; see package
// format for the byte layout) from volume snapshots, and restores such
// images (ours or Linux dump's) into volumes. It implements
// engines.Engine for the NDMP DATA service and never opens sockets or
// tape drives: a backup writes BackupRequest.Stream, a recover reads
// RecoverRequest.Stream (and calls Seek for direct access recovery).
//
// Backup (seed 001/002): FILESYSTEM=/SVM/VOL[/.snapshot/NAME][/subtree].
// Without a snapshot name an automatic snapshot_for_backup.N is created,
// locked for the duration and deleted afterwards; a named snapshot is
// locked and kept. Phases: I (inode map: the inode table for a whole
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
// dump history (DATA/dumpdates: "path level unix-time snapshot" lines,
// replaced per path and level when UPDATE=Y). BASE_DATE/DUMP_DATE tokens
// (level<<32 | time) are the alternative. An incremental takes the
// snapshot difference when the base dump's snapshot still exists (named
// snapshots), else the inodes whose ctime (mtime with IGNORE_CTIME) is not
// older than the base date, as BSD dump does; ancestor directories of
// everything dumped are dumped too, with full contents, so restores can
// follow renames and deletions.
//
// Restore (seed 002): phase I reads the maps and every directory, phase
// II creates directories and, for the next level of a chain, removes what
// the new image's inode map no longer lists and moves renamed entries
// (through a holding directory .dumprestore.tmp), phase III writes the
// files. The chain state (the directory tree of the last image restored
// to a destination, like Linux restore's restoresymtable) is kept in
// DATA/restore/<destination>.json. Existing files are overwritten,
// directories are not. EXTRACT=Y/E restores named subtrees (E: under
// another name), LIST lists, NOWRITE reads without writing, FORCE skips
// the free-inode check. DIRECT=Y with FhInfo positions seeks to each
// file's header and reads only its records; a directory needs
// ENHANCED_DAR_ENABLED=Y (else "No files were created").
//
// The backup event log (seed 001 format "type timestamp identifier event
// (event_info)") is DATA/backup, rotated weekly to backup.0 .. backup.5;
// EventLog.SetEnabled is the backup.log.enable switch.
//
// Layers: WriteImage (phases I-V over a Source) and ReadImage (phases
// I-III into a Target) are the pure halves; VolumeSource/VolumeTarget
// adapt volume views to them, and package localfs adapts a host
// directory, which is how the tests compare the engine with Linux dump and
// restore on the same trees (internal/gentree builds the trees,
// internal/manifest compares them, internal/linuxdump runs the reference
// tools). Without a data directory the history and the chain state are
// kept in memory.
package dump
