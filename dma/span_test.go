package dma_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"tapelab/dma"
	"tapelab/engines"
	"tapelab/ndmp"
	"tapelab/ndmp/ndmptest"
	"tapelab/ndmp/vtldev"
	"tapelab/ndmp/wire"
	"tapelab/vtl"
)

// spanLab is a VTL library (1 drive, 6 slots) with small cartridges in
// slots 1-4 and an NDMP server running the lab engine (a known byte
// pattern) on a free loopback port.
type spanLab struct {
	inv *vtl.Inventory
	srv dma.Server
}

type fsList []ndmp.FSInfo

func (f fsList) FileSystems() []ndmp.FSInfo { return f }

func newSpanLab(t *testing.T, capacity int64) *spanLab { return newLibraryLab(t, capacity, 6, 4, "SP") }

// newLibraryLab makes library lib0 with slots storage slots, cartridges
// PREFIX0001L8.. of capacity bytes in the first count of them, and an NDMP
// server running the lab engine on a free loopback port.
func newLibraryLab(tb testing.TB, capacity int64, slots, count int, prefix string) *spanLab {
	tb.Helper()
	dir := tb.TempDir()
	inv, err := vtl.Open(filepath.Join(dir, "vtl"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { inv.Close() })
	if _, err := inv.CreateLibrary(vtl.LibrarySpec{Name: "lib0", Drives: 1, Slots: slots}); err != nil {
		tb.Fatal(err)
	}
	for i := 1; i <= count; i++ {
		if _, err := inv.CreateCartridge(vtl.CartridgeSpec{Barcode: fmt.Sprintf("%s%04dL8", prefix, i), Library: "lib0", Slot: i, Capacity: capacity}); err != nil {
			tb.Fatal(err)
		}
	}
	srv, err := ndmp.NewServer(ndmp.Config{
		Devices:     vtldev.New(inv),
		FileSystems: fsList{{LogicalDevice: "/vs1/vol1", PhysicalDevice: "vol1", Type: "tapelab", TotalSize: 1 << 30, Status: "online"}},
		Engines:     []engines.Engine{ndmptest.LabEngine{}},
		DataDir:     dir,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Users().Add("ndmp", "ndmp"); err != nil {
		tb.Fatal(err)
	}
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return &spanLab{inv: inv, srv: dma.Server{Addr: a.String(), User: "ndmp", Password: "ndmp"}}
}

const spanRecord = 32 << 10

func (l *spanLab) job(env ...wire.PVal) dma.Job {
	return dma.Job{Data: l.srv, Device: "nrst0a", Library: &dma.Library{Changer: "mc0"}, Butype: "lab", RecordSize: spanRecord,
		Env: append([]wire.PVal{{Name: "FILESYSTEM", Value: "/vs1/vol1"}, {Name: "RANDOM", Value: "y"}}, env...)}
}

// TestBackupSpansCartridgesAndRecovers writes an image bigger than two
// cartridges through the changer, then reads it back whole and by direct
// access into the last part; the lab engine checks every byte.
func TestBackupSpansCartridgesAndRecovers(t *testing.T) {
	l := newSpanLab(t, 1<<20)
	ctx := context.Background()
	const size = 5 << 19 // 2.5 MiB
	var logs []string
	job := l.job(wire.PVal{Name: "SIZE", Value: strconv.Itoa(size)}, wire.PVal{Name: "NODES", Value: "y"}, wire.PVal{Name: "FILES", Value: "4"}, wire.PVal{Name: "HIST", Value: "Y"})
	job.Observer.Log = func(s string) { logs = append(logs, s) }
	res, err := dma.Backup(ctx, job)
	if err != nil {
		t.Fatalf("backup: %v\nlogs: %q", err, logs)
	}
	if len(res.Parts) < 3 {
		t.Fatalf("%d parts, want at least 3: %+v", len(res.Parts), res.Parts)
	}
	var next uint64
	for i, p := range res.Parts {
		if p.Cartridge != fmt.Sprintf("SP%04dL8", i+1) || p.Slot != i+1 || p.TapeFile != 0 || p.Offset != next || p.Bytes == 0 || p.Bytes%spanRecord != 0 {
			t.Fatalf("part %d: %+v (all %+v)", i+1, p, res.Parts)
		}
		next += p.Bytes
	}
	if next < size || next-size >= spanRecord {
		t.Fatalf("parts hold %d bytes for an image of %d", next, size)
	}
	dumpDate := ""
	for _, e := range res.Env {
		if e.Name == "DUMP_DATE" {
			dumpDate = e.Value
		}
	}
	if dumpDate != "1700000000" {
		t.Fatalf("DATA_GET_ENV after a spanned backup: %+v", res.Env)
	}
	if len(res.Index) != 4 {
		t.Fatalf("index %+v", res.Index)
	}
	// The cartridges used are back in their slots but the last, which
	// stays in the drive for the next backup to append to.
	last := res.Parts[len(res.Parts)-1].Cartridge
	for _, p := range res.Parts {
		ci, err := l.inv.Cartridge(p.Cartridge)
		if err != nil {
			t.Fatal(err)
		}
		wantDrive := p.Cartridge == last
		if (ci.Location.Element == vtl.ElementDrive) != wantDrive {
			t.Fatalf("%s at %+v", p.Cartridge, ci.Location)
		}
	}

	// A second backup appends to the cartridge in the drive.
	res2, err := dma.Backup(ctx, l.job(wire.PVal{Name: "SIZE", Value: "100000"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Parts) != 1 || res2.Parts[0].Cartridge != last || res2.Parts[0].TapeFile != 1 {
		t.Fatalf("second backup: %+v", res2.Parts)
	}

	// Whole image: the DMA loads part 1's cartridge (another one is in the
	// drive), then each next part when the mover reaches a part's end.
	rjob := l.job(wire.PVal{Name: "SIZE", Value: strconv.Itoa(size)})
	logs = nil
	rjob.Observer.Log = func(s string) { logs = append(logs, s) }
	rr, err := dma.RecoverImage(ctx, rjob, res.Parts, nil)
	if err != nil {
		t.Fatalf("recover: %v\nlogs: %q", err, logs)
	}
	if rr.BytesRead != size {
		t.Fatalf("recovered %d bytes, want %d", rr.BytesRead, size)
	}

	// Direct access: the engine asks for bytes from an offset in the last
	// part; the DMA loads that part without reading the others.
	seek := res.Parts[len(res.Parts)-1].Offset + 1000
	rjob = l.job(wire.PVal{Name: "SIZE", Value: strconv.Itoa(size)}, wire.PVal{Name: "SEEK", Value: strconv.FormatUint(seek, 10)})
	rr, err = dma.RecoverImage(ctx, rjob, res.Parts, []wire.Name{{OriginalPath: "/f0", DestinationPath: "/vs1/vol1/f0", FhInfo: seek}})
	if err != nil {
		t.Fatalf("direct access recover: %v", err)
	}
	if rr.BytesRead != size-seek {
		t.Fatalf("direct access read %d bytes, want %d", rr.BytesRead, size-seek)
	}

	// The second image (one part, tape file 1 of the last cartridge).
	if _, err := dma.RecoverImage(ctx, l.job(wire.PVal{Name: "SIZE", Value: "100000"}), res2.Parts, nil); err != nil {
		t.Fatal(err)
	}
}

// TestSpanNeedsALibrary: without a changer an end of medium stops the
// backup with a clear error, and a spanned image is not read from one
// drive.
func TestSpanNeedsALibrary(t *testing.T) {
	l := newSpanLab(t, 1<<20)
	if err := l.inv.LoadCartridge("SP0001L8", "st0"); err != nil {
		t.Fatal(err)
	}
	job := l.job(wire.PVal{Name: "SIZE", Value: strconv.Itoa(3 << 20)})
	job.Library = nil
	_, err := dma.Backup(context.Background(), job)
	if err == nil {
		t.Fatal("a backup bigger than the cartridge succeeded without a library")
	}
	t.Logf("error: %v", err)
	parts := []dma.Part{{Cartridge: "A", Bytes: spanRecord}, {Cartridge: "B", Offset: spanRecord}}
	if _, err := dma.RecoverImage(context.Background(), job, parts, nil); err == nil {
		t.Fatal("a spanned recover without a library started")
	}
	// The library without a cartridge left.
	job.Library = &dma.Library{Changer: "mc0"}
	_, err = dma.Backup(context.Background(), l.job(wire.PVal{Name: "SIZE", Value: strconv.Itoa(6 << 20)}))
	if err == nil {
		t.Fatal("a backup bigger than all cartridges succeeded")
	}
	t.Logf("error: %v", err)
}

// TestSpanAfterAFailedSpan: a backup that ran out of cartridges leaves
// them all full; after more cartridges are added the next backup skips the
// full ones (nearly no room left at their append point) and starts on the
// first new one; its parts read back.
func TestSpanAfterAFailedSpan(t *testing.T) {
	l := newSpanLab(t, 1<<20)
	ctx := context.Background()
	if _, err := dma.Backup(ctx, l.job(wire.PVal{Name: "SIZE", Value: strconv.Itoa(6 << 20)})); err == nil {
		t.Fatal("a backup bigger than all cartridges succeeded")
	}
	for i := 5; i <= 6; i++ {
		if _, err := l.inv.CreateCartridge(vtl.CartridgeSpec{Barcode: fmt.Sprintf("SP%04dL8", i), Library: "lib0", Slot: i, Capacity: 1 << 20}); err != nil {
			t.Fatal(err)
		}
	}
	const size = 3 << 19
	res, err := dma.Backup(ctx, l.job(wire.PVal{Name: "SIZE", Value: strconv.Itoa(size)}))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("parts %+v", res.Parts)
	if len(res.Parts) != 2 || res.Parts[0].Cartridge != "SP0005L8" || res.Parts[1].Cartridge != "SP0006L8" || res.FileNumber != 0 {
		t.Fatalf("parts %+v, tape file %d", res.Parts, res.FileNumber)
	}
	for _, p := range res.Parts {
		if p.Bytes == 0 {
			t.Fatalf("empty part in %+v", res.Parts)
		}
	}
	rr, err := dma.RecoverImage(ctx, l.job(wire.PVal{Name: "SIZE", Value: strconv.Itoa(size)}), res.Parts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rr.BytesRead != size {
		t.Fatalf("read %d bytes", rr.BytesRead)
	}
}
