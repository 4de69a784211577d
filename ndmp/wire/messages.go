package wire

import (
	"encoding/binary"
	"fmt"
	"reflect"
)

// HeaderSize is the size of the encoded ndmp4_header.
const HeaderSize = 24

// Header is ndmp4_header, the first 24 bytes of every record.
type Header struct {
	Sequence      uint32
	TimeStamp     uint32 // seconds since 1970 (Wireshark ignores PDUs outside 1980..2030)
	Type          MessageType
	Code          Code
	ReplySequence uint32
	Error         Error
}

// Append appends the encoded header to dst.
func (h Header) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, h.Sequence)
	dst = binary.BigEndian.AppendUint32(dst, h.TimeStamp)
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.Type))
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.Code))
	dst = binary.BigEndian.AppendUint32(dst, h.ReplySequence)
	return binary.BigEndian.AppendUint32(dst, uint32(h.Error))
}

// ParseHeader splits a record into its header and body.
func ParseHeader(rec []byte) (Header, []byte, error) {
	if len(rec) < HeaderSize {
		return Header{}, nil, fmt.Errorf("ndmp: record of %d bytes is shorter than a header: %w", len(rec), ErrShort)
	}
	be := binary.BigEndian
	h := Header{
		Sequence:      be.Uint32(rec[0:]),
		TimeStamp:     be.Uint32(rec[4:]),
		Type:          MessageType(be.Uint32(rec[8:])),
		Code:          Code(be.Uint32(rec[12:])),
		ReplySequence: be.Uint32(rec[16:]),
		Error:         Error(be.Uint32(rec[20:])),
	}
	if h.Type > Reply {
		return h, nil, fmt.Errorf("ndmp: bad message type %d", h.Type)
	}
	return h, rec[HeaderSize:], nil
}

// MessageInfo describes one message: its name and body types. A nil
// Request means an empty request body; a nil Reply means a post (no reply).
type MessageInfo struct {
	Code    Code
	Name    string
	Request reflect.Type
	Reply   reflect.Type
	Post    bool
}

// NewRequest returns a pointer to a zero request body (nil for none).
func (m *MessageInfo) NewRequest() any {
	if m.Request == nil {
		return nil
	}
	return reflect.New(m.Request).Interface()
}

// NewReply returns a pointer to a zero reply body (nil for none).
func (m *MessageInfo) NewReply() any {
	if m.Reply == nil {
		return nil
	}
	return reflect.New(m.Reply).Interface()
}

// Messages is the one table of NDMP v4 messages tapelab knows, checked
// against ndmp4.x (see doc.go).
var Messages = map[Code]*MessageInfo{}

func def(c Code, name string, req, rep any, post bool) {
	m := &MessageInfo{Code: c, Name: name, Post: post}
	if req != nil {
		m.Request = reflect.TypeOf(req)
	}
	if rep != nil {
		m.Reply = reflect.TypeOf(rep)
	}
	Messages[c] = m
}

