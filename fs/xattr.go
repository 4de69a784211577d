package fs

import (
	"context"
	"syscall"

	"tapelab/volume"
)

func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	v, err := n.view.GetXattr(n.ino, attr)
	if err != nil {
		return 0, errno(err)
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), errOK
}

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	names, err := n.view.ListXattr(n.ino)
	if err != nil {
		return 0, errno(err)
	}
	size := 0
	for _, s := range names {
		size += len(s) + 1
	}
	if len(dest) < size {
		return uint32(size), syscall.ERANGE
	}
	off := 0
	for _, s := range names {
		off += copy(dest[off:], s)
		dest[off] = 0
		off++
	}
	return uint32(size), errOK
}

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if n.readOnly() {
		return syscall.EROFS
	}
	switch attr {
	case xattrACLAccess:
		return n.setAccessACL(data, flags)
	case xattrACLDefault:
		a, err := parseACL(data)
		if err != nil {
			return syscall.EINVAL
		}
		if len(a) == 0 {
			// An empty default ACL means "remove it".
			if err := n.view.RemoveXattr(n.ino, attr); err != nil && errno(err) != syscall.ENODATA {
				return errno(err)
			}
			return errOK
		}
	}
	return errno(n.view.SetXattr(n.ino, attr, data, flags))
}

// setAccessACL stores an access ACL the way a Linux file system does: the
// mode's permission bits follow the ACL, and an ACL equivalent to the mode
// is not stored at all (getfacl then shows the mode, ls shows no '+').
func (n *node) setAccessACL(data []byte, flags uint32) syscall.Errno {
	a, err := parseACL(data)
	if err != nil || len(a) == 0 {
		return syscall.EINVAL
	}
	cur, err := n.view.GetAttr(n.ino)
	if err != nil {
		return errno(err)
	}
	if mode := a.applyToMode(cur.Mode); mode != cur.Mode {
		if _, err := n.view.SetAttr(n.ino, volume.SetAttrIn{Valid: volume.SetMode, Mode: mode & 0o7777}); err != nil {
			return errno(err)
		}
	}
	if a.minimal() {
		if err := n.view.RemoveXattr(n.ino, xattrACLAccess); err != nil && errno(err) != syscall.ENODATA {
			return errno(err)
		}
		return errOK
	}
	return errno(n.view.SetXattr(n.ino, xattrACLAccess, a.encode(), flags))
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if n.readOnly() {
		return syscall.EROFS
	}
	return errno(n.view.RemoveXattr(n.ino, attr))
}
