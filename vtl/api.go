package vtl

import (
	"errors"
	"fmt"
	"time"

	"tapelab/vtl/scsi"
)

// Device is the one SCSI entry point shared by the NDMP SCSI/TAPE
// pass-through and the iSCSI target; *Drive (SSC) and *Changer (SMC)
// implement it.
type Device = scsi.Device

// Seed limits (per node).
const (
	MaxDrives   = 64
	MaxChangers = 16
	// MinRecordSize and MaxRecordSize bound the blocking factor of backups and
	// restores (CheckRecordSize, Drive.SetRecordSize).
	MinRecordSize = 4 << 10
	MaxRecordSize = 256 << 10
	// MaxBlockSize is the largest record the drive accepts (READ BLOCK LIMITS).
	MaxBlockSize = 8 << 20
	// MaxFilemarks is the most filemarks one WRITE FILEMARKS writes.
	MaxFilemarks = 1 << 16
)

// Sentinel errors. Callers test them with errors.Is; the errors returned by
// the Go API wrap them with context (drive, cartridge, block).
var (
	// ErrFilemark: a read or space operation crossed a filemark; the position
	// is just after the filemark (forward) or before it (backward).
	ErrFilemark = errors.New("filemark detected")
	// ErrEOD: a read or space operation reached end of data (BLANK CHECK).
	ErrEOD = errors.New("end of data detected")
	// ErrBOT: a backward space or read reached beginning of tape.
	ErrBOT = errors.New("beginning of partition detected")
	// ErrEarlyWarning: the record or filemark WAS written, and the tape is in
	// the early-warning zone before the end of medium.
	ErrEarlyWarning = errors.New("end of medium early warning: record written")
	// ErrEndOfMedium: VOLUME OVERFLOW, the record was NOT written.
	ErrEndOfMedium = errors.New("end of medium: volume overflow, record not written")
	// ErrWriteProtected: the cartridge is write protected or WORM data would be overwritten.
	ErrWriteProtected = errors.New("cartridge is write protected")
	// ErrMediumError: unrecovered read or write error (injected or a damaged cartridge).
	ErrMediumError = errors.New("medium error")
	// ErrNotReady: no cartridge loaded (MEDIUM NOT PRESENT) or the drive is offline.
	ErrNotReady = errors.New("drive not ready: medium not present")
	// ErrOffline: the drive was taken offline (storage tape offline or a fault).
	ErrOffline = errors.New("drive is offline")
	// ErrReservationConflict: the drive is reserved by, or in use by, another owner.
	ErrReservationConflict = errors.New(MsgTapeInUse)
	// ErrReservationPreempted: another initiator preempted (or cleared) the
	// persistent reservation the owner held ("Tape reservation preempted").
	ErrReservationPreempted = errors.New(MsgReservationPreempted)
	// ErrRecordSize: a record size outside the permitted range.
	ErrRecordSize = errors.New(MsgRecordSizeRange)
	// ErrIncorrectLength: the record read is longer than the caller's buffer
	// (ILI); the buffer holds the first len(buf) bytes.
	ErrIncorrectLength = errors.New("incorrect length: record longer than buffer")
	// ErrNotFound: no such library, drive, changer, cartridge, element or alias.
	ErrNotFound = errors.New("not found")
	// ErrExists: the name, barcode or alias is already taken.
	ErrExists = errors.New("already exists")
	// ErrLimit: the 64 drives / 16 changers per node limit.
	ErrLimit = errors.New("device limit reached")
	// ErrElementFull / ErrElementEmpty: MOVE MEDIUM destination full / source empty.
	ErrElementFull  = errors.New("destination element full")
	ErrElementEmpty = errors.New("source element empty")
	// ErrRemovalPrevented: PREVENT ALLOW MEDIUM REMOVAL is in effect.
	ErrRemovalPrevented = errors.New("medium removal prevented")
	// ErrInvalid: an invalid argument (bad element address, count, name).
	ErrInvalid = errors.New("invalid argument")
	// ErrCorrupt: a cartridge file failed its consistency checks.
	ErrCorrupt = errors.New("cartridge data corrupt")
)

