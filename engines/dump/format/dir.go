package format

import (
	"encoding/binary"
	"fmt"
)

// Directory entry types (d_type), (mode>>12)&0xf.
const (
	DTUnknown = 0
	DTFIFO    = 1
	DTChr     = 2
	DTDir     = 4
	DTBlk     = 6
	DTReg     = 8
	DTLnk     = 10
	DTSock    = 12
)

// Dirent is one directory entry.
type Dirent struct {
	Ino  uint32
	Type uint8 // DT_* (0 in old-format images)
	Name string
}

// DTOfMode returns the d_type for a file mode.
func DTOfMode(mode uint32) uint8 { return uint8((mode >> 12) & 0xf) }

func direntLen(namlen int) int { return (8 + namlen + 1 + 3) &^ 3 }

// EncodeDir converts entries (which must start with "." and "..") to the
// 4.4BSD directory format: 512-byte chunks, entries never crossing a chunk,
// the last entry of each chunk stretched to its end. The result's length is
// a multiple of DirBlkSize.
func EncodeDir(entries []Dirent, bo binary.ByteOrder) ([]byte, error) {
	out := make([]byte, 0, DirBlkSize)
	chunkStart, last := 0, -1 // last = offset of the previous entry in this chunk
	for _, e := range entries {
		if len(e.Name) == 0 || len(e.Name) > maxName {
			return nil, fmt.Errorf("%w: directory entry name length %d", ErrFormat, len(e.Name))
		}
		n := direntLen(len(e.Name))
		if len(out)+n > chunkStart+DirBlkSize {
			// close the chunk: stretch the previous entry to its end
			pad := chunkStart + DirBlkSize - len(out)
			bo.PutUint16(out[last+4:], uint16(len(out)+pad-last))
			out = append(out, make([]byte, pad)...)
			chunkStart = len(out)
		}
		last = len(out)
		var b [8]byte
		bo.PutUint32(b[0:], e.Ino)
		bo.PutUint16(b[4:], uint16(n))
		b[6] = e.Type
		b[7] = uint8(len(e.Name))
		out = append(out, b[:]...)
		out = append(out, e.Name...)
		out = append(out, make([]byte, n-8-len(e.Name))...)
	}
	if last >= 0 {
		pad := chunkStart + DirBlkSize - len(out)
		bo.PutUint16(out[last+4:], uint16(len(out)+pad-last))
		out = append(out, make([]byte, pad)...)
	}
	return out, nil
}

// DecodeDir parses directory data in the new (4.4BSD) format or, with
// oldFormat, the 4.3BSD/Solaris format {u32 ino; u16 reclen; u16 namlen}.
// Entries with d_ino 0 are skipped. "." and ".." are returned like others.
func DecodeDir(data []byte, bo binary.ByteOrder, oldFormat bool) ([]Dirent, error) {
	var out []Dirent
	for chunk := 0; chunk < len(data); chunk += DirBlkSize {
		end := min(chunk+DirBlkSize, len(data))
		off := chunk
		for off < end {
			if end-off < 8 {
				return out, fmt.Errorf("%w: mangled directory at offset %d", ErrFormat, off)
			}
			ino := bo.Uint32(data[off:])
			reclen := int(bo.Uint16(data[off+4:]))
			var namlen int
			var typ uint8
			if oldFormat {
				namlen = int(bo.Uint16(data[off+6:]))
			} else {
				typ = data[off+6]
				namlen = int(data[off+7])
			}
			if reclen < 8 || reclen%4 != 0 || off+reclen > end || 8+namlen > reclen {
				return out, fmt.Errorf("%w: mangled directory at offset %d (reclen %d namlen %d)", ErrFormat, off, reclen, namlen)
			}
			if ino != 0 && namlen > 0 {
				out = append(out, Dirent{Ino: ino, Type: typ, Name: string(data[off+8 : off+8+namlen])})
			}
			off += reclen
		}
	}
	return out, nil
}
