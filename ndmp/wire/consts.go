package wire

import "fmt"

// Version is the only NDMP protocol version tapelab speaks.
const Version = 4

// DefaultPort is the IANA NDMP port.
const DefaultPort = 10000

// Error is ndmp4_error.
type Error uint32

// NDMP v4 error codes.
const (
	NoErr               Error = 0
	NotSupportedErr     Error = 1
	DeviceBusyErr       Error = 2
	DeviceOpenedErr     Error = 3
	NotAuthorizedErr    Error = 4
	PermissionErr       Error = 5
	DevNotOpenErr       Error = 6
	IOErr               Error = 7
	TimeoutErr          Error = 8
	IllegalArgsErr      Error = 9
	NoTapeLoadedErr     Error = 10
	WriteProtectErr     Error = 11
	EOFErr              Error = 12
	EOMErr              Error = 13
	FileNotFoundErr     Error = 14
	BadFileErr          Error = 15
	NoDeviceErr         Error = 16
	NoBusErr            Error = 17
	XDRDecodeErr        Error = 18
	IllegalStateErr     Error = 19
	UndefinedErr        Error = 20
	XDREncodeErr        Error = 21
	NoMemErr            Error = 22
	ConnectErr          Error = 23
	SequenceNumErr      Error = 24
	ReadInProgressErr   Error = 25
	PreconditionErr     Error = 26
	ClassNotSupported   Error = 27
	VersionNotSupported Error = 28
	ExtDuplClasses      Error = 29
	ExtDNIllegal        Error = 30
	maxError                  = ExtDNIllegal
)

var errorNames = [...]string{
	"NDMP4_NO_ERR", "NDMP4_NOT_SUPPORTED_ERR", "NDMP4_DEVICE_BUSY_ERR", "NDMP4_DEVICE_OPENED_ERR",
	"NDMP4_NOT_AUTHORIZED_ERR", "NDMP4_PERMISSION_ERR", "NDMP4_DEV_NOT_OPEN_ERR", "NDMP4_IO_ERR",
	"NDMP4_TIMEOUT_ERR", "NDMP4_ILLEGAL_ARGS_ERR", "NDMP4_NO_TAPE_LOADED_ERR", "NDMP4_WRITE_PROTECT_ERR",
	"NDMP4_EOF_ERR", "NDMP4_EOM_ERR", "NDMP4_FILE_NOT_FOUND_ERR", "NDMP4_BAD_FILE_ERR",
	"NDMP4_NO_DEVICE_ERR", "NDMP4_NO_BUS_ERR", "NDMP4_XDR_DECODE_ERR", "NDMP4_ILLEGAL_STATE_ERR",
	"NDMP4_UNDEFINED_ERR", "NDMP4_XDR_ENCODE_ERR", "NDMP4_NO_MEM_ERR", "NDMP4_CONNECT_ERR",
	"NDMP4_SEQUENCE_NUM_ERR", "NDMP4_READ_IN_PROGRESS_ERR", "NDMP4_PRECONDITION_ERR",
	"NDMP4_CLASS_NOT_SUPPORTED", "NDMP4_VERSION_NOT_SUPPORTED", "NDMP4_EXT_DUPL_CLASSES", "NDMP4_EXT_DN_ILLEGAL",
}

func (e Error) String() string {
	if int(e) < len(errorNames) {
		return errorNames[e]
	}
	return fmt.Sprintf("NDMP4_ERROR_%d", uint32(e))
}

// Error makes a non-zero NDMP error usable as a Go error.
func (e Error) Error() string { return e.String() }

// MessageType is ndmp4_header_message_type.
type MessageType uint32

const (
	Request MessageType = 0 // also posts (notifications)
	Reply   MessageType = 1
)

// Code is ndmp4_message.
type Code uint32