// RecordLengthError wraps ErrIncorrectLength with the true record length.
type RecordLengthError struct{ Length int }

func (e *RecordLengthError) Error() string {
	return fmt.Sprintf("incorrect length: record is %d bytes", e.Length)
}
func (e *RecordLengthError) Unwrap() error { return ErrIncorrectLength }

// CheckRecordSize validates a backup/restore blocking factor (4 KiB..256 KiB).
func CheckRecordSize(n int) error {
	if n < MinRecordSize || n > MaxRecordSize {
		return fmt.Errorf("record size %d: %w", n, ErrRecordSize)
	}
	return nil
}

// SpaceKind selects what Drive.Space counts.
type SpaceKind int

const (
	SpaceBlocks    SpaceKind = iota // logical blocks (records)
	SpaceFilemarks                  // filemarks
	SpaceEOD                        // to end of data (count ignored)
)

// RewindMode is the rewind type of a tape device name: r, nr, ur.
type RewindMode int

const (
	Rewind       RewindMode = iota // rst: rewind on close
	NoRewind                       // nrst: no rewind on close
	UnloadReload                   // urst: unload on close (the library loads the next tape)
)

// Position is where a drive stands on the loaded cartridge.
type Position struct {
	Partition int `json:"partition"`
	// Block is the logical object number (records and filemarks both count,
	// as SCSI READ POSITION reports it); File is the number of filemarks
	// before Block.
	Block uint64 `json:"block"`
	File  uint64 `json:"file"`
	// BlockInFile is the record number within the current tape file.
	BlockInFile uint64 `json:"block_in_file"`
	BOT         bool   `json:"bot"` // at beginning of partition
	EOD         bool   `json:"eod"` // at end of data
	EW          bool   `json:"ew"`  // in the early-warning zone
	// Objects is the number of objects (records + filemarks) on the tape (EOD position).
	Objects        uint64 `json:"objects"`
	BytesWritten   int64  `json:"bytes_written"`   // bytes used on the medium (after compression)
	BytesRemaining int64  `json:"bytes_remaining"` // until the end of medium
}

// ReservationMode is the node option tape.reservations.
type ReservationMode string

const (
	ReservationsOff        ReservationMode = "off"
	ReservationsSCSI       ReservationMode = "scsi"
	ReservationsPersistent ReservationMode = "persistent"
)

// SupportStatus is a drive's qualification (storage tape show-supported-status).
type SupportStatus string

const (
	Qualified            SupportStatus = "Qualified"
	DynamicallyQualified SupportStatus = "Dynamically Qualified"
	Nonqualified         SupportStatus = "Nonqualified"
)

// MediaType is a cartridge's media generation.
type MediaType struct {
	Name     string `json:"name"`     // "LTO-8", "custom"
	Suffix   string `json:"suffix"`   // barcode media identifier: "L8"
	Capacity int64  `json:"capacity"` // native capacity in bytes
	Density  byte   `json:"density"`  // SCSI density code
}

// CartridgeSpec describes a cartridge to create.
type CartridgeSpec struct {
	Barcode   string `json:"barcode,omitempty"` // volume tag, e.g. TL0001L8 (up to 32 characters)
	MediaType string `json:"media_type"`        // "LTO-1".."LTO-9" or "" (derived from the barcode suffix, else LTO-8)
	// Capacity overrides the media type's native capacity (bytes) when > 0.
	Capacity int64 `json:"capacity"`
	WORM     bool  `json:"worm"`
	// Library and Slot place the new cartridge; Library "" leaves it in the vault
	// (outside every library), Slot 0 picks the first free storage slot.
	Library string `json:"library"`
	Slot    int    `json:"slot"`
}

// Location says where a cartridge is.
type Location struct {
	Library string      `json:"library"`         // "" when in the vault
	Element ElementType `json:"element"`         // ElementStorage, ElementDrive, ElementImportExport, ElementTransport
	Address uint16      `json:"address"`         // SCSI element address
	Index   int         `json:"index"`           // 1-based slot / drive / mail slot number within its kind
	Drive   string      `json:"drive,omitempty"` // drive name when in a drive
}

