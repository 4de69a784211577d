package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"tapelab/volume"
)

// newOwner returns the owner and permission bits of an inode the caller
// creates in directory n: the caller's uid, the caller's gid unless the
// directory is set-group-ID (then the directory's gid, and new directories
// inherit the bit), as Linux file systems do.
func (n *node) newOwner(ctx context.Context, mode uint32) (volume.Owner, uint32, error) {
	var o volume.Owner
	if c, has := fuse.FromContext(ctx); has {
		o = volume.Owner{UID: c.Uid, GID: c.Gid}
	}
	perm := mode & 0o7777
	dir, err := n.view.GetAttr(n.ino)
	if err != nil {
		return o, perm, err
	}
	if dir.Mode&syscall.S_ISGID != 0 {
		o.GID = dir.GID
		if mode&syscall.S_IFMT == syscall.S_IFDIR {
			perm |= syscall.S_ISGID
		}
	}
	return o, perm, nil
}

// inheritACL gives a new inode the access ACL (and, for a directory, the
// default ACL) derived from n's default ACL, and fixes its mode to match.
// Symlinks carry no ACLs.
func (n *node) inheritACL(a volume.Attr) (volume.Attr, error) {
	if a.Mode&syscall.S_IFMT == syscall.S_IFLNK {
		return a, nil
	}
	v, err := n.view.GetXattr(n.ino, xattrACLDefault)
	if err != nil {
		if errno(err) == syscall.ENODATA {
			return a, nil
		}
		return a, err
	}
	def, err := parseACL(v)
	if err != nil || len(def) == 0 {
		return a, nil
	}
	acc, mode := def.inherit(a.Mode)
	if a.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		if err := n.view.SetXattr(a.Ino, xattrACLDefault, v, 0); err != nil {
			return a, err
		}
	}
	if !acc.minimal() {
		if err := n.view.SetXattr(a.Ino, xattrACLAccess, acc.encode(), 0); err != nil {
			return a, err
		}
	}
	if mode != a.Mode {
		return n.view.SetAttr(a.Ino, volume.SetAttrIn{Valid: volume.SetMode, Mode: mode & 0o7777})
	}
	return a, nil
}

// create is the common part of Create, Mkdir, Mknod and Symlink.
func (n *node) create(ctx context.Context, name string, mode uint32, make func(volume.Owner, uint32) (volume.Attr, error)) (volume.Attr, syscall.Errno) {
	if n.readOnly() {
		return volume.Attr{}, syscall.EROFS
	}
	if e, _, is := n.reserved(name); is {
		return volume.Attr{}, e
	}
	o, perm, err := n.newOwner(ctx, mode)
	if err != nil {
		return volume.Attr{}, errno(err)
	}
	a, err := make(o, perm)
	if err != nil {
		return volume.Attr{}, errno(err)
	}
	if a, err = n.inheritACL(a); err != nil {
		return a, errno(err)
	}
	return a, errOK
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	a, e := n.create(ctx, name, mode, func(o volume.Owner, perm uint32) (volume.Attr, error) {
		return n.view.Create(n.ino, name, perm, o)
	})
	if e == syscall.EEXIST && flags&syscall.O_EXCL == 0 {
		// Someone created the name since the kernel's negative lookup:
		// open(2) without O_EXCL opens the existing file.
		var err error
		if a, err = n.view.Lookup(n.ino, name); err != nil {
			return nil, nil, 0, errno(err)
		}
		if a.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			return nil, nil, 0, syscall.EISDIR
		}
		if flags&syscall.O_TRUNC != 0 {
			if a, err = n.view.SetAttr(a.Ino, volume.SetAttrIn{Valid: volume.SetSize}); err != nil {
				return nil, nil, 0, errno(err)
			}
		}
		e = 0
	}
	if e != 0 {
		return nil, nil, 0, e
	}
	ch := n.newChild(ctx, a, out)
	cn := ch.Operations().(*node)
	fh, fl, e := cn.Open(ctx, flags&^(syscall.O_TRUNC|syscall.O_CREAT|syscall.O_EXCL))
	return ch, fh, fl, e
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	a, e := n.create(ctx, name, mode|syscall.S_IFDIR, func(o volume.Owner, perm uint32) (volume.Attr, error) {
		return n.view.Mkdir(n.ino, name, perm, o)
	})
	if e != 0 {
		return nil, e
	}
	return n.newChild(ctx, a, out), errOK
}

func (n *node) Mknod(ctx context.Context, name string, mode uint32, rdev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	a, e := n.create(ctx, name, mode, func(o volume.Owner, perm uint32) (volume.Attr, error) {
		return n.view.Mknod(n.ino, name, mode&syscall.S_IFMT|perm, decodeDev(rdev), o)
	})
	if e != 0 {
		return nil, e
	}
	return n.newChild(ctx, a, out), errOK
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	a, e := n.create(ctx, name, syscall.S_IFLNK|0o777, func(o volume.Owner, _ uint32) (volume.Attr, error) {
		return n.view.Symlink(n.ino, name, target, o)
	})
	if e != 0 {
		return nil, e
	}
	return n.newChild(ctx, a, out), errOK
}

