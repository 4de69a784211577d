package vtl

import (
	"errors"
	"fmt"

	"tapelab/vtl/scsi"
)

// Changer is a library's medium changer (SMC). Element contents are guarded
// by the Inventory's lock, which Execute and the Go API take.
type Changer struct {
	lib     *Library
	alias   string
	prevent bool
	resv    string
	sense   map[string]senseState
	ua      unitAttention
}

const changerRevision = "TL01"

// Name is the changer's alias (mc0), or its SN when it has none.
func (c *Changer) Name() string {
	c.lib.inv.mu.Lock()
	defer c.lib.inv.mu.Unlock()
	if c.alias == "" {
		return SN(c.lib.serial, 0)
	}
	return c.alias
}

// Library is the changer's library.
func (c *Changer) Library() *Library { return c.lib }

// Info describes the changer.
func (c *Changer) Info() ChangerInfo {
	c.lib.inv.mu.Lock()
	defer c.lib.inv.mu.Unlock()
	return ChangerInfo{Name: c.alias, Serial: c.lib.serial, SN: SN(c.lib.serial, 0), Library: c.lib.name,
		Vendor: c.lib.changerVendor, Product: c.lib.changerProduct, Revision: changerRevision, Elements: c.elements()}
}

// Elements returns the element address assignment.
func (c *Changer) Elements() ElementMap { return c.elements() }

func (c *Changer) elements() ElementMap {
	l := c.lib
	return ElementMap{TransportStart: transportAddr, TransportCount: 1,
		StorageStart: slotBase, StorageCount: uint16(len(l.slots)),
		ImportExportStart: mailBase, IECount: uint16(len(l.mail)),
		DriveStart: driveBase, DriveCount: uint16(len(l.drives))}
}

// Status lists the elements of type t (ElementAll: all), in type then address order.
func (c *Changer) Status(t ElementType) []ElementStatus {
	c.lib.inv.mu.Lock()
	defer c.lib.inv.mu.Unlock()
	return c.status(t)
}

func (c *Changer) status(t ElementType) []ElementStatus {
	l := c.lib
	var out []ElementStatus
	for _, et := range []ElementType{ElementTransport, ElementStorage, ElementImportExport, ElementDrive} {
		if t != ElementAll && t != et {
			continue
		}
		for i := 1; i <= l.count(et); i++ {
			e := ElementStatus{Type: et, Address: l.addr(et, i), Index: i, Access: true}
			if bc := l.occupant(et, i); bc != "" {
				e.Full, e.Barcode = true, bc
				if r := l.inv.carts[bc]; r != nil && r.source != 0 {
					e.Source, e.SourceValid = r.source, true
				}
			}
			if et == ElementDrive {
				d := l.drives[i-1]
				d.mu.Lock()
				e.Drive = d.alias
				if !d.online {
					e.Except = true
				}
				// A loaded (threaded) cartridge is not accessible to the transport.
				e.Access = !d.loaded
				d.mu.Unlock()
			}
			out = append(out, e)
		}
	}
	return out
}

// Move moves a cartridge between element addresses (MOVE MEDIUM); a move
// into a drive loads the cartridge there, a move out of a drive unloads it.
func (c *Changer) Move(from, to uint16) error {
	v := c.lib.inv
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := c.lib.move(from, to); err != nil {
		return err
	}
	return v.save()
}

// Exchange moves src to dst1 and dst1's cartridge to dst2 (EXCHANGE MEDIUM).
func (c *Changer) Exchange(src, dst1, dst2 uint16) error {
	v := c.lib.inv
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := c.exchange(src, dst1, dst2); err != nil {
		return err
	}
	return v.save()
}

