package vtl

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestCrashWhileWritingThroughDrive kills a child process that writes
// records through a drive (and saves library state meanwhile), then reopens
// the data directory: the library state loads and the cartridge reads back
// every complete record, in order, up to end of data.
func TestCrashWhileWritingThroughDrive(t *testing.T) {
	if os.Getenv("VTL_CRASH_CHILD") != "" {
		return
	}
	dir := t.TempDir()
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	v.CreateLibrary(LibrarySpec{Name: "lib", Drives: 1, Slots: 4})
	v.CreateCartridge(CartridgeSpec{Barcode: "CR0001L8", Library: "lib"})
	if err := v.LoadCartridge("CR0001L8", "st0"); err != nil {
		t.Fatal(err)
	}
	v.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VTL_CRASH_CHILD="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "tapes", "CR0001L8", "data")
	for i := 0; ; i++ {
		if st, err := os.Stat(data); err == nil && st.Size() > 8<<20 {
			break
		}
		if i > 6000 {
			cmd.Process.Kill()
			t.Fatal("child wrote nothing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	v2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	d, _ := v2.Drive("st0")
	info, ok := d.Cartridge()
	if !ok || info.Barcode != "CR0001L8" {
		t.Fatalf("after the crash the drive holds %+v", info)
	}
	if err := d.Rewind(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	n := 0
	for {
		m, err := d.ReadRecord(buf)
		if errors.Is(err, ErrFilemark) {
			continue
		}
		if errors.Is(err, ErrEOD) {
			break
		}
		if err != nil || !bytes.Equal(buf[:m], crashRecord(n)) {
			t.Fatalf("record %d: %d bytes, %v", n, m, err)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d records survived", n)
	}
	t.Logf("%d records survived the crash", n)
}

func crashRecord(i int) []byte { return rec(i, 16<<10+(i%5)*1000) }

// TestMain runs the crash test's child writer when the parent re-executes
// the test binary with VTL_CRASH_CHILD set; otherwise the tests.
func TestMain(m *testing.M) {
	if dir := os.Getenv("VTL_CRASH_CHILD"); dir != "" {
		crashChildWriter(dir) // never returns: killed, or exits
	}
	os.Exit(m.Run())
}

// crashChildWriter writes records through a drive until it is killed.
func crashChildWriter(dir string) {
	v, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	tp, err := v.OpenTape("nrst0a", "child")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; i < 1<<20; i++ {
		if err := tp.WriteRecord(crashRecord(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if i%100 == 99 {
			tp.WriteFilemarks(1)                  // a filemark is an object of its own; the reader skips it
			v.SetReservationMode(ReservationsOff) // rewrites vtl.json while writing
		}
	}
	os.Exit(3)
}
