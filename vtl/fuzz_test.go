package vtl

import (
	"testing"

	"tapelab/vtl/scsi"
)

func checkExec(t *testing.T, dev scsi.Device, cdb, out []byte, alloc int) {
	data, st, sense := dev.Execute("fuzz", cdb, out, alloc)
	if len(data) > alloc {
		t.Fatalf("cdb % x: %d bytes data-in for allocation %d", cdb, len(data), alloc)
	}
	switch st {
	case scsi.StatusGood, scsi.StatusReservationConflict:
		if len(sense) != 0 {
			t.Fatalf("cdb % x: sense with status %#x", cdb, st)
		}
	case scsi.StatusCheckCondition:
		if _, err := scsi.ParseSense(sense); err != nil {
			t.Fatalf("cdb % x: bad sense % x: %v", cdb, sense, err)
		}
	default:
		t.Fatalf("cdb % x: status %#x", cdb, st)
	}
}

func fuzzSeeds(f *testing.F) {
	for _, c := range [][]byte{
		{0, 0, 0, 0, 0, 0},
		{0x12, 1, 0x83, 0, 255, 0},
		{0x08, 0, 0, 0x10, 0, 0},
		{0x0a, 0, 0, 0, 16, 0},
		{0x11, 1, 0xff, 0xff, 0xfe, 0},
		{0x1a, 8, 0x3f, 0, 255, 0},
		{0x15, 0x10, 0, 0, 12, 0},
		{0x34, 6, 0, 0, 0, 0, 0, 0, 0, 0},
		{0x2b, 0, 0, 0, 0, 0, 3, 0, 0, 0},
		{0x4d, 0, 0x6e, 0, 0, 0, 0, 1, 0, 0},
		{0x5f, 1, 3, 0, 0, 0, 0, 0, 24, 0},
		{0xb8, 0x72, 0, 0, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0, 0},
		{0xa5, 0, 0, 1, 0x04, 0, 0x01, 0, 0, 0, 0, 0},
		{0xa6, 0, 0, 1, 0x04, 0, 0x01, 0, 0x04, 1, 0, 0},
		{0x1a, 8, 0x1d, 0, 136, 0},
		{0x92, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0},
		{0x91, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0},
		{},
		{0xb8},
	} {
		f.Add(c, []byte{1, 2, 3, 4, 0x0f, 0x0e, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint16(255))
	}
}

// FuzzDriveExecute feeds arbitrary CDBs and data-out buffers to a drive with
// a loaded cartridge: no panic, well-formed sense, data-in within allocation.
func FuzzDriveExecute(f *testing.F) {
	fuzzSeeds(f)
	_, d := newLab(f, 1<<20)
	d.WriteRecord(rec(1, 1000))
	d.WriteFilemarks(1)
	d.WriteRecord(rec(2, 10))
	f.Fuzz(func(t *testing.T, cdb, out []byte, alloc uint16) {
		checkExec(t, d, cdb, out, int(alloc))
	})
}

// FuzzChangerExecute does the same for the medium changer.
func FuzzChangerExecute(f *testing.F) {
	fuzzSeeds(f)
	v, d := newLab(f, 1<<20)
	v.CreateCartridge(CartridgeSpec{Barcode: "TL0002L8", Library: "lib"})
	c := d.Library().Changer()
	f.Fuzz(func(t *testing.T, cdb, out []byte, alloc uint16) {
		checkExec(t, c, cdb, out, int(alloc))
	})
}

// FuzzParseTapeConfig: no panic; what parses formats and parses back the same.
func FuzzParseTapeConfig(f *testing.F) {
	f.Add([]byte(hpLTO5))
	f.Add([]byte("vendor_id=\"X\"\nproduct_id=\"Y\"\ncmd_timeout_0x01=5m\n"))
	f.Add([]byte("vendor_id=\"IBM\"\nproduct_id=\"ULT3580-TD9\"\nid_match_size=11\na_density=0x60\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseTapeConfig("fuzz", b)
		if err != nil {
			return
		}
		c2, err := ParseTapeConfig("fuzz", []byte(c.Format()))
		if err != nil {
			t.Fatalf("formatted config does not parse: %v\n%s", err, c.Format())
		}
		if c.Format() != c2.Format() {
			t.Fatalf("round trip:\n%s\n---\n%s", c.Format(), c2.Format())
		}
	})
}
