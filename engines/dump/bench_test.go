package dump_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"tapelab/engines"
	"tapelab/engines/dump"
	"tapelab/engines/dump/format"
	"tapelab/engines/dump/internal/gentree"
	"tapelab/engines/dump/internal/linuxdump"
	"tapelab/engines/dump/localfs"
	"tapelab/internal/testpeer"
	"tapelab/volume"
)

// The benchmarks compare our backup and restore with Linux dump -0 -b 64
// and restore -r on the same tree (default 64 MiB of mixed sizes, a
// sparse file and xattrs; TAPELAB_BENCH_SIZE=bytes scales it), all in one
// run so a table can print the ratios. b.SetBytes is the image size, so
// MB/s columns compare directly.

type benchEnv struct {
	dir      string // scratch, removed by TestMain
	src      string // the tree
	ext2     string // ext2 image of the tree
	linuxImg string // Linux dump -0 -b 64 of the ext2 image
	ourImg   string // our dump of the volume
	lab      *lab
	fh       uint64 // FhInfo of the DAR file
	darPath  string
	err      error
}

var (
	benchOnce sync.Once
	bench     benchEnv
	benchDirs []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range benchDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func benchSize() int64 {
	if s, err := strconv.ParseInt(os.Getenv("TAPELAB_BENCH_SIZE"), 10, 64); err == nil && s > 0 {
		return s
	}
	return 64 << 20
}

// benchLab is a lab that outlives one benchmark (cleanup in TestMain).
type benchTB struct{ testing.TB }

func setupBench(b *testing.B) *benchEnv {
	testpeer.Program(b, "dump", "/usr/sbin/dump")
	testpeer.Program(b, "restore", "/usr/sbin/restore")
	testpeer.Program(b, "mke2fs", "/usr/sbin/mke2fs")
	benchOnce.Do(func() {
		e := &bench
		e.dir, e.err = os.MkdirTemp("", "dumpbench-")
		if e.err != nil {
			return
		}
		benchDirs = append(benchDirs, e.dir)
		defer func() {
			// a failed or panicking setup must not leave its scratch behind
			if r := recover(); r != nil {
				os.RemoveAll(e.dir)
				panic(r)
			}
			if e.err != nil {
				os.RemoveAll(e.dir)
			}
		}()
		e.src = filepath.Join(e.dir, "src")
		os.Mkdir(e.src, 0o755)
		size := benchSize()
		if e.err = gentree.Build(e.src, gentree.Options{Seed: 42, Bulk: size}); e.err != nil {
			return
		}
		e.ext2 = filepath.Join(e.dir, "src.ext2")
		imgSize := fmt.Sprintf("%dM", (size*3/2)>>20+64)
		if e.err = linuxdump.MakeExt2(e.src, e.ext2, imgSize, 0); e.err != nil {
			return
		}
		e.linuxImg = filepath.Join(e.dir, "linux.dump")
		if _, e.err = linuxdump.Dump(e.dir, "-0", "-b", "64", "-f", e.linuxImg, e.ext2); e.err != nil {
			return
		}
		// the volume
		store, err := volume.Open(filepath.Join(e.dir, "db"), volume.Options{})
		if err != nil {
			e.err = err
			return
		}
		data := filepath.Join(e.dir, "data")
		e.lab = &lab{store: store, data: data, eng: dump.New(store, dump.WithDataDir(data))}
		v, err := store.CreateVolume(volume.Spec{SVM: "vs1", Name: "vol1", Size: size*4 + 256<<20})
		if err != nil {
			e.err = err
			return
		}
		w, _ := v.Active()
		copyToVolume(benchTB{b}, e.src, w)
		rec := newRecorder()
		f, err := os.Create(filepath.Join(e.dir, "our.dump"))
		if err != nil {
			e.err = err
			return
		}
		_, e.err = e.lab.eng.Backup(context.Background(), &engines.BackupRequest{
			Env: envOf("FILESYSTEM", "/vs1/vol1", "HIST", "Y"), Stream: f, History: rec})
		f.Close()
		e.ourImg = f.Name()
		a, err := w.Resolve("hello.txt")
		if err != nil {
			e.err = err
			return
		}
		e.fh = rec.nodes[a.Ino].FhInfo
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return &bench
}

func fileSize(b *testing.B, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// BenchmarkBackupOurs: our dump of the volume (automatic snapshot, phases
// I-V) to a file.
func BenchmarkBackupOurs(b *testing.B) {
	e := setupBench(b)
	b.SetBytes(fileSize(b, e.ourImg))
	out := filepath.Join(e.dir, "bench-our.dump")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		settle(b)
		f, err := os.Create(out)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.lab.eng.Backup(context.Background(), &engines.BackupRequest{
			Env: envOf("FILESYSTEM", "/vs1/vol1", "UPDATE", "N"), Stream: f}); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkBackupOursLocalTree: our format writer on the same tree read
// from the local file system (no volume), the like-for-like of dump on
// an ext2 image.
func BenchmarkBackupOursLocalTree(b *testing.B) {
	e := setupBench(b)
	src, err := localfs.Open(e.src)
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(e.dir, "bench-local.dump")
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		settle(b)
		f, _ := os.Create(out)
		st, err := dump.WriteImage(context.Background(), src, f, dump.DumpSpec{Root: format.RootIno, Info: format.VolumeInfo{Ntrec: 64}})
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		size = st.Bytes
	}
	b.SetBytes(size)
}

// BenchmarkBackupLinuxDump: the reference, Linux dump -0 -b 64 of the
// ext2 image of the tree.
func BenchmarkBackupLinuxDump(b *testing.B) {
	e := setupBench(b)
	b.SetBytes(fileSize(b, e.linuxImg))
	out := filepath.Join(e.dir, "bench-linux.dump")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		settle(b)
		if _, err := linuxdump.Dump(e.dir, "-0", "-b", "64", "-f", out, e.ext2); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestoreOurs: our restore of our image into a new volume,
// durable when it returns (see BenchmarkRestoreLinux).
func BenchmarkRestoreOurs(b *testing.B) {
	e := setupBench(b)
	img, err := os.ReadFile(e.ourImg)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(img)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		settle(b)
		b.StopTimer()
		name := fmt.Sprintf("r%d_%d", b.N, i)
		v, err := e.lab.store.CreateVolume(volume.Spec{SVM: "vs1", Name: name, Size: int64(len(img))*2 + 256<<20})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := e.lab.eng.Recover(context.Background(), &engines.RecoverRequest{
			Env: envOf("FILESYSTEM", "/vs1/"+name), Stream: bytes.NewReader(img)}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		v.SetState(volume.StateOffline)
		e.lab.store.DeleteVolume("vs1", name)
		b.StartTimer()
	}
}

// BenchmarkRestoreOursLocalTree: our restore of the Linux image into a
// local directory, the like-for-like of restore -r.
func BenchmarkRestoreOursLocalTree(b *testing.B) {
	e := setupBench(b)
	img, err := os.ReadFile(e.linuxImg)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(img)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		settle(b)
		b.StopTimer()
		dst := filepath.Join(e.dir, fmt.Sprintf("rl%d", i))
		os.Mkdir(dst, 0o755)
		b.StartTimer()
		rd, err := format.NewReader(bytes.NewReader(img))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := dump.ReadImage(context.Background(), rd, localfs.Target{Root: dst}, dump.RestoreSpec{State: &dump.RestoreState{}}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dst)
		b.StartTimer()
	}
}

// BenchmarkRestoreLinux: the reference, restore -r of the Linux image.
func BenchmarkRestoreLinux(b *testing.B) {
	e := setupBench(b)
	b.SetBytes(fileSize(b, e.linuxImg))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		settle(b)
		b.StopTimer()
		dst := filepath.Join(e.dir, fmt.Sprintf("rr%d", i))
		os.Mkdir(dst, 0o755)
		b.StartTimer()
		if out, err := run(b, dst, "restore", "-r", "-f", e.linuxImg); err != nil {
			b.Fatalf("restore -r: %v %s", err, out)
		}
		// Our restores end durable (ReadImage syncs the volume or, for a
		// local tree, the file system), and a restore into a volume also
		// writes to disk while it runs (the store syncs every 64 MiB of
		// value log). restore -r leaves its data in the page cache, so the
		// reference syncs its file system inside the timed region too: both
		// sides stop the clock with the restored data on disk.
		if err := syncfs(dst); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dst)
		b.StartTimer()
	}
}

// BenchmarkDAR: one small file recovered by seeking in our image; reports
// the bytes read and their share of the image.
func BenchmarkDAR(b *testing.B) {
	e := setupBench(b)
	img, err := os.ReadFile(e.ourImg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.lab.store.CreateVolume(volume.Spec{SVM: "vs1", Name: "dar", Size: 64 << 20}); err != nil && !errorsIsExists(err) {
		b.Fatal(err)
	}
	var read int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := &seekStream{img: img}
		res, err := e.lab.eng.Recover(context.Background(), &engines.RecoverRequest{
			Env:    envOf("FILESYSTEM", "/vs1/dar", "DIRECT", "Y"),
			Names:  []engines.NameEntry{{OriginalPath: "/hello.txt", DestinationPath: fmt.Sprintf("/vs1/dar/hello-%d.txt", i), FhInfo: e.fh}},
			Stream: s, Seek: s.seek})
		if err != nil {
			b.Fatal(err)
		}
		read = res.BytesRead
	}
	b.ReportMetric(float64(read), "bytes-read")
	b.ReportMetric(float64(read)*100/float64(len(img)), "%-of-image")
}

// syncfs makes everything written to the file system holding dir durable.
func syncfs(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// settle flushes dirty pages outside the timer before each timed run, so
// no benchmark pays for the writeback of the setup or of the one before it
// (with a 1 GiB tree that dominated whichever ran first).
func settle(b *testing.B) {
	profile(b)
	b.StopTimer()
	syscall.Sync()
	b.StartTimer()
}

// profile starts, once per benchmark and only when
// TAPELAB_BENCH_CPUPROFILE names a directory, a CPU profile of the
// benchmark's loop (setup excluded): DIR/<benchmark>.prof.
func profile(b *testing.B) {
	dir := os.Getenv("TAPELAB_BENCH_CPUPROFILE")
	if dir == "" || profiling[b.Name()] {
		return
	}
	profiling[b.Name()] = true
	f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".prof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pprof.StopCPUProfile(); f.Close() })
	if os.Getenv("TAPELAB_BENCH_TRACE") != "" {
		tf, err := os.Create(filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".trace"))
		if err != nil {
			b.Fatal(err)
		}
		if err := trace.Start(tf); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { trace.Stop(); tf.Close() })
	}
}

var profiling = map[string]bool{}
