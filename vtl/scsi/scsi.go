package scsi

// Device is one SCSI logical unit: a tape drive (SSC) or a medium changer
// (SMC). Every transport (NDMP SCSI/TAPE pass-through, the iSCSI target,
// tests) hands CDBs to Execute; the device parses the CDB, runs it and returns
// the data-in buffer, the SCSI status and, on CHECK CONDITION, the sense data.
//
// initiator identifies the I_T nexus (an iSCSI initiator name + ISID, an NDMP
// session, "local" for in-process callers); reservations are held per
// initiator. dataOut carries the data-out buffer of WRITE-type commands.
// allocLen is the number of data-in bytes the initiator can accept (the
// iSCSI expected transfer length / NDMP datain_len); dataIn is never longer.
type Device interface {
	Execute(initiator string, cdb, dataOut []byte, allocLen int) (dataIn []byte, status byte, sense []byte)
}

// SCSI status codes (SAM-5).
const (
	StatusGood                = 0x00
	StatusCheckCondition      = 0x02
	StatusBusy                = 0x08
	StatusReservationConflict = 0x18
)

// Peripheral device types (SPC).
const (
	TypeSequentialAccess = 0x01
	TypeMediumChanger    = 0x08
)

// Operation codes used by SSC and SMC devices.
const (
	OpTestUnitReady       = 0x00
	OpRewind              = 0x01
	OpRequestSense        = 0x03
	OpReadBlockLimits     = 0x05
	OpInitElementStatus   = 0x07
	OpRead6               = 0x08
	OpWrite6              = 0x0a
	OpWriteFilemarks6     = 0x10
	OpSpace6              = 0x11
	OpInquiry             = 0x12
	OpVerify6             = 0x13
	OpModeSelect6         = 0x15
	OpReserve6            = 0x16
	OpRelease6            = 0x17
	OpErase6              = 0x19
	OpModeSense6          = 0x1a
	OpLoadUnload          = 0x1b
	OpPreventAllow        = 0x1e
	OpReadCapacity10      = 0x25
	OpPositionToElement   = 0x2b
	OpLocate10            = 0x2b
	OpReadPosition        = 0x34
	OpInitElementStatusRg = 0x37
	OpLogSelect           = 0x4c
	OpLogSense            = 0x4d
	OpModeSelect10        = 0x55
	OpReserve10           = 0x56
	OpRelease10           = 0x57
	OpModeSense10         = 0x5a
	OpPersistResvIn       = 0x5e
	OpPersistResvOut      = 0x5f
	OpLocate16            = 0x92
	OpSpace16             = 0x91
	OpReadAttribute       = 0x8c
	OpReportLuns          = 0xa0
	OpMaintenanceIn       = 0xa3
	OpMoveMedium          = 0xa5
	OpExchangeMedium      = 0xa6
	OpReadElementStatus   = 0xb8
)

// CDBLength returns the length of a CDB from its group code (SPC-4 4.2.5.1),
// or 0 for the reserved/vendor groups.
func CDBLength(op byte) int {
	switch op >> 5 {
	case 0:
		return 6
	case 1, 2:
		return 10
	case 4:
		return 16
	case 5:
		return 12
	}
	return 0
}

// Be16, Be24, Be32, Be64 read big-endian fields of a CDB or parameter list.
func Be16(b []byte) uint32 { return uint32(b[0])<<8 | uint32(b[1]) }

func Be24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }

func Be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func Be64(b []byte) uint64 { return uint64(Be32(b))<<32 | uint64(Be32(b[4:])) }

// Put16, Put24, Put32, Put64 write big-endian fields.
func Put16(b []byte, v uint32) { b[0], b[1] = byte(v>>8), byte(v) }

func Put24(b []byte, v uint32) { b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v) }

func Put32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

func Put64(b []byte, v uint64) { Put32(b, uint32(v>>32)); Put32(b[4:], uint32(v)) }

// PadString copies s into a fixed-width, space-padded ASCII field.
func PadString(dst []byte, s string) {
	for i := range dst {
		if i < len(s) {
			dst[i] = s[i]
		} else {
			dst[i] = ' '
		}
	}
}
