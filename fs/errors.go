package fs

import (
	"errors"
	"syscall"
)

// errno maps an error from package volume (which wraps syscall.Errno
// values, or returns sentinels matching one through errors.Is) to the
// errno the kernel receives. Anything unrecognised becomes EIO.
func errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	for _, c := range []syscall.Errno{
		syscall.ENOENT, syscall.EEXIST, syscall.EROFS, syscall.ENOSPC,
		syscall.ENOTEMPTY, syscall.ENOTDIR, syscall.EISDIR, syscall.EINVAL,
		syscall.ENODATA, syscall.ERANGE, syscall.E2BIG, syscall.EBUSY,
		syscall.EPERM, syscall.EACCES, syscall.ENAMETOOLONG, syscall.EMLINK,
		syscall.EDQUOT, syscall.EFBIG, syscall.EXDEV, syscall.ENOSYS,
		syscall.ENOTSUP, syscall.ESTALE, syscall.EIO,
	} {
		if errors.Is(err, c) {
			return c
		}
	}
	return syscall.EIO
}

// errOK is the success value of go-fuse's node methods.
const errOK syscall.Errno = 0
