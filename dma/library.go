package dma

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"tapelab/ndmp/client"
	"tapelab/ndmp/wire"
)

// Library is a medium changer the DMA drives over NDMP SCSI (READ ELEMENT
// STATUS, MOVE MEDIUM) to load cartridges and to span an image over
// several of them.
type Library struct {
	// Changer is the changer's SCSI device name on the tape server (mc0).
	Changer string `json:"changer"`
	// Drives maps the library's drive elements to tape device names
	// (256 -> nrst0a); the DMA uses the first. Empty: the first drive
	// element, opened as Job.Device (a remote server whose names the DMA
	// cannot ask for).
	Drives []LibraryDrive `json:"drives,omitempty"`
}

// LibraryDrive is one drive element of a library and its tape device.
type LibraryDrive struct {
	Address uint16 `json:"address"`
	Device  string `json:"device"`
}

// Part is the piece of an image on one cartridge. Parts are in image
// order; part i holds bytes [Offset, Offset+Bytes) of the image stream
// (Bytes is a multiple of the record size: the mover writes whole records).
type Part struct {
	Cartridge string `json:"cartridge,omitempty"` // barcode ("" = unknown)
	Slot      int    `json:"slot,omitempty"`      // the cartridge's storage slot (1-based), when known
	TapeFile  int    `json:"tape_file"`           // tape file (from 0) the part starts at
	Offset    uint64 `json:"offset"`
	Bytes     uint64 `json:"bytes,omitempty"` // 0 on the last part = to the end
}

// partAt returns the index of the part holding image byte off (the last
// part holds everything after its offset), or -1.
func partAt(parts []Part, off uint64) int {
	for i, p := range parts {
		if off < p.Offset {
			continue
		}
		if i == len(parts)-1 || off-p.Offset < p.Bytes {
			return i
		}
	}
	return -1
}

// window is the mover window that covers part i: its byte range, and
// everything after it for the last part.
func window(parts []Part, i int) (uint64, uint64) {
	if i == len(parts)-1 {
		return parts[i].Offset, ^uint64(0)
	}
	return parts[i].Offset, parts[i].Bytes
}

// checkParts validates the parts of an image: contiguous, record-aligned.
func checkParts(parts []Part, recordSize uint32) error {
	if len(parts) == 0 {
		return errors.New("the image has no parts")
	}
	rs := uint64(recordSize)
	var next uint64
	for i, p := range parts {
		if p.Offset != next {
			return fmt.Errorf("part %d starts at byte %d, want %d", i+1, p.Offset, next)
		}
		if p.Offset%rs != 0 {
			return fmt.Errorf("part %d starts at byte %d, not a multiple of the record size %d", i+1, p.Offset, rs)
		}
		if i < len(parts)-1 {
			if p.Bytes == 0 || p.Bytes%rs != 0 {
				return fmt.Errorf("part %d holds %d bytes, not whole records of %d", i+1, p.Bytes, rs)
			}
		}
		next = p.Offset + p.Bytes
	}
	return nil
}

// DescribeParts names the cartridges of an image for messages:
// "A (tape file 3), B (tape file 0)".
func DescribeParts(parts []Part) string {
	var s []string
	for _, p := range parts {
		bc := p.Cartridge
		if bc == "" {
			bc = "?"
		}
		s = append(s, fmt.Sprintf("%s (tape file %d)", bc, p.TapeFile))
	}
	return strings.Join(s, ", ")
}

