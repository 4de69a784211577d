package volume

import (
	"bytes"
	"testing"
)

func TestInodeRecordRoundTrip(t *testing.T) {
	for _, n := range []inode{
		{Mode: sIFDIR | 0o755, Nlink: 2, Gen: 1, Parent: 2},
		{Mode: sIFREG | 0o4755, UID: 1000, GID: 100, Nlink: 3, Size: 1 << 40, Blocks: 12, Atime: -5, Mtime: 1<<62 + 7, Ctime: 3, Crtime: 4, Gen: 9},
		{Mode: sIFLNK | 0o777, Nlink: 1, Size: 3, Target: "a/b"},
		{Mode: sIFCHR | 0o600, Nlink: 1, Rdev: 0x12345},
	} {
		got, err := decodeInode(n.encode())
		if err != nil || got != n {
			t.Fatalf("round trip %+v -> %+v, %v", n, got, err)
		}
	}
	if _, err := decodeInode([]byte{1, 2, 3}); err == nil {
		t.Fatal("short record decoded")
	}
	c := counters{Epoch: 5, NextIno: 77, Inodes: 3, Live: 10, Total: 12}
	if got, err := decodeCounters(c.encode()); err != nil || got != c {
		t.Fatal("counters round trip")
	}
	ino, mode, err := decodeDirent(encodeDirent(42, sIFREG|0o644))
	if err != nil || ino != 42 || mode != sIFREG {
		t.Fatal("dirent round trip")
	}
}

// FuzzDecodeInode: decoding never panics, and what decodes re-encodes to
// the same bytes.
func FuzzDecodeInode(f *testing.F) {
	f.Add((&inode{Mode: sIFREG | 0o644, Nlink: 1, Size: 10, Gen: 1}).encode())
	f.Add((&inode{Mode: sIFLNK | 0o777, Nlink: 1, Target: "target"}).encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := decodeInode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(n.encode(), b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzDecodeRecords covers the dirent and counters decoders.
func FuzzDecodeRecords(f *testing.F) {
	f.Add(encodeDirent(5, sIFDIR))
	f.Add(counters{1, 2, 3, 4, 5}.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		if ino, mode, err := decodeDirent(b); err == nil {
			if !bytes.Equal(encodeDirent(ino, mode), b) && mode&^uint32(sIFMT) == 0 {
				t.Fatal("dirent re-encoding differs")
			}
		}
		if c, err := decodeCounters(b); err == nil && !bytes.Equal(c.encode(), b) {
			t.Fatal("counters re-encoding differs")
		}
	})
}
