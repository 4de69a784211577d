/* LD_PRELOAD shim for Debian's ndmjob -o test-tape (Amanda 3.5.1, amd64):
 * two client-side bugs make the suite fail against any server.
 *
 * 1. ndmca_tt_basic_write_and_read (phase T-BWR) compares a signed char
 *    buffer with ((i - 4) & 0xff): every byte >= 0x80 "differs"
 *    ("T-BWR #23 -- Failed compare"). We replace the phase with a no-op;
 *    our Go replica TestTapeBasicWriteAndRead runs its steps.
 * 2. ndmca_test_fill_data builds records from a struct {u_short fileno;
 *    u_short sequence; u_long recno;} whose 4 padding bytes are never
 *    initialised, so the data written in T-WRITE and the data expected in
 *    T-READ differ by stack garbage. We supply the same function with the
 *    padding zeroed (same layout, same bytes otherwise). */
#include <string.h>

int ndmca_tt_basic_write_and_read(void *sess) { (void)sess; return 0; }

void ndmca_test_fill_data(char *buf, int bufsize, int recno, int fileno)
{
	struct {
		unsigned short fileno;
		unsigned short sequence;
		unsigned long recno;
	} x;
	unsigned short sequence = 0;
	char *dst = buf, *dstend = buf + bufsize;

	memset(&x, 0, sizeof x);
	x.fileno = fileno;
	x.recno = recno;
	while (dst < dstend) {
		const char *src = (const char *)&x, *srcend = src + sizeof x;
		x.sequence = sequence++;
		while (src < srcend && dst < dstend)
			*dst++ = *src++;
	}
}
