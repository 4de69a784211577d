package ndmptest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"tapelab/engines"
	"tapelab/ndmp/wire"
)

// LabEngine is a test butype (name "lab"): its image is SIZE bytes of a known pattern
// (byte i = i*7+3), with file history for FILES fake files. Recover checks
// the pattern byte for byte. It exercises the DATA service's plumbing
// (stream to mover, FH, LOG, env, halts) without the dump engine.
type LabEngine struct{}

func (LabEngine) Name() string       { return "lab" }
func (LabEngine) Attributes() uint32 { return wire.ButypeBackupFHFile | wire.ButypeRecoverFilehist }
func (LabEngine) DefaultEnv() []engines.Env {
	return []engines.Env{{Name: "SIZE", Value: "1048576"}, {Name: "HIST", Value: "y"}}
}

func envInt(env []engines.Env, name string, def int) int {
	if v, ok := engines.Lookup(env, name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// PatternByte is byte i of every lab image.
func PatternByte(i int64) byte { return byte(i*7 + 3) }

func (LabEngine) Backup(ctx context.Context, req *engines.BackupRequest) (*engines.BackupResult, error) {
	size := envInt(req.Env, "SIZE", 1<<20)
	if _, bad := engines.Lookup(req.Env, "FAIL"); bad {
		return nil, fmt.Errorf("lab engine: failing as asked")
	}
	req.Log.Message(engines.LogNormal, fmt.Sprintf("lab backup of %d bytes", size))
	if req.History != nil {
		for i := 0; i < envInt(req.Env, "FILES", 3); i++ {
			st := engines.FileStat{Type: engines.FileReg, Mtime: time.Unix(1700000000, 0), Mode: 0o644, Size: uint64(i * 100), Links: 1, Node: uint64(i + 2), FhInfo: uint64(i * 512)}
			if err := req.History.AddFile(fmt.Sprintf("/f%d", i), st); err != nil {
				return nil, err
			}
		}
	}
	w := bufio.NewWriterSize(req.Stream, 256<<10)
	buf := make([]byte, 64<<10)
	for off := int64(0); off < int64(size); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(int64(len(buf)), int64(size)-off)
		for i := int64(0); i < n; i++ {
			buf[i] = PatternByte(off + i)
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return nil, err
		}
		off += n
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return &engines.BackupResult{Env: []engines.Env{{Name: "DUMP_DATE", Value: "1700000000"}, {Name: "SIZE", Value: strconv.Itoa(size)}}, Bytes: int64(size)}, nil
}

func (LabEngine) Recover(ctx context.Context, req *engines.RecoverRequest) (*engines.RecoverResult, error) {
	size := int64(envInt(req.Env, "SIZE", 1<<20))
	r := bufio.NewReaderSize(req.Stream, 256<<10)
	buf := make([]byte, 64<<10)
	var off int64
	for off < size {
		n, err := r.Read(buf[:min(int64(len(buf)), size-off)])
		for i := 0; i < n; i++ {
			if buf[i] != PatternByte(off+int64(i)) {
				return nil, fmt.Errorf("lab recover: byte %d is %#x, want %#x", off+int64(i), buf[i], PatternByte(off+int64(i)))
			}
		}
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if off != size {
		return nil, fmt.Errorf("lab recover: image ended at %d of %d bytes", off, size)
	}
	if req.History != nil {
		req.History.AddFile("/f0", engines.FileStat{Type: engines.FileReg, Node: 2})
	}
	for _, n := range req.Names {
		req.Log.File(n.OriginalPath, nil)
	}
	return &engines.RecoverResult{Files: len(req.Names), BytesRead: off}, nil
}
