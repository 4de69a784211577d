package node

import (
	"context"
	"testing"
	"time"

	"tapelab/dma"
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