// NDMP v4 message codes.
const (
	ConnectOpen       Code = 0x900
	ConnectClientAuth Code = 0x901
	ConnectClose      Code = 0x902
	ConnectServerAuth Code = 0x903

	ConfigGetHostInfo       Code = 0x100
	ConfigGetConnectionType Code = 0x102
	ConfigGetAuthAttr       Code = 0x103
	ConfigGetButypeInfo     Code = 0x104
	ConfigGetFSInfo         Code = 0x105
	ConfigGetTapeInfo       Code = 0x106
	ConfigGetSCSIInfo       Code = 0x107
	ConfigGetServerInfo     Code = 0x108
	ConfigSetExtList        Code = 0x109
	ConfigGetExtList        Code = 0x10A

	SCSIOpen        Code = 0x200
	SCSIClose       Code = 0x201
	SCSIGetState    Code = 0x202
	SCSIResetDevice Code = 0x204
	SCSIExecuteCDB  Code = 0x206

	TapeOpen       Code = 0x300
	TapeClose      Code = 0x301
	TapeGetState   Code = 0x302
	TapeMTIO       Code = 0x303
	TapeWrite      Code = 0x304
	TapeRead       Code = 0x305
	TapeExecuteCDB Code = 0x307

	DataGetState             Code = 0x400
	DataStartBackup          Code = 0x401
	DataStartRecover         Code = 0x402
	DataAbort                Code = 0x403
	DataGetEnv               Code = 0x404
	DataStop                 Code = 0x407
	DataListen               Code = 0x409
	DataConnect              Code = 0x40A
	DataStartRecoverFilehist Code = 0x40B

	NotifyDataHalted       Code = 0x501
	NotifyConnectionStatus Code = 0x502
	NotifyMoverHalted      Code = 0x503
	NotifyMoverPaused      Code = 0x504
	NotifyDataRead         Code = 0x505

	LogFile    Code = 0x602
	LogMessage Code = 0x603

	FHAddFile Code = 0x703
	FHAddDir  Code = 0x704
	FHAddNode Code = 0x705

	MoverGetState      Code = 0xA00
	MoverListen        Code = 0xA01
	MoverContinue      Code = 0xA02
	MoverAbort         Code = 0xA03
	MoverStop          Code = 0xA04
	MoverSetWindow     Code = 0xA05
	MoverRead          Code = 0xA06
	MoverClose         Code = 0xA07
	MoverSetRecordSize Code = 0xA08
	MoverConnect       Code = 0xA09

	ExtStandardBase    Code = 0x10000
	ExtProprietaryBase Code = 0x20000000
)

func (c Code) String() string {
	if m, ok := Messages[c]; ok {
		return m.Name
	}
	return fmt.Sprintf("NDMP4_MESSAGE_%#x", uint32(c))
}

// AuthType is ndmp4_auth_type.
type AuthType uint32

const (
	AuthNone AuthType = 0
	AuthText AuthType = 1
	AuthMD5  AuthType = 2
)

func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "NDMP4_AUTH_NONE"
	case AuthText:
		return "NDMP4_AUTH_TEXT"
	case AuthMD5:
		return "NDMP4_AUTH_MD5"
	}
	return fmt.Sprintf("NDMP4_AUTH_%d", uint32(a))
}

// AddrType is ndmp4_addr_type.
type AddrType uint32

const (
	AddrLocal    AddrType = 0
	AddrTCP      AddrType = 1
	AddrReserved AddrType = 2
	AddrIPC      AddrType = 3
)

func (a AddrType) String() string {
	switch a {
	case AddrLocal:
		return "NDMP4_ADDR_LOCAL"
	case AddrTCP:
		return "NDMP4_ADDR_TCP"
	case AddrIPC:
		return "NDMP4_ADDR_IPC"
	}
	return fmt.Sprintf("NDMP4_ADDR_%d", uint32(a))
}

// Butype attribute bits (CONFIG_GET_BUTYPE_INFO).
const (
	ButypeBackupFilelist     = 0x0002
	ButypeRecoverFilelist    = 0x0004
	ButypeBackupDirect       = 0x0008
	ButypeRecoverDirect      = 0x0010
	ButypeBackupIncremental  = 0x0020
	ButypeRecoverIncremental = 0x0040
	ButypeBackupUTF8         = 0x0080
	ButypeRecoverUTF8        = 0x0100
	ButypeBackupFHFile       = 0x0200
	ButypeBackupFHDir        = 0x0400
	ButypeRecoverFilehist    = 0x0800
	ButypeRecoverFHFile      = 0x1000
	ButypeRecoverFHDir       = 0x2000
)

// FS info unsupported bits.
const (
	FSInfoTotalSizeUnsupported   = 0x01
	FSInfoUsedSizeUnsupported    = 0x02
	FSInfoAvailSizeUnsupported   = 0x04
	FSInfoTotalInodesUnsupported = 0x08
	FSInfoUsedInodesUnsupported  = 0x10
)

// Tape device capability attributes.
const (
	TapeAttrRewind = 0x1
	TapeAttrUnload = 0x2
	TapeAttrRaw    = 0x4
)

// SCSI EXECUTE_CDB flags.
const (
	SCSIDataIn  = 0x1
	SCSIDataOut = 0x2
)

// TapeOpenMode is ndmp4_tape_open_mode.
type TapeOpenMode uint32

const (
	TapeReadMode TapeOpenMode = 0
	TapeRDWRMode TapeOpenMode = 1
	TapeRawMode  TapeOpenMode = 2
)

// Tape state flags and unsupported bits (TAPE_GET_STATE).
const (
	TapeStateNoRewind = 0x08
	TapeStateWrProt   = 0x10
	TapeStateError    = 0x20
	TapeStateUnload   = 0x40

	TapeStateFileNumUnsupported     = 0x01
	TapeStateSoftErrorsUnsupported  = 0x02
	TapeStateBlockSizeUnsupported   = 0x04
	TapeStateBlocknoUnsupported     = 0x08
	TapeStateTotalSpaceUnsupported  = 0x10
	TapeStateSpaceRemainUnsupported = 0x20
)