func init() {
	def(ConnectOpen, "NDMP4_CONNECT_OPEN", ConnectOpenRequest{}, ErrorReply{}, false)
	def(ConnectClientAuth, "NDMP4_CONNECT_CLIENT_AUTH", ConnectClientAuthRequest{}, ErrorReply{}, false)
	def(ConnectClose, "NDMP4_CONNECT_CLOSE", nil, nil, true)
	def(ConnectServerAuth, "NDMP4_CONNECT_SERVER_AUTH", ConnectServerAuthRequest{}, ConnectServerAuthReply{}, false)

	def(ConfigGetHostInfo, "NDMP4_CONFIG_GET_HOST_INFO", nil, ConfigGetHostInfoReply{}, false)
	def(ConfigGetConnectionType, "NDMP4_CONFIG_GET_CONNECTION_TYPE", nil, ConfigGetConnectionTypeReply{}, false)
	def(ConfigGetAuthAttr, "NDMP4_CONFIG_GET_AUTH_ATTR", ConfigGetAuthAttrRequest{}, ConfigGetAuthAttrReply{}, false)
	def(ConfigGetButypeInfo, "NDMP4_CONFIG_GET_BUTYPE_INFO", nil, ConfigGetButypeInfoReply{}, false)
	def(ConfigGetFSInfo, "NDMP4_CONFIG_GET_FS_INFO", nil, ConfigGetFSInfoReply{}, false)
	def(ConfigGetTapeInfo, "NDMP4_CONFIG_GET_TAPE_INFO", nil, ConfigGetDeviceInfoReply{}, false)
	def(ConfigGetSCSIInfo, "NDMP4_CONFIG_GET_SCSI_INFO", nil, ConfigGetDeviceInfoReply{}, false)
	def(ConfigGetServerInfo, "NDMP4_CONFIG_GET_SERVER_INFO", nil, ConfigGetServerInfoReply{}, false)
	def(ConfigSetExtList, "NDMP4_CONFIG_SET_EXT_LIST", ConfigSetExtListRequest{}, ErrorReply{}, false)
	def(ConfigGetExtList, "NDMP4_CONFIG_GET_EXT_LIST", nil, ConfigGetExtListReply{}, false)

	def(SCSIOpen, "NDMP4_SCSI_OPEN", DeviceOpenRequest{}, ErrorReply{}, false)
	def(SCSIClose, "NDMP4_SCSI_CLOSE", nil, ErrorReply{}, false)
	def(SCSIGetState, "NDMP4_SCSI_GET_STATE", nil, SCSIGetStateReply{}, false)
	def(SCSIResetDevice, "NDMP4_SCSI_RESET_DEVICE", nil, ErrorReply{}, false)
	def(SCSIExecuteCDB, "NDMP4_SCSI_EXECUTE_CDB", ExecuteCDBRequest{}, ExecuteCDBReply{}, false)

	def(TapeOpen, "NDMP4_TAPE_OPEN", TapeOpenRequest{}, ErrorReply{}, false)
	def(TapeClose, "NDMP4_TAPE_CLOSE", nil, ErrorReply{}, false)
	def(TapeGetState, "NDMP4_TAPE_GET_STATE", nil, TapeGetStateReply{}, false)
	def(TapeMTIO, "NDMP4_TAPE_MTIO", TapeMTIORequest{}, TapeMTIOReply{}, false)
	def(TapeWrite, "NDMP4_TAPE_WRITE", TapeWriteRequest{}, TapeWriteReply{}, false)
	def(TapeRead, "NDMP4_TAPE_READ", TapeReadRequest{}, TapeReadReply{}, false)
	def(TapeExecuteCDB, "NDMP4_TAPE_EXECUTE_CDB", ExecuteCDBRequest{}, ExecuteCDBReply{}, false)

	def(DataGetState, "NDMP4_DATA_GET_STATE", nil, DataGetStateReply{}, false)
	def(DataStartBackup, "NDMP4_DATA_START_BACKUP", DataStartBackupRequest{}, ErrorReply{}, false)
	def(DataStartRecover, "NDMP4_DATA_START_RECOVER", DataStartRecoverRequest{}, ErrorReply{}, false)
	def(DataAbort, "NDMP4_DATA_ABORT", nil, ErrorReply{}, false)
	def(DataGetEnv, "NDMP4_DATA_GET_ENV", nil, DataGetEnvReply{}, false)
	def(DataStop, "NDMP4_DATA_STOP", nil, ErrorReply{}, false)
	def(DataListen, "NDMP4_DATA_LISTEN", DataListenRequest{}, ListenReply{}, false)
	def(DataConnect, "NDMP4_DATA_CONNECT", DataConnectRequest{}, ErrorReply{}, false)
	def(DataStartRecoverFilehist, "NDMP4_DATA_START_RECOVER_FILEHIST", DataStartRecoverRequest{}, ErrorReply{}, false)

	def(NotifyDataHalted, "NDMP4_NOTIFY_DATA_HALTED", NotifyDataHaltedPost{}, nil, true)
	def(NotifyConnectionStatus, "NDMP4_NOTIFY_CONNECTION_STATUS", NotifyConnectionStatusPost{}, nil, true)
	def(NotifyMoverHalted, "NDMP4_NOTIFY_MOVER_HALTED", NotifyMoverHaltedPost{}, nil, true)
	def(NotifyMoverPaused, "NDMP4_NOTIFY_MOVER_PAUSED", NotifyMoverPausedPost{}, nil, true)
	def(NotifyDataRead, "NDMP4_NOTIFY_DATA_READ", NotifyDataReadPost{}, nil, true)

	def(LogFile, "NDMP4_LOG_FILE", LogFilePost{}, nil, true)
	def(LogMessage, "NDMP4_LOG_MESSAGE", LogMessagePost{}, nil, true)

	def(FHAddFile, "NDMP4_FH_ADD_FILE", FHAddFilePost{}, nil, true)
	def(FHAddDir, "NDMP4_FH_ADD_DIR", FHAddDirPost{}, nil, true)
	def(FHAddNode, "NDMP4_FH_ADD_NODE", FHAddNodePost{}, nil, true)

	def(MoverGetState, "NDMP4_MOVER_GET_STATE", nil, MoverGetStateReply{}, false)
	def(MoverListen, "NDMP4_MOVER_LISTEN", MoverListenRequest{}, ListenReply{}, false)
	def(MoverContinue, "NDMP4_MOVER_CONTINUE", nil, ErrorReply{}, false)
	def(MoverAbort, "NDMP4_MOVER_ABORT", nil, ErrorReply{}, false)
	def(MoverStop, "NDMP4_MOVER_STOP", nil, ErrorReply{}, false)
	def(MoverSetWindow, "NDMP4_MOVER_SET_WINDOW", MoverSetWindowRequest{}, ErrorReply{}, false)
	def(MoverRead, "NDMP4_MOVER_READ", MoverReadRequest{}, ErrorReply{}, false)
	def(MoverClose, "NDMP4_MOVER_CLOSE", nil, ErrorReply{}, false)
	def(MoverSetRecordSize, "NDMP4_MOVER_SET_RECORD_SIZE", MoverSetRecordSizeRequest{}, ErrorReply{}, false)
	def(MoverConnect, "NDMP4_MOVER_CONNECT", MoverConnectRequest{}, ErrorReply{}, false)
}

