package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"tapelab/vtl"
)

// TestTapeFileTransfer round-trips plain files through a cartridge with the
// admin calls: import two images (one from a slot, loaded into a free
// drive for the transfer; one into the drive already holding the cartridge),
// export each back byte-identical, and check the record structure on tape.
func TestTapeFileTransfer(t *testing.T) {
	dir := t.TempDir()
	n, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	m := n.Mux()
	ctx := context.Background()
	do := func(name string, args, result any) {
		t.Helper()
		if err := m.Call(ctx, name, args, result); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var li vtl.LibraryInfo
	do("vtl.library.create", vtl.LibrarySpec{Name: "lib", Drives: 1, Slots: 4}, &li)
	var ci vtl.CartridgeInfo
	do("vtl.tape.create", vtl.CartridgeSpec{Barcode: "TT0001L8", Library: "lib", Capacity: 64 << 20}, &ci)
	do("vtl.tape.create", vtl.CartridgeSpec{Barcode: "TT0002L8", Capacity: 64 << 20}, &ci)

	rnd := rand.New(rand.NewSource(1))
	img1 := make([]byte, 3*65536+1000) // 4 records of 64 KiB, the last short
	rnd.Read(img1)
	img2 := make([]byte, 5*10240) // exactly 5 records of 10 KiB
	rnd.Read(img2)
	p1, p2 := filepath.Join(dir, "img1"), filepath.Join(dir, "img2")
	os.WriteFile(p1, img1, 0o644)
	os.WriteFile(p2, img2, 0o644)

	// The cartridge is in a slot: loaded into st0 for the import, unloaded after.
	var r TapeFileResult
	do("vtl.tape.import-file", TapeFileArgs{Barcode: "TT0001L8", Path: p1}, &r)
	if r.File != 0 || r.Records != 4 || r.Bytes != int64(len(img1)) || r.Drive != "st0" {
		t.Fatalf("import 1: %+v", r)
	}
	do("vtl.tape.show", TapeArgs{Barcode: "TT0001L8"}, &ci)
	if ci.Location.Element != vtl.ElementStorage || ci.Objects != 5 || ci.Filemarks != 1 {
		t.Fatalf("after import 1: %+v", ci)
	}
	// Now in the drive, positioned elsewhere: the second image goes after
	// the first, and the drive's position is given back.
	do("vtl.tape.load", TapeArgs{Barcode: "TT0001L8", Drive: "st0"}, &ci)
	d, err := n.VTL().Drive("st0")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Locate(2); err != nil {
		t.Fatal(err)
	}
	do("vtl.tape.import-file", TapeFileArgs{Barcode: "TT0001L8", Path: p2, RecordSize: 10240}, &r)
	if r.File != 1 || r.Records != 5 {
		t.Fatalf("import 2: %+v", r)
	}
	if p, _ := d.Position(); p.Block != 2 {
		t.Fatalf("drive position not restored: %+v", p)
	}
	for i, want := range [][]byte{img1, img2} {
		out := filepath.Join(dir, "out")
		do("vtl.tape.export-file", TapeFileArgs{Barcode: "TT0001L8", File: i, Path: out}, &r)
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, want) || !r.Terminated || r.Bytes != int64(len(want)) {
			t.Fatalf("export file %d: %d bytes (want %d), %+v", i, len(got), len(want), r)
		}
	}
	// Record boundaries as written: 10 KiB records in file 1.
	if err := d.LocateFile(1); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	if k, err := d.ReadRecord(buf); err != nil || k != 10240 {
		t.Fatalf("record of file 1: %d %v", k, err)
	}

	// Errors: no such tape file, a vault cartridge, a drive in use, a bad record size.
	err = m.Call(ctx, "vtl.tape.export-file", TapeFileArgs{Barcode: "TT0001L8", File: 2, Path: filepath.Join(dir, "none")}, &r)
	if !errors.Is(err, vtl.ErrEOD) && (err == nil || !bytes.Contains([]byte(err.Error()), []byte("end of data"))) {
		t.Fatalf("export of a missing tape file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none")); !os.IsNotExist(err) {
		t.Fatalf("failed export left its output: %v", err)
	}
	if err := m.Call(ctx, "vtl.tape.import-file", TapeFileArgs{Barcode: "TT0002L8", Path: p1}, &r); err == nil {
		t.Fatal("import onto a vault cartridge succeeded")
	}
	if err := d.Reserve("ndmp-session-1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Call(ctx, "vtl.tape.export-file", TapeFileArgs{Barcode: "TT0001L8", Path: filepath.Join(dir, "x")}, &r); err == nil ||
		!bytes.Contains([]byte(err.Error()), []byte(vtl.MsgTapeInUse)) {
		t.Fatalf("export from a drive in use: %v", err)
	}
	d.Release("ndmp-session-1")
	if err := m.Call(ctx, "vtl.tape.import-file", TapeFileArgs{Barcode: "TT0001L8", Path: p1, RecordSize: 100}, &r); err == nil {
		t.Fatal("record size 100 accepted")
	}
	if err := m.Call(ctx, "vtl.tape.import-file", TapeFileArgs{Barcode: "TT0001L8", Path: "relative"}, &r); err == nil {
		t.Fatal("relative path accepted")
	}
}

func benchSize() int {
	if v, err := strconv.Atoi(os.Getenv("TAPELAB_BENCH_SIZE")); err == nil && v > 0 {
		return v
	}
	return 16 << 20
}

// benchInventory is a library with one drive and a cartridge.
func benchInventory(b *testing.B) *vtl.Inventory {
	inv, err := vtl.Open(filepath.Join(b.TempDir(), "vtl"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { inv.Close() })
	if _, err := inv.CreateLibrary(vtl.LibrarySpec{Name: "lib", Drives: 1, Slots: 2}); err != nil {
		b.Fatal(err)
	}
	if _, err := inv.CreateCartridge(vtl.CartridgeSpec{Barcode: "BB0001L8", Library: "lib", Capacity: 1 << 40}); err != nil {
		b.Fatal(err)
	}
	return inv
}

// BenchmarkImportTapeFile appends an image to a cartridge as 64 KiB
// records; BenchmarkImportPlainFile (the reference) writes it to a file.
func BenchmarkImportTapeFile(b *testing.B) {
	inv := benchInventory(b)
	img := bytes.Repeat([]byte("tape"), benchSize()/4)
	b.SetBytes(int64(len(img)))
	for i := 0; i < b.N; i++ {
		if _, err := ImportTapeFile(context.Background(), inv, "BB0001L8", bytes.NewReader(img), 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkImportPlainFile(b *testing.B) {
	img := bytes.Repeat([]byte("tape"), benchSize()/4)
	p := filepath.Join(b.TempDir(), "img")
	b.SetBytes(int64(len(img)))
	for i := 0; i < b.N; i++ {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(f, bytes.NewReader(img)); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkExportTapeFile reads a tape file back; BenchmarkExportPlainFile
// (the reference) reads the same bytes from a file.
func BenchmarkExportTapeFile(b *testing.B) {
	inv := benchInventory(b)
	img := bytes.Repeat([]byte("tape"), benchSize()/4)
	if _, err := ImportTapeFile(context.Background(), inv, "BB0001L8", bytes.NewReader(img), 0); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(img)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r, err := ExportTapeFile(context.Background(), inv, "BB0001L8", 0, io.Discard); err != nil || r.Bytes != int64(len(img)) {
			b.Fatal(r, err)
		}
	}
}

func BenchmarkExportPlainFile(b *testing.B) {
	img := bytes.Repeat([]byte("tape"), benchSize()/4)
	p := filepath.Join(b.TempDir(), "img")
	if err := os.WriteFile(p, img, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(img)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, f); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