func (c *Changer) exchange(src, dst1, dst2 uint16) error {
	l := c.lib
	st, si, ok1 := l.element(src)
	dt, di, ok2 := l.element(dst1)
	_, _, ok3 := l.element(dst2)
	if !ok1 || !ok2 || !ok3 || st == ElementTransport || dt == ElementTransport {
		return fmt.Errorf("exchange %d/%d/%d: %w", src, dst1, dst2, ErrInvalid)
	}
	if l.occupant(st, si) == "" || l.occupant(dt, di) == "" {
		return fmt.Errorf("exchange: %w", ErrElementEmpty)
	}
	if dst2 == src {
		// Swap through the transport: src -> transport is modelled by a
		// temporary move of dst1 to a free slot.
		tmp := l.firstFree(ElementStorage)
		if tmp == 0 {
			return fmt.Errorf("exchange: no free slot for the swap: %w", ErrElementFull)
		}
		ta := l.addr(ElementStorage, tmp)
		if err := l.move(dst1, ta); err != nil {
			return err
		}
		if err := l.move(src, dst1); err != nil {
			_ = l.move(ta, dst1)
			return err
		}
		return l.move(ta, src)
	}
	if t2, i2, _ := l.element(dst2); l.occupant(t2, i2) != "" {
		return fmt.Errorf("exchange: element %d: %w", dst2, ErrElementFull)
	}
	if err := l.move(dst1, dst2); err != nil {
		return err
	}
	if err := l.move(src, dst1); err != nil {
		_ = l.move(dst2, dst1)
		return err
	}
	return nil
}

// Execute runs one SMC CDB for initiator (see scsi.Device).
func (c *Changer) Execute(initiator string, cdb, dataOut []byte, allocLen int) ([]byte, byte, []byte) {
	v := c.lib.inv
	v.mu.Lock()
	defer v.mu.Unlock()
	var (
		data   []byte
		status byte
		s      *scsi.Sense
	)
	if len(cdb) == 0 || scsi.CDBLength(cdb[0]) == 0 || len(cdb) < scsi.CDBLength(cdb[0]) {
		data, status, s = checkCondition(errInvalidOpcode)
	} else if ua := c.ua.check(initiator, cdb[0]); ua != nil {
		data, status, s = checkCondition(ua)
	} else {
		data, status, s = c.exec(initiator, cdb, dataOut)
	}
	return finish(c.sense, false, initiator, cdb, data, status, s, allocLen)
}

func moveSense(err error) *scsi.Sense {
	switch {
	case errors.Is(err, ErrElementEmpty):
		return scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCMediumSourceEmpty)
	case errors.Is(err, ErrElementFull):
		return scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCMediumDestFull)
	case errors.Is(err, ErrInvalid):
		return scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCInvalidElementAddress)
	case errors.Is(err, ErrRemovalPrevented):
		return scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCMediumRemovalPrevented)
	case errors.Is(err, ErrCorrupt):
		return scsi.NewSense(scsi.KeyMediumError, scsi.ASCIncompatibleMedium)
	}
	return scsi.NewSense(scsi.KeyHardwareError, scsi.ASCMediaLoadEjectFailed)
}

