package dma

import (
	"reflect"
	"strings"
	"testing"

	"tapelab/ndmp/client"
	"tapelab/ndmp/wire"
)

func dir(parent, node uint64, name string) wire.Dir {
	return wire.Dir{Names: []wire.FileName{{Name: name}}, Node: node, Parent: parent}
}

func node(n, fh uint64, typ wire.FileType, size uint64) wire.Node {
	return wire.Node{Stats: []wire.FileStat{{FileType: typ, Size: size}}, Node: n, FhInfo: fh}
}

// TestBuildIndex: node-style history (dump's) becomes paths; "." and ".."
// are skipped, hard links get one entry per name, nodes whose parent chain
// does not reach the root are dropped.
func TestBuildIndex(t *testing.T) {
	const reg wire.FileType = 1
	dirs := []wire.Dir{
		dir(2, 2, "."), dir(2, 2, ".."),
		dir(2, 10, "d"), dir(10, 11, "a"), dir(2, 12, "b"),
		dir(10, 12, "b-link"),                                     // hard link to b
		dir(99, 13, "orphan"), dir(98, 99, "x"), dir(99, 98, "y"), // a cycle, no root
	}
	nodes := []wire.Node{
		node(2, 0, ndmpFileDir, 0), node(10, 100, ndmpFileDir, 0),
		node(11, 200, reg, 5), node(12, 300, reg, 7), node(13, 400, reg, 1),
	}
	got := buildIndex(dirs, nodes)
	want := []IndexEntry{
		{Path: "/b", Node: 12, FhInfo: 300, Size: 7},
		{Path: "/d", Node: 10, FhInfo: 100, Dir: true},
		{Path: "/d/a", Node: 11, FhInfo: 200, Size: 5},
		{Path: "/d/b-link", Node: 12, FhInfo: 300, Size: 7},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("index:\n got %+v\nwant %+v", got, want)
	}
	if got := buildIndex(nil, nil); len(got) != 0 {
		t.Fatalf("empty history: %+v", got)
	}
}

func TestPartsAndWindows(t *testing.T) {
	const rs = 64 << 10
	parts := []Part{
		{Cartridge: "A", TapeFile: 2, Offset: 0, Bytes: 3 * rs},
		{Cartridge: "B", Offset: 3 * rs, Bytes: 2 * rs},
		{Cartridge: "C", Offset: 5 * rs, Bytes: rs},
	}
	if err := checkParts(parts, rs); err != nil {
		t.Fatal(err)
	}
	for off, want := range map[uint64]int{0: 0, 3*rs - 1: 0, 3 * rs: 1, 5*rs - 1: 1, 5 * rs: 2, 100 * rs: 2} {
		if got := partAt(parts, off); got != want {
			t.Errorf("partAt(%d) = %d, want %d", off, got, want)
		}
	}
	if off, l := window(parts, 1); off != 3*rs || l != 2*rs {
		t.Errorf("window of part 2: %d+%d", off, l)
	}
	if off, l := window(parts, 2); off != 5*rs || l != ^uint64(0) {
		t.Errorf("window of the last part: %d+%d", off, l)
	}
	if got := DescribeParts(parts); got != "A (tape file 2), B (tape file 0), C (tape file 0)" {
		t.Errorf("describe: %q", got)
	}
	// A legacy single part (bytes unknown) is valid; gaps, overlaps and
	// partial records are not.
	if err := checkParts([]Part{{TapeFile: 4}}, rs); err != nil {
		t.Errorf("single part: %v", err)
	}
	for _, bad := range [][]Part{
		nil,
		{{Offset: 0, Bytes: rs}, {Offset: 2 * rs}},
		{{Offset: 0, Bytes: 2 * rs}, {Offset: rs}},
		{{Offset: 0, Bytes: rs + 1}, {Offset: rs + 1}},
		{{Offset: 0}, {Offset: 0}},
	} {
		if err := checkParts(bad, rs); err == nil {
			t.Errorf("checkParts accepted %+v", bad)
		}
	}
	if partAt([]Part{{Offset: rs, Bytes: rs}}, 0) != -1 {
		t.Error("an offset before the first part has a part")
	}
}

// TestCartridgeChoice: the next cartridge is the first full storage slot
// not used yet, in slot (address) order whatever order READ ELEMENT STATUS
// lists them in; a cartridge goes home to its source slot when that is
// empty, else to the first empty slot.
func TestCartridgeChoice(t *testing.T) {
	els := []client.Element{
		{Type: "arm", Addr: 1},
		{Type: "drive", Addr: 256, Full: true, VolTag: "B", Source: 1025, SourceValid: true},
		{Type: "slot", Addr: 1027, Full: true, VolTag: "D"},
		{Type: "slot", Addr: 1024, Full: true, VolTag: "A"},
		{Type: "slot", Addr: 1025},
		{Type: "slot", Addr: 1026, Full: true, VolTag: "C"},
		{Type: "slot", Addr: 1028, Full: true}, // no barcode: never chosen
		{Type: "mailslot", Addr: 16, Full: true, VolTag: "M"},
	}
	used := map[string]bool{}
	var order []string
	for {
		e, ok := nextCartridge(els, used)
		if !ok {
			break
		}
		order = append(order, e.VolTag)
		used[e.VolTag] = true
	}
	if strings.Join(order, "") != "ACD" {
		t.Fatalf("order %v", order)
	}
	if n := slotNumber(els, 1026); n != 3 {
		t.Errorf("slot number of 1026: %d", n)
	}
	if n := slotNumber(els, 256); n != 0 {
		t.Errorf("slot number of a drive: %d", n)
	}
	if a, err := homeSlot(els, els[1]); err != nil || a != 1025 {
		t.Errorf("home of B: %d %v", a, err)
	}
	// Source taken: the first empty slot; none: an error.
	els[4].Full, els[4].VolTag = true, "X"
	if _, err := homeSlot(els, els[1]); err == nil {
		t.Error("home slot found in a full library")
	}
	els[5].Full = false
	if a, err := homeSlot(els, els[1]); err != nil || a != 1026 {
		t.Errorf("home of B with its slot taken: %d %v", a, err)
	}
	if e, ok := findCartridge(els, "M"); !ok || e.Addr != 16 {
		t.Errorf("find M: %+v %v", e, ok)
	}
	if _, ok := findCartridge(els, "Z"); ok {
		t.Error("found a missing cartridge")
	}
}
