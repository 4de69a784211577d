package ndmp

// User-facing texts. Those from ONTAP's documentation (seed 001) are kept
// verbatim; the DMA sees them in NOTIFY_CONNECTION_STATUS text_reason and
// LOG_MESSAGE entries, the admin in status output.
const (
	// MsgInvalidVersion is sent (formatted with the version) when a DMA asks
	// CONNECT_OPEN for a version other than 4.
	MsgInvalidVersion = "ndmpd invalid version number: %d"
	// MsgSessionLimit refuses a connection (or a backup/restore) beyond the
	// configured limit.
	MsgSessionLimit = "Maximum number of allowed dumps or restores (maximum session limit) in progress"
	// MsgNoThread refuses a 17th simultaneously active tape drive.
	MsgNoThread = "Resource limitation: no available thread"
	// MsgRecordSizeRange rejects MOVER_SET_RECORD_SIZE outside 4-256 KiB.
	MsgRecordSizeRange = "Tape record size must be in the range between 4KB and 256KB"
	// MsgRecordSizeTooSmall: a recover's record size is smaller than the records on tape.
	MsgRecordSizeTooSmall = "Tape record size is too small. Try a larger size."
	// MsgRecordSizeShould: local recover with a record size other than the tape's.
	MsgRecordSizeShould = "Tape record size should be %d and not %d"
	// MsgSessionNotActive answers kill/probe of an unknown session.
	MsgSessionNotActive = "ndmpd session %d not active"
	// MsgTapeReservationPreempted is logged when a drive is taken from a session.
	MsgTapeReservationPreempted = "Tape reservation preempted"
	// MsgNetworkError is logged when a three-way data connection fails.
	MsgNetworkError = "Network communication error"
	// MsgReadSocketEOF is logged when a three-way recover's data connection ends early.
	MsgReadSocketEOF = "Read Socket received EOF"
	// MsgDisabled refuses connections while the service is off.
	MsgDisabled = "NDMP service is disabled"
	// MsgMediaErrorWrite is logged on a medium error while the mover writes.
	MsgMediaErrorWrite = "Media error on tape write"
)
