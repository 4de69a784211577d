// Package engines holds the contract between backup engines (engines/dump,
// engines/smtape) and the NDMP DATA service that runs them.
//
// An engine never opens sockets or tape drives. A backup reads a volume
// (through the volume and snapshot packages the engine was constructed with)
// and writes one image stream to an io.Writer; a recover reads an image
// stream from an io.Reader and writes a volume. Everything else the DATA
// service relays to the DMA (file history, log lines, progress, seek requests
// for direct access recovery, returned environment) flows through the small
// interfaces below, so an engine is testable with a bytes.Buffer.
package engines

import (
	"context"
	"io"
	"time"
)

// Env is one NDMP environment variable (pval): FILESYSTEM, LEVEL, HIST, ...
type Env struct {
	Name  string
	Value string
}

// Lookup returns the value of the first variable called name.
func Lookup(env []Env, name string) (string, bool) {
	for _, e := range env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// FileStat is the NDMP v4 file_stat a file history entry carries.
type FileStat struct {
	Type   FileType
	Mtime  time.Time
	Atime  time.Time
	Ctime  time.Time
	UID    uint32
	GID    uint32
	Mode   uint32 // permission bits and setuid/setgid/sticky, without the type
	Size   uint64
	Links  uint32
	Node   uint64 // inode number
	FhInfo uint64 // position of the file's data in the image (for DAR), or ^uint64(0) when unknown
}

// FileType matches NDMP's ndmp_file_type.
type FileType int

const (
	FileDir FileType = iota
	FileFIFO
	FileCSpec
	FileBSpec
	FileReg
	FileSlink
	FileSock
	FileRegistry
	FileOther
)

// FileHistory receives file history during a backup (HIST=Y). The DATA
// service turns the calls into NDMP_FH_ADD_FILE / ADD_DIR / ADD_NODE
// messages and batches them.
type FileHistory interface {
	// AddFile reports a file by full path (path-based history, "file" style).
	AddFile(path string, st FileStat) error
	// AddDir reports one directory entry: name in directory dirNode refers to node.
	AddDir(name string, dirNode, node uint64) error
	// AddNode reports the attributes (and FhInfo) of an inode already named by AddDir.
	AddNode(st FileStat) error
}

// LogLevel matches NDMP's ndmp_log_type.
type LogLevel int

const (
	LogNormal LogLevel = iota
	LogDebug
	LogError
	LogWarning
)

// Logger relays engine messages to the DMA (NDMP_LOG_MESSAGE, NDMP_LOG_FILE).
type Logger interface {
	Message(level LogLevel, text string)
	// File reports the outcome of recovering one named file (err nil = success).
	File(path string, err error)
}

// Progress receives the phase and the byte count of a running operation; the
// DATA service exposes them in DATA_GET_STATE and the CLI draws them.
type Progress interface {
	Phase(name string)
	Add(bytes int64)
}

// BackupRequest is what an engine gets to write one backup image.
type BackupRequest struct {
	Env      []Env
	Stream   io.Writer   // the image; the DATA service connects it to a mover
	History  FileHistory // nil when HIST is not requested
	Log      Logger
	Progress Progress
	// Device names the tape device the image goes to (the mover's tape
	// when the DATA service knows it), for the engine's logs; "" unknown.
	Device string
}

// BackupResult is returned by a successful backup.
type BackupResult struct {
	Env   []Env // returned environment (DUMP_DATE, ...), served by DATA_GET_ENV
	Bytes int64 // bytes written to Stream
}

// NameEntry is one entry of a recover's name list (ndmp_name_v4).
type NameEntry struct {
	OriginalPath    string
	DestinationPath string
	Name            string
	OtherName       string
	Node            uint64
	FhInfo          uint64 // ^uint64(0) when not known (no DAR)
}

// RecoverRequest is what an engine gets to recover from one image.
type RecoverRequest struct {
	Env    []Env
	Names  []NameEntry // empty = recover everything
	Stream io.Reader
	// Seek asks for the image bytes [offset, offset+length) next (direct
	// access recovery, NDMP_NOTIFY_DATA_READ); length 0 means "to the end".
	// Later reads from Stream return data from offset. Nil when the DATA
	// service cannot seek; engines then read sequentially.
	Seek     func(offset, length uint64) error
	History  FileHistory // for START_RECOVER_FILEHIST (table of contents), else nil
	Log      Logger
	Progress Progress
	// Device names the tape device the image comes from (see
	// BackupRequest.Device); "" unknown.
	Device string
}

// RecoverResult is returned by a finished recover.
type RecoverResult struct {
	Files     int   // files recovered
	BytesRead int64 // image bytes consumed (DAR reports how little it read)
}

// Engine is a backup type (butype) the NDMP DATA service can run.
type Engine interface {
	// Name is the butype name (dump, smtape).
	Name() string
	// Attributes are the NDMP v4 butype attribute bits (NDMP_BUTYPE_*).
	Attributes() uint32
	// DefaultEnv is the default environment advertised in CONFIG_GET_BUTYPE_INFO.
	DefaultEnv() []Env
	Backup(ctx context.Context, req *BackupRequest) (*BackupResult, error)
	Recover(ctx context.Context, req *RecoverRequest) (*RecoverResult, error)
}
