package vtl

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"tapelab/internal/testpeer"
	"tapelab/vtl/scsi"
)

type result struct {
	data   []byte
	status byte
	sense  *scsi.Sense
	raw    []byte
}

func run(t *testing.T, dev scsi.Device, initiator string, cdb []byte, out []byte, alloc int) result {
	t.Helper()
	data, st, sb := dev.Execute(initiator, cdb, out, alloc)
	r := result{data: data, status: st, raw: sb}
	if st == scsi.StatusCheckCondition {
		s, err := scsi.ParseSense(sb)
		if err != nil {
			t.Fatalf("cdb % x: bad sense % x: %v", cdb, sb, err)
		}
		r.sense = s
	} else if len(sb) != 0 {
		t.Fatalf("cdb % x: sense with status %#x", cdb, st)
	}
	return r
}

func cdb6(op byte, b1 byte, n uint32, b5 byte) []byte {
	c := []byte{op, b1, 0, 0, 0, b5}
	scsi.Put24(c[2:], n)
	return c
}

func read6(n int) []byte     { return cdb6(scsi.OpRead6, 0, uint32(n), 0) }
func read6sili(n int) []byte { return cdb6(scsi.OpRead6, 2, uint32(n), 0) }
func write6(n int) []byte    { return cdb6(scsi.OpWrite6, 0, uint32(n), 0) }
func space6(code byte, n int) []byte {
	return cdb6(scsi.OpSpace6, code, uint32(n)&0xffffff, 0)
}

var tur = []byte{0, 0, 0, 0, 0, 0}
var rewind = []byte{scsi.OpRewind, 0, 0, 0, 0, 0}

func wantSense(t *testing.T, r result, key byte, asc uint16, what string) *scsi.Sense {
	t.Helper()
	if r.status != scsi.StatusCheckCondition || r.sense.Key != key || r.sense.ASC != asc {
		t.Fatalf("%s: status %#x sense %v, want key %#x asc %04x", what, r.status, r.sense, key, asc)
	}
	return r.sense
}

func wantGood(t *testing.T, r result, what string) {
	t.Helper()
	if r.status != scsi.StatusGood {
		t.Fatalf("%s: status %#x sense %v", what, r.status, r.sense)
	}
}

