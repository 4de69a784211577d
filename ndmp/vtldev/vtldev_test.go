package vtldev

import (
	"errors"
	"path/filepath"
	"testing"

	"tapelab/ndmp"
	"tapelab/vtl"
)

// TestNDMPPositioning checks the adapter's translation of SCSI positioning
// to NDMP v4's on a real VTL cartridge: reads and record spacing stop on
// the BOT side of a filemark; filemark spacing crosses them.
func TestNDMPPositioning(t *testing.T) {
	inv, err := vtl.Open(filepath.Join(t.TempDir(), "vtl"))
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	if _, err := inv.CreateLibrary(vtl.LibrarySpec{Name: "l", Drives: 1, Slots: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.CreateCartridge(vtl.CartridgeSpec{Barcode: "TP0001L8", Library: "l", Slot: 1}); err != nil {
		t.Fatal(err)
	}
	if err := inv.LoadCartridge("TP0001L8", "st0"); err != nil {
		t.Fatal(err)
	}
	devs := New(inv)
	if len(devs.Tapes()) != 1 || len(devs.Changers()) != 1 {
		t.Fatalf("devices %+v %+v", devs.Tapes(), devs.Changers())
	}
	d, err := devs.OpenTape("nrst0h", "owner-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := devs.OpenTape("nrst0h", "owner-b"); !errors.Is(err, ndmp.ErrBusy) {
		t.Fatalf("second owner: %v", err)
	}
	if _, err := devs.OpenTape("nrst9h", "owner-b"); !errors.Is(err, ndmp.ErrNoDevice) {
		t.Fatalf("bogus device: %v", err)
	}
	// [r r r FM r FM]
	for _, step := range []func() error{
		func() error { return d.WriteRecord([]byte("a")) },
		func() error { return d.WriteRecord([]byte("b")) },
		func() error { return d.WriteRecord([]byte("c")) },
		func() error { return d.WriteFilemarks(1) },
		func() error { return d.WriteRecord([]byte("d")) },
		func() error { return d.WriteFilemarks(1) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	must := func(got, want int, err error, wantErr error) {
		t.Helper()
		if got != want || (wantErr == nil) != (err == nil) || (wantErr != nil && !errors.Is(err, wantErr)) {
			t.Fatalf("got %d %v, want %d %v", got, err, want, wantErr)
		}
	}
	d.Rewind()
	n, err := d.SpaceRecords(100)
	must(n, 3, err, ndmp.ErrFilemark)
	if st := d.State(); st.File != 0 || st.Block != 3 {
		t.Fatalf("after FSR: %+v", st)
	}
	buf := make([]byte, 10)
	n, err = d.ReadRecord(buf)
	must(n, 0, err, ndmp.ErrFilemark)
	if st := d.State(); st.File != 0 || st.Block != 3 {
		t.Fatalf("after EOF read: %+v", st)
	}
	n, err = d.SpaceFilemarks(1)
	must(n, 1, err, nil)
	n, err = d.ReadRecord(buf)
	if n != 1 || err != nil || buf[0] != 'd' {
		t.Fatalf("read d: %d %v", n, err)
	}
	n, err = d.SpaceRecords(-5)
	must(n, 1, err, ndmp.ErrFilemark)
	if st := d.State(); st.File != 1 || st.Block != 0 {
		t.Fatalf("after BSR: %+v", st)
	}
	n, err = d.SpaceFilemarks(-2)
	must(n, 1, err, ndmp.ErrBOT)
	n, err = d.SpaceFilemarks(5)
	must(n, 2, err, ndmp.ErrEOD)
	n, err = d.ReadRecord(buf)
	must(n, 0, err, ndmp.ErrEOD)
	// A short buffer truncates the record and consumes it.
	d.Rewind()
	n, err = d.ReadRecord(buf[:0])
	must(n, 0, err, nil)
	n, _ = d.ReadRecord(buf)
	if n != 1 || buf[0] != 'b' {
		t.Fatalf("record after truncated read: %q", buf[:n])
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := devs.OpenTape("nrst0h", "owner-b"); err != nil {
		t.Fatalf("after close: %v", err)
	}
}
