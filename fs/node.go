package fs

import (
	"context"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"tapelab/volume"
)

// node is one inode of the active file system (snap == nil) or of one
// snapshot. go-fuse keeps one node per StableAttr, so all hard links of an
// inode share a node (and its open count).
type node struct {
	gofs.Inode
	m    *MountPoint
	view *volume.View
	snap *snapEntry // nil: the active file system
	ino  uint64     // volume inode number

	mu     sync.Mutex
	opens  int    // open file handles
	orphan string // name in the orphan directory while unlinked but open
}

// handle is the file handle of an open regular file. The data path lives
// on the node; the handle exists so go-fuse calls Release (it skips it for
// handle-less opens), which drives the orphan bookkeeping.
type handle struct{ n *node }

var (
	_ gofs.NodeLookuper      = (*node)(nil)
	_ gofs.NodeGetattrer     = (*node)(nil)
	_ gofs.NodeSetattrer     = (*node)(nil)
	_ gofs.NodeOpener        = (*node)(nil)
	_ gofs.NodeReader        = (*node)(nil)
	_ gofs.NodeWriter        = (*node)(nil)
	_ gofs.NodeFsyncer       = (*node)(nil)
	_ gofs.NodeFlusher       = (*node)(nil)
	_ gofs.NodeReleaser      = (*node)(nil)
	_ gofs.NodeAllocater     = (*node)(nil)
	_ gofs.NodeCreater       = (*node)(nil)
	_ gofs.NodeMkdirer       = (*node)(nil)
	_ gofs.NodeMknoder       = (*node)(nil)
	_ gofs.NodeSymlinker     = (*node)(nil)
	_ gofs.NodeLinker        = (*node)(nil)
	_ gofs.NodeReadlinker    = (*node)(nil)
	_ gofs.NodeUnlinker      = (*node)(nil)
	_ gofs.NodeRmdirer       = (*node)(nil)
	_ gofs.NodeRenamer       = (*node)(nil)
	_ gofs.NodeReaddirer     = (*node)(nil)
	_ gofs.NodeStatfser      = (*node)(nil)
	_ gofs.NodeGetxattrer    = (*node)(nil)
	_ gofs.NodeSetxattrer    = (*node)(nil)
	_ gofs.NodeListxattrer   = (*node)(nil)
	_ gofs.NodeRemovexattrer = (*node)(nil)
)

// readOnly reports whether mutations must fail with EROFS.
func (n *node) readOnly() bool { return n.snap != nil || n.view.ReadOnly() }

// fuseIno is the st_ino the kernel sees: snapshot slot in the top byte.
func (n *node) fuseIno() uint64 {
	if n.snap == nil {
		return n.ino
	}
	return n.snap.slot<<inoBits | n.ino
}

func (n *node) stable(a volume.Attr) gofs.StableAttr {
	gen := a.Gen
	if n.snap != nil {
		gen = n.snap.epoch<<32 ^ a.Gen
	}
	return gofs.StableAttr{Mode: a.Mode & syscall.S_IFMT, Ino: n.fuseIno(), Gen: gen}
}

func (n *node) isLiveRoot() bool { return n.snap == nil && n.ino == n.view.Root() }

// attrTimeout is the kernel cache lifetime for this node's attributes.
func (n *node) attrTimeout() (entry, attr float64) {
	if n.snap != nil {
		t := n.m.opts.SnapshotTimeout.Seconds()
		return t, t
	}
	return n.m.opts.EntryTimeout.Seconds(), n.m.opts.AttrTimeout.Seconds()
}

func (n *node) setEntryTimeouts(out *fuse.EntryOut) {
	if n.snap != nil {
		out.SetEntryTimeout(n.m.opts.SnapshotTimeout)
		out.SetAttrTimeout(n.m.opts.SnapshotTimeout)
		return
	}
	out.SetEntryTimeout(n.m.opts.EntryTimeout)
	out.SetAttrTimeout(n.m.opts.AttrTimeout)
}

// newChild turns a volume inode found in (or created in) n into a go-fuse
// inode, returning the existing one for an inode already known.
func (n *node) newChild(ctx context.Context, a volume.Attr, out *fuse.EntryOut) *gofs.Inode {
	ch := &node{m: n.m, view: n.view, snap: n.snap, ino: a.Ino}
	fillAttr(&out.Attr, a, ch.fuseIno())
	n.setEntryTimeouts(out)
	return n.NewInode(ctx, ch, ch.stable(a))
}

