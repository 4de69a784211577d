package scsi

import "fmt"

// Sense keys (SPC-4 table 48).
const (
	KeyNoSense        = 0x0
	KeyRecoveredError = 0x1
	KeyNotReady       = 0x2
	KeyMediumError    = 0x3
	KeyHardwareError  = 0x4
	KeyIllegalRequest = 0x5
	KeyUnitAttention  = 0x6
	KeyDataProtect    = 0x7
	KeyBlankCheck     = 0x8
	KeyAbortedCommand = 0xb
	KeyVolumeOverflow = 0xd
)

// Additional sense codes (ASC<<8 | ASCQ) used by the VTL.
const (
	ASCNone                   = 0x0000
	ASCFilemarkDetected       = 0x0001
	ASCEndOfPartition         = 0x0002 // END-OF-PARTITION/MEDIUM DETECTED (early warning)
	ASCBeginningOfPartition   = 0x0004
	ASCEndOfData              = 0x0005
	ASCLogicalUnitNotReady    = 0x0400 // cause not reportable
	ASCNotReadyInitRequired   = 0x0402 // initializing command required (cartridge present, not loaded)
	ASCLogicalUnitOffline     = 0x0412 // LOGICAL UNIT NOT READY, OFFLINE
	ASCWriteError             = 0x0c00
	ASCUnrecoveredReadError   = 0x1100
	ASCRecordedEntityNotFound = 0x1400
	ASCSequentialPositionErr  = 0x3b00 // SEQUENTIAL POSITIONING ERROR
	ASCReadPastEOM            = 0x3b02 // not used: kept for completeness
	ASCInvalidOpcode          = 0x2000
	ASCLBAOutOfRange          = 0x2100
	ASCInvalidElementAddress  = 0x2101
	ASCInvalidFieldInCDB      = 0x2400
	ASCLUNNotSupported        = 0x2500
	ASCInvalidFieldInParam    = 0x2600
	ASCParamListLengthError   = 0x1a00
	ASCWriteProtected         = 0x2700
	ASCNotReadyToReady        = 0x2800 // medium may have changed
	ASCImportExportAccessed   = 0x2801
	ASCPowerOnReset           = 0x2900
	ASCModeParamsChanged      = 0x2a01
	ASCReservationsPreempted  = 0x2a03
	ASCReservationsReleased   = 0x2a04
	ASCRegistrationsPreempted = 0x2a05
	ASCIncompatibleMedium     = 0x3000
	ASCCannotWriteMedium      = 0x3000
	ASCWORMOverwrite          = 0x300c // WORM MEDIUM - OVERWRITE ATTEMPTED
	ASCCleaningCartridge      = 0x3003
	ASCMediumNotPresent       = 0x3a00
	ASCMediumDestFull         = 0x3b0d // MEDIUM DESTINATION ELEMENT FULL
	ASCMediumSourceEmpty      = 0x3b0e // MEDIUM SOURCE ELEMENT EMPTY
	ASCMediumRemovalPrevented = 0x5302
	ASCMediaLoadEjectFailed   = 0x5300
	ASCInternalTargetFailure  = 0x4400
)

// Sense is decoded or to-be-encoded sense data. ASC holds ASC<<8|ASCQ.
type Sense struct {
	Key      byte
	ASC      uint16
	Filemark bool
	EOM      bool
	ILI      bool
	// Info is the INFORMATION field (residue, block address); InfoValid sets VALID.
	Info      int64
	InfoValid bool
	// Sense-key specific field pointer (ILLEGAL REQUEST): SKSV is set when
	// FieldPointer >= 0. InCDB selects C/D; BitPointer (0-7) is used when
	// BitValid.
	FieldPointer int
	InCDB        bool
	BitValid     bool
	BitPointer   byte
	Deferred     bool
}

// NewSense returns sense data with the given key and ASC/ASCQ and no field pointer.
func NewSense(key byte, asc uint16) *Sense { return &Sense{Key: key, ASC: asc, FieldPointer: -1} }

// InvalidField returns ILLEGAL REQUEST / INVALID FIELD IN CDB (or in the
// parameter list when inCDB is false) pointing at byte and bit (bit < 0: no bit).
func InvalidField(inCDB bool, byteIdx int, bit int) *Sense {
	asc := uint16(ASCInvalidFieldInCDB)
	if !inCDB {
		asc = ASCInvalidFieldInParam
	}
	s := &Sense{Key: KeyIllegalRequest, ASC: asc, FieldPointer: byteIdx, InCDB: inCDB}
	if bit >= 0 {
		s.BitValid, s.BitPointer = true, byte(bit)
	}
	return s
}

func (s *Sense) String() string {
	return fmt.Sprintf("sense key %#x asc/ascq %02x/%02x fm=%v eom=%v ili=%v info=%d(valid=%v)",
		s.Key, s.ASC>>8, s.ASC&0xff, s.Filemark, s.EOM, s.ILI, s.Info, s.InfoValid)
}

