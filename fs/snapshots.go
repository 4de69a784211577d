package fs

import (
	"context"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"tapelab/volume"
)

// inoBits is the width of a volume inode number inside a FUSE inode number;
// the top 8 bits carry the snapshot slot (0 = active file system).
const inoBits = 56

// snapshotDirIno is the inode number of the synthetic .snapshot directory:
// the last number of the active file system's range, which a volume never
// reaches (2^56 inodes).
const snapshotDirIno = 1<<inoBits - 1

// snapEntry is one snapshot visible under .snapshot.
type snapEntry struct {
	name    string
	epoch   uint64
	created time.Time
	slot    uint64 // 1..255, the top byte of its FUSE inode numbers
	view    *volume.View
}

// snapRegistry maps the volume's snapshots (identified by epoch, which is
// never reused) to slots 1..255 for inode numbering. volume.SnapshotInfo
// has no small stable id, so slots are handed out by this mount on first
// sight and recycled once a snapshot is gone; nodes of a recycled slot are
// told apart by StableAttr.Gen = epoch.
type snapRegistry struct {
	vol *volume.Volume

	mu      sync.Mutex
	byEpoch map[uint64]*snapEntry
	used    [256]bool
}

func newSnapRegistry(vol *volume.Volume) *snapRegistry {
	return &snapRegistry{vol: vol, byEpoch: map[uint64]*snapEntry{}}
}

// list returns the current snapshots, oldest first, refreshing slots.
func (r *snapRegistry) list() []*snapEntry {
	infos := r.vol.Snapshots()
	r.mu.Lock()
	defer r.mu.Unlock()
	live := make(map[uint64]bool, len(infos))
	for _, si := range infos {
		live[si.Epoch] = true
	}
	for ep, e := range r.byEpoch {
		if !live[ep] {
			r.used[e.slot] = false
			delete(r.byEpoch, ep)
		}
	}
	out := make([]*snapEntry, 0, len(infos))
	for _, si := range infos {
		e := r.byEpoch[si.Epoch]
		if e == nil {
			slot := uint64(0)
			for s := uint64(1); s < 256; s++ {
				if !r.used[s] {
					slot = s
					break
				}
			}
			if slot == 0 {
				continue // more than 255 snapshots: cannot number them
			}
			r.used[slot] = true
			e = &snapEntry{name: si.Name, epoch: si.Epoch, created: si.Created, slot: slot}
			r.byEpoch[si.Epoch] = e
		}
		out = append(out, e)
	}
	return out
}

// find returns the snapshot called name with its view.
func (r *snapRegistry) find(name string) (*snapEntry, syscall.Errno) {
	for _, e := range r.list() {
		if e.name != name {
			continue
		}
		r.mu.Lock()
		has := e.view != nil
		r.mu.Unlock()
		if !has {
			v, err := r.vol.SnapshotView(name)
			if err != nil {
				return nil, errno(err)
			}
			r.mu.Lock()
			if e.view == nil {
				e.view = v
			}
			r.mu.Unlock()
		}
		return e, 0
	}
	return nil, syscall.ENOENT
}

// snapDir is the synthetic, read-only .snapshot directory: one
// subdirectory per snapshot, listed live from the volume so snapshots
// created or deleted after mount appear and disappear.
type snapDir struct {
	gofs.Inode
	m *MountPoint
}

var (
	_ gofs.NodeLookuper      = (*snapDir)(nil)
	_ gofs.NodeGetattrer     = (*snapDir)(nil)
	_ gofs.NodeReaddirer     = (*snapDir)(nil)
	_ gofs.NodeStatfser      = (*snapDir)(nil)
	_ gofs.NodeMkdirer       = (*snapDir)(nil)
	_ gofs.NodeCreater       = (*snapDir)(nil)
	_ gofs.NodeUnlinker      = (*snapDir)(nil)
	_ gofs.NodeRmdirer       = (*snapDir)(nil)
	_ gofs.NodeRenamer       = (*snapDir)(nil)
	_ gofs.NodeSetattrer     = (*snapDir)(nil)
	_ gofs.NodeSymlinker     = (*snapDir)(nil)
	_ gofs.NodeMknoder       = (*snapDir)(nil)
	_ gofs.NodeLinker        = (*snapDir)(nil)
	_ gofs.NodeSetxattrer    = (*snapDir)(nil)
	_ gofs.NodeRemovexattrer = (*snapDir)(nil)
)