// fillAttr converts volume attributes to the FUSE wire form.
func fillAttr(out *fuse.Attr, a volume.Attr, ino uint64) {
	out.Ino = ino
	out.Size = a.Size
	out.Blocks = a.Blocks
	out.Blksize = volume.BlockSize
	out.Mode = a.Mode
	out.Nlink = a.Nlink
	out.Uid = a.UID
	out.Gid = a.GID
	out.Rdev = encodeDev(a.Rdev)
	out.SetTimes(&a.Atime, &a.Mtime, &a.Ctime)
}

// encodeDev converts a unix.Mkdev device number to the kernel's 32-bit
// new_encode_dev form used on the FUSE wire; decodeDev is the inverse.
func encodeDev(dev uint64) uint32 {
	major, minor := unix.Major(dev), unix.Minor(dev)
	return minor&0xff | major&0xfff<<8 | (minor&^0xff)<<12
}

func decodeDev(d uint32) uint64 {
	major := (d & 0xfff00) >> 8
	minor := d&0xff | (d>>12)&0xfff00
	return unix.Mkdev(major, minor)
}

// reserved reports names of the live root the mount keeps for itself, and
// the errors creating and removing them yield.
func (n *node) reserved(name string) (create, remove syscall.Errno, is bool) {
	if !n.isLiveRoot() {
		return 0, 0, false
	}
	switch name {
	case snapshotDirName:
		return syscall.EEXIST, syscall.EROFS, true
	case orphanDirName:
		return syscall.EACCES, syscall.ENOENT, true
	}
	return 0, 0, false
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if n.isLiveRoot() {
		switch name {
		case snapshotDirName:
			d := &snapDir{m: n.m}
			d.fill(&out.Attr, len(n.m.snaps.list()))
			out.SetEntryTimeout(n.m.opts.EntryTimeout)
			out.SetAttrTimeout(n.m.opts.EntryTimeout)
			return n.NewInode(ctx, d, d.stable()), errOK
		case orphanDirName:
			return nil, syscall.ENOENT
		}
	}
	a, err := n.view.Lookup(n.ino, name)
	if err != nil {
		e := errno(err)
		if e == syscall.ENOENT && n.snap != nil {
			out.SetEntryTimeout(n.m.opts.SnapshotTimeout)
		}
		return nil, e
	}
	return n.newChild(ctx, a, out), errOK
}

func (n *node) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	a, err := n.view.GetAttr(n.ino)
	if err != nil {
		return errno(err)
	}
	fillAttr(&out.Attr, a, n.fuseIno())
	n.mu.Lock()
	if n.orphan != "" {
		out.Nlink = 0
	}
	n.mu.Unlock()
	_, at := n.attrTimeout()
	out.AttrValid, out.AttrValidNsec = splitSeconds(at)
	return errOK
}

func splitSeconds(s float64) (uint64, uint32) {
	sec := uint64(s)
	return sec, uint32((s - float64(sec)) * 1e9)
}

