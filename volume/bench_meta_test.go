package volume

import (
	"strconv"
	"testing"
)

// BenchmarkCreate: create an empty file (one transaction: inode, dirent,
// parent update). BenchmarkGetAttr / BenchmarkLookup: metadata reads.
// Reference: a FUSE metadata round trip costs 15-25 us on this machine
// (shared/notes/fuse-badger.md §2), so these should stay well below that.
func BenchmarkCreate(b *testing.B) {
	_, _, w := benchVolume(b, 1<<30)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.Create(RootIno, "f"+strconv.Itoa(i), 0o644, Owner{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetAttr(b *testing.B) {
	_, _, w := benchVolume(b, 1<<30)
	var inos []uint64
	for i := 0; i < 1000; i++ {
		a, _ := w.Create(RootIno, "f"+strconv.Itoa(i), 0o644, Owner{})
		inos = append(inos, a.Ino)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.GetAttr(inos[i%len(inos)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	_, _, w := benchVolume(b, 1<<30)
	for i := 0; i < 1000; i++ {
		w.Create(RootIno, "f"+strconv.Itoa(i), 0o644, Owner{})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.Lookup(RootIno, "f"+strconv.Itoa(i%1000)); err != nil {
			b.Fatal(err)
		}
	}
}
