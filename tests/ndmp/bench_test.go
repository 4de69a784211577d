package ndmp_test

// Mover throughput benchmarks: a backup image written through an NDMP
// mover to a cartridge, LOCAL (data and mover in one session) and TCP
// (three-way), driven by our client and by ndmjob, on our server and on
// ndmjob's own daemon (the reference). Size: TAPELAB_BENCH_SIZE bytes
// (default 64 MiB); record size 64 KiB everywhere (ndmjob -b 128); our
// drive is opened as nrst0h (no compression), as ndmjob's simulator does not
// compress either.
//
// ndmjob opens one connection per agent even when -D and -T name the same
// server, so its "LOCAL" runs are a three-way TCP inside one server (data
// session -> MOVER_LISTEN TCP of the tape session), on ours and on the
// daemon alike; only our client's LOCAL run uses NDMP_ADDR_LOCAL.
//
// Same work on both sides: our drive fsyncs the cartridge when the DMA
// writes the filemarks after the image; ndmjob's tape simulator never
// fsyncs, so the daemon runs fsync their tape file inside the timed region
// (syncTape). Source files are written and fsynced before the timer.
//
// Pairs to compare (ours / reference):
//   BenchmarkMoverLocalNdmjobDMAOurs  / BenchmarkMoverLocalNdmjobDMADaemon
//   BenchmarkMoverTCPNdmjobDMAOurs    / BenchmarkMoverTCPNdmjobDMADaemon
//   BenchmarkMoverLocalClientOurs and BenchmarkMoverTCPClientOurs (our own
//   DMA; reference: the ndmjob-driven daemon benchmarks above).

import (
	"bufio"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tapelab/internal/testpeer"
	"tapelab/ndmp"
	"tapelab/ndmp/client"
	"tapelab/ndmp/vtldev"
	"tapelab/ndmp/wire"
	"tapelab/vtl"
)

const benchRecord = 64 << 10

func benchSize() int64 {
	if v := os.Getenv("TAPELAB_BENCH_SIZE"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 64 << 20
}

// benchServer is our server over a VTL drive with a big cartridge loaded.
func benchServer(b testing.TB) *lab {
	b.Helper()
	dir := b.TempDir()
	inv, err := vtl.Open(filepath.Join(dir, "vtl"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { inv.Close() })
	if _, err := inv.CreateLibrary(vtl.LibrarySpec{Name: "lib0", Drives: 1, Slots: 2}); err != nil {
		b.Fatal(err)
	}
	if _, err := inv.CreateCartridge(vtl.CartridgeSpec{Barcode: "BN0001L8", Library: "lib0", Slot: 1}); err != nil {
		b.Fatal(err)
	}
	if err := inv.LoadCartridge("BN0001L8", "st0"); err != nil {
		b.Fatal(err)
	}
	cfg := labConfig()
	cfg.Devices = vtldev.New(inv)
	srv, err := ndmp.NewServer(cfg)
	if err != nil {
		b.Fatal(err)
	}
	srv.Users().Add("ndmp", "ndmp")
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return &lab{inv: inv, srv: srv, addr: a.String(), dir: dir}
}

func benchDial(b *testing.B, addr string) *client.Client {
	c, err := client.Dial(addr)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Connect("ndmp", "ndmp", false); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// clientBackup runs one backup with our client: dc runs DATA, tc the tape
// and mover (the same client for LOCAL).
func clientBackup(b *testing.B, dc, tc *client.Client, size int64) {
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(tc.TapeOpen("nrst0h", wire.TapeRDWRMode))
	_, err := tc.TapeMTIO(wire.MTIOREW, 1)
	must(err)
	must(tc.MoverSetRecordSize(benchRecord))
	must(tc.MoverSetWindow(0, ^uint64(0)))
	at := wire.AddrLocal
	if dc != tc {
		at = wire.AddrTCP
	}
	addr, err := tc.MoverListen(wire.MoverModeRead, at)
	must(err)
	must(dc.DataConnect(addr))
	must(dc.DataStartBackup("lab", []wire.PVal{{Name: "SIZE", Value: strconv.FormatInt(size, 10)}, {Name: "RANDOM", Value: "y"}, {Name: "HIST", Value: "n"}}))
	dataDone, moverDone := false, false
	for !dataDone || !moverDone {
		var p client.Post
		var ok bool
		select {
		case p, ok = <-dc.Posts():
		case p, ok = <-tc.Posts():
		case <-time.After(5 * time.Minute):
			b.Fatal("backup did not finish")
		}
		if !ok {
			b.Fatal("connection closed")
		}
		switch v := p.Body.(type) {
		case *wire.NotifyDataHaltedPost:
			if v.Reason != wire.DataHaltSuccessful {
				b.Fatalf("data halted %d", v.Reason)
			}
			dataDone = true
		case *wire.NotifyMoverHaltedPost:
			moverDone = true
		case *wire.NotifyMoverPausedPost:
			b.Fatalf("mover paused %d", v.Reason)
		}
	}
	must(dc.DataStop())
	must(tc.MoverStop())
	_, err = tc.TapeMTIO(wire.MTIOEOF, 1)
	must(err)
	must(tc.TapeClose())
}

func BenchmarkMoverLocalClientOurs(b *testing.B) {
	l := benchServer(b)
	c := benchDial(b, l.addr)
	size := benchSize()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clientBackup(b, c, c, size)
	}
}

func BenchmarkMoverTCPClientOurs(b *testing.B) {
	l := benchServer(b)
	tc := benchDial(b, l.addr)
	dc := benchDial(b, l.addr)
	size := benchSize()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clientBackup(b, dc, tc, size)
	}
}

// ndmjobBench prepares what ndmjob needs: the tar wrapper on PATH, the
// configuration file and a source tree of size random bytes (one file).
type ndmjobBench struct {
	nj, conf, src string
	env           []string
}

func newNdmjobBench(b *testing.B, size int64) *ndmjobBench { return newNdmjobBenchT(b, size) }

func newNdmjobBenchT(b testing.TB, size int64) *ndmjobBench {
	nj := testpeer.Program(b, "ndmjob", ndmjobPath)
	testpeer.Program(b, "tar")
	wd, _ := os.Getwd()
	td := filepath.Join(wd, "testdata")
	src := b.TempDir()
	f, err := os.Create(filepath.Join(src, "data.bin"))
	if err != nil {
		b.Fatal(err)
	}
	// Incompressible (neither side compresses), fast to make (ChaCha8;
	// crypto/rand took 3 s of CPU per GiB), and on disk before the timer
	// starts: its writeback must not land in either side's timed region.
	var seed [32]byte
	rng := mrand.NewChaCha8(seed)
	if _, err := io.CopyN(f, rng, size); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return &ndmjobBench{nj: nj, conf: filepath.Join(td, "ndmjob.conf"), src: src,
		env: []string{"PATH=" + td + ":" + os.Getenv("PATH")}}
}

func (n *ndmjobBench) run(b *testing.B, args ...string) {
	cmd := exec.Command(n.nj, args...)
	cmd.Env = append(os.Environ(), n.env...)
	cmd.Dir = b.TempDir()
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), `"Operation ended OKAY"`) {
		b.Fatalf("ndmjob %v:\n%s", args, out)
	}
}

