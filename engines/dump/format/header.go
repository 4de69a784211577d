package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Sizes and magic numbers of the 4.4BSD "new" dump format.
const (
	TPBSize    = 1024  // every record is exactly this long
	TPNIndir   = 512   // c_addr entries per header
	NFSMagic   = 60012 // c_magic of the new format
	OFSMagic   = 60011 // c_magic of the ancient (4.2BSD) format; rejected
	UFS2Magic  = 0x19540119
	Checksum   = 84446 // sum of all header words
	DirBlkSize = 512   // directory chunk size (DIRBLKSIZ)
	MaxXattr   = 4096  // Linux restore's XATTR_MAXSIZE per EA record
	RootIno    = 2     // the root directory's inode number
	maxName    = 255
	hdrWords   = TPBSize / 4
)

// Record types (c_type).
const (
	TSTape  = 1
	TSInode = 2
	TSBits  = 3
	TSAddr  = 4
	TSEnd   = 5
	TSClri  = 6
)

// Header flags (c_flags).
const (
	DRNewHeader     = 0x0001
	DRNewInodeFmt   = 0x0002
	DRInodeInfo     = 0x0002
	DRCompressed    = 0x0080
	DRMetaOnly      = 0x0100
	DRExtAttributes = 0x8000
)

// c_extattributes values (with DRExtAttributes).
const (
	ExtRegular = 0
	ExtXattr   = 3
)

// File type bits of di_mode.
const (
	IFMT   = 0o170000
	IFIFO  = 0o010000
	IFCHR  = 0o020000
	IFDIR  = 0o040000
	IFBLK  = 0o060000
	IFREG  = 0o100000
	IFLNK  = 0o120000
	IFSOCK = 0o140000
	IFSHAD = 0o130000 // Solaris ACL shadow inode
)

// Sentinel errors; wrapped with context by the reader.
var (
	ErrBadMagic    = errors.New("dump: not a dump image (bad magic number)")
	ErrBadChecksum = errors.New("dump: header checksum error")
	ErrTruncated   = errors.New("dump: image truncated")
	ErrNotVolume1  = errors.New("dump: first volume missing (image does not start with volume 1)")
	ErrFormat      = errors.New("dump: malformed image")
	ErrCompressed  = errors.New("dump: compressed dump images are not supported")
)

// Timeval is a dump timestamp: 32-bit seconds and microseconds.
type Timeval struct {
	Sec  uint32
	Usec uint32
}

// Time converts a Timeval to time.Time (UTC).
func (t Timeval) Time() time.Time {
	return time.Unix(int64(t.Sec), int64(t.Usec)*1000).UTC()
}

// TimevalOf converts a time to a Timeval, dropping nanoseconds below a
// microsecond (the format cannot carry them).
func TimevalOf(t time.Time) Timeval {
	if t.IsZero() {
		return Timeval{}
	}
	return Timeval{Sec: uint32(t.Unix()), Usec: uint32(t.Nanosecond() / 1000)}
}

// Dinode is the inode part of a header (struct new_bsd_inode).
type Dinode struct {
	Mode   uint16
	Nlink  uint16
	Size   uint64
	Atime  Timeval
	Mtime  Timeval
	Ctime  Timeval
	Rdev   uint32 // di_db[0]; Linux dev_t encoding, see MakeRdev
	Flags  uint32 // ext2 inode flags
	Blocks uint32
	Gen    uint32
	UID    uint32
	GID    uint32
}

// Header is one decoded 1024-byte header record (union u_spcl).
type Header struct {
	Type     int32
	Date     uint32 // c_date: time of this dump
	DDate    uint32 // c_ddate: time of the base dump (0 for level 0)
	Volume   int32
	Tapea    uint32 // index of this record from the start of the dump
	Inumber  uint32
	Inode    Dinode
	Count    int32
	Addr     [TPNIndir]byte
	Label    string
	Level    int32
	Filesys  string
	Dev      string
	Host     string
	Flags    int32
	Firstrec int32
	Ntrec    int32
	ExtAttr  int32
}

// MakeRdev encodes a device number the way Linux dump stores di_rdev.
func MakeRdev(major, minor uint32) uint32 {
	return (minor & 0xff) | (major&0xfff)<<8 | (minor&^0xff)<<12
}

