package volume

import (
	"encoding/binary"
	"errors"
	"time"
)

// inode is the stored form of an inode (one version).
type inode struct {
	Mode   uint32
	UID    uint32
	GID    uint32
	Nlink  uint32
	Size   uint64
	Blocks uint64 // allocated 4 KiB data blocks in this version's view
	Rdev   uint64
	Atime  int64 // ns since the Unix epoch
	Mtime  int64
	Ctime  int64
	Crtime int64
	Gen    uint64
	Parent uint64 // directories: the parent directory
	Target string // symlinks: the target
}

const inodeFixed = 1 + 4*4 + 8*3 + 8*4 + 8*2 // version byte + fields

const inodeRecVersion = 1

var errBadRecord = errors.New("volume: malformed stored record")

func (n *inode) encode() []byte {
	b := make([]byte, 0, inodeFixed+len(n.Target))
	b = append(b, inodeRecVersion)
	for _, x := range []uint32{n.Mode, n.UID, n.GID, n.Nlink} {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	for _, x := range []uint64{n.Size, n.Blocks, n.Rdev, uint64(n.Atime), uint64(n.Mtime),
		uint64(n.Ctime), uint64(n.Crtime), n.Gen, n.Parent} {
		b = binary.BigEndian.AppendUint64(b, x)
	}
	return append(b, n.Target...)
}

func decodeInode(b []byte) (inode, error) {
	var n inode
	if len(b) < inodeFixed || b[0] != inodeRecVersion {
		return n, errBadRecord
	}
	p := b[1:]
	u32 := func() uint32 { x := binary.BigEndian.Uint32(p); p = p[4:]; return x }
	u64 := func() uint64 { x := binary.BigEndian.Uint64(p); p = p[8:]; return x }
	n.Mode, n.UID, n.GID, n.Nlink = u32(), u32(), u32(), u32()
	n.Size, n.Blocks, n.Rdev = u64(), u64(), u64()
	n.Atime, n.Mtime, n.Ctime, n.Crtime = int64(u64()), int64(u64()), int64(u64()), int64(u64())
	n.Gen, n.Parent = u64(), u64()
	n.Target = string(p)
	if n.Mode&sIFMT == 0 {
		return n, errBadRecord
	}
	return n, nil
}

func (n *inode) attr(ino uint64) Attr {
	return Attr{
		Ino: ino, Gen: n.Gen, Mode: n.Mode, UID: n.UID, GID: n.GID, Nlink: n.Nlink,
		Size: n.Size, Blocks: n.Blocks * (BlockSize / 512), Rdev: n.Rdev,
		Atime: time.Unix(0, n.Atime), Mtime: time.Unix(0, n.Mtime),
		Ctime: time.Unix(0, n.Ctime), Crtime: time.Unix(0, n.Crtime),
	}
}

// dirent value: child ino u64 | file type u32.
func encodeDirent(ino uint64, mode uint32) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 12), ino)
	return binary.BigEndian.AppendUint32(b, mode&sIFMT)
}

func decodeDirent(b []byte) (uint64, uint32, error) {
	if len(b) != 12 {
		return 0, 0, errBadRecord
	}
	return binary.BigEndian.Uint64(b), binary.BigEndian.Uint32(b[8:]), nil
}

// counters is a volume's mutable superblock, rewritten by every mutating txn.
type counters struct {
	Epoch   uint64 // current (live) epoch; snapshots have smaller epochs
	NextIno uint64 // next never-used inode number
	Inodes  uint64 // inodes in the active file system
	Live    uint64 // data blocks referenced by the active file system
	Total   uint64 // data block versions stored (live + snapshot-only)
}

func (c counters) encode() []byte {
	b := make([]byte, 0, 40)
	for _, x := range []uint64{c.Epoch, c.NextIno, c.Inodes, c.Live, c.Total} {
		b = binary.BigEndian.AppendUint64(b, x)
	}
	return b
}

func decodeCounters(b []byte) (counters, error) {
	if len(b) != 40 {
		return counters{}, errBadRecord
	}
	g := func(i int) uint64 { return binary.BigEndian.Uint64(b[8*i:]) }
	return counters{g(0), g(1), g(2), g(3), g(4)}, nil
}
