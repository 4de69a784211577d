package ndmp_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"tapelab/ndmp/client"
	"tapelab/ndmp/ndmptest"
	"tapelab/ndmp/wire"
	"tapelab/vtl"
)

// TestMoverSpansVTLCartridges writes a backup bigger than one (small) VTL
// cartridge: the mover pauses with EOM, the DMA finishes the cartridge,
// swaps it for the next through the changer (NDMP SCSI MOVE MEDIUM) and
// continues; reading both cartridges back gives the whole image.
func TestMoverSpansVTLCartridges(t *testing.T) {
	l := newLabLoaded(t, labConfig(), false)
	for i, bc := range []string{"SP0001L8", "SP0002L8"} {
		if _, err := l.inv.CreateCartridge(vtl.CartridgeSpec{Barcode: bc, Library: "lib0", Slot: 7 + i, Capacity: 3 << 20}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.Dial(l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("connect", c.Connect("ndmp", "ndmp", false))
	must("scsi open", c.SCSIOpen("mc0"))
	els, err := c.ReadElementStatus()
	must("element status", err)
	arm := client.Transport(els)
	load := func(slot uint16) {
		must("load", c.MoveMedium(arm, slot, 256))
		must("tape open", c.TapeOpen("nrst0h", wire.TapeRDWRMode))
	}
	unload := func(slot uint16) {
		_, err := c.TapeMTIO(wire.MTIOOFF, 1)
		must("unload", err)
		must("tape close", c.TapeClose())
		must("return", c.MoveMedium(arm, 256, slot))
	}
	const size = 5 << 20
	const rs = 32 << 10
	load(1030) // SP0001L8 in slot 7
	must("record size", c.MoverSetRecordSize(rs))
	must("window", c.MoverSetWindow(0, ^uint64(0)))
	_, err = c.MoverListen(wire.MoverModeRead, wire.AddrLocal)
	must("listen", err)
	must("data connect", c.DataConnect(wire.Addr{Type: wire.AddrLocal}))
	must("start", c.DataStartBackup("lab", []wire.PVal{{Name: "SIZE", Value: strconv.Itoa(size)}, {Name: "RANDOM", Value: "y"}}))
	pauses, dataDone, moverDone := 0, false, false
	var firstBytes uint64
	for !dataDone || !moverDone {
		p, err := c.WaitPost(60*time.Second, nil, wire.NotifyMoverPaused, wire.NotifyDataHalted, wire.NotifyMoverHalted)
		must("wait", err)
		switch b := p.Body.(type) {
		case *wire.NotifyMoverPausedPost:
			if b.Reason != wire.MoverPauseEOM || pauses > 0 {
				t.Fatalf("pause %+v (#%d)", b, pauses+1)
			}
			pauses++
			firstBytes = b.SeekPosition
			_, err := c.TapeMTIO(wire.MTIOEOF, 1)
			if err != nil && !errors.Is(err, wire.EOMErr) {
				t.Fatalf("filemark at the end of the first cartridge: %v", err)
			}
			unload(1030)
			load(1031)
			must("continue", c.MoverContinue())
		case *wire.NotifyDataHaltedPost:
			if b.Reason != wire.DataHaltSuccessful {
				t.Fatalf("data halted %d", b.Reason)
			}
			dataDone = true
		case *wire.NotifyMoverHaltedPost:
			moverDone = true
		}
	}
	if pauses != 1 || firstBytes == 0 || firstBytes >= size {
		t.Fatalf("%d pauses, %d bytes on the first cartridge", pauses, firstBytes)
	}
	must("data stop", c.DataStop())
	must("mover stop", c.MoverStop())
	_, err = c.TapeMTIO(wire.MTIOEOF, 1)
	must("filemark", err)
	unload(1031)

	// Read both cartridges back and compare with the image.
	var got []byte
	for _, slot := range []uint16{1030, 1031} {
		load(slot)
		_, err := c.TapeMTIO(wire.MTIOREW, 1)
		must("rewind", err)
		for {
			d, err := c.TapeRead(rs)
			if errors.Is(err, wire.EOFErr) {
				break
			}
			must("read", err)
			got = append(got, d...)
		}
		unload(slot)
	}
	if uint64(len(got)) < size || uint64(len(got)) != (firstBytes+(size-firstBytes+rs-1)/rs*rs) {
		t.Fatalf("read back %d bytes (first cartridge %d)", len(got), firstBytes)
	}
	want := make([]byte, size)
	fillRandom(want)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("byte %d differs after spanning", i)
		}
	}
	if loc, _ := l.inv.Cartridge("SP0002L8"); loc.Location.Element != vtl.ElementStorage {
		t.Fatalf("SP0002L8 at %+v", loc.Location)
	}
}

// fillRandom is the lab engine's RANDOM=y image.
func fillRandom(b []byte) {
	for i := range b {
		b[i] = ndmptest.ImageByte(true, int64(i))
	}
}
