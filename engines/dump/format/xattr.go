package format

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// Xattr is one extended attribute as the Linux xattr API names it
// ("user.x", "system.posix_acl_access", ...). ACL values are in the Linux
// xattr form (version 2, 8-byte entries).
type Xattr struct {
	Name  string
	Value []byte
}

const (
	xattrMagicBlock = 0xEA020000
	xattrMagicInode = 0xEA020001
	xattrHdrBlock   = 32
	xattrEntryFixed = 16

	ACLAccess  = "system.posix_acl_access"
	ACLDefault = "system.posix_acl_default"
)

// ErrXattrUnsupported marks an attribute the EXT_XATTR encoding cannot carry
// (unknown namespace, or a value too large for one 4 KiB record).
var ErrXattrUnsupported = fmt.Errorf("%w: extended attribute not representable", ErrFormat)

var xattrPrefixes = []struct {
	index  uint8
	prefix string
}{
	{1, "user."}, {4, "trusted."}, {5, "lustre."}, {6, "security."},
}

func xattrIndex(name string) (uint8, string, bool) {
	switch name {
	case ACLAccess:
		return 2, "", true
	case ACLDefault:
		return 3, "", true
	}
	for _, p := range xattrPrefixes {
		if strings.HasPrefix(name, p.prefix) && len(name) > len(p.prefix) {
			return p.index, name[len(p.prefix):], true
		}
	}
	return 0, "", false
}

// XattrSupported reports whether name can be stored in an EXT_XATTR record.
func XattrSupported(name string) bool { _, _, ok := xattrIndex(name); return ok }

type encodedXattr struct {
	index uint8
	name  string
	value []byte
}

func (e encodedXattr) entryLen() int { return (xattrEntryFixed + len(e.name) + 3) &^ 3 }
func (e encodedXattr) valueLen() int { return (len(e.value) + 3) &^ 3 }

// EncodeXattrs packs attributes into ext2 EA blocks (always little-endian,
// the ext2 on-disk format), each at most MaxXattr bytes so Linux restore can
// read it. Usually one blob results; more when the attributes do not fit in
// one. ACLs are converted to the ext2 on-disk ACL form. Attributes that
// cannot be represented are returned in skipped.
func EncodeXattrs(attrs []Xattr) (blobs [][]byte, skipped []string) {
	var list []encodedXattr
	for _, a := range attrs {
		idx, suffix, ok := xattrIndex(a.Name)
		if !ok || len(suffix) > 255 {
			skipped = append(skipped, a.Name)
			continue
		}
		v := a.Value
		if idx == 2 || idx == 3 {
			d, err := ACLXattrToDisk(a.Value)
			if err != nil {
				skipped = append(skipped, a.Name)
				continue
			}
			v = d
		}
		e := encodedXattr{idx, suffix, v}
		if xattrHdrBlock+e.entryLen()+4+e.valueLen() > MaxXattr {
			skipped = append(skipped, a.Name)
			continue
		}
		list = append(list, e)
	}
	// ext2 keeps entries sorted by (index, name length, name); do the same.
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.index != b.index {
			return a.index < b.index
		}
		if len(a.name) != len(b.name) {
			return len(a.name) < len(b.name)
		}
		return a.name < b.name
	})
	for len(list) > 0 {
		used := xattrHdrBlock + 4
		n := 0
		for n < len(list) && used+list[n].entryLen()+list[n].valueLen() <= MaxXattr {
			used += list[n].entryLen() + list[n].valueLen()
			n++
		}
		blobs = append(blobs, encodeBlob(list[:n]))
		list = list[n:]
	}
	return blobs, skipped
}

func encodeBlob(list []encodedXattr) []byte {
	entries := xattrHdrBlock + 4
	values := 0
	for _, e := range list {
		entries += e.entryLen()
		values += e.valueLen()
	}
	size := entries + values
	b := make([]byte, size)
	le := binary.LittleEndian
	le.PutUint32(b[0:], xattrMagicBlock)
	le.PutUint32(b[4:], 1) // refcount
	le.PutUint32(b[8:], 1) // blocks
	off, voff := xattrHdrBlock, entries
	for _, e := range list {
		b[off] = uint8(len(e.name))
		b[off+1] = e.index
		le.PutUint16(b[off+2:], uint16(voff))
		le.PutUint32(b[off+8:], uint32(len(e.value)))
		copy(b[off+16:], e.name)
		copy(b[voff:], e.value)
		off += e.entryLen()
		voff += e.valueLen()
	}
	return b
}

