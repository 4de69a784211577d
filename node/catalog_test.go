package node

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"tapelab/dma"
	"tapelab/vtl"
)

func TestCatalogPersistsAndBuildsChains(t *testing.T) {
	dir := t.TempDir()
	n, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	add := func(level int, path string) CatalogEntry {
		var e CatalogEntry
		err := n.Mux().Call(ctx, "catalog.add", CatalogAddArgs{
			Entry: CatalogEntry{Path: path, Butype: "dump", Level: level, Date: time.Unix(int64(1000+level), 0), Device: "nrst0a"},
			Index: []dma.IndexEntry{{Path: "/a", Node: 3, FhInfo: 1024}, {Path: "/d/b", Node: 4, FhInfo: 4096}},
		}, &e)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// seed 001's example: levels 0, 2, 3, 1, 4 of one path.
	ids := map[int]int{}
	for _, l := range []int{0, 2, 3, 1, 4} {
		ids[l] = add(l, "/vs1/vol1").ID
	}
	add(0, "/vs1/other")
	n.Close()

	n, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var entries []CatalogEntry
	if err := n.Mux().Call(ctx, "catalog.list", nil, &entries); err != nil || len(entries) != 6 {
		t.Fatalf("list after reopen: %d %v", len(entries), err)
	}
	levels := func(id int) []int {
		ch, err := Chain(entries, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, e := range ch {
			out = append(out, e.Level)
		}
		return out
	}
	for id, want := range map[int][]int{ids[3]: {0, 2, 3}, ids[1]: {0, 1}, ids[4]: {0, 1, 4}, ids[0]: {0}} {
		got := levels(id)
		if len(got) != len(want) {
			t.Fatalf("chain of %d: %v want %v", id, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("chain of %d: %v want %v", id, got, want)
			}
		}
	}
	var img CatalogImage
	if err := n.Mux().Call(ctx, "catalog.get", CatalogGetArgs{ID: ids[2], WithIndex: true}, &img); err != nil || len(img.Index) != 2 || img.Entry.Files != 2 {
		t.Fatalf("get: %+v %v", img, err)
	}
	if got := Lookup(img.Index, "d"); len(got) != 1 || got[0].FhInfo != 4096 {
		t.Fatalf("lookup: %+v", got)
	}
	if _, err := Chain(entries, 999); err == nil {
		t.Fatal("chain of a missing image")
	}
}

// TestCatalogPartsMigrate: a catalog.json written before parts existed
// reads with one part per entry; a spanned entry keeps every part and its
// first part's cartridge and tape file in the old fields; the file round
// trips through a reopen.
func TestCatalogPartsMigrate(t *testing.T) {
	dir := t.TempDir()
	old := `[{"id":1,"path":"/vs1/vol1","butype":"dump","level":0,"date":"2026-01-02T03:04:05Z","device":"nrst0a","cartridge":"OLD001L8","tape_file":3,"bytes":4096,"files":2}]`
	if err := os.MkdirAll(filepath.Join(dir, "catalog"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "catalog", "catalog.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	spanned := []dma.Part{
		{Cartridge: "LB0001L8", Slot: 1, TapeFile: 2, Offset: 0, Bytes: 1 << 20},
		{Cartridge: "LB0002L8", Slot: 2, TapeFile: 0, Offset: 1 << 20, Bytes: 4096},
	}
	var e CatalogEntry
	if err := n.Mux().Call(ctx, "catalog.add", CatalogAddArgs{Entry: CatalogEntry{Path: "/vs1/vol1", Butype: "dump", Parts: spanned, RecordSize: 65536, Library: "lib1"}}, &e); err != nil {
		t.Fatal(err)
	}
	if e.ID != 2 || e.Cartridge != "LB0001L8" || e.TapeFile != 2 {
		t.Fatalf("added: %+v", e)
	}
	n.Close()
	n, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var entries []CatalogEntry
	if err := n.Mux().Call(ctx, "catalog.list", nil, &entries); err != nil || len(entries) != 2 {
		t.Fatalf("list: %+v %v", entries, err)
	}
	if want := []dma.Part{{Cartridge: "OLD001L8", TapeFile: 3, Bytes: 4096}}; !reflect.DeepEqual(entries[0].Parts, want) {
		t.Fatalf("migrated parts %+v", entries[0].Parts)
	}
	if !reflect.DeepEqual(entries[1].Parts, spanned) || entries[1].RecordSize != 65536 || entries[1].Library != "lib1" {
		t.Fatalf("spanned entry after reopen: %+v", entries[1])
	}
	if got := entries[1].Cartridges(); !reflect.DeepEqual(got, []string{"LB0001L8", "LB0002L8"}) {
		t.Fatalf("cartridges %v", got)
	}
}

// TestCatalogLibraryResolves: a library name or its changer device gives
// the changer and each drive element with its no-rewind device.
func TestCatalogLibraryResolves(t *testing.T) {
	n, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()
	if _, err := n.VTL().CreateLibrary(vtl.LibrarySpec{Name: "lib1", Drives: 2, Slots: 4}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lib1", "mc0"} {
		var lib dma.Library
		if err := n.Mux().Call(ctx, "catalog.library", map[string]string{"name": name}, &lib); err != nil {
			t.Fatal(err)
		}
		want := dma.Library{Changer: "mc0", Drives: []dma.LibraryDrive{{Address: 256, Device: "nrst0a"}, {Address: 257, Device: "nrst1a"}}}
		if !reflect.DeepEqual(lib, want) {
			t.Fatalf("%s: %+v", name, lib)
		}
	}
	var lib dma.Library
	if err := n.Mux().Call(ctx, "catalog.library", map[string]string{"name": "nope"}, &lib); err == nil {
		t.Fatal("an unknown library resolved")
	}
}

func TestIndexLookupSkipsSiblingsThatSortBetween(t *testing.T) {
	// Unsorted on purpose; "/d.txt", "/d-x" and "/d x" sort between "/d" and "/d/...".
	idx := NewIndex([]dma.IndexEntry{
		{Path: "/d/b", Node: 5}, {Path: "/d.txt", Node: 9}, {Path: "/d", Node: 3, Dir: true},
		{Path: "/d-x", Node: 10}, {Path: "/d x", Node: 11}, {Path: "/d/a", Node: 4}, {Path: "/e", Node: 6}, {Path: "/d/c/z", Node: 7},
	})
	var got []uint64
	for _, e := range idx.Lookup("d/") {
		got = append(got, e.Node)
	}
	want := []uint64{3, 4, 5, 7}
	if len(got) != len(want) {
		t.Fatalf("lookup /d: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("lookup /d: %v, want %v", got, want)
		}
	}
	if e := idx.Lookup("/d.txt"); len(e) != 1 || e[0].Node != 9 {
		t.Fatalf("lookup /d.txt: %+v", e)
	}
	if e := idx.Lookup("/nope"); len(e) != 0 {
		t.Fatalf("lookup /nope: %+v", e)
	}
}
