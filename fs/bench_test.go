package fs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"tapelab/fs"
	"tapelab/internal/testpeer"
	"tapelab/volume"
)

// Benchmarks run the same workload in three places on the same disk:
//
//	tapelab   our mount of a volume (Badger store in a temp dir)
//	loopback  go-fuse's loopback of a plain temp dir, with the same FUSE
//	          options (writeback cache, KILLPRIV_V2, 1 MiB MaxWrite) and kernel
//	          passthrough disabled, so data crosses userspace as ours does
//	direct    the plain temp dir (the limit)
//
// and, for the data benchmarks, "volumeapi": the same I/O through the
// volume View API without FUSE, which splits our cost into storage and
// FUSE layer.
//
// TAPELAB_BENCH_SIZE (bytes, default 64 MiB) sizes the big file;
// TAPELAB_BENCH_FILES (default 2000) the small-file count.

func benchSize() int64 {
	if v, err := strconv.ParseInt(os.Getenv("TAPELAB_BENCH_SIZE"), 10, 64); err == nil && v > 0 {
		return v
	}
	return 64 << 20
}

func benchFiles() int {
	if v, err := strconv.Atoi(os.Getenv("TAPELAB_BENCH_FILES")); err == nil && v > 0 {
		return v
	}
	return 2000
}

var benchTargets = []string{"tapelab", "loopback", "direct"}

const oneSecond = time.Second

// loopbackOrig maps a loopback mount to the directory it mirrors.
var loopbackOrig = map[string]string{}

