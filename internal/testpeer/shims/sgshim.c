/*
 * sgshim: an LD_PRELOAD library that lets unmodified SCSI tools (mtx,
 * sg3_utils) talk to a tapelab VTL device without a kernel: open() of a
 * path starting with "/tapelab-sg" connects to the Unix socket named by
 * $TAPELAB_SG_SOCKET and returns a placeholder descriptor; ioctl(SG_IO) on
 * it is forwarded as a CDB (+ data-out) and answered with status, sense and
 * data-in. Test helper of package vtl (mtx_test.go); not part of tapelab.
 *
 * Wire format (little endian): request  u8 cdblen, cdb, u32 outlen, out, u32 inlen
 *                              response u8 status, u8 senselen, sense, u32 inlen, in
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>
#include <scsi/sg.h>
#include <scsi/scsi_ioctl.h>
#ifndef SCSI_IOCTL_GET_IDLUN
#define SCSI_IOCTL_GET_IDLUN 0x5382
#endif

static int shim_fd = -1, sock = -1;

static int is_shim(const char *p) { return p && strncmp(p, "/tapelab-sg", 11) == 0; }

static int full(int fd, void *b, size_t n, int wr) {
	char *p = b;
	while (n > 0) {
		ssize_t k = wr ? write(fd, p, n) : read(fd, p, n);
		if (k <= 0) {
			if (k < 0 && errno == EINTR) continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int shim_open(void) {
	const char *sp = getenv("TAPELAB_SG_SOCKET");
	struct sockaddr_un a;
	int (*ro)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
	if (!sp) { errno = ENOENT; return -1; }
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	strncpy(a.sun_path, sp, sizeof a.sun_path - 1);
	if (connect(sock, (struct sockaddr *)&a, sizeof a) < 0) return -1;
	shim_fd = ro("/dev/zero", O_RDWR);
	return shim_fd;
}

int open(const char *path, int flags, ...) {
	va_list ap;
	int mode;
	int (*ro)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
	va_start(ap, flags);
	mode = va_arg(ap, int);
	va_end(ap);
	if (is_shim(path)) return shim_open();
	return ro(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
	va_list ap;
	int mode;
	int (*ro)(const char *, int, ...) = dlsym(RTLD_NEXT, "open64");
	va_start(ap, flags);
	mode = va_arg(ap, int);
	va_end(ap);
	if (is_shim(path)) return shim_open();
	return ro(path, flags, mode);
}

/* stat() of a shim path: a character device with the sg major (21). */
static void fake_stat(struct stat *st) {
	memset(st, 0, sizeof *st);
	st->st_mode = S_IFCHR | 0660;
	st->st_rdev = makedev(21, 0);
}

int stat(const char *path, struct stat *st) {
	int (*rs)(const char *, struct stat *) = dlsym(RTLD_NEXT, "stat");
	if (is_shim(path)) { fake_stat(st); return 0; }
	return rs(path, st);
}

int stat64(const char *path, struct stat64 *st) {
	int (*rs)(const char *, struct stat64 *) = dlsym(RTLD_NEXT, "stat64");
	if (is_shim(path)) { fake_stat((struct stat *)st); return 0; }
	return rs(path, st);
}

int lstat(const char *path, struct stat *st) {
	int (*rs)(const char *, struct stat *) = dlsym(RTLD_NEXT, "lstat");
	if (is_shim(path)) { fake_stat(st); return 0; }
	return rs(path, st);
}

int fstat(int fd, struct stat *st) {
	int (*rs)(int, struct stat *) = dlsym(RTLD_NEXT, "fstat");
	if (fd >= 0 && fd == shim_fd) { fake_stat(st); return 0; }
	return rs(fd, st);
}

int fstat64(int fd, struct stat64 *st) {
	int (*rs)(int, struct stat64 *) = dlsym(RTLD_NEXT, "fstat64");
	if (fd >= 0 && fd == shim_fd) { fake_stat((struct stat *)st); return 0; }
	return rs(fd, st);
}

