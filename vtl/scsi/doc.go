// Package scsi is the one SCSI layer of tapelab's virtual tape library: the
// Device interface every transport executes CDBs through, operation codes,
// status codes, big-endian field helpers and sense data.
//
// Sense data is built in both formats of SPC-4:
//
//	fixed (response code 0x70, 18 bytes):
//	  0     VALID(7) | 0x70
//	  2     FILEMARK(7) EOM(6) ILI(5) | SENSE KEY(3-0)
//	  3-6   INFORMATION (signed 32-bit residue or block address)
//	  7     ADDITIONAL SENSE LENGTH = 10
//	  12,13 ASC, ASCQ
//	  15-17 SKSV(7) C/D(6) BPV(3) BIT POINTER(2-0), FIELD POINTER (16 bits)
//
//	descriptor (response code 0x72): 8-byte header (key, ASC, ASCQ, additional
//	length) followed by descriptors: 0x00 information (12 bytes, VALID + 64-bit
//	INFORMATION), 0x04 stream commands (FILEMARK/EOM/ILI), 0x02 sense-key
//	specific (field pointer).
//
// The SSC (tape drive) and SMC (medium changer) command sets that use these
// pieces live in package vtl, next to the device state they act on.
package scsi
