package vtl

// User-facing texts named by the ONTAP seeds (seed 001), verbatim. The
// engines and the NDMP server report these; the VTL's sentinel errors carry
// the ones that describe a drive condition.
const (
	MsgRecordSizeRange      = "Tape record size must be in the range between 4KB and 256KB"
	MsgRecordSizeTooSmall   = "Tape record size is too small. Try a larger size."
	MsgRecordSizeShouldBe   = "Tape record size should be %d and not %d"
	MsgMediaErrorWrite      = "Media error on tape write"
	MsgMediaErrorRead       = "Media error on tape read"
	MsgTapeWriteFailed      = "Tape write failed"
	MsgNewTapeMediaError    = "Tape write failed - new tape encountered media error"
	MsgNewTapeBroken        = "Tape write failed - new tape is broken or write protected"
	MsgNewTapeAtEOM         = "Tape write failed - new tape is already at the end of media"
	MsgTapeReadError        = "Tape read error"
	MsgAlreadyAtEndOfTape   = "Already at the end of tape"
	MsgTapeInUse            = "Tape is currently in use by other operations"
	MsgReservationPreempted = "Tape reservation preempted"
	MsgCouldNotInitMedia    = "Could not initialize media"
)