// MTIOOp is ndmp4_tape_mtio_op.
type MTIOOp uint32

const (
	MTIOFSF MTIOOp = 0
	MTIOBSF MTIOOp = 1
	MTIOFSR MTIOOp = 2
	MTIOBSR MTIOOp = 3
	MTIOREW MTIOOp = 4
	MTIOEOF MTIOOp = 5
	MTIOOFF MTIOOp = 6
	MTIOTUR MTIOOp = 7
)

// DataOperation is ndmp4_data_operation.
type DataOperation uint32

const (
	DataOpNoAction        DataOperation = 0
	DataOpBackup          DataOperation = 1
	DataOpRecover         DataOperation = 2
	DataOpRecoverFilehist DataOperation = 3
)

// DataState is ndmp4_data_state.
type DataState uint32

const (
	DataStateIdle      DataState = 0
	DataStateActive    DataState = 1
	DataStateHalted    DataState = 2
	DataStateListen    DataState = 3
	DataStateConnected DataState = 4
)

// DataHaltReason is ndmp4_data_halt_reason.
type DataHaltReason uint32

const (
	DataHaltNA            DataHaltReason = 0
	DataHaltSuccessful    DataHaltReason = 1
	DataHaltAborted       DataHaltReason = 2
	DataHaltInternalError DataHaltReason = 3
	DataHaltConnectError  DataHaltReason = 4
)

// Data state unsupported bits.
const (
	DataStateEstBytesRemainUnsupported = 0x1
	DataStateEstTimeRemainUnsupported  = 0x2
)

// MoverMode is ndmp4_mover_mode.
type MoverMode uint32

const (
	MoverModeRead     MoverMode = 0 // the mover reads the data connection and writes tape (backup)
	MoverModeWrite    MoverMode = 1 // the mover reads tape and writes the data connection (recover)
	MoverModeNoAction MoverMode = 2
)

// MoverState is ndmp4_mover_state.
type MoverState uint32

const (
	MoverStateIdle   MoverState = 0
	MoverStateListen MoverState = 1
	MoverStateActive MoverState = 2
	MoverStatePaused MoverState = 3
	MoverStateHalted MoverState = 4
)

// MoverPauseReason is ndmp4_mover_pause_reason.
type MoverPauseReason uint32

const (
	MoverPauseNA         MoverPauseReason = 0
	MoverPauseEOM        MoverPauseReason = 1
	MoverPauseEOF        MoverPauseReason = 2
	MoverPauseSeek       MoverPauseReason = 3
	MoverPauseMediaError MoverPauseReason = 4
	MoverPauseEOW        MoverPauseReason = 5
)

// MoverHaltReason is ndmp4_mover_halt_reason.
type MoverHaltReason uint32

const (
	MoverHaltNA            MoverHaltReason = 0
	MoverHaltConnectClosed MoverHaltReason = 1
	MoverHaltAborted       MoverHaltReason = 2
	MoverHaltInternalError MoverHaltReason = 3
	MoverHaltConnectError  MoverHaltReason = 4
)

// ConnectionStatusReason is ndmp4_connection_status_reason.
type ConnectionStatusReason uint32

const (
	Connected ConnectionStatusReason = 0
	Shutdown  ConnectionStatusReason = 1
	Refused   ConnectionStatusReason = 2
)

// LogType is ndmp4_log_type.
type LogType uint32

const (
	LogNormal  LogType = 0
	LogDebug   LogType = 1
	LogError   LogType = 2
	LogWarning LogType = 3
)

// RecoveryStatus is ndmp4_recovery_status.
type RecoveryStatus uint32

const (
	RecoverySuccessful        RecoveryStatus = 0
	RecoveryFailedPermission  RecoveryStatus = 1
	RecoveryFailedNotFound    RecoveryStatus = 2
	RecoveryFailedNoDirectory RecoveryStatus = 3
	RecoveryFailedOutOfMemory RecoveryStatus = 4
	RecoveryFailedIOError     RecoveryStatus = 5
	RecoveryFailedUndefined   RecoveryStatus = 6
)

// FSType is ndmp4_fs_type.
type FSType uint32

const (
	FSUnix  FSType = 0
	FSNT    FSType = 1
	FSOther FSType = 2
)

// FileType is ndmp4_file_type.
type FileType uint32

// File stat unsupported bits.
const (
	FileStatAtimeUnsupported = 0x1
	FileStatCtimeUnsupported = 0x2
	FileStatGroupUnsupported = 0x4
)

// HasAssociatedMessage is ndmp4_has_associated_message.
type HasAssociatedMessage uint32