func TestSSCReadWriteSense(t *testing.T) {
	v, d := newLab(t, 0)
	const ini = "iqn.test:1"
	d.SetCompression(false)
	wantGood(t, run(t, d, ini, tur, nil, 0), "TUR")
	for i := 0; i < 3; i++ {
		wantGood(t, run(t, d, ini, write6(1000), rec(i, 1000), 0), "WRITE")
	}
	wantGood(t, run(t, d, ini, cdb6(scsi.OpWriteFilemarks6, 0, 1, 0), nil, 0), "WFM")
	wantGood(t, run(t, d, ini, write6(500), rec(7, 500), 0), "WRITE")
	wantGood(t, run(t, d, ini, rewind, nil, 0), "REWIND")

	r := run(t, d, ini, read6(1000), nil, -1)
	wantGood(t, r, "READ exact")
	if !bytes.Equal(r.data, rec(0, 1000)) {
		t.Fatal("READ data")
	}
	// Record (1000) shorter than request (4096), no SILI: ILI, positive residue.
	r = run(t, d, ini, read6(4096), nil, -1)
	s := wantSense(t, r, scsi.KeyNoSense, scsi.ASCNone, "underlength READ")
	if !s.ILI || !s.InfoValid || s.Info != 3096 || len(r.data) != 1000 {
		t.Fatalf("underlength READ: %v data %d", s, len(r.data))
	}
	// Record longer than request: ILI with negative residue, truncated data.
	r = run(t, d, ini, read6sili(100), nil, -1)
	s = wantSense(t, r, scsi.KeyNoSense, scsi.ASCNone, "overlength READ")
	if !s.ILI || s.Info != -900 || !bytes.Equal(r.data, rec(2, 1000)[:100]) {
		t.Fatalf("overlength READ: %v data %d", s, len(r.data))
	}
	// Filemark: FM bit, 00/01, INFO = requested length.
	r = run(t, d, ini, read6(2048), nil, -1)
	s = wantSense(t, r, scsi.KeyNoSense, scsi.ASCFilemarkDetected, "READ at filemark")
	if !s.Filemark || s.Info != 2048 || len(r.data) != 0 {
		t.Fatalf("filemark: %v", s)
	}
	// Underlength with SILI: GOOD.
	r = run(t, d, ini, read6sili(4096), nil, -1)
	wantGood(t, r, "SILI underlength")
	if len(r.data) != 500 {
		t.Fatalf("SILI data %d", len(r.data))
	}
	// End of data: BLANK CHECK 00/05, no EOM.
	r = run(t, d, ini, read6(512), nil, -1)
	s = wantSense(t, r, scsi.KeyBlankCheck, scsi.ASCEndOfData, "READ at EOD")
	if s.EOM || s.Info != 512 {
		t.Fatalf("EOD: %v", s)
	}
	// allocLen clips data-in.
	wantGood(t, run(t, d, ini, rewind, nil, 0), "REWIND")
	if r = run(t, d, ini, read6(1000), nil, 10); len(r.data) != 10 {
		t.Fatalf("allocLen: %d", len(r.data))
	}
	// SPACE: blocks into a filemark, EOD, backward to BOT.
	r = run(t, d, ini, space6(0, 5), nil, 0)
	s = wantSense(t, r, scsi.KeyNoSense, scsi.ASCFilemarkDetected, "SPACE blocks over filemark")
	if s.Info != 3 || !s.Filemark {
		t.Fatalf("SPACE residue %v", s)
	}
	wantGood(t, run(t, d, ini, space6(3, 0), nil, 0), "SPACE EOD")
	r = run(t, d, ini, space6(1, -5), nil, 0)
	s = wantSense(t, r, scsi.KeyNoSense, scsi.ASCBeginningOfPartition, "SPACE back to BOT")
	if !s.EOM || s.Info != -4 {
		t.Fatalf("SPACE back: %v", s)
	}
	r = run(t, d, ini, space6(2, 1), nil, 0)
	wantSense(t, r, scsi.KeyIllegalRequest, scsi.ASCInvalidFieldInCDB, "sequential filemarks")
	// LOCATE(10) and READ POSITION short/long.
	loc := []byte{scsi.OpLocate10, 0, 0, 0, 0, 0, 4, 0, 0, 0}
	wantGood(t, run(t, d, ini, loc, nil, 0), "LOCATE")
	r = run(t, d, ini, []byte{scsi.OpReadPosition, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, -1)
	wantGood(t, r, "READ POSITION")
	if len(r.data) != 20 || r.data[0]&0x80 != 0 || scsi.Be32(r.data[4:]) != 4 || scsi.Be32(r.data[8:]) != 4 {
		t.Fatalf("short READ POSITION % x", r.data)
	}
	r = run(t, d, ini, []byte{scsi.OpReadPosition, 6, 0, 0, 0, 0, 0, 0, 0, 0}, nil, -1)
	if len(r.data) != 32 || scsi.Be64(r.data[8:]) != 4 || scsi.Be64(r.data[16:]) != 1 {
		t.Fatalf("long READ POSITION % x", r.data)
	}
	loc16 := make([]byte, 16)
	loc16[0], loc16[1] = scsi.OpLocate16, 1<<3 // logical file 1
	scsi.Put64(loc16[4:], 1)
	wantGood(t, run(t, d, ini, loc16, nil, 0), "LOCATE(16) file")
	if p, _ := d.Position(); p.Block != 4 {
		t.Fatalf("LOCATE(16) file 1 -> block %d", p.Block)
	}
	loc[6] = 99
	wantSense(t, run(t, d, ini, loc, nil, 0), scsi.KeyBlankCheck, scsi.ASCEndOfData, "LOCATE past EOD")

	// Write protection and WORM.
	v.SetWriteProtect("TL0001L8", true)
	wantSense(t, run(t, d, ini, write6(10), rec(0, 10), 0), scsi.KeyDataProtect, scsi.ASCWriteProtected, "write protected")
	r = run(t, d, ini, []byte{scsi.OpModeSense6, 0, 0, 0, 64, 0}, nil, 64)
	if r.data[2]&0x80 == 0 {
		t.Fatal("MODE SENSE WP bit")
	}
	v.SetWriteProtect("TL0001L8", false)
	v.InjectCartridgeFault("TL0001L8", Fault{Kind: FaultWORM})
	run(t, d, ini, rewind, nil, 0)
	wantSense(t, run(t, d, ini, write6(10), rec(0, 10), 0), scsi.KeyDataProtect, scsi.ASCWORMOverwrite, "WORM overwrite")
	v.ClearFaults("TL0001L8")
	// Medium errors.
	v.InjectCartridgeFault("TL0001L8", Fault{Kind: FaultReadError, Block: 0, Count: 1})
	s = wantSense(t, run(t, d, ini, read6(1000), nil, -1), scsi.KeyMediumError, scsi.ASCUnrecoveredReadError, "read error")
	if s.Info != 1000 {
		t.Fatalf("medium error info %v", s)
	}
	v.InjectCartridgeFault("TL0001L8", Fault{Kind: FaultWriteError, Block: 0, Count: 1})
	wantSense(t, run(t, d, ini, write6(10), rec(0, 10), 0), scsi.KeyMediumError, scsi.ASCWriteError, "write error")
	// REQUEST SENSE returns the last sense, then NO SENSE.
	r = run(t, d, ini, []byte{scsi.OpRequestSense, 0, 0, 0, 252, 0}, nil, 252)
	if rs, _ := scsi.ParseSense(r.data); rs.Key != scsi.KeyMediumError {
		t.Fatalf("REQUEST SENSE %v", rs)
	}
	r = run(t, d, ini, []byte{scsi.OpRequestSense, 1, 0, 0, 252, 0}, nil, 252)
	if r.data[0] != 0x72 || r.data[1] != 0 {
		t.Fatalf("REQUEST SENSE desc % x", r.data)
	}
	// Illegal request with a field pointer: FIXED bit in variable mode.
	s = wantSense(t, run(t, d, ini, cdb6(scsi.OpRead6, 1, 1, 0), nil, -1), scsi.KeyIllegalRequest, scsi.ASCInvalidFieldInCDB, "fixed read in variable mode")
	if s.FieldPointer != 1 || !s.InCDB || !s.BitValid || s.BitPointer != 0 {
		t.Fatalf("field pointer %+v", s)
	}
	wantSense(t, run(t, d, ini, []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, 0), scsi.KeyIllegalRequest, scsi.ASCInvalidOpcode, "bad opcode")
}

func TestSSCFixedModeAndModePages(t *testing.T) {
	_, d := newLab(t, 0)
	const ini = "i"
	// MODE SELECT(6): block descriptor with 512-byte blocks, compression page off.
	p := make([]byte, 4+8+16)
	p[3] = 8
	scsi.Put24(p[4+5:], 512)
	copy(p[12:], []byte{0x0f, 0x0e, 0x00})
	wantGood(t, run(t, d, ini, []byte{scsi.OpModeSelect6, 0x10, 0, 0, byte(len(p)), 0}, p, 0), "MODE SELECT")
	if d.BlockSize() != 512 || d.Compression() {
		t.Fatalf("block size %d compression %v", d.BlockSize(), d.Compression())
	}
	data := rec(1, 3*512)
	wantGood(t, run(t, d, ini, cdb6(scsi.OpWrite6, 1, 3, 0), data, 0), "fixed WRITE")
	run(t, d, ini, cdb6(scsi.OpWriteFilemarks6, 0, 1, 0), nil, 0)
	run(t, d, ini, rewind, nil, 0)
	r := run(t, d, ini, cdb6(scsi.OpRead6, 1, 5, 0), nil, -1)
	s := wantSense(t, r, scsi.KeyNoSense, scsi.ASCFilemarkDetected, "fixed READ into filemark")
	if s.Info != 2 || !bytes.Equal(r.data, data) {
		t.Fatalf("fixed read: %v, %d bytes", s, len(r.data))
	}
	// MODE SENSE(10), all pages, block descriptor reports 512.
	r = run(t, d, ini, []byte{scsi.OpModeSense10, 0, 0x3f, 0, 0, 0, 0, 0x10, 0, 0}, nil, 4096)
	wantGood(t, r, "MODE SENSE(10)")
	if int(scsi.Be16(r.data))+2 != len(r.data) || scsi.Be16(r.data[6:]) != 8 || scsi.Be24(r.data[8+5:]) != 512 {
		t.Fatalf("MODE SENSE(10) % x", r.data)
	}
	if !bytes.Contains(r.data, []byte{0x0f, 0x0e}) || !bytes.Contains(r.data, []byte{0x10, 0x0e}) {
		t.Fatal("pages 0x0f/0x10 missing")
	}
	wantSense(t, run(t, d, ini, []byte{scsi.OpModeSense6, 0, 0x2b, 0, 255, 0}, nil, 255), scsi.KeyIllegalRequest, scsi.ASCInvalidFieldInCDB, "unknown page")
	// Descriptor-format sense via the control page.
	ctl := []byte{0, 0, 0, 0, 0x0a, 0x0a, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	wantGood(t, run(t, d, ini, []byte{scsi.OpModeSelect6, 0x10, 0, 0, byte(len(ctl)), 0}, ctl, 0), "MODE SELECT control")
	r = run(t, d, ini, cdb6(scsi.OpRead6, 1, 5, 0), nil, -1)
	if r.raw[0] != 0x72 || r.sense.Key != scsi.KeyBlankCheck {
		t.Fatalf("descriptor sense % x", r.raw)
	}
	// READ BLOCK LIMITS.
	r = run(t, d, ini, []byte{scsi.OpReadBlockLimits, 0, 0, 0, 0, 0}, nil, 6)
	if scsi.Be24(r.data[1:]) != MaxBlockSize || scsi.Be16(r.data[4:]) != 1 || r.data[0] != 0 {
		t.Fatalf("READ BLOCK LIMITS % x", r.data)
	}
}

func TestSSCInquiryLogLunsLoad(t *testing.T) {
	v, d := newLab(t, 0)
	const ini = "i"
	r := run(t, d, ini, []byte{scsi.OpInquiry, 0, 0, 0, 255, 0}, nil, 255)
	if r.data[0] != 1 || r.data[1] != 0x80 || strings.TrimSpace(string(r.data[8:16])) != "IBM" || strings.TrimSpace(string(r.data[16:32])) != "ULT3580-TD8" {
		t.Fatalf("INQUIRY % x", r.data[:36])
	}
	r = run(t, d, ini, []byte{scsi.OpInquiry, 1, 0x80, 0, 255, 0}, nil, 255)
	if string(r.data[4:]) != d.Serial() {
		t.Fatalf("VPD 0x80 %q", r.data)
	}
	r = run(t, d, ini, []byte{scsi.OpInquiry, 1, 0x83, 0, 255, 0}, nil, 255)
	if r.data[1] != 0x83 || int(scsi.Be16(r.data[2:]))+4 != len(r.data) || !bytes.Contains(r.data, []byte(d.Serial())) {
		t.Fatalf("VPD 0x83 % x", r.data)
	}
	r = run(t, d, ini, []byte{scsi.OpInquiry, 1, 0x00, 0, 255, 0}, nil, 255)
	if !bytes.Equal(r.data[4:], []byte{0, 0x80, 0x83}) {
		t.Fatalf("VPD 0 % x", r.data)
	}
	wantSense(t, run(t, d, ini, []byte{scsi.OpInquiry, 0, 0x80, 0, 255, 0}, nil, 255), scsi.KeyIllegalRequest, scsi.ASCInvalidFieldInCDB, "page without EVPD")
	r = run(t, d, ini, []byte{scsi.OpReportLuns, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, nil, 256)
	if scsi.Be32(r.data) != 8 || r.data[9] != 1 {
		t.Fatalf("REPORT LUNS % x", r.data)
	}
	// LOG SENSE: a write error shows in page 0x02 and TapeAlert flag 6.
	v.InjectCartridgeFault("TL0001L8", Fault{Kind: FaultWriteError, Count: 1})
	run(t, d, ini, write6(10), rec(0, 10), 0)
	r = run(t, d, ini, []byte{scsi.OpLogSense, 0, 0x40 | 0x02, 0, 0, 0, 0, 0x10, 0, 0}, nil, 4096)
	if r.data[0] != 2 || !bytes.Contains(r.data, []byte{0, 6, 2, 8, 0, 0, 0, 0, 0, 0, 0, 1}) {
		t.Fatalf("LOG SENSE 02 % x", r.data)
	}
	r = run(t, d, ini, []byte{scsi.OpLogSense, 0, 0x40 | 0x2e, 0, 0, 0, 0, 0x10, 0, 0}, nil, 4096)
	if len(r.data) != 4+64*5 || r.data[4+5*5+4] != 1 {
		t.Fatalf("TapeAlert % x", r.data)
	}
	r = run(t, d, ini, []byte{scsi.OpLogSense, 0, 0x40 | 0x2e, 0, 0, 0, 0, 0x10, 0, 0}, nil, 4096)
	if r.data[4+5*5+4] != 0 {
		t.Fatal("TapeAlert flags must clear once read")
	}
	// Tape capacity page 0x31 in MiB (an LTO-8: 12 TB native).
	r = run(t, d, ini, []byte{scsi.OpLogSense, 0, 0x40 | 0x31, 0, 0, 0, 0, 0x10, 0, 0}, nil, 4096)
	if len(r.data) != 4+4*8 || scsi.Be32(r.data[4+4+8*2:]) != uint32(12*tb>>20) || scsi.Be32(r.data[4+4:]) != uint32(12*tb>>20) {
		t.Fatalf("LOG SENSE 31 % x", r.data)
	}
	r = run(t, d, ini, []byte{scsi.OpLogSense, 0, 0x40, 0, 0, 0, 0, 0x10, 0, 0}, nil, 4096)
	if !bytes.Equal(r.data[4:], []byte{0x00, 0x02, 0x03, 0x0c, 0x2e, 0x31}) {
		t.Fatalf("supported log pages % x", r.data)
	}
	// PREVENT blocks UNLOAD; LOAD/UNLOAD and NOT READY conditions.
	wantGood(t, run(t, d, ini, []byte{scsi.OpPreventAllow, 0, 0, 0, 1, 0}, nil, 0), "PREVENT")
	wantSense(t, run(t, d, ini, []byte{scsi.OpLoadUnload, 0, 0, 0, 0, 0}, nil, 0), scsi.KeyIllegalRequest, scsi.ASCMediumRemovalPrevented, "UNLOAD prevented")
	run(t, d, ini, []byte{scsi.OpPreventAllow, 0, 0, 0, 0, 0}, nil, 0)
	wantGood(t, run(t, d, ini, []byte{scsi.OpLoadUnload, 0, 0, 0, 0, 0}, nil, 0), "UNLOAD")
	wantSense(t, run(t, d, ini, tur, nil, 0), scsi.KeyNotReady, scsi.ASCNotReadyInitRequired, "TUR after UNLOAD")
	wantGood(t, run(t, d, ini, []byte{scsi.OpLoadUnload, 0, 0, 0, 1, 0}, nil, 0), "LOAD")
	wantGood(t, run(t, d, ini, tur, nil, 0), "TUR after LOAD")
	d2, _ := v.Drive("st1")
	wantSense(t, run(t, d2, ini, tur, nil, 0), scsi.KeyNotReady, scsi.ASCMediumNotPresent, "empty drive")
	d2.SetOnline(false)
	wantSense(t, run(t, d2, ini, tur, nil, 0), scsi.KeyNotReady, scsi.ASCLogicalUnitOffline, "offline drive")
	// RESERVE(6)/RELEASE(6) between initiators.
	wantGood(t, run(t, d, "a", []byte{scsi.OpReserve6, 0, 0, 0, 0, 0}, nil, 0), "RESERVE a")
	if r := run(t, d, "b", tur, nil, 0); r.status != scsi.StatusReservationConflict {
		t.Fatalf("TUR b: %#x", r.status)
	}
	if err := d.Reserve("ndmp-1"); !errors.Is(err, ErrReservationConflict) {
		t.Fatalf("Go Reserve over SCSI reservation: %v", err)
	}
	wantGood(t, run(t, d, "b", []byte{scsi.OpRelease6, 0, 0, 0, 0, 0}, nil, 0), "RELEASE by non-holder is a no-op")
	wantGood(t, run(t, d, "a", []byte{scsi.OpRelease6, 0, 0, 0, 0, 0}, nil, 0), "RELEASE a")
	wantGood(t, run(t, d, "b", tur, nil, 0), "TUR b after release")
}

func prOutCDB(sa, typ byte, key, sakey uint64) ([]byte, []byte) {
	c := []byte{scsi.OpPersistResvOut, sa, typ, 0, 0, 0, 0, 0, 24, 0}
	p := make([]byte, 24)
	scsi.Put64(p, key)
	scsi.Put64(p[8:], sakey)
	return c, p
}

func TestSSCPersistentReservations(t *testing.T) {
	_, d := newLab(t, 0)
	c, p := prOutCDB(0, 0, 0, 0xaa)
	wantGood(t, run(t, d, "a", c, p, 0), "REGISTER a")
	c, p = prOutCDB(0, 0, 0, 0xbb)
	wantGood(t, run(t, d, "b", c, p, 0), "REGISTER b")
	c, p = prOutCDB(1, prExclusiveAccess, 0xaa, 0)
	wantGood(t, run(t, d, "a", c, p, 0), "RESERVE a")
	if r := run(t, d, "b", tur, nil, 0); r.status != scsi.StatusReservationConflict {
		t.Fatalf("b under exclusive access: %#x", r.status)
	}
	r := run(t, d, "b", []byte{scsi.OpPersistResvIn, 0, 0, 0, 0, 0, 0, 1, 0, 0}, nil, 256)
	if scsi.Be32(r.data[4:]) != 16 {
		t.Fatalf("READ KEYS % x", r.data)
	}
	r = run(t, d, "b", []byte{scsi.OpPersistResvIn, 1, 0, 0, 0, 0, 0, 1, 0, 0}, nil, 256)
	if scsi.Be32(r.data[4:]) != 16 || scsi.Be64(r.data[8:]) != 0xaa || r.data[8+13] != prExclusiveAccess {
		t.Fatalf("READ RESERVATION % x", r.data)
	}
	c, p = prOutCDB(1, prExclusiveAccess, 0x99, 0)
	if r := run(t, d, "b", c, p, 0); r.status != scsi.StatusReservationConflict {
		t.Fatalf("RESERVE with wrong key: %#x", r.status)
	}
	c, p = prOutCDB(4, prExclusiveAccess, 0xbb, 0xaa)
	wantGood(t, run(t, d, "b", c, p, 0), "PREEMPT")
	wantGood(t, run(t, d, "b", tur, nil, 0), "b holds the reservation")
	if r := run(t, d, "a", tur, nil, 0); r.status != scsi.StatusReservationConflict {
		t.Fatalf("a after preempt: %#x", r.status)
	}
	c, p = prOutCDB(3, 0, 0xbb, 0)
	wantGood(t, run(t, d, "b", c, p, 0), "CLEAR")
	wantGood(t, run(t, d, "a", tur, nil, 0), "a after CLEAR")
}

// TestSenseDecodesWithSgDecodeSense checks our sense bytes with sg3_utils' decoder.
func TestSenseDecodesWithSgDecodeSense(t *testing.T) {
	prog := testpeer.Program(t, "sg_decode_sense", "/usr/bin/sg_decode_sense")
	fm := scsi.NewSense(scsi.KeyNoSense, scsi.ASCFilemarkDetected)
	fm.Filemark, fm.Info, fm.InfoValid = true, 65536, true
	ili := scsi.NewSense(scsi.KeyNoSense, scsi.ASCNone)
	ili.ILI, ili.Info, ili.InfoValid = true, -900, true
	ew := scsi.NewSense(scsi.KeyNoSense, scsi.ASCEndOfPartition)
	ew.EOM, ew.Info, ew.InfoValid = true, 0, true
	vo := scsi.NewSense(scsi.KeyVolumeOverflow, scsi.ASCEndOfPartition)
	vo.EOM, vo.Info, vo.InfoValid = true, 4096, true
	cases := []struct {
		s    *scsi.Sense
		want []string
	}{
		{scsi.NewSense(scsi.KeyNotReady, scsi.ASCMediumNotPresent), []string{"Not Ready", "Medium not present"}},
		{scsi.NewSense(scsi.KeyNotReady, scsi.ASCLogicalUnitOffline), []string{"Not Ready", "offline"}},
		{fm, []string{"No Sense", "Filemark detected"}},
		{ili, []string{"No Sense"}},
		{scsi.NewSense(scsi.KeyBlankCheck, scsi.ASCEndOfData), []string{"Blank Check", "End-of-data detected"}},
		{ew, []string{"No Sense", "End-of-partition/medium detected"}},
		{vo, []string{"Volume Overflow", "End-of-partition/medium detected"}},
		{scsi.NewSense(scsi.KeyDataProtect, scsi.ASCWriteProtected), []string{"Data Protect", "Write protected"}},
		{scsi.NewSense(scsi.KeyDataProtect, scsi.ASCWORMOverwrite), []string{"Data Protect", "Worm medium - overwrite attempted"}},
		{scsi.NewSense(scsi.KeyMediumError, scsi.ASCUnrecoveredReadError), []string{"Medium Error", "Unrecovered read error"}},
		{scsi.NewSense(scsi.KeyMediumError, scsi.ASCWriteError), []string{"Medium Error", "Write error"}},
		{scsi.InvalidField(true, 1, 0), []string{"Illegal Request", "Invalid field in cdb", "byte 1 bit 0"}},
		{scsi.InvalidField(false, 12, -1), []string{"Illegal Request", "Invalid field in parameter list", "byte 12"}},
		{scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCMediumDestFull), []string{"Medium destination element full"}},
		{scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCMediumSourceEmpty), []string{"Medium source element empty"}},
	}
	for _, c := range cases {
		for _, format := range []string{"fixed", "descriptor"} {
			b := c.s.Fixed()
			if format == "descriptor" {
				b = c.s.Descriptor()
			}
			args := make([]string, len(b))
			for i, x := range b {
				args[i] = fmt.Sprintf("%02x", x)
			}
			out, err := exec.Command(prog, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("sg_decode_sense %v: %v\n%s", args, err, out)
			}
			txt := string(out)
			if !strings.Contains(strings.ToLower(txt), strings.ToLower(format+" format")) {
				t.Errorf("%s: %s", format, txt)
			}
			want := c.want
			if c.s.InfoValid && format == "fixed" {
				want = append(want, fmt.Sprintf("[%d]", uint32(c.s.Info)))
			} else if c.s.InfoValid {
				want = append(want, fmt.Sprintf("Information: 0x%016x", uint64(c.s.Info)))
			}
			for _, w := range want {
				if !strings.Contains(strings.ToLower(txt), strings.ToLower(w)) {
					t.Errorf("%s sense %v: sg_decode_sense output lacks %q:\n%s", format, c.s, w, txt)
				}
			}
			if c.s.Filemark && format == "fixed" && !strings.Contains(txt, "FMK") || c.s.Filemark && format == "descriptor" && !strings.Contains(txt, "FILEMARK") {
				t.Errorf("%s: filemark bit not decoded:\n%s", format, txt)
			}
			if c.s.ILI && format == "fixed" && !strings.Contains(txt, "ILI") {
				t.Errorf("ILI bit not decoded:\n%s", txt)
			}
			if c.s.EOM && !strings.Contains(txt, "EOM") {
				t.Errorf("%s: EOM bit not decoded:\n%s", format, txt)
			}
			// Round trip through our own parser.
			back, err := scsi.ParseSense(b)
			if err != nil || back.Key != c.s.Key || back.ASC != c.s.ASC || back.Filemark != c.s.Filemark || back.EOM != c.s.EOM ||
				back.ILI != c.s.ILI || back.InfoValid != c.s.InfoValid || (c.s.InfoValid && back.Info != c.s.Info) || back.FieldPointer != c.s.FieldPointer {
				t.Errorf("%s round trip: %v -> %v (%v)", format, c.s, back, err)
			}
		}
	}
}

func TestSSCEarlyWarningOverflowAndCompression(t *testing.T) {
	_, d := newLab(t, 64<<10)
	d.SetCompression(false)
	const ini = "i"
	var ew, vo int
	for i := 0; i < 20; i++ {
		r := run(t, d, ini, write6(4096), rec(i, 4096), 0)
		if r.status == scsi.StatusGood {
			continue
		}
		switch {
		case r.sense.Key == scsi.KeyNoSense && r.sense.ASC == scsi.ASCEndOfPartition && r.sense.EOM && r.sense.Info == 0:
			ew++
		case r.sense.Key == scsi.KeyVolumeOverflow && r.sense.EOM && r.sense.Info == 4096:
			vo++
		default:
			t.Fatalf("write %d: %v", i, r.sense)
		}
	}
	if ew != 1 || vo != 4 {
		t.Fatalf("early warnings %d, overflows %d", ew, vo)
	}
	r := run(t, d, ini, []byte{scsi.OpReadPosition, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, 20)
	if r.data[0]&0x40 == 0 {
		t.Fatalf("READ POSITION EOP bit in the early-warning zone: % x", r.data)
	}
}

func TestDriveCompressionFollowsDensity(t *testing.T) {
	v, _ := newLab(t, 0)
	tp, err := v.OpenTape("nrst0a", "s")
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 256<<10)
	for i := 0; i < 4; i++ {
		if err := tp.WriteRecord(zeros); err != nil {
			t.Fatal(err)
		}
	}
	info, _ := tp.Cartridge()
	if info.Used >= 4*256<<10/10 || info.Counters.BytesWritten != 4*256<<10 {
		t.Fatalf("compressing density stored %d bytes for %d", info.Used, info.Counters.BytesWritten)
	}
	tp.Rewind()
	buf := make([]byte, 256<<10)
	if n, err := tp.ReadRecord(buf); err != nil || n != len(zeros) || !bytes.Equal(buf, zeros) {
		t.Fatal(n, err)
	}
	tp.Close()
	tp, _ = v.OpenTape("nrst0h", "s")
	defer tp.Close()
	tp.Space(SpaceEOD, 0)
	tp.WriteRecord(zeros)
	info2, _ := tp.Cartridge()
	if info2.Used-info.Used != 256<<10 {
		t.Fatalf("non-compressing density stored %d bytes", info2.Used-info.Used)
	}
}

func TestReportSupportedOpcodes(t *testing.T) {
	_, d := newLab(t, 0)
	c := d.Library().Changer()
	rso := func(opt, op byte, sa uint16) []byte {
		b := []byte{scsi.OpMaintenanceIn, 0x0c, opt, op, 0, 0, 0, 0, 0x10, 0, 0, 0}
		scsi.Put16(b[4:], uint32(sa))
		return b
	}
	for _, dev := range []scsi.Device{d, c} {
		r := run(t, dev, "i", rso(0, 0, 0), nil, 4096)
		wantGood(t, r, "all opcodes")
		n := int(scsi.Be32(r.data))
		if n%8 != 0 || n+4 != len(r.data) || n < 16*8 {
			t.Fatalf("REPORT SUPPORTED OPERATION CODES % x", r.data)
		}
		// Every listed opcode is accepted (not INVALID COMMAND OPERATION CODE).
		for p := 4; p < len(r.data); p += 8 {
			op := r.data[p]
			cdb := make([]byte, scsi.CDBLength(op))
			cdb[0] = op
			if rr := run(t, dev, "i", cdb, nil, 4096); rr.status == scsi.StatusCheckCondition && rr.sense.ASC == scsi.ASCInvalidOpcode {
				t.Errorf("listed opcode %#x rejected as unsupported", op)
			}
		}
	}
	r := run(t, d, "i", rso(1, scsi.OpRead6, 0), nil, 4096)
	if r.data[1] != 3 || scsi.Be16(r.data[2:]) != 6 || r.data[4] != scsi.OpRead6 {
		t.Fatalf("one opcode % x", r.data)
	}
	if r := run(t, d, "i", rso(1, 0x28, 0), nil, 4096); r.data[1] != 1 {
		t.Fatalf("READ(10) reported as supported: % x", r.data)
	}
	wantSense(t, run(t, d, "i", rso(1, scsi.OpPersistResvIn, 0), nil, 4096), scsi.KeyIllegalRequest, scsi.ASCInvalidFieldInCDB, "opcode with service action asked without one")
	if r := run(t, d, "i", rso(2, scsi.OpPersistResvIn, 1), nil, 4096); r.data[1] != 3 || scsi.Be16(r.data[2:]) != 10 {
		t.Fatalf("PR IN SA 1 % x", r.data)
	}
}

// TestReservationModesAndReset follows seed 001: a SCSI reservation is lost
// by an interface reset, a persistent one is not; a preempted persistent
// reservation reports "Tape reservation preempted" to its owner.
func TestReservationModesAndReset(t *testing.T) {
	v, d := newLab(t, 0)
	v.SetReservationMode(ReservationsSCSI)
	tp, err := v.OpenTape("nrst0a", "ndmp-1")
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, d, "iqn.x", tur, nil, 0); r.status != scsi.StatusReservationConflict {
		t.Fatalf("scsi mode: %#x", r.status)
	}
	d.Reset()
	wantGood(t, run(t, d, "iqn.x", tur, nil, 0), "scsi reservation lost by a reset")
	tp.Close()

	v.SetReservationMode(ReservationsPersistent)
	tp, _ = v.OpenTape("nrst0a", "ndmp-2")
	d.Reset()
	if r := run(t, d, "iqn.x", tur, nil, 0); r.status != scsi.StatusReservationConflict {
		t.Fatalf("persistent reservation must survive a reset: %#x", r.status)
	}
	// Another initiator registers and preempts the owner's reservation.
	c, p := prOutCDB(0, 0, 0, 0x77)
	wantGood(t, run(t, d, "iqn.x", c, p, 0), "REGISTER")
	c, p = prOutCDB(4, prExclusiveAccess, 0x77, keyFor("ndmp-2"))
	wantGood(t, run(t, d, "iqn.x", c, p, 0), "PREEMPT")
	err = tp.WriteRecord(rec(1, 100))
	if !errors.Is(err, ErrReservationPreempted) || !strings.Contains(err.Error(), "Tape reservation preempted") {
		t.Fatalf("owner after preemption: %v", err)
	}
	tp.Close()
	if _, err := v.OpenTape("nrst0a", "ndmp-3"); !errors.Is(err, ErrReservationConflict) {
		t.Fatalf("open while another initiator holds the reservation: %v", err)
	}
}