// DecodeXattrs parses one EA area (block or in-inode form) as Linux dump
// writes it. ACLs come back in the Linux xattr form.
func DecodeXattrs(blob []byte) ([]Xattr, error) {
	le := binary.LittleEndian
	if len(blob) < 8 {
		return nil, fmt.Errorf("%w: EA area too short (%d bytes)", ErrFormat, len(blob))
	}
	var first, base int
	switch le.Uint32(blob) {
	case xattrMagicBlock:
		first, base = xattrHdrBlock, 0
	case xattrMagicInode:
		first, base = 4, 4
	default:
		return nil, fmt.Errorf("%w: bad EA magic %#x", ErrFormat, le.Uint32(blob))
	}
	var out []Xattr
	for off := first; ; {
		if off+4 > len(blob) {
			return out, fmt.Errorf("%w: EA entry list not terminated", ErrFormat)
		}
		if le.Uint32(blob[off:]) == 0 {
			return out, nil
		}
		if off+xattrEntryFixed > len(blob) {
			return out, fmt.Errorf("%w: EA entry truncated", ErrFormat)
		}
		nlen := int(blob[off])
		idx := blob[off+1]
		voff := base + int(le.Uint16(blob[off+2:]))
		vsize := int(le.Uint32(blob[off+8:]))
		if off+xattrEntryFixed+nlen > len(blob) || vsize < 0 || voff+vsize > len(blob) || voff < 0 {
			return out, fmt.Errorf("%w: EA entry out of bounds", ErrFormat)
		}
		suffix := string(blob[off+16 : off+16+nlen])
		value := append([]byte(nil), blob[voff:voff+vsize]...)
		var name string
		switch idx {
		case 2:
			name = ACLAccess
		case 3:
			name = ACLDefault
		default:
			found := false
			for _, p := range xattrPrefixes {
				if p.index == idx {
					name, found = p.prefix+suffix, true
				}
			}
			if !found {
				return out, fmt.Errorf("%w: unknown EA name index %d", ErrFormat, idx)
			}
		}
		if idx == 2 || idx == 3 {
			x, err := ACLDiskToXattr(value)
			if err != nil {
				return out, err
			}
			value = x
		}
		out = append(out, Xattr{Name: name, Value: value})
		off += (xattrEntryFixed + nlen + 3) &^ 3
	}
}

// POSIX ACL tags.
const (
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclGroup    = 0x08
	aclMask     = 0x10
	aclOther    = 0x20
)

// ACLXattrToDisk converts a Linux xattr-form ACL (version 2, 8-byte entries)
// to the ext2 on-disk form (version 1, short entries without id).
func ACLXattrToDisk(x []byte) ([]byte, error) {
	le := binary.LittleEndian
	if len(x) < 4 || (len(x)-4)%8 != 0 || le.Uint32(x) != 2 {
		return nil, fmt.Errorf("%w: bad POSIX ACL xattr", ErrFormat)
	}
	out := make([]byte, 4, len(x))
	le.PutUint32(out, 1)
	for off := 4; off < len(x); off += 8 {
		tag := le.Uint16(x[off:])
		var e [8]byte
		le.PutUint16(e[0:], tag)
		le.PutUint16(e[2:], le.Uint16(x[off+2:]))
		switch tag {
		case aclUserObj, aclGroupObj, aclMask, aclOther:
			out = append(out, e[:4]...)
		case aclUser, aclGroup:
			le.PutUint32(e[4:], le.Uint32(x[off+4:]))
			out = append(out, e[:]...)
		default:
			return nil, fmt.Errorf("%w: bad POSIX ACL tag %#x", ErrFormat, tag)
		}
	}
	return out, nil
}

// ACLDiskToXattr converts the ext2 on-disk ACL form back to the xattr form.
func ACLDiskToXattr(d []byte) ([]byte, error) {
	le := binary.LittleEndian
	if len(d) < 4 || le.Uint32(d) != 1 {
		return nil, fmt.Errorf("%w: bad on-disk POSIX ACL", ErrFormat)
	}
	out := make([]byte, 4, 4+2*len(d))
	le.PutUint32(out, 2)
	for off := 4; off < len(d); {
		if off+4 > len(d) {
			return nil, fmt.Errorf("%w: truncated on-disk POSIX ACL", ErrFormat)
		}
		tag := le.Uint16(d[off:])
		var e [8]byte
		le.PutUint16(e[0:], tag)
		le.PutUint16(e[2:], le.Uint16(d[off+2:]))
		switch tag {
		case aclUserObj, aclGroupObj, aclMask, aclOther:
			le.PutUint32(e[4:], 0xffffffff)
			off += 4
		case aclUser, aclGroup:
			if off+8 > len(d) {
				return nil, fmt.Errorf("%w: truncated on-disk POSIX ACL", ErrFormat)
			}
			le.PutUint32(e[4:], le.Uint32(d[off+4:]))
			off += 8
		default:
			return nil, fmt.Errorf("%w: bad on-disk POSIX ACL tag %#x", ErrFormat, tag)
		}
		out = append(out, e[:]...)
	}
	return out, nil
}