func (l Location) String() string {
	if l.Library == "" {
		return "vault"
	}
	return fmt.Sprintf("%s:%s %d", l.Library, l.Element, l.Index)
}

// Counters are per-cartridge usage counters.
type Counters struct {
	Loads        uint64 `json:"loads"`
	BytesWritten uint64 `json:"bytes_written"` // host bytes (before compression)
	BytesRead    uint64 `json:"bytes_read"`
	WriteErrors  uint64 `json:"write_errors"`
	ReadErrors   uint64 `json:"read_errors"`
}

// CartridgeInfo describes a cartridge.
type CartridgeInfo struct {
	Barcode        string    `json:"barcode,omitempty"`
	MediaType      string    `json:"media_type"`
	Capacity       int64     `json:"capacity"`
	EarlyWarning   int64     `json:"early_warning"` // bytes used at which early warning starts
	WORM           bool      `json:"worm"`
	WriteProtected bool      `json:"write_protected"`
	Used           int64     `json:"used"`    // bytes on the medium
	Objects        uint64    `json:"objects"` // records + filemarks
	Filemarks      uint64    `json:"filemarks"`
	Counters       Counters  `json:"counters"`
	Location       Location  `json:"location"`
	Created        time.Time `json:"created"`
	Faults         []Fault   `json:"faults,omitempty"`
}

// FaultKind names an injectable fault.
type FaultKind string

const (
	// FaultReadError: MEDIUM ERROR when reading block Block (logical object number).
	FaultReadError FaultKind = "read-error"
	// FaultWriteError: MEDIUM ERROR when writing at block Block.
	FaultWriteError FaultKind = "write-error"
	// FaultWriteFail: every write fails (a broken tape).
	FaultWriteFail FaultKind = "write-fail"
	// FaultEarlyEOM: the cartridge ends after Bytes bytes (early warning
	// shortly before, VOLUME OVERFLOW at Bytes).
	FaultEarlyEOM FaultKind = "early-eom"
	// FaultWriteProtect / FaultWORM: the cartridge behaves write protected / WORM.
	FaultWriteProtect FaultKind = "write-protect"
	FaultWORM         FaultKind = "worm"
	// FaultOffline: the drive goes offline (NOT READY, LOGICAL UNIT OFFLINE).
	FaultOffline FaultKind = "offline"
)

// Fault is one injected fault, attached to a cartridge or a drive.
type Fault struct {
	Kind  FaultKind `json:"kind"`
	Block uint64    `json:"block,omitempty"`
	Bytes int64     `json:"bytes,omitempty"`
	// Count limits how many times the fault fires (0: every time).
	Count int `json:"count,omitempty"`
}

// ElementType is an SMC element type code.
type ElementType byte

const (
	ElementAll          ElementType = 0
	ElementTransport    ElementType = 1
	ElementStorage      ElementType = 2
	ElementImportExport ElementType = 3
	ElementDrive        ElementType = 4
)

func (t ElementType) String() string {
	switch t {
	case ElementTransport:
		return "transport"
	case ElementStorage:
		return "slot"
	case ElementImportExport:
		return "mailslot"
	case ElementDrive:
		return "drive"
	}
	return "all"
}

// ElementMap is the changer's element address assignment (MODE SENSE page 0x1D).
type ElementMap struct {
	TransportStart    uint16 `json:"transport_start"`
	TransportCount    uint16 `json:"transport_count"`
	StorageStart      uint16 `json:"storage_start"`
	StorageCount      uint16 `json:"storage_count"`
	ImportExportStart uint16 `json:"import_export_start"`
	IECount           uint16 `json:"ie_count"`
	DriveStart        uint16 `json:"drive_start"`
	DriveCount        uint16 `json:"drive_count"`
}

// ElementStatus is one element as READ ELEMENT STATUS reports it.
type ElementStatus struct {
	Type    ElementType `json:"type"`
	Address uint16      `json:"address"`
	Index   int         `json:"index"` // 1-based within its type
	Full    bool        `json:"full"`
	Barcode string      `json:"barcode,omitempty"`
	// Source is the element address the cartridge came from (valid when SourceValid).
	Source      uint16 `json:"source"`
	SourceValid bool   `json:"source_valid"`
	Except      bool   `json:"except"`
	Access      bool   `json:"access"`
	Drive       string `json:"drive,omitempty"` // for drive elements: the drive's name (st0)
}

