package vtl

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func fixedClock() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// newLab creates an inventory with library "lib" (2 drives, 4 slots, 1 mail
// slot) and cartridge TL0001L8 (capacity capBytes, 0: native) loaded in st0.
func newLab(t testing.TB, capBytes int64) (*Inventory, *Drive) {
	t.Helper()
	v, err := Open(t.TempDir(), WithClock(fixedClock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	if _, err := v.CreateLibrary(LibrarySpec{Name: "lib", Drives: 2, Slots: 4, MailSlots: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.CreateCartridge(CartridgeSpec{Barcode: "TL0001L8", Library: "lib", Capacity: capBytes}); err != nil {
		t.Fatal(err)
	}
	if err := v.LoadCartridge("TL0001L8", "st0"); err != nil {
		t.Fatal(err)
	}
	d, err := v.Drive("st0")
	if err != nil {
		t.Fatal(err)
	}
	return v, d
}

// rec returns n incompressible bytes determined by i.
func rec(i, n int) []byte {
	b := make([]byte, n)
	x := uint32(i)*2654435761 + 1
	for k := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[k] = byte(x)
	}
	return b
}

func mustPos(t *testing.T, d *Drive, block, file uint64) {
	t.Helper()
	p, err := d.Position()
	if err != nil {
		t.Fatal(err)
	}
	if p.Block != block || p.File != file {
		t.Fatalf("position block %d file %d, want %d %d", p.Block, p.File, block, file)
	}
}

// writeLayout writes: R0 R1 R2 FM R3 R4 FM (objects 0..6), records of 1000 bytes.
func writeLayout(t *testing.T, d *Drive) {
	t.Helper()
	for i := 0; i < 3; i++ {
		if err := d.WriteRecord(rec(i, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.WriteFilemarks(1); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 5; i++ {
		if err := d.WriteRecord(rec(i, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.WriteFilemarks(1); err != nil {
		t.Fatal(err)
	}
}

func TestWriteReadFilemarkEOD(t *testing.T) {
	_, d := newLab(t, 0)
	writeLayout(t, d)
	mustPos(t, d, 7, 2)
	if err := d.Rewind(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for i := 0; i < 3; i++ {
		n, err := d.ReadRecord(buf)
		if err != nil || !bytes.Equal(buf[:n], rec(i, 1000)) {
			t.Fatalf("record %d: n=%d err=%v", i, n, err)
		}
	}
	if _, err := d.ReadRecord(buf); !errors.Is(err, ErrFilemark) {
		t.Fatalf("want filemark, got %v", err)
	}
	mustPos(t, d, 4, 1)
	small := make([]byte, 10)
	n, err := d.ReadRecord(small)
	var rl *RecordLengthError
	if n != 10 || !errors.As(err, &rl) || rl.Length != 1000 || !errors.Is(err, ErrIncorrectLength) {
		t.Fatalf("short buffer: n=%d err=%v", n, err)
	}
	d.ReadRecord(buf)
	if _, err := d.ReadRecord(buf); !errors.Is(err, ErrFilemark) {
		t.Fatal(err)
	}
	if _, err := d.ReadRecord(buf); !errors.Is(err, ErrEOD) {
		t.Fatalf("want EOD, got %v", err)
	}
	p, _ := d.Position()
	if !p.EOD || p.BOT || p.Objects != 7 {
		t.Fatalf("position %+v", p)
	}
}

func TestSpaceLocate(t *testing.T) {
	_, d := newLab(t, 0)
	writeLayout(t, d)
	d.Rewind()
	cases := []struct {
		kind      SpaceKind
		count     int64
		wantRes   int64
		wantErr   error
		wantBlock uint64
	}{
		{SpaceBlocks, 2, 0, nil, 2},
		{SpaceBlocks, 5, 4, ErrFilemark, 4},   // stops after the filemark at 3
		{SpaceBlocks, -1, -1, ErrFilemark, 3}, // backward: stops before filemark 3
		{SpaceBlocks, -2, 0, nil, 1},
		{SpaceBlocks, -5, -4, ErrBOT, 0},
		{SpaceFilemarks, 1, 0, nil, 4},
		{SpaceFilemarks, 5, 4, ErrEOD, 7},
		{SpaceFilemarks, -1, 0, nil, 6},
		{SpaceFilemarks, -2, -1, ErrBOT, 0},
		{SpaceEOD, 0, 0, nil, 7},
		{SpaceBlocks, 1, 1, ErrEOD, 7},
	}
	for i, c := range cases {
		res, err := d.Space(c.kind, c.count)
		p, _ := d.Position()
		if res != c.wantRes || !errors.Is(err, c.wantErr) && !(err == nil && c.wantErr == nil) || p.Block != c.wantBlock {
			t.Fatalf("case %d: space(%d,%d) = %d, %v at %d; want %d, %v at %d", i, c.kind, c.count, res, err, p.Block, c.wantRes, c.wantErr, c.wantBlock)
		}
	}
	if err := d.Locate(5); err != nil {
		t.Fatal(err)
	}
	p, _ := d.Position()
	if p.Block != 5 || p.File != 1 || p.BlockInFile != 1 {
		t.Fatalf("after locate: %+v", p)
	}
	if err := d.Locate(99); !errors.Is(err, ErrEOD) {
		t.Fatalf("locate beyond EOD: %v", err)
	}
	if err := d.LocateFile(1); err != nil {
		t.Fatal(err)
	}
	mustPos(t, d, 4, 1)
}

func TestOverwriteTruncates(t *testing.T) {
	v, d := newLab(t, 0)
	writeLayout(t, d)
	if err := d.Locate(2); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteRecord(rec(9, 500)); err != nil {
		t.Fatal(err)
	}
	info, _ := d.Cartridge()
	if info.Objects != 3 || info.Filemarks != 0 || info.Used != 2500 {
		t.Fatalf("after overwrite: %+v", info)
	}
	d.Rewind()
	d.Space(SpaceBlocks, 2)
	buf := make([]byte, 1000)
	n, err := d.ReadRecord(buf)
	if err != nil || !bytes.Equal(buf[:n], rec(9, 500)) {
		t.Fatal(n, err)
	}
	if _, err := d.ReadRecord(buf); !errors.Is(err, ErrEOD) {
		t.Fatal(err)
	}
	_ = v
}

func TestPersistenceAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	v, err := Open(dir, WithClock(fixedClock))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.CreateLibrary(LibrarySpec{Name: "lib", Drives: 1, Slots: 3, MailSlots: 1, DriveModel: "HP Ultrium 6-SCSI"}); err != nil {
		t.Fatal(err)
	}
	for _, bc := range []string{"AA0001L6", "AA0002L6"} {
		if _, err := v.CreateCartridge(CartridgeSpec{Barcode: bc, Library: "lib"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.LoadCartridge("AA0002L6", "st0"); err != nil {
		t.Fatal(err)
	}
	d, _ := v.Drive("st0")
	if err := d.WriteRecord(rec(1, 8192)); err != nil {
		t.Fatal(err)
	}
	if err := v.SetAlias("st7", SN(d.Serial(), 1)); err != nil {
		t.Fatal(err)
	}
	if err := v.SetReservationMode(ReservationsPersistent); err != nil {
		t.Fatal(err)
	}
	if err := v.InjectCartridgeFault("AA0001L6", Fault{Kind: FaultReadError, Block: 3}); err != nil {
		t.Fatal(err)
	}
	v.InjectDriveFault("st7", Fault{Kind: FaultWriteError, Block: 1, Count: 1})
	if err := d.WriteRecord(rec(2, 100)); !errors.Is(err, ErrMediumError) {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	v2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	d2, err := v2.Drive("nrst7a")
	if err != nil {
		t.Fatal(err)
	}
	info, ok := d2.Cartridge()
	if !ok || info.Barcode != "AA0002L6" || info.Objects != 1 || info.Counters.Loads != 1 || info.Counters.BytesWritten != 8192 {
		t.Fatalf("cartridge after reopen: %+v %v", info, ok)
	}
	if v2.ReservationMode() != ReservationsPersistent {
		t.Fatal("reservation mode lost")
	}
	c, _ := v2.Cartridge("AA0001L6")
	if c.Location.Element != ElementStorage || c.Location.Index != 1 || len(c.Faults) != 1 {
		t.Fatalf("slot cartridge after reopen: %+v", c)
	}
	if a := v2.Aliases(); len(a) != 2 || a[1].Name != "st7" || a[1].Mapping != SN(d.Serial(), 1) {
		t.Fatalf("aliases %+v", a)
	}
	if e := d2.Info().Errors; e.WriteErrors != 1 || e.MediumErrors != 1 || !strings.Contains(e.LastError, MsgMediaErrorWrite) {
		t.Fatalf("drive errors after reopen: %+v", e)
	}
	if len(d2.Info().Faults) != 0 {
		t.Fatalf("a used-up fault came back: %+v", d2.Info().Faults)
	}
	if d2.Info().Description != "Hewlett-Packard LTO-6" || d2.Info().Status != Qualified {
		t.Fatalf("model: %+v", d2.Info())
	}
	d2.Rewind()
	buf := make([]byte, 8192)
	if n, err := d2.ReadRecord(buf); err != nil || n != 8192 || !bytes.Equal(buf, rec(1, 8192)) {
		t.Fatal(n, err)
	}
}

func TestEarlyWarningAndOverflow(t *testing.T) {
	_, d := newLab(t, 64<<10) // 64 KiB: early warning at 62 KiB
	var ew, overflow int
	for i := 0; i < 20; i++ {
		err := d.WriteRecord(rec(i, 4096))
		switch {
		case errors.Is(err, ErrEarlyWarning):
			ew++
		case errors.Is(err, ErrEndOfMedium):
			overflow++
		case err != nil:
			t.Fatal(err)
		}
	}
	info, _ := d.Cartridge()
	if info.Objects != 16 || info.Used != 64<<10 || ew != 1 || overflow != 4 {
		t.Fatalf("objects %d used %d ew %d overflow %d", info.Objects, info.Used, ew, overflow)
	}
	if err := d.WriteFilemarks(1); !errors.Is(err, ErrEarlyWarning) {
		t.Fatalf("filemark in EW zone: %v", err)
	}
}

func TestFaultsAndProtection(t *testing.T) {
	v, d := newLab(t, 0)
	writeLayout(t, d)
	if err := v.InjectCartridgeFault("TL0001L8", Fault{Kind: FaultReadError, Block: 1, Count: 1}); err != nil {
		t.Fatal(err)
	}
	d.Rewind()
	buf := make([]byte, 2000)
	d.ReadRecord(buf)
	if _, err := d.ReadRecord(buf); !errors.Is(err, ErrMediumError) || !bytes.Contains([]byte(err.Error()), []byte(MsgMediaErrorRead)) {
		t.Fatalf("want medium error, got %v", err)
	}
	if n, err := d.ReadRecord(buf); err != nil || n != 1000 { // count 1: fault used up, retry works
		t.Fatal(n, err)
	}
	if err := v.InjectDriveFault("st0", Fault{Kind: FaultWriteFail}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteRecord(rec(1, 100)); !errors.Is(err, ErrMediumError) {
		t.Fatalf("write-fail: %v", err)
	}
	v.ClearFaults("st0")
	if err := v.SetWriteProtect("TL0001L8", true); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteRecord(rec(1, 100)); !errors.Is(err, ErrWriteProtected) || !d.WriteProtected() {
		t.Fatalf("write protect: %v", err)
	}
	v.SetWriteProtect("TL0001L8", false)
	v.InjectCartridgeFault("TL0001L8", Fault{Kind: FaultWORM})
	d.Rewind()
	if err := d.WriteRecord(rec(1, 100)); !errors.Is(err, ErrWriteProtected) {
		t.Fatalf("WORM overwrite: %v", err)
	}
	d.Space(SpaceEOD, 0)
	if err := d.WriteRecord(rec(1, 100)); err != nil {
		t.Fatalf("WORM append: %v", err)
	}
	v.InjectDriveFault("st0", Fault{Kind: FaultOffline})
	if err := d.Rewind(); !errors.Is(err, ErrOffline) {
		t.Fatalf("offline: %v", err)
	}
	v.ClearFaults("st0")
	v.ClearFaults("TL0001L8")
	v.InjectCartridgeFault("TL0001L8", Fault{Kind: FaultEarlyEOM, Bytes: 10000})
	if err := d.WriteRecord(rec(1, 4700)); !errors.Is(err, ErrEarlyWarning) { // 5100+4700 bytes: EW from 9688
		t.Fatalf("early EOM, early warning: %v", err)
	}
	if err := d.WriteRecord(rec(1, 4096)); !errors.Is(err, ErrEndOfMedium) {
		t.Fatalf("early EOM: %v", err)
	}
	if err := v.InjectCartridgeFault("TL0001L8", Fault{Kind: "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

func TestReservationsAndOpenTape(t *testing.T) {
	v, d := newLab(t, 0)
	tp, err := v.OpenTape("rst0a", "session-1")
	if err != nil {
		t.Fatal(err)
	}
	if tp.Device.Rewind != Rewind || !tp.Device.Compression || !d.Compression() {
		t.Fatalf("device %+v", tp.Device)
	}
	if _, err := v.OpenTape("nrst0a", "session-2"); !errors.Is(err, ErrReservationConflict) || !bytes.Contains([]byte(err.Error()), []byte(MsgTapeInUse)) {
		t.Fatalf("second open: %v", err)
	}
	// tape.reservations=off: SCSI initiators are not kept out.
	if _, st, _ := d.Execute("iqn.other", []byte{0, 0, 0, 0, 0, 0}, nil, 0); st != 0 {
		t.Fatalf("TUR with reservations off: status %#x", st)
	}
	if err := tp.WriteRecord(rec(1, 4096)); err != nil {
		t.Fatal(err)
	}
	if err := tp.Close(); err != nil {
		t.Fatal(err)
	}
	mustPos(t, d, 0, 0) // rst rewinds on close
	for _, mode := range []ReservationMode{ReservationsSCSI, ReservationsPersistent} {
		v.SetReservationMode(mode)
		tp, err := v.OpenTape("nrst0h", "session-3")
		if err != nil {
			t.Fatal(err)
		}
		if d.Compression() {
			t.Fatal("h density must not compress")
		}
		if _, st, _ := d.Execute("iqn.other", []byte{0, 0, 0, 0, 0, 0}, nil, 0); st != 0x18 {
			t.Fatalf("%s: TUR from another initiator: status %#x, want RESERVATION CONFLICT", mode, st)
		}
		if _, st, _ := d.Execute("iqn.other", []byte{0x12, 0, 0, 0, 96, 0}, nil, 96); st != 0 {
			t.Fatalf("%s: INQUIRY must pass a reservation: %#x", mode, st)
		}
		tp.Space(SpaceEOD, 0)
		tp.Close()
		mustPos(t, d, 1, 0) // nrst keeps the position
		if _, st, _ := d.Execute("iqn.other", []byte{0, 0, 0, 0, 0, 0}, nil, 0); st != 0 {
			t.Fatalf("%s: after release: %#x", mode, st)
		}
	}
	// urst unloads and returns the cartridge to its slot.
	tp, err = v.OpenTape("urst0a", "s4")
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Close(); err != nil {
		t.Fatal(err)
	}
	c, _ := v.Cartridge("TL0001L8")
	if c.Location.Element != ElementStorage || c.Location.Index != 1 {
		t.Fatalf("after urst close: %+v", c.Location)
	}
	if _, ok := d.Cartridge(); ok {
		t.Fatal("urst with no next tape left a cartridge in the drive")
	}
	// With a next tape in the sequence, urst loads it.
	v.CreateCartridge(CartridgeSpec{Barcode: "TL0003L8", Library: "lib", Slot: 3})
	v.LoadCartridge("TL0001L8", "st0")
	tp, _ = v.OpenTape("urst0a", "s5")
	tp.Close()
	if info, ok := d.Cartridge(); !ok || info.Barcode != "TL0003L8" {
		t.Fatalf("urst did not load the next tape: %+v", info)
	}
	if _, err := v.OpenTape("nrst9a", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestNamesLimitsAliases(t *testing.T) {
	v, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.CreateLibrary(LibrarySpec{Name: "big", Drives: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.CreateLibrary(LibrarySpec{Name: "b2", Drives: 5}); !errors.Is(err, ErrLimit) {
		t.Fatalf("65 drives: %v", err)
	}
	for i := 0; i < 15; i++ {
		if _, err := v.CreateLibrary(LibrarySpec{Name: fmt.Sprintf("c%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.CreateLibrary(LibrarySpec{Name: "c16"}); !errors.Is(err, ErrLimit) {
		t.Fatalf("17 changers: %v", err)
	}
	d, _ := v.Drive("st59")
	names := d.Info().DeviceNames
	if len(names) != 12 || names[0].Name != "rst59l" || names[11].Name != "urst59a" {
		t.Fatalf("device names %v", names)
	}
	if got, err := v.Drive(d.Info().SN); err != nil || got != d {
		t.Fatal(err)
	}
	if err := v.SetAlias("st0", d.Info().SN); !errors.Is(err, ErrExists) {
		t.Fatal(err)
	}
	if err := v.SetAlias("mc99", "SN[VLIB000001]"); err != nil {
		t.Fatal(err)
	}
	if c, err := v.Changer("mc99"); err != nil || c.Info().Serial != "VLIB000001" {
		t.Fatal(err)
	}
	if err := v.ClearAliases("tape"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Drive("st0"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if len(v.Aliases()) != 16 {
		t.Fatalf("aliases left: %d", len(v.Aliases()))
	}
	if err := CheckRecordSize(2048); !errors.Is(err, ErrRecordSize) || !bytes.Contains([]byte(err.Error()), []byte("Tape record size must be in the range between 4KB and 256KB")) {
		t.Fatal(err)
	}
	if CheckRecordSize(4096) != nil || CheckRecordSize(256<<10) != nil || CheckRecordSize(256<<10+1) == nil {
		t.Fatal("record size bounds")
	}
}

// TestConcurrentUse exercises the lock order (inventory before drive) with
// I/O on two drives while the changer and listings run.
func TestConcurrentUse(t *testing.T) {
	v, d0 := newLab(t, 0)
	v.CreateCartridge(CartridgeSpec{Barcode: "TL0002L8", Library: "lib"})
	if err := v.LoadCartridge("TL0002L8", "st1"); err != nil {
		t.Fatal(err)
	}
	d1, _ := v.Drive("st1")
	c := d0.Library().Changer()
	done := make(chan error, 4)
	for _, d := range []*Drive{d0, d1} {
		go func(d *Drive) {
			for i := 0; i < 200; i++ {
				if err := d.WriteRecord(rec(i, 4096)); err != nil {
					done <- err
					return
				}
			}
			done <- d.WriteFilemarks(1)
		}(d)
	}
	go func() {
		for i := 0; i < 50; i++ {
			c.Execute("x", res(true, ElementAll, 0, 100, 4096, 0), nil, 4096)
			v.Cartridges()
			d0.Info()
		}
		done <- nil
	}()
	go func() {
		for i := 0; i < 50; i++ {
			d1.Execute("y", []byte{0x34, 6, 0, 0, 0, 0, 0, 0, 0, 0}, nil, 32)
			v.Drives()
			v.Aliases()
		}
		done <- nil
	}()
	for i := 0; i < 4; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []*Drive{d0, d1} {
		if p, _ := d.Position(); p.Block != 201 {
			t.Fatalf("%s at %d", d.Name(), p.Block)
		}
	}
}