func (d *snapDir) stable() gofs.StableAttr {
	return gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: snapshotDirIno, Gen: 1}
}

func (d *snapDir) fill(out *fuse.Attr, n int) {
	out.Ino = snapshotDirIno
	out.Mode = syscall.S_IFDIR | 0o555
	out.Nlink = uint32(2 + n)
	out.Blksize = volume.BlockSize
	t := d.m.vol.Info().Created
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	out.SetTimes(&t, &t, &t)
}

func (d *snapDir) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.fill(&out.Attr, len(d.m.snaps.list()))
	out.SetTimeout(d.m.opts.EntryTimeout)
	return errOK
}

func (d *snapDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	e, en := d.m.snaps.find(name)
	if en != 0 {
		// Cached negatively for the live NegativeTimeout only, so a
		// snapshot created a moment later shows up promptly.
		return nil, en
	}
	a, err := e.view.GetAttr(e.view.Root())
	if err != nil {
		return nil, errno(err)
	}
	ch := &node{m: d.m, view: e.view, snap: e, ino: a.Ino}
	fillAttr(&out.Attr, a, ch.fuseIno())
	// The name can vanish (snapshot delete): revalidate it like live names.
	out.SetEntryTimeout(d.m.opts.EntryTimeout)
	out.SetAttrTimeout(d.m.opts.SnapshotTimeout)
	return d.NewInode(ctx, ch, ch.stable(a)), errOK
}

func (d *snapDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	snaps := d.m.snaps.list()
	list := make([]fuse.DirEntry, 0, len(snaps)+2)
	list = append(list,
		fuse.DirEntry{Name: ".", Ino: snapshotDirIno, Mode: syscall.S_IFDIR},
		fuse.DirEntry{Name: "..", Ino: d.m.view.Root(), Mode: syscall.S_IFDIR})
	for _, e := range snaps {
		list = append(list, fuse.DirEntry{Name: e.name, Ino: e.slot<<inoBits | d.m.view.Root(), Mode: syscall.S_IFDIR})
	}
	return gofs.NewListDirStream(list), errOK
}

func (d *snapDir) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return d.m.root.Statfs(ctx, out)
}

// Every mutation of .snapshot itself is refused: snapshots are made and
// deleted through the snapshot package (CLI, NDMP), not by mkdir/rmdir.
func (d *snapDir) Mkdir(context.Context, string, uint32, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (d *snapDir) Create(context.Context, string, uint32, uint32, *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EROFS
}
func (d *snapDir) Unlink(context.Context, string) syscall.Errno { return syscall.EROFS }
func (d *snapDir) Rmdir(context.Context, string) syscall.Errno  { return syscall.EROFS }
func (d *snapDir) Rename(context.Context, string, gofs.InodeEmbedder, string, uint32) syscall.Errno {
	return syscall.EROFS
}
func (d *snapDir) Setattr(context.Context, gofs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}
func (d *snapDir) Symlink(context.Context, string, string, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (d *snapDir) Mknod(context.Context, string, uint32, uint32, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (d *snapDir) Link(context.Context, gofs.InodeEmbedder, string, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (d *snapDir) Setxattr(context.Context, string, []byte, uint32) syscall.Errno {
	return syscall.EROFS
}
func (d *snapDir) Removexattr(context.Context, string) syscall.Errno { return syscall.EROFS }