func (c *Changer) exec(initiator string, cdb, dataOut []byte) ([]byte, byte, *scsi.Sense) {
	op := cdb[0]
	switch op {
	case scsi.OpInquiry, scsi.OpRequestSense, scsi.OpReportLuns, scsi.OpRelease6, scsi.OpRelease10, scsi.OpReserve6, scsi.OpReserve10:
	default:
		if c.resv != "" && c.resv != initiator {
			return nil, scsi.StatusReservationConflict, nil
		}
	}
	switch op {
	case scsi.OpTestUnitReady:
		return good(nil)
	case scsi.OpInquiry:
		// MChngr (byte 6) stays clear: it marks changers embedded in another device.
		return inquiry(cdb, scsi.TypeMediumChanger, c.lib.changerVendor, c.lib.changerProduct, changerRevision, c.lib.serial, 0x0480)
	case scsi.OpRequestSense:
		s := scsi.NewSense(scsi.KeyNoSense, scsi.ASCNone)
		if st, ok := c.sense[initiator]; ok {
			s = st.s
			delete(c.sense, initiator)
		}
		if cdb[1]&1 != 0 {
			return good(s.Descriptor())
		}
		return good(s.Fixed())
	case scsi.OpModeSense6, scsi.OpModeSense10:
		return c.modeSense(cdb)
	case scsi.OpModeSelect6, scsi.OpModeSelect10:
		return good(nil) // the changer's pages are not changeable; accept and ignore
	case scsi.OpReadElementStatus:
		return c.readElementStatus(cdb)
	case scsi.OpMoveMedium:
		src, dst := uint16(scsi.Be16(cdb[4:])), uint16(scsi.Be16(cdb[6:]))
		if t := uint16(scsi.Be16(cdb[2:])); t != 0 && t != transportAddr {
			return checkCondition(scsi.InvalidField(true, 2, -1))
		}
		if err := c.lib.move(src, dst); err != nil {
			return checkCondition(moveSense(err))
		}
		if err := c.lib.inv.save(); err != nil {
			return checkCondition(scsi.NewSense(scsi.KeyHardwareError, scsi.ASCInternalTargetFailure))
		}
		return good(nil)
	case scsi.OpExchangeMedium:
		src, d1, d2 := uint16(scsi.Be16(cdb[4:])), uint16(scsi.Be16(cdb[6:])), uint16(scsi.Be16(cdb[8:]))
		if err := c.exchange(src, d1, d2); err != nil {
			return checkCondition(moveSense(err))
		}
		if err := c.lib.inv.save(); err != nil {
			return checkCondition(scsi.NewSense(scsi.KeyHardwareError, scsi.ASCInternalTargetFailure))
		}
		return good(nil)
	case scsi.OpInitElementStatus, scsi.OpInitElementStatusRg:
		return good(nil) // inventory is always current
	case scsi.OpPositionToElement:
		if _, _, ok := c.lib.element(uint16(scsi.Be16(cdb[4:]))); !ok {
			return checkCondition(scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCInvalidElementAddress))
		}
		return good(nil)
	case scsi.OpPreventAllow:
		c.prevent = cdb[4]&0x03 != 0
		_ = c.lib.inv.save()
		return good(nil)
	case scsi.OpReserve6, scsi.OpReserve10:
		if c.resv != "" && c.resv != initiator {
			return nil, scsi.StatusReservationConflict, nil
		}
		c.resv = initiator
		return good(nil)
	case scsi.OpRelease6, scsi.OpRelease10:
		if c.resv == initiator {
			c.resv = ""
		}
		return good(nil)
	case scsi.OpReportLuns:
		return reportLuns(0)
	case scsi.OpMaintenanceIn:
		return reportOpcodes(cdb, smcOpcodes)
	}
	return checkCondition(errInvalidOpcode)
}

var smcOpcodes = []opcode{
	{op: scsi.OpTestUnitReady}, {op: scsi.OpRequestSense}, {op: scsi.OpInitElementStatus}, {op: scsi.OpInquiry},
	{op: scsi.OpModeSelect6}, {op: scsi.OpReserve6}, {op: scsi.OpRelease6}, {op: scsi.OpModeSense6}, {op: scsi.OpPreventAllow},
	{op: scsi.OpPositionToElement}, {op: scsi.OpInitElementStatusRg}, {op: scsi.OpModeSelect10}, {op: scsi.OpReserve10},
	{op: scsi.OpRelease10}, {op: scsi.OpModeSense10}, {op: scsi.OpReportLuns}, {op: scsi.OpMaintenanceIn, sa: 0x0c, hasSA: true},
	{op: scsi.OpMoveMedium}, {op: scsi.OpExchangeMedium}, {op: scsi.OpReadElementStatus},
}

func (c *Changer) modePage(code byte) []byte {
	m := c.elements()
	switch code {
	case 0x1d: // element address assignment
		b := make([]byte, 20)
		b[0], b[1] = 0x1d, 0x12
		for i, v := range []uint16{m.TransportStart, m.TransportCount, m.StorageStart, m.StorageCount,
			m.ImportExportStart, m.IECount, m.DriveStart, m.DriveCount} {
			scsi.Put16(b[2+2*i:], uint32(v))
		}
		return b
	case 0x1e: // transport geometry parameters
		return []byte{0x1e, 0x02, 0, 0}
	case 0x1f: // device capabilities
		b := make([]byte, 20)
		b[0], b[1] = 0x1f, 0x12
		b[2] = 0x0e // StorDT, StorI/E, StorST
		for i := 4; i <= 7; i++ {
			b[i] = 0x0e // MT/ST/IE/DT -> ST, IE, DT
		}
		for i := 12; i <= 15; i++ {
			b[i] = 0x0e // exchange capabilities
		}
		return b
	}
	return nil
}