// slots returns the storage elements in address order.
func slots(els []client.Element) []client.Element {
	var out []client.Element
	for _, e := range els {
		if e.Type == "slot" {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// slotNumber is the 1-based index of storage element addr, 0 if it is not
// a storage element.
func slotNumber(els []client.Element, addr uint16) int {
	for i, e := range slots(els) {
		if e.Addr == addr {
			return i + 1
		}
	}
	return 0
}

// nextCartridge is the first full storage slot (in slot order) whose
// cartridge this operation has not used yet.
func nextCartridge(els []client.Element, used map[string]bool) (client.Element, bool) {
	for _, e := range slots(els) {
		if e.Full && e.VolTag != "" && !used[e.VolTag] {
			return e, true
		}
	}
	return client.Element{}, false
}

// findCartridge finds the element that holds barcode.
func findCartridge(els []client.Element, barcode string) (client.Element, bool) {
	for _, e := range els {
		if e.Full && e.VolTag == barcode {
			return e, true
		}
	}
	return client.Element{}, false
}

// homeSlot is where a cartridge in drive element d goes back to: the slot
// it came from when that is empty, else the first empty slot.
func homeSlot(els []client.Element, d client.Element) (uint16, error) {
	if d.SourceValid {
		for _, e := range els {
			if e.Addr == d.Source && !e.Full && (e.Type == "slot" || e.Type == "mailslot") {
				return e.Addr, nil
			}
		}
	}
	for _, e := range slots(els) {
		if !e.Full {
			return e.Addr, nil
		}
	}
	return 0, fmt.Errorf("no empty storage slot to put cartridge %s back", d.VolTag)
}

// changer is an open medium changer and the drive of one operation.
type changer struct {
	c      *client.Client
	name   string
	arm    uint16
	drive  uint16
	device string
}

func openChanger(c *client.Client, lib *Library, device string) (*changer, error) {
	if err := c.SCSIOpen(lib.Changer); err != nil {
		return nil, fmt.Errorf("SCSI_OPEN %s: %w", lib.Changer, err)
	}
	ch := &changer{c: c, name: lib.Changer}
	els, err := ch.status()
	if err != nil {
		c.SCSIClose()
		return nil, err
	}
	ch.arm = client.Transport(els)
	if len(lib.Drives) > 0 {
		ch.drive, ch.device = lib.Drives[0].Address, lib.Drives[0].Device
	} else {
		ch.device = device
		found := false
		for _, e := range els {
			if e.Type == "drive" && (!found || e.Addr < ch.drive) {
				ch.drive, found = e.Addr, true
			}
		}
		if !found {
			c.SCSIClose()
			return nil, fmt.Errorf("media changer %s reports no drive element", lib.Changer)
		}
	}
	if _, ok := ch.driveElement(els); !ok {
		c.SCSIClose()
		return nil, fmt.Errorf("media changer %s has no drive element %d", lib.Changer, ch.drive)
	}
	return ch, nil
}

func (ch *changer) close() { _ = ch.c.SCSIClose() }

func (ch *changer) status() ([]client.Element, error) {
	els, err := ch.c.ReadElementStatus()
	if err != nil {
		return nil, fmt.Errorf("media changer %s: %w", ch.name, err)
	}
	return els, nil
}

func (ch *changer) driveElement(els []client.Element) (client.Element, bool) {
	for _, e := range els {
		if e.Type == "drive" && e.Addr == ch.drive {
			return e, true
		}
	}
	return client.Element{}, false
}

// unload returns the cartridge in the drive (if any) to its slot. The tape
// device must be closed.
func (ch *changer) unload() error {
	els, err := ch.status()
	if err != nil {
		return err
	}
	d, _ := ch.driveElement(els)
	if !d.Full {
		return nil
	}
	dst, err := homeSlot(els, d)
	if err != nil {
		return err
	}
	if err := ch.c.MoveMedium(ch.arm, d.Addr, dst); err != nil {
		return fmt.Errorf("unload %s from drive %s: %w", d.VolTag, ch.device, err)
	}
	return nil
}

// load moves the cartridge at element addr into the drive.
func (ch *changer) load(e client.Element) error {
	if err := ch.c.MoveMedium(ch.arm, e.Addr, ch.drive); err != nil {
		return fmt.Errorf("load %s into drive %s: %w", e.VolTag, ch.device, err)
	}
	return nil
}

// loadBarcode makes sure the drive holds barcode, swapping out whatever it
// holds. The tape device must be closed. It returns the cartridge's slot.
func (ch *changer) loadBarcode(barcode string) (int, error) {
	els, err := ch.status()
	if err != nil {
		return 0, err
	}
	d, _ := ch.driveElement(els)
	if d.Full && d.VolTag == barcode {
		if d.SourceValid {
			return slotNumber(els, d.Source), nil
		}
		return 0, nil
	}
	if d.Full {
		if err := ch.unload(); err != nil {
			return 0, err
		}
		if els, err = ch.status(); err != nil {
			return 0, err
		}
	}
	e, ok := findCartridge(els, barcode)
	if !ok {
		return 0, fmt.Errorf("cartridge %s is not in media changer %s: import it into the library first", barcode, ch.name)
	}
	if e.Type == "drive" {
		return 0, fmt.Errorf("cartridge %s is in another drive (element %d) of media changer %s: unload it first", barcode, e.Addr, ch.name)
	}
	if err := ch.load(e); err != nil {
		return 0, err
	}
	return slotNumber(els, e.Addr), nil
}

// errNoCartridge: no storage slot holds a cartridge this operation can use.
var errNoCartridge = errors.New("no further cartridge with room in the storage slots")

// nearlyFull reports whether the open tape, at its append point, has less
// room than the DMA starts an image part on: two records before the last
// 1/32 of the cartridge (about where a drive signals early warning).
func (s *session) nearlyFull(recordSize uint32) bool {
	st, err := s.tape.TapeGetState()
	if err != nil || st.Unsupported&wire.TapeStateSpaceRemainUnsupported != 0 {
		return false
	}
	low := 2 * uint64(recordSize)
	if st.Unsupported&wire.TapeStateTotalSpaceUnsupported == 0 {
		low += st.TotalSpace / 32
	}
	return st.SpaceRemain < low
}

// appendCartridge makes the drive hold a cartridge with room for (more of)
// the image, opened and positioned after its last image: the cartridge
// already in the drive when keep is set and it has room, else the first
// full storage slot's (in slot order) not in used. Every cartridge tried
// goes into used; one without room goes back to its slot.
func (s *session) appendCartridge(used map[string]bool, keep bool, recordSize uint32) (Part, error) {
	ch := s.ch
	try := func(barcode string, slot int) (Part, bool) {
		used[barcode] = true
		fileNo, err := s.openTape(ch.device, wire.TapeRDWRMode, true)
		if err == nil && !s.nearlyFull(recordSize) {
			return Part{Cartridge: barcode, Slot: slot, TapeFile: fileNo}, true
		}
		why := "no room left"
		if err != nil {
			why = err.Error()
		}
		if s.obsLog != nil {
			s.obsLog(fmt.Sprintf("cartridge %s skipped: %s", barcode, why))
		}
		_ = s.tape.TapeClose()
		return Part{}, false
	}
	if keep {
		els, err := ch.status()
		if err != nil {
			return Part{}, err
		}
		if d, _ := ch.driveElement(els); d.Full {
			slot := 0
			if d.SourceValid {
				slot = slotNumber(els, d.Source)
			}
			if p, ok := try(d.VolTag, slot); ok {
				return p, nil
			}
			if err := ch.unload(); err != nil {
				return Part{}, err
			}
		}
	}
	for {
		els, err := ch.status()
		if err != nil {
			return Part{}, err
		}
		next, ok := nextCartridge(els, used)
		if !ok {
			return Part{}, errNoCartridge
		}
		if err := ch.load(next); err != nil {
			return Part{}, err
		}
		if p, ok := try(next.VolTag, slotNumber(els, next.Addr)); ok {
			return p, nil
		}
		if err := ch.unload(); err != nil {
			return Part{}, err
		}
	}
}

// spanBackup finishes the current cartridge at end of medium and continues
// the backup on the next one: filemark, unload, load, append point, then
// MOVER_CONTINUE. pos is the image byte where the next part starts.
func (s *session) spanBackup(pos uint64, parts *[]Part, used map[string]bool, recordSize uint32) error {
	ch := s.ch
	cur := &(*parts)[len(*parts)-1]
	used[cur.Cartridge] = true
	full := *cur
	if pos == cur.Offset {
		// Not a record fitted on this cartridge (it was full already): it
		// holds no part of the image, and gets no filemark.
		*parts = (*parts)[:len(*parts)-1]
	} else {
		if _, err := s.tape.TapeMTIO(wire.MTIOEOF, 1); err != nil && !errors.Is(err, wire.EOMErr) {
			return fmt.Errorf("filemark at the end of cartridge %s: %w", cur.Cartridge, err)
		}
		cur.Bytes = pos - cur.Offset
	}
	_, _ = s.tape.TapeMTIO(wire.MTIOOFF, 1) // the changer unloads anyway
	if err := s.tape.TapeClose(); err != nil {
		return fmt.Errorf("TAPE_CLOSE %s: %w", ch.device, err)
	}
	if err := ch.unload(); err != nil {
		return err
	}
	next, err := s.appendCartridge(used, false, recordSize)
	if errors.Is(err, errNoCartridge) {
		return fmt.Errorf("end of medium on cartridge %s after %d bytes of the image: %w of media changer %s (image so far on: %s)", full.Cartridge, pos, err, ch.name, DescribeParts(*parts))
	}
	if err != nil {
		return err
	}
	next.Offset = pos
	*parts = append(*parts, next)
	if s.obsLog != nil {
		s.obsLog(fmt.Sprintf("end of medium: continuing on cartridge %s (slot %d, tape file %d) at image byte %d", next.Cartridge, next.Slot, next.TapeFile, pos))
	}
	if err := s.tape.MoverContinue(); err != nil {
		return fmt.Errorf("MOVER_CONTINUE on %s: %w", next.Cartridge, err)
	}
	return nil
}

// switchPart positions the drive at part i of an image being recovered
// (loading its cartridge when it is another one), moves the mover window
// over it and continues.
func (s *session) switchPart(parts []Part, i int, cur *int) error {
	p := parts[i]
	if *cur < 0 || parts[*cur].Cartridge != p.Cartridge {
		if s.ch == nil {
			return fmt.Errorf("part %d of the image is on cartridge %s: no media changer to load it", i+1, p.Cartridge)
		}
		_, _ = s.tape.TapeMTIO(wire.MTIOOFF, 1)
		if err := s.tape.TapeClose(); err != nil {
			return fmt.Errorf("TAPE_CLOSE %s: %w", s.ch.device, err)
		}
		if _, err := s.ch.loadBarcode(p.Cartridge); err != nil {
			return err
		}
		if _, err := s.openTape(s.ch.device, wire.TapeReadMode, false); err != nil {
			return err
		}
	} else if _, err := s.tape.TapeMTIO(wire.MTIOREW, 1); err != nil {
		return fmt.Errorf("rewind %s: %w", p.Cartridge, err)
	}
	if p.TapeFile > 0 {
		if resid, err := s.tape.TapeMTIO(wire.MTIOFSF, uint32(p.TapeFile)); err != nil || resid != 0 {
			return fmt.Errorf("position %s at tape file %d: residual %d: %v", p.Cartridge, p.TapeFile, resid, err)
		}
	}
	off, length := window(parts, i)
	if err := s.tape.MoverSetWindow(off, length); err != nil {
		return fmt.Errorf("MOVER_SET_WINDOW %d+%d for part %d: %w", off, length, i+1, err)
	}
	*cur = i
	if s.obsLog != nil {
		s.obsLog(fmt.Sprintf("reading part %d of %d: cartridge %s, tape file %d, image bytes from %d", i+1, len(parts), p.Cartridge, p.TapeFile, p.Offset))
	}
	if err := s.tape.MoverContinue(); err != nil {
		return fmt.Errorf("MOVER_CONTINUE: %w", err)
	}
	return nil
}