// startDaemon runs ndmjob's reference NDMP server (test-daemon mode exits
// when its stdin closes) on a free port; user ndmp/ndmp.
func (n *ndmjobBench) startDaemon(b testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(n.nj, "-o", "test-daemon", "-o", "config-file="+n.conf, "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), n.env...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if !strings.Contains(line, "READY") {
		b.Fatalf("ndmjob daemon: %q", line)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// syncTape fsyncs the daemon's tape file. ndmjob's tape simulator never
// fsyncs; our drive fsyncs its cartridge when the DMA writes the filemarks
// after the image (the durability WRITE FILEMARKS gives on a real drive),
// inside the timed region. The daemon benchmarks call this inside their
// timed region too, so both sides end with the image on disk and neither
// leaves a GiB of dirty pages for the next benchmark to write back.
func syncTape(b testing.TB, path string) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
}

func (n *ndmjobBench) tapeFile(b testing.TB) string {
	p := filepath.Join(b.TempDir(), "tape")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// LOCAL, ndmjob as DMA: our DATA (lab) + mover in one session.
func BenchmarkMoverLocalNdmjobDMAOurs(b *testing.B) {
	l := benchServer(b)
	size := benchSize()
	n := newNdmjobBench(b, 1)
	A := l.addr + "/4m,ndmp,ndmp"
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.run(b, "-c", "-D", A, "-T", A, "-B", "lab", "-C", "/vs1/vol1", "-b", "128",
			"-E", "SIZE="+strconv.FormatInt(size, 10), "-E", "RANDOM=y", "-f", "nrst0h")
	}
}

// LOCAL reference: ndmjob's daemon (tar of a random file) + its mover.
func BenchmarkMoverLocalNdmjobDMADaemon(b *testing.B) {
	size := benchSize()
	n := newNdmjobBench(b, size)
	A := n.startDaemon(b) + "/4m,ndmp,ndmp"
	tape := n.tapeFile(b)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.run(b, "-c", "-D", A, "-T", A, "-B", "tar", "-C", n.src, "-b", "128", "-f", tape)
		syncTape(b, tape) // the durability our drive gives at the filemarks
	}
}

// TCP: ndmjob's resident DATA agent (-D., tar) streams into our mover.
func BenchmarkMoverTCPNdmjobDMAOurs(b *testing.B) {
	l := benchServer(b)
	size := benchSize()
	n := newNdmjobBench(b, size)
	A := l.addr + "/4m,ndmp,ndmp"
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.run(b, "-c", "-o", "config-file="+n.conf, "-D.", "-B", "tar", "-C", n.src, "-b", "128", "-T", A, "-f", "nrst0h")
	}
}

// TCP reference: the same resident DATA agent into ndmjob's daemon mover.
func BenchmarkMoverTCPNdmjobDMADaemon(b *testing.B) {
	size := benchSize()
	n := newNdmjobBench(b, size)
	A := n.startDaemon(b) + "/4m,ndmp,ndmp"
	tape := n.tapeFile(b)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.run(b, "-c", "-o", "config-file="+n.conf, "-D.", "-B", "tar", "-C", n.src, "-b", "128", "-T", A, "-f", tape)
		syncTape(b, tape) // the durability our drive gives at the filemarks
	}
}
