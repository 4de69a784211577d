package vtl

import (
	"strings"
	"testing"

	"tapelab/vtl/scsi"
)

func res(voltag bool, typ ElementType, start, count uint16, alloc uint32, lunBits byte) []byte {
	c := make([]byte, 12)
	c[0] = scsi.OpReadElementStatus
	c[1] = lunBits<<5 | byte(typ)
	if voltag {
		c[1] |= 0x10
	}
	scsi.Put16(c[2:], uint32(start))
	scsi.Put16(c[4:], uint32(count))
	scsi.Put24(c[7:], alloc)
	return c
}

type parsedElem struct {
	typ     ElementType
	addr    uint16
	full    bool
	access  bool
	svalid  bool
	source  uint16
	barcode string
}

// parseRES decodes READ ELEMENT STATUS data, checking its byte counts.
func parseRES(t *testing.T, b []byte) (first uint16, n int, elems []parsedElem) {
	t.Helper()
	if len(b) < 8 {
		t.Fatalf("short READ ELEMENT STATUS: % x", b)
	}
	first, n = uint16(scsi.Be16(b)), int(scsi.Be16(b[2:]))
	total := int(scsi.Be24(b[5:]))
	if total != len(b)-8 {
		t.Fatalf("byte count %d, data %d", total, len(b)-8)
	}
	for p := 8; p < len(b); {
		typ, pvol, dl, cnt := ElementType(b[p]), b[p+1]&0x80 != 0, int(scsi.Be16(b[p+2:])), int(scsi.Be24(b[p+5:]))
		if cnt%dl != 0 || p+8+cnt > len(b) {
			t.Fatalf("page at %d: desc len %d count %d", p, dl, cnt)
		}
		for q := p + 8; q < p+8+cnt; q += dl {
			d := b[q : q+dl]
			e := parsedElem{typ: typ, addr: uint16(scsi.Be16(d)), full: d[2]&1 != 0, access: d[2]&8 != 0,
				svalid: d[9]&0x80 != 0, source: uint16(scsi.Be16(d[10:]))}
			if pvol {
				e.barcode = strings.TrimRight(string(d[12:44]), " \x00")
			}
			elems = append(elems, e)
		}
		p += 8 + cnt
	}
	return
}

