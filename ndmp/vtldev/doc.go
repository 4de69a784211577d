// Package vtldev adapts the virtual tape library (package vtl) to the
// NDMP server's device interfaces: tape device names (nrst0a, rst0a,
// urst0a, st0, serials) open reserved vtl tapes, changers (mc0) execute
// SMC CDBs through the VTL's SCSI layer. It translates the VTL's SCSI
// positioning (a read or space forward that meets a filemark ends after
// it) into NDMP v4's (the position stays on the BOT side of the filemark).
package vtldev
