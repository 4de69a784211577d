package ndmptest

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"time"

	"tapelab/engines"
	"tapelab/ndmp/wire"
)

// LabEngine is a test butype (name "lab"): its image is SIZE bytes of a known pattern
// (byte i = i*7+3; with RANDOM=y an incompressible splitmix64 stream),
// with file history for FILES fake files. Recover checks
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

// randomWord is word w (bytes 8w..8w+7, little endian) of a RANDOM=y
// image: splitmix64, incompressible, so benchmarks are not flattered by
// the VTL's compression.
func randomWord(w uint64) uint64 {
	z := w + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// ImageByte is byte i of an image (random or the simple pattern).
func ImageByte(random bool, i int64) byte {
	if random {
		return byte(randomWord(uint64(i)/8) >> (8 * (uint64(i) % 8)))
	}
	return PatternByte(i)
}

// fill writes image bytes [off, off+len(buf)).
func fill(random bool, buf []byte, off int64) {
	if !random {
		for i := range buf {
			buf[i] = PatternByte(off + int64(i))
		}
		return
	}
	i := 0
	for ; i < len(buf) && (off+int64(i))%8 != 0; i++ {
		buf[i] = ImageByte(true, off+int64(i))
	}
	for ; i+8 <= len(buf); i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], randomWord(uint64(off+int64(i))/8))
	}
	for ; i < len(buf); i++ {
		buf[i] = ImageByte(true, off+int64(i))
	}
}

func isRandom(env []engines.Env) bool {
	v, _ := engines.Lookup(env, "RANDOM")
	return v == "y"
}

func (LabEngine) Backup(ctx context.Context, req *engines.BackupRequest) (*engines.BackupResult, error) {
	size := envInt(req.Env, "SIZE", 1<<20)
	if _, bad := engines.Lookup(req.Env, "FAIL"); bad {
		return nil, fmt.Errorf("lab engine: failing as asked")
	}
	req.Log.Message(engines.LogNormal, fmt.Sprintf("lab backup of %d bytes", size))
	if v, _ := engines.Lookup(req.Env, "NODES"); v == "y" && req.History != nil {
		// Node-style history (dump's): directory entries, then nodes.
		for i := 0; i < envInt(req.Env, "FILES", 3); i++ {
			if err := req.History.AddDir(fmt.Sprintf("f%d", i), 2, uint64(i+3)); err != nil {
				return nil, err
			}
		}
		for i := 0; i < envInt(req.Env, "FILES", 3); i++ {
			if err := req.History.AddNode(engines.FileStat{Type: engines.FileReg, Mode: 0o600, Node: uint64(i + 3), FhInfo: uint64(i) * 1024}); err != nil {
				return nil, err
			}
		}
	} else if req.History != nil {
		for i := 0; i < envInt(req.Env, "FILES", 3); i++ {
			st := engines.FileStat{Type: engines.FileReg, Mtime: time.Unix(1700000000, 0), Mode: 0o644, Size: uint64(i * 100), Links: 1, Node: uint64(i + 2), FhInfo: uint64(i * 512)}
			if err := req.History.AddFile(fmt.Sprintf("/f%d", i), st); err != nil {
				return nil, err
			}
		}
	}
	random := isRandom(req.Env)
	w := bufio.NewWriterSize(req.Stream, 256<<10)
	buf := make([]byte, 64<<10)
	hold := int64(envInt(req.Env, "HOLD_AT", -1))
	for off := int64(0); off < int64(size); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if hold >= 0 && off >= hold {
			// HOLD_AT=N: stop after N bytes until cancelled (tests of
			// disconnects and limits in the middle of a backup).
			if err := w.Flush(); err != nil {
				return nil, err
			}
			<-ctx.Done()
			return nil, ctx.Err()
		}
		n := min(int64(len(buf)), int64(size)-off)
		fill(random, buf[:n], off)
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
	var off int64
	if seek := int64(envInt(req.Env, "SEEK", -1)); seek >= 0 {
		// SEEK=N: direct access: ask for bytes [N, SIZE) only.
		if req.Seek == nil {
			return nil, fmt.Errorf("lab recover: no seek")
		}
		if err := req.Seek(uint64(seek), uint64(size-seek)); err != nil {
			return nil, err
		}
		off = seek
	}
	r := bufio.NewReaderSize(req.Stream, 256<<10)
	buf := make([]byte, 64<<10)
	want := make([]byte, 64<<10)
	random := isRandom(req.Env)
	start := off
	for off < size {
		n, err := r.Read(buf[:min(int64(len(buf)), size-off)])
		fill(random, want[:n], off)
		for i := 0; i < n; i++ {
			if buf[i] != want[i] {
				return nil, fmt.Errorf("lab recover: byte %d is %#x, want %#x", off+int64(i), buf[i], want[i])
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
	return &engines.RecoverResult{Files: len(req.Names), BytesRead: off - start}, nil
}
