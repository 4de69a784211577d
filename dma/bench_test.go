package dma_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"tapelab/dma"
	"tapelab/ndmp/wire"
)

// benchSize is the image size: 4 MiB, or TAPELAB_BENCH_SIZE bytes.
func benchSize(b *testing.B) int64 {
	if s := os.Getenv("TAPELAB_BENCH_SIZE"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("TAPELAB_BENCH_SIZE=%q", s)
		}
		return n
	}
	return 4 << 20
}

// benchLab is newSpanLab for benchmarks: cartridges of capacity bytes in
// slots 1..count.
func benchLab(b *testing.B, capacity int64, count int) *spanLab {
	return newLibraryLab(b, capacity, count, count, "BN")
}

// benchBackupRecover backs up and recovers an image of size bytes through
// the library, on cartridges of capacity bytes; each iteration on a fresh
// library so every one writes the same cartridges.
func benchBackupRecover(b *testing.B, size, capacity int64, count int) {
	ctx := context.Background()
	env := wire.PVal{Name: "SIZE", Value: strconv.FormatInt(size, 10)}
	b.SetBytes(2 * size)
	parts := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		l := benchLab(b, capacity, count)
		b.StartTimer()
		res, err := dma.Backup(ctx, l.job(env))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := dma.RecoverImage(ctx, l.job(env), res.Parts, nil); err != nil {
			b.Fatal(err)
		}
		parts = len(res.Parts)
	}
	b.ReportMetric(float64(parts), "cartridges")
}

// BenchmarkBackupRecoverSpanned: the image spans three cartridges (two
// changer swaps each way).
func BenchmarkBackupRecoverSpanned(b *testing.B) {
	size := benchSize(b)
	benchBackupRecover(b, size, size/5*2+(64<<10), 4)
}

// BenchmarkBackupRecoverOneCartridge is the reference: the same image on
// one cartridge big enough, through the same library.
func BenchmarkBackupRecoverOneCartridge(b *testing.B) {
	size := benchSize(b)
	benchBackupRecover(b, size, 4*size, 1)
}