// ErrorReply is every reply that carries only ndmp4_error.
type ErrorReply struct {
	Error Error
}

// PVal is ndmp4_pval (an environment variable).
type PVal struct {
	Name  string
	Value string
}

// ConnectOpenRequest is ndmp4_connect_open_request.
type ConnectOpenRequest struct {
	ProtocolVersion uint16
}

// AuthData is the union ndmp4_auth_data.
type AuthData struct {
	Type     AuthType
	ID       string   // TEXT and MD5
	Password string   // TEXT
	Digest   [16]byte // MD5
}

func (a AuthData) MarshalXDR(e *Encoder) {
	e.Uint32(uint32(a.Type))
	switch a.Type {
	case AuthText:
		e.String(a.ID)
		e.String(a.Password)
	case AuthMD5:
		e.String(a.ID)
		e.Fixed(a.Digest[:])
	}
}

func (a *AuthData) UnmarshalXDR(d *Decoder) error {
	*a = AuthData{}
	t, err := d.Uint32()
	if err != nil {
		return err
	}
	a.Type = AuthType(t)
	switch a.Type {
	case AuthNone:
		return nil
	case AuthText:
		if a.ID, err = d.String(); err != nil {
			return err
		}
		a.Password, err = d.String()
		return err
	case AuthMD5:
		if a.ID, err = d.String(); err != nil {
			return err
		}
		p, err := d.Fixed(16)
		copy(a.Digest[:], p)
		return err
	}
	return fmt.Errorf("xdr: bad auth type %d", t)
}

// AuthAttr is the union ndmp4_auth_attr.
type AuthAttr struct {
	Type      AuthType
	Challenge [64]byte // MD5 only
}

func (a AuthAttr) MarshalXDR(e *Encoder) {
	e.Uint32(uint32(a.Type))
	if a.Type == AuthMD5 {
		e.Fixed(a.Challenge[:])
	}
}

func (a *AuthAttr) UnmarshalXDR(d *Decoder) error {
	*a = AuthAttr{}
	t, err := d.Uint32()
	if err != nil {
		return err
	}
	a.Type = AuthType(t)
	switch a.Type {
	case AuthNone, AuthText:
		return nil
	case AuthMD5:
		p, err := d.Fixed(64)
		copy(a.Challenge[:], p)
		return err
	}
	return fmt.Errorf("xdr: bad auth type %d", t)
}

// ConnectClientAuthRequest is ndmp4_connect_client_auth_request.
type ConnectClientAuthRequest struct {
	Auth AuthData
}

// ConnectServerAuthRequest is ndmp4_connect_server_auth_request.
type ConnectServerAuthRequest struct {
	ClientAttr AuthAttr
}

// ConnectServerAuthReply is ndmp4_connect_server_auth_reply.
type ConnectServerAuthReply struct {
	Error        Error
	ServerResult AuthData
}

// ConfigGetHostInfoReply is ndmp4_config_get_host_info_reply.
type ConfigGetHostInfoReply struct {
	Error    Error
	Hostname string
	OSType   string
	OSVers   string
	HostID   string
}

