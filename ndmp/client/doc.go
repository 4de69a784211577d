// Package client is a Go NDMP v4 DMA: it connects to an NDMP server,
// authenticates, and issues every CONNECT, CONFIG, SCSI, TAPE, MOVER and
// DATA request, receiving the server's notifications, log messages and
// file history on a channel. Tests use it against our server; the CLI
// (`tapelab ndmp query`, `tapelab tape ...`, `tapelab backup` through
// package dma) too.
//
// Besides one method per message, it has Query (what `ndmjob -q` prints)
// and changer helpers over SCSI_EXECUTE_CDB: ReadElementStatus parses SMC
// READ ELEMENT STATUS data (8-byte header, per-type pages of element
// descriptors with primary volume tags) and MoveMedium sends MOVE MEDIUM.
// CallBytes sends hand-made (even malformed) bodies for tests.
package client