func (n *node) Setattr(ctx context.Context, f gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if n.readOnly() {
		return syscall.EROFS
	}
	cur, err := n.view.GetAttr(n.ino)
	if err != nil {
		return errno(err)
	}
	var sa volume.SetAttrIn
	mode, modeSet := in.GetMode()
	if modeSet {
		sa.Valid |= volume.SetMode
		sa.Mode = mode & 0o7777
	}
	uid, uidSet := in.GetUID()
	gid, gidSet := in.GetGID()
	if uidSet {
		sa.Valid |= volume.SetUID
		sa.UID = uid
	}
	if gidSet {
		sa.Valid |= volume.SetGID
		sa.GID = gid
	}
	// Clearing suid/sgid is ours to do (CAP_HANDLE_KILLPRIV_V2): on chown
	// of a non-directory (as Linux does, even for root), and when the
	// kernel asks on write/truncate/open(O_TRUNC) by an unprivileged caller.
	kill := uint32(0)
	if (uidSet || gidSet) && !modeSet && cur.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		kill = syscall.S_ISUID
		if cur.Mode&syscall.S_IXGRP != 0 {
			kill |= syscall.S_ISGID
		}
	}
	if in.Valid&fuse.FATTR_KILL_SUIDGID != 0 && cur.Mode&syscall.S_IFMT == syscall.S_IFREG {
		kill |= syscall.S_ISUID
		if cur.Mode&syscall.S_IXGRP != 0 {
			kill |= syscall.S_ISGID
		}
	}
	if in.Valid&fattrKillSGID != 0 {
		kill |= syscall.S_ISGID
	}
	if kill != 0 {
		base := cur.Mode & 0o7777
		if modeSet {
			base = sa.Mode
		}
		if base&kill != 0 {
			sa.Valid |= volume.SetMode
			sa.Mode = base &^ kill
		}
	}
	if sz, ok := in.GetSize(); ok {
		sa.Valid |= volume.SetSize
		sa.Size = sz
	}
	if t, ok := in.GetATime(); ok {
		sa.Valid |= volume.SetAtime
		sa.Atime = t
	}
	if t, ok := in.GetMTime(); ok {
		sa.Valid |= volume.SetMtime
		sa.Mtime = t
	}
	if t, ok := in.GetCTime(); ok {
		sa.Valid |= volume.SetCtime
		sa.Ctime = t
	}
	a := cur
	if sa.Valid != 0 {
		a, err = n.view.SetAttr(n.ino, sa)
		if err != nil {
			return errno(err)
		}
	}
	// chmod of a file with an extended ACL rewrites the ACL's owner, mask
	// and other entries (the kernel leaves this to us under CAP_POSIX_ACL).
	if modeSet && a.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		if v, err := n.view.GetXattr(n.ino, xattrACLAccess); err == nil {
			if acl, perr := parseACL(v); perr == nil && len(acl) > 0 {
				if err := n.view.SetXattr(n.ino, xattrACLAccess, acl.chmod(a.Mode).encode(), 0); err != nil {
					return errno(err)
				}
			}
		}
	}
	fillAttr(&out.Attr, a, n.fuseIno())
	_, at := n.attrTimeout()
	out.AttrValid, out.AttrValidNsec = splitSeconds(at)
	return errOK
}

func (n *node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if n.readOnly() && (flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0) {
		return nil, 0, syscall.EROFS
	}
	n.mu.Lock()
	n.opens++
	n.mu.Unlock()
	// This mount is the only writer of the active file system (through the
	// kernel, which sees every write), and snapshots never change: the page
	// cache can survive close/open.
	return &handle{n}, fuse.FOPEN_KEEP_CACHE, errOK
}

func (n *node) Release(ctx context.Context, f gofs.FileHandle) syscall.Errno {
	if _, isHandle := f.(*handle); !isHandle {
		return errOK
	}
	n.mu.Lock()
	n.opens--
	var hidden string
	if n.opens == 0 && n.orphan != "" {
		hidden, n.orphan = n.orphan, ""
	}
	n.mu.Unlock()
	if hidden != "" {
		return errno(n.m.orphans.release(hidden))
	}
	return errOK
}

func (n *node) Read(ctx context.Context, f gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	nr, err := n.view.Read(n.ino, off, dest)
	if err != nil {
		return nil, errno(err)
	}
	return fuse.ReadResultData(dest[:nr]), errOK
}

func (n *node) Write(ctx context.Context, f gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	if n.readOnly() {
		return 0, syscall.EROFS
	}
	nw, err := n.view.Write(n.ino, off, data)
	if err != nil {
		return uint32(nw), errno(err)
	}
	return uint32(nw), errOK
}

func (n *node) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno {
	if n.snap != nil {
		return errOK
	}
	return errno(n.view.Fsync(n.ino))
}

func (n *node) Flush(ctx context.Context, f gofs.FileHandle) syscall.Errno { return errOK }

// Allocate (fallocate) is not supported by the volume API; EOPNOTSUPP makes
// glibc's posix_fallocate fall back to writing.
func (n *node) Allocate(ctx context.Context, f gofs.FileHandle, off, size uint64, mode uint32) syscall.Errno {
	if n.readOnly() {
		return syscall.EROFS
	}
	return syscall.EOPNOTSUPP
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	t, err := n.view.Readlink(n.ino)
	if err != nil {
		return nil, errno(err)
	}
	return []byte(t), errOK
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	s, err := n.view.Statfs()
	if err != nil {
		return errno(err)
	}
	out.Blocks = s.Blocks
	out.Bfree = s.Bfree
	out.Bavail = s.Bavail
	out.Files = s.Files
	out.Ffree = s.Ffree
	out.Bsize = s.Bsize
	out.Frsize = s.Bsize
	out.NameLen = s.NameLen
	return errOK
}
