// Package ndmp is tapelab's NDMP version 4 server: sessions, CONNECT
// (version negotiation, TEXT and MD5 authentication against a UserStore of
// NDMP-specific passwords), CONFIG, SCSI (changers), TAPE, MOVER and DATA
// services over the lab's virtual tape library and backup engines.
//
// On the wire (package ndmp/wire) every message is one RPC record
// (RFC 5531 record marking: 4-byte marks, high bit = last fragment)
// holding the 24-byte ndmp4_header {sequence, time_stamp, message_type,
// message_code, reply_sequence, error_code} and the XDR body of the
// request, reply or post. A session starts with the server's
// NOTIFY_CONNECTION_STATUS (CONNECTED, or REFUSED with the seed's text at
// the session limit); the server then answers requests in order and posts
// NOTIFY_*, LOG_* and FH_* messages on its own.
//
// Devices come through small consumer interfaces (Devices, TapeDrive,
// SCSIDevice, FileSystems) that the node implements over package vtl
// (ndmp/vtldev) and package volume; backup types through engines.Engine.
// The MOVER moves records between a data connection and the session's open
// tape: MODE_READ reads the connection and writes records (backup, pausing
// for EOW at the window end and EOM at the end of a cartridge so the DMA
// can load the next one), MODE_WRITE reads records and serves MOVER_READ
// ranges (recover). The DATA service runs an engine with its image stream
// connected to a mover: NDMP_ADDR_LOCAL is an in-process pipe inside one
// session, NDMP_ADDR_TCP a socket to another session or server.
//
// Authentication defaults follow ONTAP's SVM-scoped mode: MD5 challenge
// on, plaintext off (Settings, `ndmp modify`); CONFIG_GET_* queries are
// answered before authentication (nmap's scripts rely on it) unless
// preauth-query is off. Limits: NDMP sessions 8/20/36 and dump sessions
// 4/16/32 by memory, 16 active drives; refusals carry seed 001's texts
// (messages.go).
//
// The management methods (Sessions, Probe, Kill, KillAll, SetEnabled,
// Settings, Modify, VersionInfo, Trace) back `tapelab ndmp ...`; per-session
// message traces go to DATA/ndmp-trace/session-N.log and the ndmps
// certificate to DATA/ndmp-cert.pem, DATA/ndmp-key.pem.
package ndmp