func (s *Sense) sks() ([3]byte, bool) {
	var b [3]byte
	if s.FieldPointer < 0 || s.Key != KeyIllegalRequest {
		return b, false
	}
	b[0] = 0x80
	if s.InCDB {
		b[0] |= 0x40
	}
	if s.BitValid {
		b[0] |= 0x08 | s.BitPointer&7
	}
	b[1], b[2] = byte(s.FieldPointer>>8), byte(s.FieldPointer)
	return b, true
}

// Fixed encodes s in fixed format (response code 0x70/0x71), 18 bytes.
func (s *Sense) Fixed() []byte {
	b := make([]byte, 18)
	b[0] = 0x70
	if s.Deferred {
		b[0] = 0x71
	}
	if s.InfoValid {
		b[0] |= 0x80
		Put32(b[3:], uint32(int32(s.Info)))
	}
	b[2] = s.Key & 0xf
	if s.Filemark {
		b[2] |= 0x80
	}
	if s.EOM {
		b[2] |= 0x40
	}
	if s.ILI {
		b[2] |= 0x20
	}
	b[7] = 10
	b[12], b[13] = byte(s.ASC>>8), byte(s.ASC)
	if k, ok := s.sks(); ok {
		copy(b[15:], k[:])
	}
	return b
}

// Descriptor encodes s in descriptor format (response code 0x72/0x73) with an
// information descriptor (when InfoValid), a stream commands descriptor (when
// FM/EOM/ILI is set) and a sense-key specific descriptor (field pointer).
func (s *Sense) Descriptor() []byte {
	b := make([]byte, 8, 40)
	b[0] = 0x72
	if s.Deferred {
		b[0] = 0x73
	}
	b[1] = s.Key & 0xf
	b[2], b[3] = byte(s.ASC>>8), byte(s.ASC)
	if s.InfoValid {
		d := make([]byte, 12)
		d[0], d[1], d[2] = 0x00, 0x0a, 0x80
		Put64(d[4:], uint64(s.Info))
		b = append(b, d...)
	}
	if s.Filemark || s.EOM || s.ILI {
		d := []byte{0x04, 0x02, 0, 0}
		if s.Filemark {
			d[3] |= 0x80
		}
		if s.EOM {
			d[3] |= 0x40
		}
		if s.ILI {
			d[3] |= 0x20
		}
		b = append(b, d...)
	}
	if k, ok := s.sks(); ok {
		b = append(b, 0x02, 0x06, 0, 0, k[0], k[1], k[2], 0)
	}
	b[7] = byte(len(b) - 8)
	return b
}

// ParseSense decodes fixed or descriptor format sense data.
func ParseSense(b []byte) (*Sense, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("scsi: sense data too short (%d bytes)", len(b))
	}
	s := &Sense{FieldPointer: -1}
	switch b[0] & 0x7f {
	case 0x70, 0x71:
		if len(b) < 14 {
			return nil, fmt.Errorf("scsi: fixed sense data too short (%d bytes)", len(b))
		}
		s.Deferred = b[0]&0x7f == 0x71
		s.InfoValid = b[0]&0x80 != 0
		s.Info = int64(int32(Be32(b[3:])))
		s.Key = b[2] & 0xf
		s.Filemark, s.EOM, s.ILI = b[2]&0x80 != 0, b[2]&0x40 != 0, b[2]&0x20 != 0
		s.ASC = uint16(b[12])<<8 | uint16(b[13])
		if len(b) >= 18 && b[15]&0x80 != 0 {
			s.parseSKS(b[15:18])
		}
	case 0x72, 0x73:
		s.Deferred = b[0]&0x7f == 0x73
		s.Key = b[1] & 0xf
		s.ASC = uint16(b[2])<<8 | uint16(b[3])
		end := 8 + int(b[7])
		if end > len(b) {
			end = len(b)
		}
		for p := 8; p+2 <= end; {
			typ, l := b[p], int(b[p+1])
			if p+2+l > end {
				return nil, fmt.Errorf("scsi: sense descriptor %#x overruns the sense data", typ)
			}
			d := b[p+2 : p+2+l]
			switch typ {
			case 0x00:
				if l >= 10 {
					s.InfoValid = d[0]&0x80 != 0
					s.Info = int64(Be64(d[2:]))
				}
			case 0x02:
				if l >= 5 && d[2]&0x80 != 0 {
					s.parseSKS(d[2:5])
				}
			case 0x04:
				if l >= 2 {
					s.Filemark, s.EOM, s.ILI = d[1]&0x80 != 0, d[1]&0x40 != 0, d[1]&0x20 != 0
				}
			}
			p += 2 + l
		}
	default:
		return nil, fmt.Errorf("scsi: unknown sense response code %#x", b[0]&0x7f)
	}
	return s, nil
}

func (s *Sense) parseSKS(k []byte) {
	s.InCDB = k[0]&0x40 != 0
	s.BitValid = k[0]&0x08 != 0
	s.BitPointer = k[0] & 7
	s.FieldPointer = int(Be16(k[1:]))
}