func TestSMCElementStatusMoveExchange(t *testing.T) {
	v, d := newLab(t, 0)
	c := d.Library().Changer()
	const ini = "mtx"
	v.CreateCartridge(CartridgeSpec{Barcode: "TL0002L8", Library: "lib"})
	v.CreateCartridge(CartridgeSpec{Barcode: "TL0003L8"})
	if _, err := v.ImportCartridge("lib", "TL0003L8"); err != nil {
		t.Fatal(err)
	}
	wantGood(t, run(t, c, ini, tur, nil, 0), "TUR")
	r := run(t, c, ini, []byte{scsi.OpInquiry, 0, 0, 0, 96, 0}, nil, 96)
	if r.data[0] != scsi.TypeMediumChanger || strings.TrimSpace(string(r.data[16:32])) != "03584L32" {
		t.Fatalf("INQUIRY % x", r.data[:36])
	}
	// MODE SENSE(6) page 1D with DBD, alloc 136, as mtx sends it.
	r = run(t, c, ini, []byte{scsi.OpModeSense6, 0x08, 0x1d, 0, 136, 0}, nil, 136)
	wantGood(t, r, "MODE SENSE 1D")
	pg := r.data[4:]
	if pg[0] != 0x1d || pg[1] != 0x12 || scsi.Be16(pg[2:]) != transportAddr || scsi.Be16(pg[4:]) != 1 ||
		scsi.Be16(pg[6:]) != slotBase || scsi.Be16(pg[8:]) != 4 || scsi.Be16(pg[10:]) != mailBase || scsi.Be16(pg[12:]) != 1 ||
		scsi.Be16(pg[14:]) != driveBase || scsi.Be16(pg[16:]) != 2 {
		t.Fatalf("page 1D % x", pg)
	}
	r = run(t, c, ini, []byte{scsi.OpModeSense6, 0x08, 0x3f, 0, 255, 0}, nil, 255)
	if int(r.data[0])+1 != len(r.data) || len(r.data) != 4+20+4+20 {
		t.Fatalf("all pages % x", r.data)
	}
	// All elements with volume tags; the LUN bits mtx puts in byte 1 are ignored.
	r = run(t, c, ini, res(true, ElementAll, 0, 0xffff, 0xffff, 3), nil, 0xffff)
	wantGood(t, r, "RES all")
	first, n, elems := parseRES(t, r.data)
	if first != transportAddr || n != 1+4+1+2 || len(elems) != n {
		t.Fatalf("RES all: first %d n %d elems %d", first, n, len(elems))
	}
	byAddr := map[uint16]parsedElem{}
	for _, e := range elems {
		byAddr[e.addr] = e
	}
	if e := byAddr[driveBase]; !e.full || e.barcode != "TL0001L8" || !e.svalid || e.source != slotBase || e.access {
		t.Fatalf("drive element %+v", e)
	}
	if e := byAddr[slotBase]; e.full {
		t.Fatalf("slot 1 (home of the loaded TL0001L8) %+v", e)
	}
	if e := byAddr[slotBase+1]; !e.full || e.barcode != "TL0002L8" {
		t.Fatalf("slot 2 %+v", e)
	}
	if e := byAddr[mailBase]; !e.full || e.barcode != "TL0003L8" {
		t.Fatalf("mail slot %+v", e)
	}
	// Without volume tags, one type, honouring the element count and allocation length.
	r = run(t, c, ini, res(false, ElementStorage, 0, 2, 0xffff, 0), nil, 0xffff)
	_, n, elems = parseRES(t, r.data)
	if n != 2 || len(elems) != 2 || elems[0].addr != slotBase || !elems[1].full || elems[1].barcode != "" || len(r.data) != 8+8+2*16 {
		t.Fatalf("RES slots, count 2: n %d, % x", n, r.data)
	}
	r = run(t, c, ini, res(true, ElementStorage, slotBase+2, 10, 8, 0), nil, 8)
	if len(r.data) != 8 || scsi.Be16(r.data[2:]) != 2 || scsi.Be24(r.data[5:]) != 8+2*52 {
		t.Fatalf("RES alloc 8: % x", r.data)
	}
	r = run(t, c, ini, res(true, ElementAll, 0, 0xffff, 30, 0), nil, 0xffff)
	if len(r.data) != 30 {
		t.Fatalf("RES alloc 30 in CDB: %d bytes", len(r.data))
	}
	// DVCID: drive elements carry the drive's vendor/product/serial.
	cdb := res(true, ElementDrive, 0, 10, 4096, 0)
	cdb[6] = 1
	r = run(t, c, ini, cdb, nil, 4096)
	if dl := int(scsi.Be16(r.data[8+2:])); dl != 52+38 || len(r.data) != 16+2*dl {
		t.Fatalf("DVCID descriptor length %d, data %d", dl, len(r.data))
	}
	if id := r.data[16+48:]; id[0] != 2 || id[1] != 1 || id[3] != 34 || !strings.Contains(string(id[4:38]), d.Serial()) {
		t.Fatalf("DVCID identifier % x", id[:38])
	}
	// MOVE MEDIUM: slot 2 -> drive 2 loads it.
	mv := func(src, dst uint16) []byte {
		b := make([]byte, 12)
		b[0] = scsi.OpMoveMedium
		scsi.Put16(b[2:], transportAddr)
		scsi.Put16(b[4:], uint32(src))
		scsi.Put16(b[6:], uint32(dst))
		return b
	}
	d2, _ := v.Drive("st1")
	wantSense(t, run(t, d2, ini, tur, nil, 0), scsi.KeyNotReady, scsi.ASCMediumNotPresent, "st1 before move")
	wantGood(t, run(t, c, ini, mv(slotBase+1, driveBase+1), nil, 0), "MOVE slot->drive")
	wantGood(t, run(t, d2, ini, tur, nil, 0), "st1 after move")
	wantSense(t, run(t, c, ini, mv(slotBase+1, slotBase+2), nil, 0), scsi.KeyIllegalRequest, scsi.ASCMediumSourceEmpty, "empty source")
	wantSense(t, run(t, c, ini, mv(mailBase, driveBase), nil, 0), scsi.KeyIllegalRequest, scsi.ASCMediumDestFull, "full destination")
	wantSense(t, run(t, c, ini, mv(0x999, slotBase), nil, 0), scsi.KeyIllegalRequest, scsi.ASCInvalidElementAddress, "bad address")
	// A drive under PREVENT keeps its cartridge.
	run(t, d2, ini, []byte{scsi.OpPreventAllow, 0, 0, 0, 1, 0}, nil, 0)
	wantSense(t, run(t, c, ini, mv(driveBase+1, slotBase+1), nil, 0), scsi.KeyIllegalRequest, scsi.ASCMediumRemovalPrevented, "prevented")
	run(t, d2, ini, []byte{scsi.OpPreventAllow, 0, 0, 0, 0, 0}, nil, 0)
	wantGood(t, run(t, c, ini, mv(driveBase+1, slotBase+1), nil, 0), "MOVE drive->slot")
	// EXCHANGE MEDIUM: drive 1 <-> mail slot via slot 3.
	ex := make([]byte, 12)
	ex[0] = scsi.OpExchangeMedium
	scsi.Put16(ex[4:], mailBase)
	scsi.Put16(ex[6:], driveBase)
	scsi.Put16(ex[8:], slotBase+2)
	wantGood(t, run(t, c, ini, ex, nil, 0), "EXCHANGE")
	if info, _ := d.Cartridge(); info.Barcode != "TL0003L8" {
		t.Fatalf("drive after exchange: %+v", info)
	}
	if info, _ := v.Cartridge("TL0001L8"); info.Location.Element != ElementStorage || info.Location.Index != 3 {
		t.Fatalf("exchanged cartridge at %+v", info.Location)
	}
	for _, cdb := range [][]byte{
		{scsi.OpInitElementStatus, 0, 0, 0, 0, 0},
		{scsi.OpInitElementStatusRg, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{scsi.OpPositionToElement, 0, 0, 1, 0x04, 0x00, 0, 0, 0, 0},
		{scsi.OpPreventAllow, 0, 0, 0, 1, 0},
	} {
		wantGood(t, run(t, c, ini, cdb, nil, 0), "changer command")
	}
	if err := v.ExportCartridge("TL0002L8"); err != nil {
		t.Fatal(err) // a storage slot is not behind the prevented I/E port
	}
	run(t, c, ini, mv(slotBase+2, mailBase), nil, 0)
	if err := v.ExportCartridge("TL0001L8"); err == nil {
		t.Fatal("export through a prevented mail slot")
	}
	wantSense(t, run(t, c, ini, []byte{0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, 0), scsi.KeyIllegalRequest, scsi.ASCInvalidOpcode, "READ(10) on a changer")
}

func TestChangerGoAPIAndPersistence(t *testing.T) {
	dir := t.TempDir()
	v, _ := Open(dir)
	l, _ := v.CreateLibrary(LibrarySpec{Name: "L", Drives: 1, Slots: 2})
	v.CreateCartridge(CartridgeSpec{Barcode: "X00001L5", Library: "L"})
	c := l.Changer()
	if err := c.Move(slotBase, driveBase); err != nil {
		t.Fatal(err)
	}
	if err := c.Move(slotBase, slotBase+1); err == nil {
		t.Fatal("move from an empty slot")
	}
	st := c.Status(ElementDrive)
	if len(st) != 1 || !st[0].Full || st[0].Barcode != "X00001L5" || st[0].Drive != "st0" {
		t.Fatalf("status %+v", st)
	}
	v.Close()
	v2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	ch, err := v2.Changer("mc0")
	if err != nil {
		t.Fatal(err)
	}
	if st := ch.Status(ElementDrive); !st[0].Full || !st[0].SourceValid || st[0].Source != slotBase {
		t.Fatalf("after reopen %+v", st)
	}
	if _, err := v2.UnloadCartridge("st0"); err != nil {
		t.Fatal(err)
	}
	if info, _ := v2.Cartridge("X00001L5"); info.Location.Index != 1 || info.Location.Element != ElementStorage || info.Counters.Loads != 1 {
		t.Fatalf("after unload %+v", info)
	}
	if err := v2.DeleteLibrary("L"); err != nil {
		t.Fatal(err)
	}
	if info, _ := v2.Cartridge("X00001L5"); info.Location.Library != "" {
		t.Fatalf("cartridge of a deleted library: %+v", info.Location)
	}
}

func TestUnitAttentions(t *testing.T) {
	v, d := newLab(t, 0)
	c := d.Library().Changer()
	// Off by default: the first command of a new initiator just runs.
	wantGood(t, run(t, d, "a", tur, nil, 0), "TUR without UAs")
	d.SetUnitAttentions(true)
	c.SetUnitAttentions(true)
	wantGood(t, run(t, d, "a", []byte{scsi.OpInquiry, 0, 0, 0, 36, 0}, nil, 36), "INQUIRY is exempt")
	wantSense(t, run(t, d, "a", tur, nil, 0), scsi.KeyUnitAttention, scsi.ASCPowerOnReset, "first TUR")
	wantGood(t, run(t, d, "a", tur, nil, 0), "second TUR")
	wantSense(t, run(t, c, "a", tur, nil, 0), scsi.KeyUnitAttention, scsi.ASCPowerOnReset, "changer first TUR")
	wantGood(t, run(t, c, "a", tur, nil, 0), "changer second TUR")
	// A medium change is reported once to every initiator seen.
	if _, err := v.UnloadCartridge("st0"); err != nil {
		t.Fatal(err)
	}
	wantSense(t, run(t, d, "a", tur, nil, 0), scsi.KeyUnitAttention, scsi.ASCNotReadyToReady, "after unload")
	wantSense(t, run(t, d, "a", tur, nil, 0), scsi.KeyNotReady, scsi.ASCMediumNotPresent, "empty drive")
	v.CreateCartridge(CartridgeSpec{Barcode: "TL0009L8"})
	v.ImportCartridge("lib", "TL0009L8")
	wantSense(t, run(t, c, "a", tur, nil, 0), scsi.KeyUnitAttention, scsi.ASCImportExportAccessed, "after import")
	d.Reset()
	wantSense(t, run(t, d, "a", tur, nil, 0), scsi.KeyUnitAttention, scsi.ASCPowerOnReset, "after reset")
}
