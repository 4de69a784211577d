package ndmp

import "errors"

// Conditions a TapeDrive reports; the VTL adapter maps its own sentinels
// onto these so the TAPE and MOVER services can act on them.
var (
	ErrFilemark       = errors.New("tape: filemark")
	ErrEOD            = errors.New("tape: end of data")
	ErrBOT            = errors.New("tape: beginning of tape")
	ErrEarlyWarning   = errors.New("tape: early warning (end of medium approaching)")
	ErrEndOfMedium    = errors.New("tape: end of medium")
	ErrWriteProtected = errors.New("tape: write protected")
	ErrMediumError    = errors.New("tape: medium error")
	ErrNotReady       = errors.New("tape: no cartridge loaded")
	ErrBusy           = errors.New("device reserved by another initiator")
	ErrNoDevice       = errors.New("no such device")
)

// TapeState is what TAPE_GET_STATE reports about a drive.
type TapeState struct {
	Loaded         bool
	WriteProtected bool
	File           uint64 // filemarks between BOT and the position
	Block          uint64 // records since the last filemark (or BOT)
	BlockSize      uint32 // 0 = variable
	HasCapacity    bool
	Total          uint64 // bytes
	Remaining      uint64 // bytes
}

// TapeDrive is the tape the TAPE and MOVER services use. Semantics:
//   - ReadRecord reads the next record into p (truncating a longer record,
//     which is still consumed). At a filemark it returns ErrFilemark and
//     leaves the position on the BOT side of the mark (NDMP v4 semantics);
//     at end of data, ErrEOD.
//   - WriteRecord writes one record; ErrEarlyWarning means written, but in
//     the early-warning zone; ErrEndOfMedium means not written.
//   - SpaceRecords moves n records (backwards when n < 0) without crossing
//     a filemark, BOT or end of data, and returns how many it moved.
//   - SpaceFilemarks crosses n filemarks (backwards: ends on the BOT side of
//     the last one crossed) and returns how many it crossed.
//   - Close releases the drive (reservation, rewind-on-close per device name).
type TapeDrive interface {
	ID() string // identifies the physical drive (for the active-drive limit)
	ReadRecord(p []byte) (int, error)
	WriteRecord(p []byte) error
	WriteFilemarks(n int) error
	SpaceRecords(n int) (int, error)
	SpaceFilemarks(n int) (int, error)
	Rewind() error
	Unload() error
	State() TapeState
	Close() error
}

// SCSIDevice executes raw CDBs (the VTL's SCSI layer).
type SCSIDevice interface {
	Execute(initiator string, cdb, dataOut []byte, allocLen int) (dataIn []byte, status byte, sense []byte)
}

// DeviceInfo names one device for CONFIG_GET_TAPE_INFO / GET_SCSI_INFO.
type DeviceInfo struct {
	Model   string   // vendor/product, e.g. "IBM ULT3580-TD5"
	Names   []string // device names (nrst0a, rst0a, ...; mc0)
	Serial  string
	Changer bool
}

// Devices resolves device names to the lab's drives and changers.
type Devices interface {
	Tapes() []DeviceInfo
	Changers() []DeviceInfo
	// OpenTape opens the tape device called name for owner, reserving the
	// drive: ErrNoDevice if there is none, ErrBusy if another owner has it.
	OpenTape(name, owner string) (TapeDrive, error)
	// Changer returns the SCSI device of the changer called name.
	Changer(name string) (dev SCSIDevice, canonical string, err error)
}

// FSInfo is one online volume for CONFIG_GET_FS_INFO.
type FSInfo struct {
	LogicalDevice  string // /vs1/vol1
	PhysicalDevice string
	Type           string // "WAFL"-like; tapelab reports "tapelab"
	TotalSize      uint64
	UsedSize       uint64
	AvailSize      uint64
	TotalInodes    uint64
	UsedInodes     uint64
	Status         string // "online"
}

// FileSystems lists the online volumes (implemented by the node over package volume).
type FileSystems interface {
	FileSystems() []FSInfo
}