// ConfigGetServerInfoReply is ndmp4_config_get_server_info_reply.
type ConfigGetServerInfoReply struct {
	Error     Error
	Vendor    string
	Product   string
	Revision  string
	AuthTypes []AuthType
}

// ConfigGetConnectionTypeReply is ndmp4_config_get_connection_type_reply.
type ConfigGetConnectionTypeReply struct {
	Error     Error
	AddrTypes []AddrType
}

// ConfigGetAuthAttrRequest is ndmp4_config_get_auth_attr_request.
type ConfigGetAuthAttrRequest struct {
	AuthType AuthType
}

// ConfigGetAuthAttrReply is ndmp4_config_get_auth_attr_reply.
type ConfigGetAuthAttrReply struct {
	Error      Error
	ServerAttr AuthAttr
}

// ButypeInfo is ndmp4_butype_info.
type ButypeInfo struct {
	Name       string
	DefaultEnv []PVal
	Attrs      uint32
}

// ConfigGetButypeInfoReply is ndmp4_config_get_butype_info_reply.
type ConfigGetButypeInfoReply struct {
	Error   Error
	Butypes []ButypeInfo
}

// FSInfo is ndmp4_fs_info.
type FSInfo struct {
	Unsupported    uint32
	Type           string
	LogicalDevice  string
	PhysicalDevice string
	TotalSize      uint64
	UsedSize       uint64
	AvailSize      uint64
	TotalInodes    uint64
	UsedInodes     uint64
	Env            []PVal
	Status         string
}

// ConfigGetFSInfoReply is ndmp4_config_get_fs_info_reply.
type ConfigGetFSInfoReply struct {
	Error Error
	FS    []FSInfo
}

// DeviceCapability is ndmp4_device_capability.
type DeviceCapability struct {
	Device     string
	Attr       uint32
	Capability []PVal
}

// DeviceInfo is ndmp4_device_info.
type DeviceInfo struct {
	Model   string
	Caplist []DeviceCapability
}

// ConfigGetDeviceInfoReply is ndmp4_config_get_tape_info_reply and
// ndmp4_config_get_scsi_info_reply (same layout).
type ConfigGetDeviceInfoReply struct {
	Error   Error
	Devices []DeviceInfo
}

// ClassList is ndmp4_class_list.
type ClassList struct {
	ClassID  uint16
	Versions []uint16
}

// ClassVersion is ndmp4_class_version.
type ClassVersion struct {
	ClassID uint16
	Version uint16
}

// ConfigGetExtListReply is ndmp4_config_get_ext_list_reply.
type ConfigGetExtListReply struct {
	Error   Error
	Classes []ClassList
}

// ConfigSetExtListRequest is the NDMP v4 specification's
// ndmp_config_set_ext_list_request: the classes (one version each) the DMA
// selected. (Amanda's ndmp4.x differs; Wireshark and the spec agree on this.)
type ConfigSetExtListRequest struct {
	Selected []ClassVersion
}

// DeviceOpenRequest is ndmp4_scsi_open_request.
type DeviceOpenRequest struct {
	Device string
}

// SCSIGetStateReply is ndmp4_scsi_get_state_reply.
type SCSIGetStateReply struct {
	Error            Error
	TargetController int16
	TargetID         int16
	TargetLUN        int16
}

// ExecuteCDBRequest is ndmp4_execute_cdb_request (SCSI and TAPE).
type ExecuteCDBRequest struct {
	Flags     uint32
	Timeout   uint32
	DatainLen uint32
	CDB       []byte
	Dataout   []byte
}

// ExecuteCDBReply is ndmp4_execute_cdb_reply.
type ExecuteCDBReply struct {
	Error      Error
	Status     uint8
	DataoutLen uint32
	Datain     []byte
	ExtSense   []byte
}

// TapeOpenRequest is ndmp4_tape_open_request.
type TapeOpenRequest struct {
	Device string
	Mode   TapeOpenMode
}

// TapeGetStateReply is ndmp4_tape_get_state_reply.
type TapeGetStateReply struct {
	Unsupported uint32
	Error       Error
	Flags       uint32
	FileNum     uint32
	SoftErrors  uint32
	BlockSize   uint32
	BlockNo     uint32
	TotalSpace  uint64
	SpaceRemain uint64
}

// TapeMTIORequest is ndmp4_tape_mtio_request.
type TapeMTIORequest struct {
	Op    MTIOOp
	Count uint32
}

