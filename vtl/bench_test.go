package vtl

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// benchSize is the amount written then read per benchmark iteration:
// TAPELAB_BENCH_SIZE bytes, default 64 MiB (make bench sets 1 GiB).
func benchSize() int64 {
	if s, err := strconv.ParseInt(os.Getenv("TAPELAB_BENCH_SIZE"), 10, 64); err == nil && s > 0 {
		return s
	}
	return 64 << 20
}

// benchDriveWriteRead writes benchSize bytes in records of recSize through
// the Go API (WriteRecord, then a filemark, which fsyncs), rewinds and
// reads them back with ReadRecord until the filemark.
func benchDriveWriteRead(b *testing.B, recSize int, compress bool) {
	size := benchSize()
	n := int(size / int64(recSize))
	p := rec(42, recSize)
	buf := make([]byte, recSize)
	b.SetBytes(2 * int64(n) * int64(recSize))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := scratchDir(b)
		v, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		v.CreateLibrary(LibrarySpec{Name: "bench", Drives: 1, Slots: 1})
		v.CreateCartridge(CartridgeSpec{Barcode: "BENCH1L8", Library: "bench"})
		if err := v.LoadCartridge("BENCH1L8", "st0"); err != nil {
			b.Fatal(err)
		}
		t, err := v.OpenTape("nrst0h", "bench")
		if err != nil {
			b.Fatal(err)
		}
		t.SetCompression(compress)
		b.StartTimer()
		for k := 0; k < n; k++ {
			if err := t.WriteRecord(p); err != nil {
				b.Fatal(err)
			}
		}
		if err := t.WriteFilemarks(1); err != nil {
			b.Fatal(err)
		}
		if err := t.Rewind(); err != nil {
			b.Fatal(err)
		}
		for k := 0; ; k++ {
			m, err := t.ReadRecord(buf)
			if errors.Is(err, ErrFilemark) {
				if k != n {
					b.Fatalf("read %d records, wrote %d", k, n)
				}
				break
			}
			if err != nil || m != recSize {
				b.Fatal(m, err)
			}
		}
		b.StopTimer()
		t.Close()
		v.Close()
		os.RemoveAll(dir) // one iteration's cartridge at a time on disk
		b.StartTimer()
	}
}

// benchFileWriteRead is the reference: the same bytes written with
// sequential write(2) calls of recSize to one file on the same disk,
// fsync'ed, then read back with read(2) calls of recSize. Both sides make
// the data durable with one fsync before reading; the cartridge also
// starts writeback every 8 MiB while appending (sync_file_range, see
// package cartridge), which the plain loop does not, so its fsync has more
// left to write. The drive side does more work besides: CRC-32C of every
// record on write and read, an index entry per record, the index msync
// and meta.json at the filemark.
func benchFileWriteRead(b *testing.B, recSize int) {
	size := benchSize()
	n := int(size / int64(recSize))
	p := rec(42, recSize)
	buf := make([]byte, recSize)
	b.SetBytes(2 * int64(n) * int64(recSize))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := scratchDir(b)
		f, err := os.Create(filepath.Join(dir, "plain"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for k := 0; k < n; k++ {
			if _, err := f.Write(p); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		for k := 0; k < n; k++ {
			if _, err := io.ReadFull(f, buf); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		f.Close()
		os.RemoveAll(dir)
		b.StartTimer()
	}
}

func BenchmarkDriveWriteRead64K(b *testing.B)  { benchDriveWriteRead(b, 64<<10, false) }
func BenchmarkDriveWriteRead256K(b *testing.B) { benchDriveWriteRead(b, 256<<10, false) }
func BenchmarkFileWriteRead64K(b *testing.B)   { benchFileWriteRead(b, 64<<10) }
func BenchmarkFileWriteRead256K(b *testing.B)  { benchFileWriteRead(b, 256<<10) }

// BenchmarkDriveWriteRead256KCompressed: the same with S2 compression on
// (incompressible data: the cost of trying).
func BenchmarkDriveWriteRead256KCompressed(b *testing.B) { benchDriveWriteRead(b, 256<<10, true) }

// scratchDir is a directory for one benchmark iteration; the caller removes
// it when the iteration ends (b.TempDir would keep b.N of them until the end).
func scratchDir(b *testing.B) string {
	dir, err := os.MkdirTemp("", "tapelab-vtlbench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