func TestSSCVerify(t *testing.T) {
	v, d := newLab(t, 0)
	writeLayout(t, d) // R0 R1 R2 FM R3 R4 FM, 1000-byte records
	const ini = "i"
	verify := func(b1 byte, n uint32) []byte { return cdb6(scsi.OpVerify6, b1, n, 0) }
	run(t, d, ini, rewind, nil, 0)
	wantGood(t, run(t, d, ini, verify(0x08, 2), nil, 0), "VERIFY by filemarks")
	if p, _ := d.Position(); p.Block != 7 {
		t.Fatalf("after VBF 2: block %d", p.Block)
	}
	s := wantSense(t, run(t, d, ini, verify(0x08, 1), nil, 0), scsi.KeyBlankCheck, scsi.ASCEndOfData, "VBF past EOD")
	if s.Info != 1 {
		t.Fatalf("VBF residue %v", s)
	}
	run(t, d, ini, rewind, nil, 0)
	wantGood(t, run(t, d, ini, verify(0, 1000), nil, 0), "variable VERIFY, right length")
	s = wantSense(t, run(t, d, ini, verify(0, 900), nil, 0), scsi.KeyNoSense, scsi.ASCNone, "variable VERIFY, wrong length")
	if !s.ILI || s.Info != -100 {
		t.Fatalf("ILI %v", s)
	}
	v.InjectCartridgeFault("TL0001L8", Fault{Kind: FaultReadError, Block: 2, Count: 1})
	wantSense(t, run(t, d, ini, verify(0, 1000), nil, 0), scsi.KeyMediumError, scsi.ASCUnrecoveredReadError, "VERIFY of a bad block")
	wantSense(t, run(t, d, ini, verify(0x02, 1), nil, 0), scsi.KeyIllegalRequest, scsi.ASCInvalidFieldInCDB, "BYTCMP")
	wantSense(t, run(t, d, ini, verify(0x01, 1), nil, 0), scsi.KeyIllegalRequest, scsi.ASCInvalidFieldInCDB, "FIXED in variable mode")
}