// benchDir returns a directory of the given kind, cleaned up with b.
func benchDir(b *testing.B, kind string) string {
	b.Helper()
	switch kind {
	case "tapelab":
		_, vol := newVolume(b, 16*benchSize()+1<<30)
		return mountVolume(b, vol, nil).Dir()
	case "loopback":
		testpeer.FUSE(b)
		orig := filepath.Join(b.TempDir(), "orig")
		os.Mkdir(orig, 0o755)
		root, err := gofs.NewLoopbackRoot(orig)
		if err != nil {
			b.Fatal(err)
		}
		mnt := filepath.Join(b.TempDir(), "mnt")
		os.Mkdir(mnt, 0o755)
		one := oneSecond
		server, err := gofs.Mount(mnt, root, &gofs.Options{
			AttrTimeout: &one, EntryTimeout: &one, NegativeTimeout: &one, NullPermissions: true,
			MountOptions: fuse.MountOptions{
				FsName: "loopback", Name: "loopback",
				MaxWrite: fuse.MAX_KERNEL_WRITE, MaxReadAhead: fuse.MAX_KERNEL_WRITE,
				AllowOther: true, Options: []string{"default_permissions"},
				ExtraCapabilities:    fuse.CAP_WRITEBACK_CACHE | fuse.CAP_HANDLE_KILLPRIV_V2,
				DisabledCapabilities: fuse.CAP_PASSTHROUGH,
				// 1 MiB READs never fit go-fuse's splice pipe; it would
				// log a failure per request and fall back to a copy.
				DisableSplice: true,
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { server.Unmount(); server.Wait() })
		// Same readahead window as our mounts.
		if err := fs.SetReadahead(mnt, fuse.MAX_KERNEL_WRITE); err != nil {
			b.Fatal(err)
		}
		loopbackOrig[mnt] = orig
		return mnt
	default:
		return b.TempDir()
	}
}

func writeBig(b *testing.B, path string, size int64, buf []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	for off := int64(0); off < size; off += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

func randomBuf(n int) []byte {
	buf := make([]byte, n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range buf {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		buf[i] = byte(x)
	}
	return buf
}

// BenchmarkSeqWrite writes one new big file in 1 MiB writes and fsyncs it.
// Files are kept: removing them would let the volume reuse the inode
// number, and writes into a reused inode are slow (see the fs report).
func BenchmarkSeqWrite(b *testing.B) {
	size := benchSize()
	buf := randomBuf(1 << 20)
	for _, kind := range benchTargets {
		b.Run(kind, func(b *testing.B) {
			dir := benchDir(b, kind)
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				name := filepath.Join(dir, fmt.Sprintf("big%d", i))
				writeBig(b, name, size, buf)
			}
		})
	}
}

// BenchmarkVolumeAPI is the storage-only reference for the data
// benchmarks: 1 MiB View.Write calls + Fsync, then 1 MiB View.Read calls.
func BenchmarkVolumeAPI(b *testing.B) {
	size := benchSize()
	buf := randomBuf(1 << 20)
	setup := func(b *testing.B) *volume.View {
		_, vol := newVolume(b, 16*size+1<<30)
		v, err := vol.Active()
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	write := func(b *testing.B, v *volume.View, name string) uint64 {
		a, err := v.Create(v.Root(), name, 0o644, volume.Owner{})
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < size; off += int64(len(buf)) {
			if _, err := v.Write(a.Ino, off, buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := v.Fsync(a.Ino); err != nil {
			b.Fatal(err)
		}
		return a.Ino
	}
	b.Run("SeqWrite", func(b *testing.B) {
		v := setup(b)
		b.SetBytes(size)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			name := fmt.Sprintf("big%d", i)
			write(b, v, name)
		}
	})
	b.Run("SeqRead", func(b *testing.B) {
		v := setup(b)
		ino := write(b, v, "big")
		rd := make([]byte, 1<<20)
		b.SetBytes(size)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for off := int64(0); off < size; off += int64(len(rd)) {
				if n, err := v.Read(ino, off, rd); err != nil || n != len(rd) {
					b.Fatalf("read at %d: %d %v", off, n, err)
				}
			}
		}
	})
}

// BenchmarkOverwrite rewrites the same big file in place (O_TRUNC, then
// 1 MiB writes, fsync): the cost of replacing data the volume already holds.
// A quarter of TAPELAB_BENCH_SIZE: the volume's block writes after a
// truncate are quadratic in the file's block count (see the fs report).
func BenchmarkOverwrite(b *testing.B) {
	size := benchSize() / 4
	buf := randomBuf(1 << 20)
	for _, kind := range benchTargets {
		b.Run(kind, func(b *testing.B) {
			dir := benchDir(b, kind)
			writeBig(b, filepath.Join(dir, "big"), size, buf)
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				writeBig(b, filepath.Join(dir, "big"), size, buf)
			}
		})
	}
}

// BenchmarkSeqRead reads one big file in 1 MiB reads after dropping its
// pages from the kernel cache (fadvise DONTNEED): cold for the page cache,
// whatever the store underneath still caches.
func BenchmarkSeqRead(b *testing.B) {
	size := benchSize()
	buf := randomBuf(1 << 20)
	for _, kind := range benchTargets {
		b.Run(kind, func(b *testing.B) {
			dir := benchDir(b, kind)
			path := filepath.Join(dir, "big")
			writeBig(b, path, size, buf)
			backing := ""
			if kind == "loopback" {
				backing = loopbackOrig[dir] + "/big"
			}
			rd := make([]byte, 1<<20)
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
				if backing != "" {
					// The loopback's own file would otherwise stay cached.
					if g, err := os.Open(backing); err == nil {
						unix.Fadvise(int(g.Fd()), 0, 0, unix.FADV_DONTNEED)
						g.Close()
					}
				}
				b.StartTimer()
				var total int64
				for {
					n, err := f.Read(rd)
					total += int64(n)
					if err != nil || n == 0 {
						break
					}
				}
				f.Close()
				if total != size {
					b.Fatalf("read %d of %d bytes", total, size)
				}
			}
		})
	}
}

// BenchmarkSmallFiles creates N 4 KiB files, stats each, then unlinks each.
func BenchmarkSmallFiles(b *testing.B) {
	n := benchFiles()
	data := randomBuf(4096)
	for _, kind := range benchTargets {
		b.Run(kind, func(b *testing.B) {
			dir := benchDir(b, kind)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d := filepath.Join(dir, fmt.Sprintf("it%d", i))
				if err := os.Mkdir(d, 0o755); err != nil {
					b.Fatal(err)
				}
				names := make([]string, n)
				for j := range names {
					names[j] = filepath.Join(d, fmt.Sprintf("f%06d", j))
					if err := os.WriteFile(names[j], data, 0o644); err != nil {
						b.Fatal(err)
					}
				}
				var st syscall.Stat_t
				for _, p := range names {
					if err := syscall.Lstat(p, &st); err != nil || st.Size != 4096 {
						b.Fatalf("stat %s: %v size %d", p, err, st.Size)
					}
				}
				for _, p := range names {
					if err := syscall.Unlink(p); err != nil {
						b.Fatal(err)
					}
				}
				os.Remove(d)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}