// TapeMTIOReply is ndmp4_tape_mtio_reply.
type TapeMTIOReply struct {
	Error      Error
	ResidCount uint32
}

// TapeWriteRequest is ndmp4_tape_write_request.
type TapeWriteRequest struct {
	Data []byte
}

// TapeWriteReply is ndmp4_tape_write_reply.
type TapeWriteReply struct {
	Error Error
	Count uint32
}

// TapeReadRequest is ndmp4_tape_read_request.
type TapeReadRequest struct {
	Count uint32
}

// TapeReadReply is ndmp4_tape_read_reply.
type TapeReadReply struct {
	Error Error
	Data  []byte
}

// TCPAddr is ndmp4_tcp_addr.
type TCPAddr struct {
	IP   uint32
	Port uint16
	Env  []PVal
}

// Addr is the union ndmp4_addr.
type Addr struct {
	Type AddrType
	TCP  []TCPAddr // AddrTCP
	IPC  []byte    // AddrIPC comm_data
}

func (a Addr) MarshalXDR(e *Encoder) {
	e.Uint32(uint32(a.Type))
	switch a.Type {
	case AddrTCP:
		e.Value(a.TCP)
	case AddrIPC:
		e.Opaque(a.IPC)
	}
}

func (a *Addr) UnmarshalXDR(d *Decoder) error {
	*a = Addr{}
	t, err := d.Uint32()
	if err != nil {
		return err
	}
	a.Type = AddrType(t)
	switch a.Type {
	case AddrLocal:
		return nil
	case AddrTCP:
		return d.Value(&a.TCP)
	case AddrIPC:
		p, err := d.Opaque()
		if len(p) > 0 {
			a.IPC = append([]byte(nil), p...)
		}
		return err
	}
	return fmt.Errorf("xdr: bad address type %d", t)
}

// DataGetStateReply is ndmp4_data_get_state_reply.
type DataGetStateReply struct {
	Unsupported    uint32
	Error          Error
	Operation      DataOperation
	State          DataState
	HaltReason     DataHaltReason
	BytesProcessed uint64
	EstBytesRemain uint64
	EstTimeRemain  uint32
	Addr           Addr
	ReadOffset     uint64
	ReadLength     uint64
}

// DataListenRequest is ndmp4_data_listen_request.
type DataListenRequest struct {
	AddrType AddrType
}

// ListenReply is ndmp4_data_listen_reply and ndmp4_mover_listen_reply.
type ListenReply struct {
	Error Error
	Addr  Addr
}

// DataConnectRequest is ndmp4_data_connect_request.
type DataConnectRequest struct {
	Addr Addr
}

// DataStartBackupRequest is ndmp4_data_start_backup_request.
type DataStartBackupRequest struct {
	Butype string
	Env    []PVal
}

// Name is ndmp4_name (one entry of a recover's name list).
type Name struct {
	OriginalPath    string
	DestinationPath string
	Name            string
	OtherName       string
	Node            uint64
	FhInfo          uint64
}

// DataStartRecoverRequest is ndmp4_data_start_recover_request (and
// _filehist_request, same layout).
type DataStartRecoverRequest struct {
	Env    []PVal
	Nlist  []Name
	Butype string
}

// DataGetEnvReply is ndmp4_data_get_env_reply.
type DataGetEnvReply struct {
	Error Error
	Env   []PVal
}

// MoverSetRecordSizeRequest is ndmp4_mover_set_record_size_request.
type MoverSetRecordSizeRequest struct {
	Len uint32
}

// MoverSetWindowRequest is ndmp4_mover_set_window_request.
type MoverSetWindowRequest struct {
	Offset uint64
	Length uint64
}

// MoverConnectRequest is ndmp4_mover_connect_request.
type MoverConnectRequest struct {
	Mode MoverMode
	Addr Addr
}

// MoverListenRequest is ndmp4_mover_listen_request.
type MoverListenRequest struct {
	Mode     MoverMode
	AddrType AddrType
}

// MoverReadRequest is ndmp4_mover_read_request.
type MoverReadRequest struct {
	Offset uint64
	Length uint64
}

// MoverGetStateReply is ndmp4_mover_get_state_reply.
type MoverGetStateReply struct {
	Error           Error
	Mode            MoverMode
	State           MoverState
	PauseReason     MoverPauseReason
	HaltReason      MoverHaltReason
	RecordSize      uint32
	RecordNum       uint32
	BytesMoved      uint64
	SeekPosition    uint64
	BytesLeftToRead uint64
	WindowOffset    uint64
	WindowLength    uint64
	Addr            Addr
}