func (n *node) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if n.readOnly() {
		return nil, syscall.EROFS
	}
	if e, _, is := n.reserved(name); is {
		return nil, e
	}
	t, isNode := target.(*node)
	if !isNode || t.view != n.view {
		return nil, syscall.EXDEV
	}
	a, err := n.view.Link(t.ino, n.ino, name)
	if err != nil {
		return nil, errno(err)
	}
	return n.newChild(ctx, a, out), errOK
}

// openChild returns the node of name in n if the kernel knows it and it is
// open, so removing its last link must orphan it instead.
func (n *node) openChild(name string) *node {
	ch := n.GetChild(name)
	if ch == nil {
		return nil
	}
	cn, isNode := ch.Operations().(*node)
	if !isNode {
		return nil
	}
	cn.mu.Lock()
	open := cn.opens > 0
	cn.mu.Unlock()
	if !open {
		return nil
	}
	return cn
}

// orphanIfLast moves name (node cn, open) to the orphan directory when it
// is cn's last link; it reports whether it did.
func (n *node) orphanIfLast(name string, cn *node) (bool, syscall.Errno) {
	a, err := n.view.Lookup(n.ino, name)
	if err != nil {
		return false, errno(err)
	}
	if a.Ino != cn.ino || a.Nlink != 1 || a.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return false, errOK
	}
	hidden, err := n.m.orphans.adopt(n.ino, name, a.Ino)
	if err != nil {
		return false, errno(err)
	}
	cn.mu.Lock()
	cn.orphan = hidden
	cn.mu.Unlock()
	return true, errOK
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	if n.readOnly() {
		return syscall.EROFS
	}
	if _, e, is := n.reserved(name); is {
		return e
	}
	if cn := n.openChild(name); cn != nil {
		done, e := n.orphanIfLast(name, cn)
		if e != 0 || done {
			return e
		}
	}
	return errno(n.view.Unlink(n.ino, name))
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	if n.readOnly() {
		return syscall.EROFS
	}
	if _, e, is := n.reserved(name); is {
		return e
	}
	return errno(n.view.Rmdir(n.ino, name))
}

func (n *node) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if n.readOnly() {
		return syscall.EROFS
	}
	np, isNode := newParent.(*node)
	if !isNode {
		if _, isSnap := newParent.(*snapDir); isSnap {
			return syscall.EROFS
		}
		return syscall.EXDEV
	}
	if np.view != n.view {
		return syscall.EXDEV
	}
	if flags&^(volume.RenameNoReplace|volume.RenameExchange) != 0 {
		return syscall.EINVAL // RENAME_WHITEOUT
	}
	if _, e, is := n.reserved(name); is {
		return e
	}
	if e, _, is := np.reserved(newName); is {
		return e
	}
	if flags == 0 {
		// The replaced target loses a link; keep it alive if it is open.
		// (A directory source cannot replace a file: leave that error to
		// the volume rather than parking the target first.)
		src, err := n.view.Lookup(n.ino, name)
		if err != nil {
			return errno(err)
		}
		if cn := np.openChild(newName); cn != nil && src.Mode&syscall.S_IFMT != syscall.S_IFDIR && src.Ino != cn.ino {
			if _, e := np.orphanIfLast(newName, cn); e != 0 {
				return e
			}
		}
	}
	return errno(n.view.Rename(n.ino, name, np.ino, newName, flags))
}

func (n *node) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	parent, err := n.view.Parent(n.ino)
	if err != nil {
		return nil, errno(err)
	}
	var parentIno uint64
	switch {
	case n.snap != nil && n.ino == n.view.Root():
		parentIno = snapshotDirIno
	case n.snap != nil:
		parentIno = n.snap.slot<<inoBits | parent
	default:
		parentIno = parent
	}
	list := []fuse.DirEntry{
		{Name: ".", Ino: n.fuseIno(), Mode: syscall.S_IFDIR},
		{Name: "..", Ino: parentIno, Mode: syscall.S_IFDIR},
	}
	liveRoot := n.isLiveRoot()
	if liveRoot && n.m.opts.ShowSnapshotDir {
		list = append(list, fuse.DirEntry{Name: snapshotDirName, Ino: snapshotDirIno, Mode: syscall.S_IFDIR})
	}
	err = n.view.ReadDir(n.ino, "", func(e volume.DirEntry) bool {
		if liveRoot && (e.Name == snapshotDirName || e.Name == orphanDirName) {
			return true
		}
		ino := e.Ino
		if n.snap != nil {
			ino |= n.snap.slot << inoBits
		}
		list = append(list, fuse.DirEntry{Name: e.Name, Ino: ino, Mode: e.Mode & syscall.S_IFMT})
		return true
	})
	if err != nil {
		return nil, errno(err)
	}
	return gofs.NewListDirStream(list), errOK
}
