// Package dma is tapelab's data management application: the backup
// application's side of NDMP, what ndmjob does as its CONTROL agent.
//
// It drives one NDMP server (DATA and TAPE/MOVER in one session, a LOCAL
// data connection) or two (a DATA server and a TAPE server, a TCP data
// connection: three-way backup) through package ndmp/client:
//
//	backup:  TAPE_OPEN -> position after the last image (MTIO FSF until EOD)
//	         -> MOVER_SET_RECORD_SIZE -> MOVER_SET_WINDOW -> MOVER_LISTEN
//	         -> DATA_CONNECT -> DATA_START_BACKUP -> posts (FH_ADD_*, LOG_*,
//	         NOTIFY_MOVER_PAUSED, NOTIFY_*_HALTED) -> DATA_GET_ENV
//	         -> DATA_STOP -> MOVER_STOP -> MTIO EOF (a filemark ends the image)
//	recover: TAPE_OPEN -> REW + FSF to the image's tape file -> MOVER_LISTEN
//	         -> DATA_CONNECT -> DATA_START_RECOVER (name list with fh_info for
//	         direct access) -> NOTIFY_DATA_READ answered with MOVER_READ
//	         -> halts -> stops
//
// With a Library (a medium changer on the tape server, e.g. mc0) the DMA
// also drives the robot over NDMP SCSI (SCSI_OPEN, READ ELEMENT STATUS with
// volume tags, MOVE MEDIUM):
//
//	backup:  keep the cartridge in the drive, else load the first full
//	         storage slot's; a cartridge with fewer than two records of room
//	         before its last 1/32 is full and skipped. On
//	         NOTIFY_MOVER_PAUSED(EOM): MTIO EOF (EOM tolerated) -> MTIO OFF
//	         -> TAPE_CLOSE -> MOVE MEDIUM drive -> home slot -> MOVE MEDIUM
//	         next unused full slot (slot order) -> drive -> TAPE_OPEN ->
//	         position after its last image -> MOVER_CONTINUE.
//	recover: load the first part's cartridge (by barcode, wherever it is),
//	         position at its tape file, MOVER_SET_WINDOW over that part's
//	         bytes. Reading past the window (the end of a part, or a direct
//	         access offset on another part) pauses the mover (SEEK, or EOF
//	         at a filemark); the DMA loads the part holding the offset,
//	         positions it, moves the window there and continues. The last
//	         part's window is open-ended; its EOF ends the image as above.
//
// An image is a list of Parts, the on-catalog format of where it lives:
// {cartridge barcode, slot (1-based storage slot), tape_file (from 0),
// offset, bytes} with part i holding image bytes [offset, offset+bytes),
// contiguous and in whole records (offset and bytes are multiples of the
// record size, which the catalog keeps beside them). A continuation part
// starts at the append point of its cartridge (tape file 0 on a blank one).
//
// File history (FH_ADD_DIR / FH_ADD_NODE) is turned into an index of paths
// with their inode numbers and fh_info, which a catalog keeps for direct
// access recovery. Progress comes from DATA_GET_STATE, polled.
package dma
