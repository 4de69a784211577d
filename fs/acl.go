package fs

import (
	"encoding/binary"
	"errors"
	"sort"
)

// POSIX ACLs travel between the kernel and a FUSE server as the values of
// the extended attributes system.posix_acl_access and
// system.posix_acl_default, in the kernel's xattr representation
// (include/uapi/linux/posix_acl_xattr.h), all little-endian:
//
//	header: a_version u32 (= 2)
//	entry:  e_tag u16 | e_perm u16 | e_id u32      (repeated, sorted by tag then id)
//
// With CAP_POSIX_ACL the kernel enforces the ACL itself but leaves to the
// server keeping the mode bits and the access ACL in step (setfacl, chmod)
// and inheriting default ACLs on create; acl.go does that arithmetic.
const (
	xattrACLAccess  = "system.posix_acl_access"
	xattrACLDefault = "system.posix_acl_default"

	aclVersion = 2

	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclGroup    = 0x08
	aclMask     = 0x10
	aclOther    = 0x20

	aclUndefinedID = 0xffffffff
)

// errBadACL reports a value that is not a valid POSIX ACL.
var errBadACL = errors.New("invalid POSIX ACL")

type aclEntry struct {
	Tag  uint16
	Perm uint16
	ID   uint32
}

type acl []aclEntry

// parseACL decodes and validates an ACL xattr value the way the kernel's
// posix_acl_valid does: known tags, perms within rwx, exactly one USER_OBJ,
// GROUP_OBJ and OTHER, a MASK required when named entries exist, no
// duplicate named ids. An empty entry list (header only) is valid.
func parseACL(b []byte) (acl, error) {
	if len(b) < 4 || (len(b)-4)%8 != 0 {
		return nil, errBadACL
	}
	if binary.LittleEndian.Uint32(b) != aclVersion {
		return nil, errBadACL
	}
	n := (len(b) - 4) / 8
	a := make(acl, n)
	for i := range a {
		e := b[4+8*i:]
		a[i] = aclEntry{
			Tag:  binary.LittleEndian.Uint16(e),
			Perm: binary.LittleEndian.Uint16(e[2:]),
			ID:   binary.LittleEndian.Uint32(e[4:]),
		}
	}
	if n == 0 {
		return a, nil
	}
	var userObj, groupObj, other, mask, named int
	seenUser := map[uint32]bool{}
	seenGroup := map[uint32]bool{}
	for _, e := range a {
		if e.Perm&^7 != 0 {
			return nil, errBadACL
		}
		switch e.Tag {
		case aclUserObj:
			userObj++
		case aclGroupObj:
			groupObj++
		case aclOther:
			other++
		case aclMask:
			mask++
		case aclUser:
			if seenUser[e.ID] || e.ID == aclUndefinedID {
				return nil, errBadACL
			}
			seenUser[e.ID] = true
			named++
		case aclGroup:
			if seenGroup[e.ID] || e.ID == aclUndefinedID {
				return nil, errBadACL
			}
			seenGroup[e.ID] = true
			named++
		default:
			return nil, errBadACL
		}
	}
	if userObj != 1 || groupObj != 1 || other != 1 || mask > 1 || (named > 0 && mask == 0) {
		return nil, errBadACL
	}
	return a, nil
}

// encode returns the xattr representation, entries sorted as the kernel
// sorts them (by tag, then id).
func (a acl) encode() []byte {
	s := append(acl(nil), a...)
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].Tag != s[j].Tag {
			return s[i].Tag < s[j].Tag
		}
		return s[i].ID < s[j].ID
	})
	b := make([]byte, 4+8*len(s))
	binary.LittleEndian.PutUint32(b, aclVersion)
	for i, e := range s {
		o := b[4+8*i:]
		binary.LittleEndian.PutUint16(o, e.Tag)
		binary.LittleEndian.PutUint16(o[2:], e.Perm)
		id := e.ID
		if e.Tag != aclUser && e.Tag != aclGroup {
			id = aclUndefinedID
		}
		binary.LittleEndian.PutUint32(o[4:], id)
	}
	return b
}

// minimal reports whether the ACL carries nothing beyond the mode bits
// (only USER_OBJ, GROUP_OBJ, OTHER), so it need not be stored.
func (a acl) minimal() bool {
	for _, e := range a {
		if e.Tag != aclUserObj && e.Tag != aclGroupObj && e.Tag != aclOther {
			return false
		}
	}
	return true
}

// applyToMode returns mode with its permission bits taken from the ACL
// (posix_acl_equiv_mode): owner from USER_OBJ, group from MASK if present
// else GROUP_OBJ, other from OTHER. Other bits of mode are kept.
func (a acl) applyToMode(mode uint32) uint32 {
	var u, g, o, m uint32
	hasMask := false
	for _, e := range a {
		switch e.Tag {
		case aclUserObj:
			u = uint32(e.Perm)
		case aclGroupObj:
			g = uint32(e.Perm)
		case aclOther:
			o = uint32(e.Perm)
		case aclMask:
			m = uint32(e.Perm)
			hasMask = true
		}
	}
	if hasMask {
		g = m
	}
	return mode&^0o777 | u<<6 | g<<3 | o
}

// chmod rewrites the ACL for a new mode (posix_acl_chmod): USER_OBJ gets the
// owner bits, MASK (or GROUP_OBJ without a mask) the group bits, OTHER the
// other bits.
func (a acl) chmod(mode uint32) acl {
	out := append(acl(nil), a...)
	hasMask := false
	for _, e := range out {
		if e.Tag == aclMask {
			hasMask = true
		}
	}
	for i := range out {
		switch out[i].Tag {
		case aclUserObj:
			out[i].Perm = uint16(mode >> 6 & 7)
		case aclOther:
			out[i].Perm = uint16(mode & 7)
		case aclMask:
			out[i].Perm = uint16(mode >> 3 & 7)
		case aclGroupObj:
			if !hasMask {
				out[i].Perm = uint16(mode >> 3 & 7)
			}
		}
	}
	return out
}

// inherit computes the access ACL of a node created with mode in a
// directory whose default ACL is a (posix_acl_create_masq): each of
// USER_OBJ, MASK (or GROUP_OBJ) and OTHER is ANDed with the matching mode
// bits, and the returned mode takes its permission bits from the result.
func (a acl) inherit(mode uint32) (acl, uint32) {
	out := append(acl(nil), a...)
	hasMask := false
	for _, e := range out {
		if e.Tag == aclMask {
			hasMask = true
		}
	}
	for i := range out {
		switch out[i].Tag {
		case aclUserObj:
			out[i].Perm &= uint16(mode >> 6 & 7)
		case aclOther:
			out[i].Perm &= uint16(mode & 7)
		case aclMask:
			out[i].Perm &= uint16(mode >> 3 & 7)
		case aclGroupObj:
			if !hasMask {
				out[i].Perm &= uint16(mode >> 3 & 7)
			}
		}
	}
	return out, out.applyToMode(mode)
}