// LibrarySpec describes a library to create (tapelab vtl library create).
type LibrarySpec struct {
	Name      string `json:"name"`
	Drives    int    `json:"drives"`
	Slots     int    `json:"slots"`
	MailSlots int    `json:"mail_slots"`
	// DriveModel selects the tape configuration: "IBM ULT3580-TD8",
	// "HP Ultrium 6-SCSI", or a vendor/product pair not in any file
	// (nonqualified). Default "IBM ULT3580-TD8".
	DriveModel string `json:"drive_model"`
	// ChangerVendor/ChangerProduct: INQUIRY of the changer (default "IBM", "03584L32").
	ChangerVendor  string `json:"changer_vendor"`
	ChangerProduct string `json:"changer_product"`
}

// LibraryInfo summarises a library.
type LibraryInfo struct {
	Name       string   `json:"name"`
	Changer    string   `json:"changer"` // mc0
	Serial     string   `json:"serial"`
	Drives     []string `json:"drives"`
	Slots      int      `json:"slots"`
	MailSlots  int      `json:"mail_slots"`
	DriveModel string   `json:"drive_model"`
	Cartridges int      `json:"cartridges"`
}

// DriveInfo is what storage tape show-tape-drive prints about a drive.
type DriveInfo struct {
	Name        string        `json:"name"` // alias: st0
	Serial      string        `json:"serial"`
	SN          string        `json:"sn"` // SN[...] (with L<lun> when lun != 0)
	LUN         int           `json:"lun"`
	Library     string        `json:"library"`
	Vendor      string        `json:"vendor"`
	Product     string        `json:"product"`
	Revision    string        `json:"revision"`
	Description string        `json:"description"` // vendor_pretty product_pretty
	Status      SupportStatus `json:"status"`
	Online      bool          `json:"online"`
	Cartridge   string        `json:"cartridge"` // barcode of the cartridge in the drive ("" when empty)
	Loaded      bool          `json:"loaded"`    // threaded and ready
	Position    Position      `json:"position"`
	DeviceNames []DeviceName  `json:"device_names"`
	ReservedBy  string        `json:"reserved_by,omitempty"`
	Errors      DriveErrors   `json:"errors"`
	Faults      []Fault       `json:"faults,omitempty"`
}

// DriveErrors are the per-drive error counters (storage tape show-errors).
type DriveErrors struct {
	ReadErrors    uint64    `json:"read_errors"`
	WriteErrors   uint64    `json:"write_errors"`
	MediumErrors  uint64    `json:"medium_errors"`
	HardwareError uint64    `json:"hardware_error"`
	LastError     string    `json:"last_error"`
	LastErrorTime time.Time `json:"last_error_time"`
}

// DeviceName is one tape device of a drive: rewind type + density suffix.
type DeviceName struct {
	Name        string     `json:"name"` // nrst0a
	Rewind      RewindMode `json:"rewind"`
	Suffix      byte       `json:"suffix"`      // 'l', 'm', 'h', 'a'
	Density     byte       `json:"density"`     // density code
	Compression bool       `json:"compression"` // algorithm != 0
	Description string     `json:"description"` // "LTO-8 24TB cmp"
}

// ChangerInfo describes a medium changer.
type ChangerInfo struct {
	Name     string     `json:"name"` // mc0
	Serial   string     `json:"serial"`
	SN       string     `json:"sn"`
	Library  string     `json:"library"`
	Vendor   string     `json:"vendor"`
	Product  string     `json:"product"`
	Revision string     `json:"revision"`
	Elements ElementMap `json:"elements"`
}

// Alias is one alias mapping (storage tape alias show).
type Alias struct {
	Name    string `json:"name"`    // st0, mc0
	Mapping string `json:"mapping"` // SN[...]
	Kind    string `json:"kind"`    // "tape" or "media-changer"
}
