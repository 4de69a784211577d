package volume

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Benchmarks. Real data written defaults to benchSize() (16 MiB); set
// TAPELAB_BENCH_SIZE (bytes) to scale. Pairs to compare (make bench):
//   BenchmarkSnapshotCreate/1GiB vs /8GiB      target: 8G/1G <= 1.5
//   BenchmarkDiff/changes vs /fullscan          target: fullscan/changes >= 20
//   BenchmarkSpaceAfterGC/disk vs /live (bytes) target: disk <= 1.10 x live
//   BenchmarkWriteSeq/volume vs /badger-raw, BenchmarkReadSeq/volume vs /badger-raw

func benchSize() int64 {
	if s, err := strconv.ParseInt(os.Getenv("TAPELAB_BENCH_SIZE"), 10, 64); err == nil && s >= 1<<20 {
		return s
	}
	return 16 << 20
}

func benchVolume(b *testing.B, size int64) (*Store, *Volume, *View) {
	b.Helper()
	dir, err := os.MkdirTemp("", "tapelab-volbench")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchDirs[s] = dir
	b.Cleanup(func() { dropBench(s) })
	v, err := s.CreateVolume(Spec{SVM: "vs1", Name: "bench", Size: size, InodeLimit: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	w, _ := v.Active()
	return s, v, w
}

// benchDirs maps a benchmark store to its directory, so loops that make a
// store per iteration can drop each one at once instead of keeping b.N
// copies on disk until the benchmark ends.
var benchDirs = map[*Store]string{}

func dropBench(s *Store) {
	dir, ok := benchDirs[s]
	if !ok {
		return
	}
	delete(benchDirs, s)
	s.Close()
	os.RemoveAll(dir)
}

func randBlock(r *rand.Rand, n int) []byte {
	p := make([]byte, n)
	r.Read(p)
	return p
}

// fill writes `data` bytes of random content in files of 1 MiB plus one
// sparse file reaching `logical` bytes.
func fill(b *testing.B, w *View, data, logical int64) []uint64 {
	b.Helper()
	r := rand.New(rand.NewSource(1))
	buf := randBlock(r, 1<<20)
	var files []uint64
	d, err := w.Mkdir(RootIno, "data", 0o755, Owner{})
	if err != nil {
		b.Fatal(err)
	}
	for i := int64(0); i < data; i += 1 << 20 {
		a, err := w.Create(d.Ino, fmt.Sprintf("f%05d", i>>20), 0o644, Owner{})
		if err != nil {
			b.Fatal(err)
		}
		r.Read(buf[:64])
		if _, err := w.Write(a.Ino, 0, buf); err != nil {
			b.Fatal(err)
		}
		files = append(files, a.Ino)
	}
	sp, err := w.Create(RootIno, "sparse", 0o644, Owner{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write(sp.Ino, logical-4096, buf[:4096]); err != nil {
		b.Fatal(err)
	}
	return files
}

// BenchmarkSnapshotCreate: snapshot creation on a "1 GiB" and an "8 GiB"
// volume (logical size via a sparse file; real data benchSize and 8x that).
func BenchmarkSnapshotCreate(b *testing.B) {
	for _, c := range []struct {
		name    string
		scale   int64
		logical int64
	}{{"1GiB", 1, 1 << 30}, {"8GiB", 8, 8 << 30}} {
		b.Run(c.name, func(b *testing.B) {
			data := benchSize() * c.scale / 8
			s, v, w := benchVolume(b, c.logical+data*4)
			fill(b, w, data, c.logical)
			// Time the snapshot on a quiescent store, not the flushes and
			// compactions the fill left running.
			if err := s.GC(); err != nil {
				b.Fatal(err)
			}
			if err := v.Sync(); err != nil {
				b.Fatal(err)
			}
			// One op is snapshotsPerOp creates: a single create (~0.5 ms,
			// mostly one fsync) is too short to time alone on a busy VM.
			const snapshotsPerOp = 25
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if len(v.Snapshots())+snapshotsPerOp > 250 {
					b.StopTimer()
					for _, s := range v.Snapshots() {
						v.DeleteSnapshot(s.Name)
					}
					b.StartTimer()
				}
				for j := 0; j < snapshotsPerOp; j++ {
					if _, err := v.CreateSnapshot("s" + strconv.Itoa(i*snapshotsPerOp+j)); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkDiff: a snapshot, then 1% of the blocks rewritten; "changes" is
// Volume.Changes, "fullscan" reads both views completely and compares them
// (the reference a diff without history would need).
func BenchmarkDiff(b *testing.B) {
	data := benchSize()
	_, v, w := benchVolume(b, data*4)
	files := fill(b, w, data, 1<<20)
	if _, err := v.CreateSnapshot("base"); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewSource(2))
	nblk := data / BlockSize
	for i := int64(0); i < nblk/100; i++ {
		f := files[r.Intn(len(files))]
		if _, err := w.Write(f, int64(r.Intn(256))*BlockSize, randBlock(r, BlockSize)); err != nil {
			b.Fatal(err)
		}
	}
	base, _ := v.SnapshotView("base")
	b.Run("changes", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ch, err := v.Changes(base, w)
			if err != nil || len(ch) == 0 {
				b.Fatal(err, len(ch))
			}
		}
	})
	b.Run("fullscan", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if n := fullScanDiff(b, base, w); n == 0 {
				b.Fatal("no differences found")
			}
		}
	})
}

// fullScanDiff compares two views inode by inode and block by block.
func fullScanDiff(b *testing.B, x, y *View) int {
	changed := 0
	var inos []Attr
	y.Inodes(0, func(a Attr) bool { inos = append(inos, a); return true })
	bx, by := make([]byte, 1<<20), make([]byte, 1<<20)
	for _, ay := range inos {
		ax, err := x.GetAttr(ay.Ino)
		if err != nil || ax != ay {
			changed++
		}
		if !ay.IsRegular() {
			continue
		}
		for off := int64(0); off < int64(ay.Size); off += 1 << 20 {
			nx, _ := x.Read(ay.Ino, off, bx)
			ny, _ := y.Read(ay.Ino, off, by)
			for o := 0; o < ny; o += BlockSize {
				e := min(o+BlockSize, ny)
				if e > nx || !bytes.Equal(bx[o:e], by[o:e]) {
					changed++
				}
			}
		}
	}
	return changed
}

// BenchmarkSpaceAfterGC: live data plus 5 snapshots with 10% overwrites
// between them; delete all snapshots and GC. Sub-benchmarks report bytes:
// "disk" (store files on disk after GC), "live" (live data, the reference),
// "disk-with-snapshots" (before the deletes). Target: disk <= 1.10 x live.
func BenchmarkSpaceAfterGC(b *testing.B) {
	data := benchSize()
	s, v, w := benchVolume(b, data*4)
	files := fill(b, w, data, 1<<20)
	r := rand.New(rand.NewSource(3))
	for k := 0; k < 5; k++ {
		if _, err := v.CreateSnapshot("s" + strconv.Itoa(k)); err != nil {
			b.Fatal(err)
		}
		for j := int64(0); j < data/BlockSize/10; j++ {
			f := files[r.Intn(len(files))]
			if _, err := w.Write(f, int64(r.Intn(256))*BlockSize, randBlock(r, BlockSize)); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.GC(); err != nil {
		b.Fatal(err)
	}
	before, _ := s.DiskUsage()
	for _, sn := range v.Snapshots() {
		if _, err := v.DeleteSnapshot(sn.Name); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.GC(); err != nil {
		b.Fatal(err)
	}
	after, _ := s.DiskUsage()
	live := v.Info().LiveUsed
	for _, m := range []struct {
		name  string
		bytes int64
	}{{"disk", after}, {"live", live}, {"disk-with-snapshots", before}} {
		b.Run(m.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
			}
			b.ReportMetric(float64(m.bytes), "bytes")
			b.ReportMetric(float64(m.bytes)/float64(live), "x-live")
		})
	}
}

// BenchmarkWriteSeq: 1 MiB writes through the volume API vs the same bytes
// written as plain Badger keys (one txn per MiB, same options): the cost of
// the CoW layer.
func BenchmarkWriteSeq(b *testing.B) {
	total := benchSize()
	buf := randBlock(rand.New(rand.NewSource(4)), 4<<20)
	for _, req := range []int{1 << 20, 4 << 20, 128 << 10, 4 << 10} {
		name := "volume"
		if req != 1<<20 {
			name = fmt.Sprintf("volume-%dk", req>>10)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(total)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s, _, w := benchVolume(b, total*2)
				a, _ := w.Create(RootIno, "f", 0o644, Owner{})
				b.StartTimer()
				for off := int64(0); off < total; off += int64(req) {
					if _, err := w.Write(a.Ino, off, buf[off%(4<<20):][:req]); err != nil {
						b.Fatal(err)
					}
				}
				w.Fsync(a.Ino)
				b.StopTimer()
				dropBench(s)
				b.StartTimer()
			}
		})
	}
	b.Run("badger-raw", func(b *testing.B) {
		b.SetBytes(total)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			db, drop := rawBadger(b)
			b.StartTimer()
			rawWrite(b, db, total, buf[:1<<20])
			db.Sync()
			b.StopTimer()
			drop()
			b.StartTimer()
		}
	})
}

// BenchmarkReadSeq: 1 MiB reads of a written file vs plain Badger keys.
func BenchmarkReadSeq(b *testing.B) {
	total := benchSize()
	buf := randBlock(rand.New(rand.NewSource(5)), 1<<20)
	b.Run("volume", func(b *testing.B) {
		_, _, w := benchVolume(b, total*2)
		a, _ := w.Create(RootIno, "f", 0o644, Owner{})
		for off := int64(0); off < total; off += 1 << 20 {
			w.Write(a.Ino, off, buf)
		}
		out := make([]byte, 1<<20)
		b.SetBytes(total)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for off := int64(0); off < total; off += 1 << 20 {
				if n, err := w.Read(a.Ino, off, out); err != nil || n != len(out) {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("badger-raw", func(b *testing.B) {
		db, _ := rawBadger(b)
		rawWrite(b, db, total, buf)
		out := make([]byte, 1<<20)
		b.SetBytes(total)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for off := int64(0); off < total; off += 1 << 20 {
				db.View(func(txn *badger.Txn) error {
					it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("B")})
					defer it.Close()
					k := make([]byte, 9)
					k[0] = 'B'
					for blk := off / BlockSize; blk < (off+1<<20)/BlockSize; blk++ {
						putU64(k[1:], uint64(blk))
						it.Seek(k)
						if it.Valid() {
							o := (blk*BlockSize - off)
							it.Item().Value(func(v []byte) error { copy(out[o:], v); return nil })
						}
					}
					return nil
				})
			}
		}
	})
}

func putU64(b []byte, x uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(x)
		x >>= 8
	}
}

// rawBadger opens a plain Badger database with the store's options; drop
// closes and removes it (also run at the end of the benchmark).
func rawBadger(b *testing.B) (db *badger.DB, drop func()) {
	dir, err := os.MkdirTemp("", "tapelab-badgerbench")
	if err != nil {
		b.Fatal(err)
	}
	db, err = badger.Open(badger.DefaultOptions(dir).WithValueThreshold(1 << 10).
		WithCompression(options.None).WithBlockCacheSize(0).WithValueLogFileSize(64 << 20).
		WithMemTableSize(32 << 20).WithLogger(nil).WithMetricsEnabled(false))
	if err != nil {
		os.RemoveAll(dir)
		b.Fatal(err)
	}
	var once sync.Once
	drop = func() { once.Do(func() { db.Close(); os.RemoveAll(dir) }) }
	b.Cleanup(drop)
	return db, drop
}

func rawWrite(b *testing.B, db *badger.DB, total int64, buf []byte) {
	for off := int64(0); off < total; off += 1 << 20 {
		err := db.Update(func(txn *badger.Txn) error {
			for o := 0; o < len(buf); o += BlockSize {
				k := make([]byte, 9)
				k[0] = 'B'
				putU64(k[1:], uint64(off+int64(o))/BlockSize)
				if err := txn.Set(k, buf[o:o+BlockSize]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