// SplitRdev decodes MakeRdev.
func SplitRdev(rdev uint32) (major, minor uint32) {
	return (rdev >> 8) & 0xfff, (rdev & 0xff) | (rdev>>12)&^0xff
}

func putString(b []byte, s string) {
	n := copy(b[:len(b)-1], s)
	for i := n; i < len(b); i++ {
		b[i] = 0
	}
}

func getString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Marshal encodes h into rec (TPBSize bytes) in byte order bo, computing the
// checksum. oldFormat writes the Solaris/ONTAP inode layout (32-bit ids at
// 148/152, 0xFFFF in the 16-bit fields when they do not fit).
func (h *Header) Marshal(rec []byte, bo binary.ByteOrder, oldFormat bool) {
	_ = rec[TPBSize-1]
	clear(rec[:TPBSize])
	bo.PutUint32(rec[0:], uint32(h.Type))
	bo.PutUint32(rec[4:], h.Date)
	bo.PutUint32(rec[8:], h.DDate)
	bo.PutUint32(rec[12:], uint32(h.Volume))
	bo.PutUint32(rec[16:], h.Tapea)
	bo.PutUint32(rec[20:], h.Inumber)
	bo.PutUint32(rec[24:], NFSMagic)
	in := &h.Inode
	bo.PutUint16(rec[32:], in.Mode)
	bo.PutUint16(rec[34:], in.Nlink)
	ouid, ogid := uint16(in.UID), uint16(in.GID)
	if oldFormat {
		if in.UID > 0xfffe {
			ouid = 0xffff
		}
		if in.GID > 0xfffe {
			ogid = 0xffff
		}
	}
	bo.PutUint16(rec[36:], ouid)
	bo.PutUint16(rec[38:], ogid)
	bo.PutUint64(rec[40:], in.Size)
	bo.PutUint32(rec[48:], in.Atime.Sec)
	bo.PutUint32(rec[52:], in.Atime.Usec)
	bo.PutUint32(rec[56:], in.Mtime.Sec)
	bo.PutUint32(rec[60:], in.Mtime.Usec)
	bo.PutUint32(rec[64:], in.Ctime.Sec)
	bo.PutUint32(rec[68:], in.Ctime.Usec)
	bo.PutUint32(rec[72:], in.Rdev)
	bo.PutUint32(rec[132:], in.Flags)
	bo.PutUint32(rec[136:], in.Blocks)
	bo.PutUint32(rec[140:], in.Gen)
	if oldFormat {
		bo.PutUint32(rec[148:], in.UID)
		bo.PutUint32(rec[152:], in.GID)
	} else {
		bo.PutUint32(rec[144:], in.UID)
		bo.PutUint32(rec[148:], in.GID)
	}
	bo.PutUint32(rec[160:], uint32(h.Count))
	copy(rec[164:676], h.Addr[:])
	putString(rec[676:692], h.Label)
	bo.PutUint32(rec[692:], uint32(h.Level))
	putString(rec[696:760], h.Filesys)
	putString(rec[760:824], h.Dev)
	putString(rec[824:888], h.Host)
	bo.PutUint32(rec[888:], uint32(h.Flags))
	bo.PutUint32(rec[892:], uint32(h.Firstrec))
	bo.PutUint32(rec[896:], uint32(h.Ntrec))
	bo.PutUint32(rec[900:], uint32(h.ExtAttr))
	var sum uint32
	for i := 0; i < TPBSize; i += 4 {
		sum += bo.Uint32(rec[i:])
	}
	bo.PutUint32(rec[28:], Checksum-sum)
}

// DetectOrder returns the byte order of a header record from its magic
// number, or an error wrapping ErrBadMagic.
func DetectOrder(rec []byte) (binary.ByteOrder, error) {
	if len(rec) < TPBSize {
		return nil, ErrTruncated
	}
	switch {
	case binary.LittleEndian.Uint32(rec[24:]) == NFSMagic, binary.LittleEndian.Uint32(rec[24:]) == UFS2Magic:
		return binary.LittleEndian, nil
	case binary.BigEndian.Uint32(rec[24:]) == NFSMagic, binary.BigEndian.Uint32(rec[24:]) == UFS2Magic:
		return binary.BigEndian, nil
	}
	return nil, ErrBadMagic
}

