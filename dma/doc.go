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
// File history (FH_ADD_DIR / FH_ADD_NODE) is turned into an index of paths
// with their inode numbers and fh_info, which a catalog keeps for direct
// access recovery. Progress comes from DATA_GET_STATE, polled.
package dma