func (c *Changer) modeSense(cdb []byte) ([]byte, byte, *scsi.Sense) {
	ten := cdb[0] == scsi.OpModeSense10
	pc, page := cdb[2]>>6, cdb[2]&0x3f
	if pc == 3 {
		return checkCondition(scsi.NewSense(scsi.KeyIllegalRequest, 0x3900))
	}
	b := modeHeader(ten, 0, nil)
	switch page {
	case 0x3f:
		for _, p := range []byte{0x1d, 0x1e, 0x1f} {
			b = append(b, c.modePage(p)...)
		}
	default:
		p := c.modePage(page)
		if p == nil {
			return checkCondition(scsi.InvalidField(true, 2, 5))
		}
		if pc == 1 { // nothing is changeable
			for i := 2; i < len(p); i++ {
				p[i] = 0
			}
		}
		b = append(b, p...)
	}
	return good(finishModeData(ten, b))
}

// readElementStatus answers READ ELEMENT STATUS. The obsolete LUN bits in
// byte 1 (7-5), which mtx sets, are ignored.
func (c *Changer) readElementStatus(cdb []byte) ([]byte, byte, *scsi.Sense) {
	voltag := cdb[1]&0x10 != 0
	et := ElementType(cdb[1] & 0x0f)
	start := uint16(scsi.Be16(cdb[2:]))
	count := int(scsi.Be16(cdb[4:]))
	dvcid := cdb[6]&0x01 != 0
	if et > ElementDrive {
		return checkCondition(scsi.InvalidField(true, 1, 3))
	}
	var sel []ElementStatus
	for _, e := range c.status(et) {
		if e.Address >= start && len(sel) < count {
			sel = append(sel, e)
		}
	}
	if len(sel) == 0 && count > 0 {
		if _, _, ok := c.lib.element(start); !ok && start != 0 {
			return checkCondition(scsi.InvalidField(true, 2, -1))
		}
	}
	descLen := 16
	if voltag {
		descLen = 52
	}
	if dvcid {
		descLen += dvcidLen
	}
	var pages []byte
	for i := 0; i < len(sel); {
		j := i
		for j < len(sel) && sel[j].Type == sel[i].Type {
			j++
		}
		ph := make([]byte, 8)
		ph[0] = byte(sel[i].Type)
		if voltag {
			ph[1] = 0x80 // PVolTag
		}
		scsi.Put16(ph[2:], uint32(descLen))
		scsi.Put24(ph[5:], uint32((j-i)*descLen))
		pages = append(pages, ph...)
		for _, e := range sel[i:j] {
			pages = append(pages, c.elementDescriptor(e, voltag, dvcid, descLen)...)
		}
		i = j
	}
	h := make([]byte, 8)
	if len(sel) > 0 {
		scsi.Put16(h, uint32(sel[0].Address))
	}
	scsi.Put16(h[2:], uint32(len(sel)))
	scsi.Put24(h[5:], uint32(len(pages)))
	return good(append(h, pages...))
}

// dvcidLen is the room a device identifier takes in a descriptor when
// DVCID is set: 4 header bytes plus vendor (8), product (16) and serial (10).
const dvcidLen = 4 + 34

func (c *Changer) elementDescriptor(e ElementStatus, voltag, dvcid bool, n int) []byte {
	b := make([]byte, n)
	if dvcid && e.Type == ElementDrive {
		// Identification descriptor after the volume tag (SMC-3 6.12.3):
		// ASCII T10 vendor identification of the drive.
		d := c.lib.drives[e.Index-1]
		off := 12
		if voltag {
			off += 36
		}
		id := make([]byte, 34)
		scsi.PadString(id[:8], d.vendor)
		scsi.PadString(id[8:24], d.product)
		scsi.PadString(id[24:], d.serial)
		b[off], b[off+1], b[off+3] = 0x02, 0x01, byte(len(id))
		copy(b[off+4:], id)
	}
	scsi.Put16(b, uint32(e.Address))
	if e.Full {
		b[2] |= 0x01
	}
	if e.Except {
		b[2] |= 0x04
		b[4], b[5] = 0x04, 0x12 // logical unit offline
	}
	if e.Access {
		b[2] |= 0x08
	}
	if e.Type == ElementImportExport {
		b[2] |= 0x10 | 0x20 // InEnab, ExEnab
	}
	if e.SourceValid {
		b[9] = 0x80
		scsi.Put16(b[10:], uint32(e.Source))
	}
	if e.Full {
		b[9] |= 0x01 // medium type: data
	}
	if voltag {
		if e.Full {
			scsi.PadString(b[12:44], e.Barcode)
		} // an empty element's volume tag is all zeros
	}
	return b
}