// Unmarshal decodes a header in byte order bo and verifies magic and
// checksum. oldFormat selects the old inode layout (no DR_NEWINODEFMT on the
// volume): 16-bit ids, or the Solaris 32-bit ids at 148/152 when the 16-bit
// fields hold 0xFFFF.
func (h *Header) Unmarshal(rec []byte, bo binary.ByteOrder, oldFormat bool) error {
	if len(rec) < TPBSize {
		return ErrTruncated
	}
	magic := bo.Uint32(rec[24:])
	if magic != NFSMagic && magic != UFS2Magic {
		return ErrBadMagic
	}
	var sum uint32
	for i := 0; i < TPBSize; i += 4 {
		sum += bo.Uint32(rec[i:])
	}
	if sum != Checksum {
		return ErrBadChecksum
	}
	*h = Header{}
	h.Type = int32(bo.Uint32(rec[0:]))
	h.Date = bo.Uint32(rec[4:])
	h.DDate = bo.Uint32(rec[8:])
	h.Volume = int32(bo.Uint32(rec[12:]))
	h.Tapea = bo.Uint32(rec[16:])
	h.Inumber = bo.Uint32(rec[20:])
	in := &h.Inode
	in.Mode = bo.Uint16(rec[32:])
	in.Nlink = bo.Uint16(rec[34:])
	in.Size = bo.Uint64(rec[40:])
	in.Atime = Timeval{bo.Uint32(rec[48:]), bo.Uint32(rec[52:])}
	in.Mtime = Timeval{bo.Uint32(rec[56:]), bo.Uint32(rec[60:])}
	in.Ctime = Timeval{bo.Uint32(rec[64:]), bo.Uint32(rec[68:])}
	in.Rdev = bo.Uint32(rec[72:])
	in.Flags = bo.Uint32(rec[132:])
	in.Blocks = bo.Uint32(rec[136:])
	in.Gen = bo.Uint32(rec[140:])
	h.Flags = int32(bo.Uint32(rec[888:]))
	if magic == UFS2Magic {
		// FreeBSD UFS2: seconds fields are the same, usec are nsec at 52/60.
		in.Atime.Usec /= 1000
		in.Mtime.Usec /= 1000
		in.Ctime = Timeval{}
		in.UID = bo.Uint32(rec[144:])
		in.GID = bo.Uint32(rec[148:])
		in.Flags = bo.Uint32(rec[132:])
		h.Date = uint32(bo.Uint64(rec[896:]))
		h.DDate = uint32(bo.Uint64(rec[904:]))
		h.Tapea = uint32(bo.Uint64(rec[912:]))
	} else if oldFormat {
		ouid, ogid := uint32(bo.Uint16(rec[36:])), uint32(bo.Uint16(rec[38:]))
		in.UID, in.GID = ouid, ogid
		if ouid == 0xffff {
			in.UID = bo.Uint32(rec[148:])
		}
		if ogid == 0xffff {
			in.GID = bo.Uint32(rec[152:])
		}
	} else {
		in.UID = bo.Uint32(rec[144:])
		in.GID = bo.Uint32(rec[148:])
	}
	h.Count = int32(bo.Uint32(rec[160:]))
	copy(h.Addr[:], rec[164:676])
	h.Label = getString(rec[676:692])
	h.Level = int32(bo.Uint32(rec[692:]))
	h.Filesys = getString(rec[696:760])
	h.Dev = getString(rec[760:824])
	h.Host = getString(rec[824:888])
	h.Firstrec = int32(bo.Uint32(rec[892:]))
	if magic != UFS2Magic {
		h.Ntrec = int32(bo.Uint32(rec[896:]))
		h.ExtAttr = int32(bo.Uint32(rec[900:]))
	}
	switch h.Type {
	case TSTape, TSInode, TSBits, TSAddr, TSEnd, TSClri:
	default:
		return fmt.Errorf("%w: unknown record type %d", ErrFormat, h.Type)
	}
	if h.Count < 0 || (h.Count > TPNIndir && h.Type != TSBits && h.Type != TSClri) {
		return fmt.Errorf("%w: c_count %d out of range", ErrFormat, h.Count)
	}
	return nil
}

// IsXattr reports whether an inode header carries an EXT_XATTR area
// rather than file data.
func (h *Header) IsXattr() bool {
	return h.Type == TSInode && h.Flags&DRExtAttributes != 0
}
