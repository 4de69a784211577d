// Package fs mounts tapelab volumes through FUSE (go-fuse v2). It is the
// only package that knows FUSE exists: everything it serves comes from
// package volume's View API (the active file system, or one snapshot).
//
// # What is mounted
//
//	MOUNTPOINT/                 the volume's active file system (read-write; read-only for DP volumes)
//	MOUNTPOINT/.snapshot/NAME/  each snapshot of the volume, read-only (EROFS), frozen content
//
// Mount refuses offline and restricted volumes. Snapshots created or
// deleted after the mount appear and disappear: .snapshot is listed from
// the volume at every readdir/lookup. .snapshot is reachable by name but not
// listed in the root (unless Options.ShowSnapshotDir), so find, du, tar and
// rsync of the mount do not walk every snapshot; the name is reserved in the
// root (creating it gives EEXIST, removing it EROFS).
//
// # Node model
//
// One go-fuse node type serves live and snapshot inodes (node: a view, the
// snapshot entry or nil, the volume inode number); a synthetic snapDir
// serves .snapshot. Nodes are discovered by Lookup (nothing is persistent
// in go-fuse's tree), so memory follows what the kernel caches. Data and
// metadata calls map one to one onto View methods; each FUSE request is one
// volume call (one Badger transaction), with 1 MiB writes (MaxWrite).
//
// # Inode numbers
//
// st_ino = slot<<56 | volume inode, with slot 0 for the active file system
// and 1..255 for snapshots (ONTAP's 255-snapshot limit fits in a byte), so
// a file and its snapshot copies never collide on the same st_dev while
// each keeps its volume inode number in the low bits (hard links stay hard
// links: same st_ino, same node). StableAttr.Gen is the volume's inode
// generation (bumped on inode number reuse), mixed with the snapshot epoch
// for snapshot nodes. The volume does not give snapshots a small id, so
// slots are assigned per mount in the order snapshots are first seen and
// recycled after a snapshot is deleted; the epoch in Gen keeps go-fuse from
// confusing a recycled slot's old nodes with new ones. .snapshot itself is
// inode 2^56-1 of the active range.
//
// # Caching and timeouts
//
//   - Active file system: attribute, entry and negative-entry timeouts of 1s
//     (Options). The mount is the volume's only client writer, but restore
//     engines may write a mounted volume directly, so the cache must expire.
//     Files open with FOPEN_KEEP_CACHE: every client write passes through
//     the kernel, so the page cache stays valid across opens.
//   - Snapshots: immutable, so 1h timeouts and FOPEN_KEEP_CACHE; only the
//     .snapshot/NAME entry itself uses the live timeout so that a deleted
//     snapshot disappears within a second.
//   - Writeback cache (CAP_WRITEBACK_CACHE): the kernel coalesces small
//     writes into 1 MiB WRITEs and owns size/mtime while pages are dirty;
//     Setattr accepts explicit mtime/ctime from it. Read-only mounts don't
//     negotiate it.
//   - CAP_HANDLE_KILLPRIV_V2 removes a GETXATTR(security.capability) round
//     trip per write(2) (4 KiB writes went from ~200 to ~850 MB/s in the
//     measurements behind this design). The price: clearing suid/sgid on
//     write, truncate, open(O_TRUNC) and chown is ours. go-fuse's node API
//     hides the kill flags, so killprivFS (a RawFileSystem wrapper) turns
//     them into a SETATTR with FATTR_KILL_SUIDGID that node.Setattr honours.
//   - CAP_POSIX_ACL (EnableAcl): the kernel enforces ACLs from the
//     system.posix_acl_* xattrs and leaves the rest to us: the mode follows
//     setfacl, chmod rewrites the ACL, new inodes inherit the parent's
//     default ACL (acl.go; the ACL xattr format is documented there). The
//     kernel still applies the umask before we see the mode, which POSIX
//     says a default ACL should override; this is the one known deviation.
//   - default_permissions + allow_other: the kernel checks mode bits and
//     ACLs for every caller; the server never does permission checks.
//   - Readahead: the kernel gives every FUSE mount a 128 KiB readahead
//     window (the INIT reply can only lower it), so sequential reads came as
//     128 KiB READs, each a volume read transaction. Mount raises the
//     mount's bdi read_ahead_kb to 1 MiB (SetReadahead): READs are 1 MiB
//     and sequential reads went from ~0.6x to ~1x of go-fuse's loopback.
//   - Kernel passthrough and splice are disabled: nothing here is backed
//     by a kernel file, and a 1 MiB reply plus header does not fit go-fuse's
//     1 MiB splice pipe (it logged a failure per READ before falling back).
//   - No lseek(SEEK_DATA/SEEK_HOLE): with the writeback cache the kernel may
//     hold dirty pages the volume's extent map cannot know, and reporting
//     them as holes would make cp skip data. The kernel's fallback (all
//     data) is correct; du and st_blocks still show sparse files as small.
//
// # Unlinked open files
//
// The volume frees an inode with its last link and has no notion of open
// files. When the last link of an open file is removed (unlink, or a rename
// over it), the file is renamed into the hidden root directory
// .tapelab-unlinked instead and unlinked for real on the last close; the
// next mount removes leftovers of a crashed one. fstat through the open
// descriptor reports nlink 0 meanwhile.
//
// # Stale mounts
//
// A server killed with SIGKILL leaves its mount point answering ENOTCONN
// ("transport endpoint is not connected"). Mount (PrepareMountpoint)
// detects that and detaches it with fusermount3 -uz before mounting again;
// a live mount at the same place is refused (ErrMounted).
package fs