// NotifyDataHaltedPost is ndmp4_notify_data_halted_post.
type NotifyDataHaltedPost struct {
	Reason DataHaltReason
}

// NotifyConnectionStatusPost is ndmp4_notify_connection_status_post.
type NotifyConnectionStatusPost struct {
	Reason          ConnectionStatusReason
	ProtocolVersion uint16
	TextReason      string
}

// NotifyMoverHaltedPost is ndmp4_notify_mover_halted_post.
type NotifyMoverHaltedPost struct {
	Reason MoverHaltReason
}

// NotifyMoverPausedPost is ndmp4_notify_mover_paused_post.
type NotifyMoverPausedPost struct {
	Reason       MoverPauseReason
	SeekPosition uint64
}

// NotifyDataReadPost is ndmp4_notify_data_read_post.
type NotifyDataReadPost struct {
	Offset uint64
	Length uint64
}

// LogMessagePost is ndmp4_log_message_post.
type LogMessagePost struct {
	LogType                   LogType
	MessageID                 uint32
	Entry                     string
	AssociatedMessageValid    HasAssociatedMessage
	AssociatedMessageSequence uint32
}

// LogFilePost is ndmp4_log_file_post.
type LogFilePost struct {
	Name           string
	RecoveryStatus RecoveryStatus
}

// FileName is the union ndmp4_file_name.
type FileName struct {
	FSType  FSType
	Name    string // UNIX and other
	DOSName string // NT (Name holds nt_path)
}

func (f FileName) MarshalXDR(e *Encoder) {
	e.Uint32(uint32(f.FSType))
	e.String(f.Name)
	if f.FSType == FSNT {
		e.String(f.DOSName)
	}
}

func (f *FileName) UnmarshalXDR(d *Decoder) error {
	*f = FileName{}
	t, err := d.Uint32()
	if err != nil {
		return err
	}
	f.FSType = FSType(t)
	if f.Name, err = d.String(); err != nil {
		return err
	}
	if f.FSType == FSNT {
		f.DOSName, err = d.String()
	}
	return err
}

// FileStat is ndmp4_file_stat.
type FileStat struct {
	Unsupported uint32
	FSType      FSType
	FileType    FileType
	Mtime       uint32
	Atime       uint32
	Ctime       uint32
	Owner       uint32
	Group       uint32
	Fattr       uint32
	Size        uint64
	Links       uint32
}

// File is ndmp4_file.
type File struct {
	Names  []FileName
	Stats  []FileStat
	Node   uint64
	FhInfo uint64
}

// FHAddFilePost is ndmp4_fh_add_file_post.
type FHAddFilePost struct {
	Files []File
}

// Dir is ndmp4_dir.
type Dir struct {
	Names  []FileName
	Node   uint64
	Parent uint64
}

// FHAddDirPost is ndmp4_fh_add_dir_post.
type FHAddDirPost struct {
	Dirs []Dir
}

// Node is ndmp4_node.
type Node struct {
	Stats  []FileStat
	Node   uint64
	FhInfo uint64
}

// FHAddNodePost is ndmp4_fh_add_node_post.
type FHAddNodePost struct {
	Nodes []Node
}

// EncodeMessage builds one complete message record (header + body).
func EncodeMessage(h Header, body any) []byte {
	buf := h.Append(make([]byte, 0, HeaderSize+64))
	if body != nil {
		e := Encoder{Buf: buf}
		e.Value(body)
		buf = e.Buf
	}
	return buf
}

// DecodeBody decodes the body of a message with header h: the request or
// the reply type from the table. It returns nil for empty bodies.
func DecodeBody(h Header, body []byte) (any, error) {
	m, ok := Messages[h.Code]
	if !ok {
		return nil, fmt.Errorf("ndmp: unknown message %#x", uint32(h.Code))
	}
	var v any
	if h.Type == Request {
		v = m.NewRequest()
	} else {
		v = m.NewReply()
	}
	if v == nil {
		if len(body) != 0 {
			return nil, fmt.Errorf("ndmp: %s: unexpected %d-byte body", m.Name, len(body))
		}
		return nil, nil
	}
	if h.Type == Reply && h.Error != NoErr && len(body) == 0 {
		// Some peers answer an error with a bare header.
		return v, nil
	}
	if err := Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("ndmp: %s: %w", m.Name, err)
	}
	return v, nil
}