int __open_2(const char *path, int flags) {
	int (*ro)(const char *, int) = dlsym(RTLD_NEXT, "__open_2");
	if (is_shim(path)) return shim_open();
	return ro(path, flags);
}

int __open64_2(const char *path, int flags) {
	int (*ro)(const char *, int) = dlsym(RTLD_NEXT, "__open64_2");
	if (is_shim(path)) return shim_open();
	return ro(path, flags);
}

int openat(int dirfd, const char *path, int flags, ...) {
	va_list ap;
	int mode;
	int (*ro)(int, const char *, int, ...) = dlsym(RTLD_NEXT, "openat");
	va_start(ap, flags);
	mode = va_arg(ap, int);
	va_end(ap);
	if (is_shim(path)) return shim_open();
	return ro(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
	va_list ap;
	int mode;
	int (*ro)(int, const char *, int, ...) = dlsym(RTLD_NEXT, "openat64");
	va_start(ap, flags);
	mode = va_arg(ap, int);
	va_end(ap);
	if (is_shim(path)) return shim_open();
	return ro(dirfd, path, flags, mode);
}

int close(int fd) {
	int (*rc)(int) = dlsym(RTLD_NEXT, "close");
	if (fd >= 0 && fd == shim_fd) {
		rc(sock);
		sock = shim_fd = -1;
	}
	return rc(fd);
}

static int sgio(sg_io_hdr_t *h) {
	uint8_t cl = h->cmd_len, st, sl, sense[255];
	uint32_t outlen = h->dxfer_direction == SG_DXFER_TO_DEV ? h->dxfer_len : 0;
	uint32_t inlen = h->dxfer_direction == SG_DXFER_FROM_DEV ? h->dxfer_len : 0, got;
	char *in;
	if (full(sock, &cl, 1, 1) || full(sock, h->cmdp, cl, 1) || full(sock, &outlen, 4, 1) ||
	    (outlen && full(sock, h->dxferp, outlen, 1)) || full(sock, &inlen, 4, 1))
		return -1;
	if (full(sock, &st, 1, 0) || full(sock, &sl, 1, 0) || (sl && full(sock, sense, sl, 0)) || full(sock, &got, 4, 0))
		return -1;
	in = malloc(got ? got : 1);
	if (got && full(sock, in, got, 0)) return -1;
	if (got > inlen) got = inlen;
	if (got) memcpy(h->dxferp, in, got);
	free(in);
	h->resid = (int)(inlen - got);
	h->status = st;
	h->masked_status = st >> 1;
	h->host_status = 0;
	h->driver_status = sl ? 0x08 : 0; /* DRIVER_SENSE */
	h->sb_len_wr = sl < h->mx_sb_len ? sl : h->mx_sb_len;
	if (h->sb_len_wr) memcpy(h->sbp, sense, h->sb_len_wr);
	h->info = (st || sl) ? SG_INFO_CHECK : 0;
	h->duration = 0;
	return 0;
}

int ioctl(int fd, unsigned long req, ...) {
	va_list ap;
	void *arg;
	int (*ri)(int, unsigned long, ...) = dlsym(RTLD_NEXT, "ioctl");
	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd < 0 || fd != shim_fd) return ri(fd, req, arg);
	switch (req) {
	case SG_GET_VERSION_NUM:
		*(int *)arg = 30536;
		return 0;
	case SCSI_IOCTL_GET_IDLUN:
		((int *)arg)[0] = 0;
		((int *)arg)[1] = 0;
		return 0;
	case SG_GET_SCSI_ID:
		memset(arg, 0, sizeof(struct sg_scsi_id));
		return 0;
	case SG_IO:
		if (sgio(arg) < 0) { errno = EIO; return -1; }
		return 0;
	default:
		return 0;
	}
}
