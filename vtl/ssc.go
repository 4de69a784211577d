package vtl

import (
	"errors"
	"hash/fnv"

	"tapelab/vtl/scsi"
)

// senseState is the sense data kept for REQUEST SENSE, per initiator.
type senseState struct{ s *scsi.Sense }

func checkCondition(s *scsi.Sense) ([]byte, byte, *scsi.Sense) {
	return nil, scsi.StatusCheckCondition, s
}

func good(b []byte) ([]byte, byte, *scsi.Sense) { return b, scsi.StatusGood, nil }

// maxTransfer bounds one fixed-block READ/WRITE (blocks x block size).
const maxTransfer = 64 << 20

var errInvalidOpcode = scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCInvalidOpcode)

// Execute runs one SSC CDB for initiator (see scsi.Device). allocLen < 0
// means the caller takes any amount of data-in.
func (d *Drive) Execute(initiator string, cdb, dataOut []byte, allocLen int) ([]byte, byte, []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var (
		data   []byte
		status byte
		s      *scsi.Sense
	)
	if len(cdb) == 0 || scsi.CDBLength(cdb[0]) == 0 || len(cdb) < scsi.CDBLength(cdb[0]) {
		data, status, s = checkCondition(errInvalidOpcode)
	} else if ua := d.ua.check(initiator, cdb[0]); ua != nil {
		data, status, s = checkCondition(ua)
	} else {
		data, status, s = d.exec(initiator, cdb, dataOut)
	}
	return finish(d.sense, d.descSense, initiator, cdb, data, status, s, allocLen)
}

// cdbAllocLen returns the ALLOCATION LENGTH field of commands that have one.
func cdbAllocLen(cdb []byte) (int, bool) {
	if len(cdb) == 0 || scsi.CDBLength(cdb[0]) == 0 || len(cdb) < scsi.CDBLength(cdb[0]) {
		return 0, false
	}
	switch cdb[0] {
	case scsi.OpInquiry:
		return int(scsi.Be16(cdb[3:])), true
	case scsi.OpRequestSense, scsi.OpModeSense6:
		return int(cdb[4]), true
	case scsi.OpModeSense10, scsi.OpLogSense, scsi.OpPersistResvIn:
		return int(scsi.Be16(cdb[7:])), true
	case scsi.OpReadElementStatus:
		return int(scsi.Be24(cdb[7:])), true
	case scsi.OpMaintenanceIn:
		return int(scsi.Be32(cdb[6:])), true
	case scsi.OpReadAttribute:
		return int(scsi.Be32(cdb[10:])), true
	case scsi.OpReportLuns:
		return int(scsi.Be32(cdb[6:])), true
	}
	return 0, false
}

func finish(store map[string]senseState, desc bool, initiator string, cdb, data []byte, status byte, s *scsi.Sense, allocLen int) ([]byte, byte, []byte) {
	if n, ok := cdbAllocLen(cdb); ok && len(data) > n {
		data = data[:n]
	}
	if allocLen >= 0 && len(data) > allocLen {
		data = data[:allocLen]
	}
	if status == scsi.StatusCheckCondition && s != nil {
		store[initiator] = senseState{s}
		if desc {
			return data, status, s.Descriptor()
		}
		return data, status, s.Fixed()
	}
	if len(cdb) > 0 && cdb[0] != scsi.OpRequestSense {
		delete(store, initiator)
	}
	return data, status, nil
}

// senseFor maps a Go API error to sense data; d.mu held.
func (d *Drive) senseFor(err error, write bool, info int64) (byte, *scsi.Sense) {
	s := scsi.NewSense(scsi.KeyNoSense, scsi.ASCNone)
	s.Info, s.InfoValid = info, true
	switch {
	case errors.Is(err, ErrReservationConflict):
		return scsi.StatusReservationConflict, nil
	case errors.Is(err, ErrOffline):
		s = scsi.NewSense(scsi.KeyNotReady, scsi.ASCLogicalUnitOffline)
	case errors.Is(err, ErrNotReady):
		if d.cart != nil && !d.loaded {
			s = scsi.NewSense(scsi.KeyNotReady, scsi.ASCNotReadyInitRequired)
		} else {
			s = scsi.NewSense(scsi.KeyNotReady, scsi.ASCMediumNotPresent)
		}
	case errors.Is(err, errWORM):
		s = scsi.NewSense(scsi.KeyDataProtect, scsi.ASCWORMOverwrite)
	case errors.Is(err, ErrWriteProtected):
		s = scsi.NewSense(scsi.KeyDataProtect, scsi.ASCWriteProtected)
	case errors.Is(err, ErrMediumError):
		s.Key, s.ASC = scsi.KeyMediumError, scsi.ASCUnrecoveredReadError
		if write {
			s.ASC = scsi.ASCWriteError
		}
	case errors.Is(err, ErrEndOfMedium):
		s.Key, s.ASC, s.EOM = scsi.KeyVolumeOverflow, scsi.ASCEndOfPartition, true
	case errors.Is(err, ErrEarlyWarning):
		s.ASC, s.EOM = scsi.ASCEndOfPartition, true
	case errors.Is(err, ErrEOD):
		s.Key, s.ASC = scsi.KeyBlankCheck, scsi.ASCEndOfData
	case errors.Is(err, ErrFilemark):
		s.ASC, s.Filemark = scsi.ASCFilemarkDetected, true
	case errors.Is(err, ErrBOT):
		s.ASC, s.EOM = scsi.ASCBeginningOfPartition, true
	case errors.Is(err, ErrRemovalPrevented):
		s = scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCMediumRemovalPrevented)
	default:
		s = scsi.NewSense(scsi.KeyHardwareError, scsi.ASCInternalTargetFailure)
	}
	return scsi.StatusCheckCondition, s
}

func (d *Drive) fail(err error, write bool, info int64) ([]byte, byte, *scsi.Sense) {
	st, s := d.senseFor(err, write, info)
	return nil, st, s
}

func signExtend24(v uint32) int64 { return int64(int32(v<<8) >> 8) }

func (d *Drive) exec(initiator string, cdb, dataOut []byte) ([]byte, byte, *scsi.Sense) {
	op := cdb[0]
	class := cmdClass{media: true}
	switch op {
	case scsi.OpInquiry, scsi.OpRequestSense, scsi.OpReportLuns, scsi.OpPersistResvIn, scsi.OpPersistResvOut,
		scsi.OpRelease6, scsi.OpRelease10, scsi.OpReserve6, scsi.OpReserve10:
		class.free = true
	case scsi.OpWrite6, scsi.OpWriteFilemarks6, scsi.OpErase6, scsi.OpModeSelect6, scsi.OpModeSelect10:
		class.write = true
	}
	if err := d.conflict(initiator, class); err != nil {
		return nil, scsi.StatusReservationConflict, nil
	}
	switch op {
	case scsi.OpTestUnitReady:
		if err := d.ready(); err != nil {
			return d.fail(err, false, 0)
		}
		return good(nil)
	case scsi.OpInquiry:
		return inquiry(cdb, scsi.TypeSequentialAccess, d.vendor, d.product, driveRevision, d.serial, 0x0400)
	case scsi.OpRequestSense:
		return d.requestSense(initiator, cdb)
	case scsi.OpReadBlockLimits:
		b := make([]byte, 6)
		scsi.Put24(b[1:], MaxBlockSize)
		scsi.Put16(b[4:], 1)
		return good(b)
	case scsi.OpModeSense6, scsi.OpModeSense10:
		return d.modeSense(cdb)
	case scsi.OpModeSelect6, scsi.OpModeSelect10:
		return d.modeSelect(cdb, dataOut)
	case scsi.OpRead6:
		return d.scsiRead(cdb)
	case scsi.OpWrite6:
		return d.scsiWrite(cdb, dataOut)
	case scsi.OpWriteFilemarks6:
		if cdb[1]&0x02 != 0 {
			return checkCondition(scsi.InvalidField(true, 1, 1)) // setmarks
		}
		if err := d.ready(); err != nil {
			return d.fail(err, true, 0)
		}
		n := int(scsi.Be24(cdb[2:]))
		if n > MaxFilemarks {
			return checkCondition(scsi.InvalidField(true, 2, -1))
		}
		if err := d.writeFilemarks(n); err != nil {
			return d.fail(err, true, int64(n))
		}
		return good(nil)
	case scsi.OpSpace6, scsi.OpSpace16:
		code := cdb[1] & 0x0f
		count := signExtend24(scsi.Be24(cdb[2:]))
		if op == scsi.OpSpace16 {
			count = int64(scsi.Be64(cdb[4:]))
		}
		kind := map[byte]SpaceKind{0: SpaceBlocks, 1: SpaceFilemarks, 3: SpaceEOD}
		k, ok := kind[code]
		if !ok {
			return checkCondition(scsi.InvalidField(true, 1, 3))
		}
		if err := d.ready(); err != nil {
			return d.fail(err, false, count)
		}
		res, err := d.space(k, count)
		if err != nil {
			return d.fail(err, false, res)
		}
		return good(nil)
	case scsi.OpRewind:
		if err := d.ready(); err != nil {
			return d.fail(err, false, 0)
		}
		d.pos = 0
		return good(nil)
	case scsi.OpLoadUnload:
		return d.loadUnload(initiator, cdb)
	case scsi.OpLocate10, scsi.OpLocate16:
		return d.scsiLocate(cdb)
	case scsi.OpReadPosition:
		return d.readPosition(cdb)
	case scsi.OpErase6:
		if err := d.ready(); err != nil {
			return d.fail(err, true, 0)
		}
		if err := d.erase(); err != nil {
			return d.fail(err, true, 0)
		}
		return good(nil)
	case scsi.OpReserve6, scsi.OpReserve10:
		if (d.resv != "" && d.resv != initiator) || d.prHolder != "" {
			return nil, scsi.StatusReservationConflict, nil
		}
		d.resv = initiator
		return good(nil)
	case scsi.OpRelease6, scsi.OpRelease10:
		if d.resv == initiator {
			d.resv = ""
		}
		return good(nil)
	case scsi.OpPersistResvIn:
		b, s := d.persistentReserveIn(cdb)
		if s != nil {
			return checkCondition(s)
		}
		return good(b)
	case scsi.OpPersistResvOut:
		st, s := d.persistentReserveOut(initiator, cdb, dataOut)
		return nil, st, s
	case scsi.OpPreventAllow:
		d.prevent = cdb[4]&0x03 != 0
		return good(nil)
	case scsi.OpReportLuns:
		return reportLuns(d.lun)
	case scsi.OpLogSense:
		return d.logSense(cdb)
	case scsi.OpMaintenanceIn:
		return reportOpcodes(cdb, sscOpcodes)
	case scsi.OpReadAttribute:
		return d.readAttribute(cdb)
	case scsi.OpVerify6:
		return d.verify(cdb)
	}
	return checkCondition(errInvalidOpcode)
}

// verify runs VERIFY(6): the payload checksums of the records are checked
// without transferring data. VBF verifies through the given number of
// filemarks; otherwise FIXED verifies that many fixed-size blocks and
// variable mode one block of the given length. Byte compare, VTE and
// logical block protection are not supported.
func (d *Drive) verify(cdb []byte) ([]byte, byte, *scsi.Sense) {
	fixed, bytcmp, vbf := cdb[1]&0x01 != 0, cdb[1]&0x02 != 0, cdb[1]&0x08 != 0
	switch {
	case bytcmp:
		return checkCondition(scsi.InvalidField(true, 1, 1))
	case cdb[1]&0x30 != 0:
		return checkCondition(scsi.InvalidField(true, 1, 5))
	case fixed && !vbf && d.blockSize == 0:
		return checkCondition(scsi.InvalidField(true, 1, 0))
	}
	n := int(scsi.Be24(cdb[2:]))
	if err := d.ready(); err != nil {
		return d.fail(err, false, int64(n))
	}
	if n == 0 {
		return good(nil)
	}
	if cap(d.verifyBuf) < MaxBlockSize {
		d.verifyBuf = make([]byte, MaxBlockSize)
	}
	buf := d.verifyBuf[:MaxBlockSize]
	ili := func(info int) ([]byte, byte, *scsi.Sense) {
		s := scsi.NewSense(scsi.KeyNoSense, scsi.ASCNone)
		s.ILI, s.Info, s.InfoValid = true, int64(info), true
		return checkCondition(s)
	}
	switch {
	case vbf:
		for marks := 0; marks < n; {
			_, _, err := d.readRecord(buf)
			switch {
			case errors.Is(err, ErrFilemark):
				marks++
			case err != nil:
				return d.fail(err, false, int64(n-marks))
			}
		}
	case fixed:
		for i := 0; i < n; i++ {
			_, length, err := d.readRecord(buf)
			if err != nil {
				return d.fail(err, false, int64(n-i))
			}
			if length != d.blockSize {
				return ili(n - i)
			}
		}
	default:
		_, length, err := d.readRecord(buf)
		if err != nil {
			return d.fail(err, false, int64(n))
		}
		if length != n {
			return ili(n - length)
		}
	}
	return good(nil)
}

// mamAttribute is one medium auxiliary memory attribute (SPC-4 7.4).
type mamAttribute struct {
	id     uint16
	format byte // 0 binary, 1 ASCII; bit 7 read only
	value  []byte
}

// mam returns the cartridge's MAM attributes (read only), ascending by id.
func (d *Drive) mam() []mamAttribute {
	capacity, _ := d.limits()
	rem := capacity - d.cart.Used()
	if rem < 0 {
		rem = 0
	}
	ascii := func(s string, n int) []byte { b := make([]byte, n); scsi.PadString(b, s); return b }
	var medType byte
	if d.worm() {
		medType = 0x80 // write-once
	}
	return []mamAttribute{
		{0x0000, 0x80, u64(uint64(rem >> 20))},                            // remaining capacity in partition (MiB)
		{0x0001, 0x80, u64(uint64(capacity >> 20))},                       // maximum capacity in partition (MiB)
		{0x0003, 0x80, u64(d.meta.Counters.Loads)},                        // load count
		{0x0220, 0x80, u64(d.meta.Counters.BytesWritten >> 20)},           // total MiB written in medium life
		{0x0221, 0x80, u64(d.meta.Counters.BytesRead >> 20)},              // total MiB read in medium life
		{0x0400, 0x81, ascii("TAPELAB", 8)},                               // medium manufacturer
		{0x0401, 0x81, ascii(d.barcode, 32)},                              // medium serial number
		{0x0406, 0x81, ascii(d.meta.Created.UTC().Format("20060102"), 8)}, // medium manufacture date
		{0x0408, 0x80, []byte{medType}},                                   // medium type
		{0x0806, 0x81, ascii(d.barcode, 32)},                              // barcode
	}
}

// readAttribute answers READ ATTRIBUTE service actions ATTRIBUTE VALUES
// (0x00) and ATTRIBUTE LIST (0x01) for partition 0.
func (d *Drive) readAttribute(cdb []byte) ([]byte, byte, *scsi.Sense) {
	sa := cdb[1] & 0x1f
	if sa > 1 {
		return checkCondition(scsi.InvalidField(true, 1, 4))
	}
	if cdb[7] != 0 {
		return checkCondition(scsi.InvalidField(true, 7, -1)) // partition number
	}
	if err := d.ready(); err != nil {
		return d.fail(err, false, 0)
	}
	first := uint16(scsi.Be16(cdb[8:]))
	b := make([]byte, 4)
	for _, a := range d.mam() {
		if sa == 1 {
			b = append(b, byte(a.id>>8), byte(a.id))
			continue
		}
		if a.id < first {
			continue
		}
		b = append(b, byte(a.id>>8), byte(a.id), a.format, byte(len(a.value)>>8), byte(len(a.value)))
		b = append(b, a.value...)
	}
	scsi.Put32(b, uint32(len(b)-4))
	return good(b)
}

// opcode is one supported command for REPORT SUPPORTED OPERATION CODES.
type opcode struct {
	op    byte
	sa    uint16
	hasSA bool
}

var sscOpcodes = []opcode{
	{op: scsi.OpTestUnitReady}, {op: scsi.OpRewind}, {op: scsi.OpRequestSense}, {op: scsi.OpReadBlockLimits},
	{op: scsi.OpRead6}, {op: scsi.OpWrite6}, {op: scsi.OpWriteFilemarks6}, {op: scsi.OpSpace6}, {op: scsi.OpInquiry},
	{op: scsi.OpModeSelect6}, {op: scsi.OpReserve6}, {op: scsi.OpRelease6}, {op: scsi.OpErase6}, {op: scsi.OpModeSense6},
	{op: scsi.OpLoadUnload}, {op: scsi.OpPreventAllow}, {op: scsi.OpLocate10}, {op: scsi.OpReadPosition},
	{op: scsi.OpLogSense}, {op: scsi.OpModeSelect10}, {op: scsi.OpReserve10}, {op: scsi.OpRelease10}, {op: scsi.OpModeSense10},
	{op: scsi.OpPersistResvIn, sa: 0, hasSA: true}, {op: scsi.OpPersistResvIn, sa: 1, hasSA: true}, {op: scsi.OpPersistResvIn, sa: 2, hasSA: true},
	{op: scsi.OpPersistResvOut, sa: 0, hasSA: true}, {op: scsi.OpPersistResvOut, sa: 1, hasSA: true}, {op: scsi.OpPersistResvOut, sa: 2, hasSA: true},
	{op: scsi.OpPersistResvOut, sa: 3, hasSA: true}, {op: scsi.OpPersistResvOut, sa: 4, hasSA: true}, {op: scsi.OpPersistResvOut, sa: 6, hasSA: true},
	{op: scsi.OpSpace16}, {op: scsi.OpLocate16}, {op: scsi.OpReportLuns}, {op: scsi.OpMaintenanceIn, sa: 0x0c, hasSA: true},
	{op: scsi.OpReadAttribute, sa: 0, hasSA: true}, {op: scsi.OpReadAttribute, sa: 1, hasSA: true},
	{op: scsi.OpVerify6},
}

// reportOpcodes answers MAINTENANCE IN / REPORT SUPPORTED OPERATION CODES
// (reporting option 0: all commands; 1 and 2: one command).
func reportOpcodes(cdb []byte, ops []opcode) ([]byte, byte, *scsi.Sense) {
	if cdb[1]&0x1f != 0x0c {
		return checkCondition(scsi.InvalidField(true, 1, 4))
	}
	if cdb[2]&0x80 != 0 {
		return checkCondition(scsi.InvalidField(true, 2, 7)) // RCTD: no timeouts descriptor
	}
	cdbLen := func(o opcode) uint32 { return uint32(scsi.CDBLength(o.op)) }
	switch opt := cdb[2] & 0x07; opt {
	case 0:
		b := make([]byte, 4)
		for _, o := range ops {
			d := make([]byte, 8)
			d[0] = o.op
			scsi.Put16(d[2:], uint32(o.sa))
			if o.hasSA {
				d[5] = 0x01
			}
			scsi.Put16(d[6:], cdbLen(o))
			b = append(b, d...)
		}
		scsi.Put32(b, uint32(len(b)-4))
		return good(b)
	case 1, 2:
		req, sa := cdb[3], uint16(scsi.Be16(cdb[4:]))
		for _, o := range ops {
			if o.op == req && (!o.hasSA || o.sa == sa) {
				if o.hasSA != (opt == 2) {
					return checkCondition(scsi.InvalidField(true, 2, 2))
				}
				n := cdbLen(o)
				b := make([]byte, 4, 4+n)
				b[1] = 0x03 // SUPPORT: supported as in the standard
				scsi.Put16(b[2:], n)
				usage := make([]byte, n)
				usage[0] = o.op
				for i := 1; i < int(n); i++ {
					usage[i] = 0xff
				}
				return good(append(b, usage...))
			}
		}
		b := make([]byte, 4)
		b[1] = 0x01 // not supported
		return good(b)
	}
	return checkCondition(scsi.InvalidField(true, 2, 2))
}

func reportLuns(lun int) ([]byte, byte, *scsi.Sense) {
	b := make([]byte, 16)
	scsi.Put32(b, 8)
	b[9] = byte(lun)
	return good(b)
}

func (d *Drive) requestSense(initiator string, cdb []byte) ([]byte, byte, *scsi.Sense) {
	s := scsi.NewSense(scsi.KeyNoSense, scsi.ASCNone)
	if st, ok := d.sense[initiator]; ok {
		s = st.s
		delete(d.sense, initiator)
	} else if err := d.ready(); err != nil {
		_, s = d.senseFor(err, false, 0)
		if s != nil {
			s.InfoValid = false
		}
	}
	if cdb[1]&1 != 0 {
		return good(s.Descriptor())
	}
	return good(s.Fixed())
}

// inquiry builds standard INQUIRY data or VPD pages 0x00, 0x80, 0x83.
func inquiry(cdb []byte, devType byte, vendor, product, rev, serial string, cmdSetVersion uint16) ([]byte, byte, *scsi.Sense) {
	evpd, page := cdb[1]&1 != 0, cdb[2]
	if cdb[1]&0x02 != 0 {
		return checkCondition(scsi.InvalidField(true, 1, 1))
	}
	if !evpd {
		if page != 0 {
			return checkCondition(scsi.InvalidField(true, 2, -1))
		}
		b := make([]byte, 74)
		b[0] = devType
		b[1] = 0x80 // removable medium
		b[2] = 0x06 // SPC-4
		b[3] = 0x12 // HiSup, response data format 2
		b[4] = byte(len(b) - 5)
		b[7] = 0x02 // CmdQue
		scsi.PadString(b[8:16], vendor)
		scsi.PadString(b[16:32], product)
		scsi.PadString(b[32:36], rev)
		scsi.PadString(b[36:56], serial)
		scsi.Put16(b[58:], 0x00a0) // SAM-5
		scsi.Put16(b[60:], 0x0460) // SPC-4
		scsi.Put16(b[62:], uint32(cmdSetVersion))
		return good(b)
	}
	switch page {
	case 0x00:
		return good([]byte{devType, 0x00, 0, 3, 0x00, 0x80, 0x83})
	case 0x80:
		b := append([]byte{devType, 0x80, 0, byte(len(serial))}, serial...)
		return good(b)
	case 0x83:
		t10 := make([]byte, 8+16)
		scsi.PadString(t10[:8], vendor)
		scsi.PadString(t10[8:], product)
		t10 = append(t10, serial...)
		h := fnv.New64a()
		h.Write([]byte(vendor + product + serial))
		naa := make([]byte, 8)
		scsi.Put64(naa, 0x5<<60|0x00a0b8<<36|h.Sum64()&0xfffffffff)
		b := []byte{devType, 0x83, 0, 0}
		b = append(b, 0x02, 0x01, 0, byte(len(t10)))
		b = append(b, t10...)
		b = append(b, 0x01, 0x03, 0, 8)
		b = append(b, naa...)
		scsi.Put16(b[2:], uint32(len(b)-4))
		return good(b)
	}
	return checkCondition(scsi.InvalidField(true, 2, -1))
}

func (d *Drive) scsiRead(cdb []byte) ([]byte, byte, *scsi.Sense) {
	fixed, sili := cdb[1]&1 != 0, cdb[1]&2 != 0
	tl := int(scsi.Be24(cdb[2:]))
	if fixed && sili {
		return checkCondition(scsi.InvalidField(true, 1, 1))
	}
	if fixed && d.blockSize == 0 {
		return checkCondition(scsi.InvalidField(true, 1, 0))
	}
	if err := d.ready(); err != nil {
		return d.fail(err, false, int64(tl))
	}
	if tl == 0 {
		return good(nil)
	}
	if !fixed {
		buf := make([]byte, tl)
		n, length, err := d.readRecord(buf)
		switch {
		case errors.Is(err, ErrIncorrectLength):
			s := scsi.NewSense(scsi.KeyNoSense, scsi.ASCNone)
			s.ILI, s.Info, s.InfoValid = true, int64(tl-length), true
			return buf[:n], scsi.StatusCheckCondition, s
		case err != nil:
			return d.fail(err, false, int64(tl))
		case length < tl && !sili:
			s := scsi.NewSense(scsi.KeyNoSense, scsi.ASCNone)
			s.ILI, s.Info, s.InfoValid = true, int64(tl-length), true
			return buf[:n], scsi.StatusCheckCondition, s
		}
		return good(buf[:n])
	}
	bs := d.blockSize
	if tl*bs > maxTransfer {
		return checkCondition(scsi.InvalidField(true, 2, -1))
	}
	out := make([]byte, 0, tl*bs)
	blk := make([]byte, bs)
	for i := 0; i < tl; i++ {
		n, length, err := d.readRecord(blk)
		if err == nil && length != bs || errors.Is(err, ErrIncorrectLength) {
			out = append(out, blk[:n]...)
			s := scsi.NewSense(scsi.KeyNoSense, scsi.ASCNone)
			s.ILI, s.Info, s.InfoValid = true, int64(tl-i), true
			return out, scsi.StatusCheckCondition, s
		}
		if err != nil {
			st, s := d.senseFor(err, false, int64(tl-i))
			return out, st, s
		}
		out = append(out, blk...)
	}
	return good(out)
}

func (d *Drive) scsiWrite(cdb, dataOut []byte) ([]byte, byte, *scsi.Sense) {
	fixed := cdb[1]&1 != 0
	tl := int(scsi.Be24(cdb[2:]))
	if fixed && d.blockSize == 0 {
		return checkCondition(scsi.InvalidField(true, 1, 0))
	}
	if err := d.ready(); err != nil {
		return d.fail(err, true, int64(tl))
	}
	if tl == 0 {
		return good(nil)
	}
	if !fixed {
		if tl > MaxBlockSize {
			return checkCondition(scsi.InvalidField(true, 2, -1))
		}
		if len(dataOut) < tl {
			return checkCondition(scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCParamListLengthError))
		}
		if err := d.writeRecord(dataOut[:tl]); err != nil {
			info := int64(tl)
			if errors.Is(err, ErrEarlyWarning) {
				info = 0
			}
			return d.fail(err, true, info)
		}
		return good(nil)
	}
	bs := d.blockSize
	if tl*bs > maxTransfer {
		return checkCondition(scsi.InvalidField(true, 2, -1))
	}
	if len(dataOut) < tl*bs {
		return checkCondition(scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCParamListLengthError))
	}
	for i := 0; i < tl; i++ {
		err := d.writeRecord(dataOut[i*bs : (i+1)*bs])
		if errors.Is(err, ErrEarlyWarning) {
			if i == tl-1 {
				return d.fail(err, true, 0)
			}
			continue // report early warning at the end of the command
		}
		if err != nil {
			return d.fail(err, true, int64(tl-i))
		}
	}
	if _, ew := d.limits(); d.cart.Used() >= ew {
		return d.fail(ErrEarlyWarning, true, 0)
	}
	return good(nil)
}

func (d *Drive) loadUnload(initiator string, cdb []byte) ([]byte, byte, *scsi.Sense) {
	load, eot := cdb[4]&1 != 0, cdb[4]&4 != 0
	if !d.online {
		return d.fail(ErrOffline, false, 0)
	}
	if d.cart == nil {
		return d.fail(ErrNotReady, false, 0)
	}
	if !load {
		if eot {
			return checkCondition(scsi.InvalidField(true, 4, 2))
		}
		if !d.loaded {
			return good(nil)
		}
		if err := d.unloadLocked(initiator); err != nil {
			return d.fail(err, false, 0)
		}
		return good(nil)
	}
	if !d.loaded {
		d.loaded, d.pos = true, 0
		d.meta.Counters.Loads++
	}
	d.pos = 0
	if eot {
		d.pos = d.cart.Objects()
	}
	return good(nil)
}

func (d *Drive) scsiLocate(cdb []byte) ([]byte, byte, *scsi.Sense) {
	var target uint64
	destType := byte(0)
	cp := cdb[1]&0x02 != 0
	if cdb[0] == scsi.OpLocate10 {
		if cp && cdb[8] != 0 {
			return checkCondition(scsi.InvalidField(true, 8, -1))
		}
		target = uint64(scsi.Be32(cdb[3:]))
	} else {
		destType = (cdb[1] >> 3) & 7
		if cp && cdb[3] != 0 {
			return checkCondition(scsi.InvalidField(true, 3, -1))
		}
		target = scsi.Be64(cdb[4:])
	}
	if err := d.ready(); err != nil {
		return d.fail(err, false, 0)
	}
	var err error
	switch destType {
	case 0:
		err = d.locate(target)
	case 1: // logical file identifier
		if target == 0 {
			d.pos = 0
		} else if fm, ok := d.cart.FilemarkAt(target - 1); ok {
			d.pos = fm + 1
		} else {
			d.pos, err = d.cart.Objects(), ErrEOD
		}
	case 3:
		d.pos = d.cart.Objects()
	default:
		return checkCondition(scsi.InvalidField(true, 1, 5))
	}
	if err != nil {
		return d.fail(err, false, 0)
	}
	return good(nil)
}

func (d *Drive) readPosition(cdb []byte) ([]byte, byte, *scsi.Sense) {
	sa := cdb[1] & 0x1f
	if sa != 0 && sa != 1 && sa != 6 {
		return checkCondition(scsi.InvalidField(true, 1, 4))
	}
	if err := d.ready(); err != nil {
		return d.fail(err, false, 0)
	}
	p := d.position()
	var flags byte
	if p.BOT {
		flags |= 0x80
	}
	if p.EW {
		flags |= 0x40
	}
	if sa == 6 {
		b := make([]byte, 32)
		b[0] = flags
		scsi.Put64(b[8:], p.Block)
		scsi.Put64(b[16:], p.File)
		return good(b)
	}
	b := make([]byte, 20)
	b[0] = flags
	if p.Block > 0xffffffff {
		b[0] |= 0x04 // BPU: position does not fit
	} else {
		scsi.Put32(b[4:], uint32(p.Block))
		scsi.Put32(b[8:], uint32(p.Block))
	}
	return good(b)
}

// modeHeader builds a MODE SENSE(6)/(10) header plus optional block descriptor.
func modeHeader(ten bool, devSpecific byte, bd []byte) []byte {
	var h []byte
	if ten {
		h = make([]byte, 8)
		h[3] = devSpecific
		scsi.Put16(h[6:], uint32(len(bd)))
	} else {
		h = make([]byte, 4)
		h[2] = devSpecific
		h[3] = byte(len(bd))
	}
	return append(h, bd...)
}

func finishModeData(ten bool, b []byte) []byte {
	if ten {
		scsi.Put16(b, uint32(len(b)-2))
	} else {
		b[0] = byte(len(b) - 1)
	}
	return b
}

func (d *Drive) modePage(code byte, changeable bool) []byte {
	switch code {
	case 0x01: // read-write error recovery
		return []byte{0x01, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	case 0x0a: // control
		b := make([]byte, 12)
		b[0], b[1] = 0x0a, 0x0a
		if changeable {
			b[2] = 0x04
		} else if d.descSense {
			b[2] = 0x04
		}
		return b
	case 0x0f: // data compression
		b := make([]byte, 16)
		b[0], b[1] = 0x0f, 0x0e
		if changeable {
			b[2] = 0x80
			return b
		}
		b[2] = 0x40 // DCC: the drive can compress
		if d.compress {
			b[2] |= 0x80
		}
		b[3] = 0x80 // DDE
		alg := uint32(d.algorithm)
		if alg == 0 {
			alg = 1
		}
		scsi.Put32(b[4:], alg)
		scsi.Put32(b[8:], alg)
		return b
	case 0x10: // device configuration
		b := make([]byte, 16)
		b[0], b[1] = 0x10, 0x0e
		if changeable {
			b[14] = 0xff
			return b
		}
		b[8] = 0x40 // BIS
		b[10] = 0x18
		if d.compress {
			b[14] = 1
		}
		return b
	}
	return nil
}

var drivePages = []byte{0x01, 0x0a, 0x0f, 0x10}

func (d *Drive) modeSense(cdb []byte) ([]byte, byte, *scsi.Sense) {
	ten := cdb[0] == scsi.OpModeSense10
	dbd := cdb[1]&0x08 != 0
	pc, page := cdb[2]>>6, cdb[2]&0x3f
	if cdb[3] != 0 && cdb[3] != 0xff {
		return checkCondition(scsi.InvalidField(true, 3, -1))
	}
	if pc == 3 {
		return checkCondition(scsi.NewSense(scsi.KeyIllegalRequest, 0x3900)) // SAVING PARAMETERS NOT SUPPORTED
	}
	changeable := pc == 1
	var dev byte = 0x10 // buffered mode 1
	if d.cart != nil && d.writeProtected() {
		dev |= 0x80
	}
	var bd []byte
	if !dbd {
		bd = make([]byte, 8)
		if changeable {
			bd[0] = 0xff
			scsi.Put24(bd[5:], 0xffffff)
		} else {
			bd[0] = d.density
			if bd[0] == 0 && d.cart != nil {
				bd[0] = d.meta.Density
			}
			scsi.Put24(bd[5:], uint32(d.blockSize))
		}
	}
	b := modeHeader(ten, dev, bd)
	switch {
	case page == 0x3f:
		for _, p := range drivePages {
			b = append(b, d.modePage(p, changeable)...)
		}
	case page == 0 && cdb[3] == 0:
		// block descriptor only
	default:
		p := d.modePage(page, changeable)
		if p == nil {
			return checkCondition(scsi.InvalidField(true, 2, 5))
		}
		b = append(b, p...)
	}
	return good(finishModeData(ten, b))
}

func (d *Drive) modeSelect(cdb, param []byte) ([]byte, byte, *scsi.Sense) {
	ten := cdb[0] == scsi.OpModeSelect10
	plen := int(cdb[4])
	hlen := 4
	if ten {
		plen, hlen = int(scsi.Be16(cdb[7:])), 8
	}
	if cdb[1]&0x01 != 0 {
		return checkCondition(scsi.InvalidField(true, 1, 0)) // SP: saving not supported
	}
	if plen == 0 {
		return good(nil)
	}
	if len(param) < plen || plen < hlen {
		return checkCondition(scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCParamListLengthError))
	}
	p := param[:plen]
	bdl := int(p[3])
	if ten {
		bdl = int(scsi.Be16(p[6:]))
	}
	off := hlen
	if off+bdl > len(p) {
		return checkCondition(scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCParamListLengthError))
	}
	density, blockSize := d.density, d.blockSize
	if bdl >= 8 {
		bd := p[off:]
		if bd[0] != 0 && bd[0] != 0x7f {
			if !d.knownDensity(bd[0]) {
				return checkCondition(scsi.InvalidField(false, off, -1))
			}
			density = bd[0]
		}
		bl := int(scsi.Be24(bd[5:]))
		if bl > MaxBlockSize {
			return checkCondition(scsi.InvalidField(false, off+5, -1))
		}
		blockSize = bl
	}
	off += bdl
	compress, desc := d.compress, d.descSense
	for off < len(p) {
		if off+2 > len(p) {
			return checkCondition(scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCParamListLengthError))
		}
		code, l := p[off]&0x3f, int(p[off+1])
		if off+2+l > len(p) {
			return checkCondition(scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCParamListLengthError))
		}
		pg := p[off : off+2+l]
		switch code {
		case 0x01:
		case 0x0a:
			if l >= 1 {
				desc = pg[2]&0x04 != 0
			}
		case 0x0f:
			if l < 14 {
				return checkCondition(scsi.InvalidField(false, off+1, -1))
			}
			compress = pg[2]&0x80 != 0
		case 0x10:
			if l < 14 {
				return checkCondition(scsi.InvalidField(false, off+1, -1))
			}
			compress = pg[14] != 0
		default:
			return checkCondition(scsi.InvalidField(false, off, 5))
		}
		off += 2 + l
	}
	d.density, d.blockSize, d.compress, d.descSense = density, blockSize, compress, desc
	return good(nil)
}

func (d *Drive) knownDensity(code byte) bool {
	for _, ds := range d.config.Densities {
		if ds.Density == code {
			return true
		}
	}
	for _, m := range MediaTypes {
		if m.Density == code {
			return true
		}
	}
	return false
}

func logParam(code uint16, control byte, v []byte) []byte {
	b := []byte{byte(code >> 8), byte(code), control, byte(len(v))}
	return append(b, v...)
}

func u64(v uint64) []byte { b := make([]byte, 8); scsi.Put64(b, v); return b }

func (d *Drive) logSense(cdb []byte) ([]byte, byte, *scsi.Sense) {
	if cdb[1]&0x01 != 0 {
		return checkCondition(scsi.InvalidField(true, 1, 0)) // SP
	}
	page := cdb[2] & 0x3f
	var params []byte
	switch page {
	case 0x00:
		params = []byte{0x00, 0x02, 0x03, 0x0c, 0x2e, 0x31}
	case 0x0c: // sequential-access device: host and medium byte counts
		var medW, medR uint64
		if d.cart != nil {
			medW = uint64(d.cart.Used())
		}
		medR = d.readBytes
		params = append(params, logParam(0, 0x02, u64(d.wroteByte))...)
		params = append(params, logParam(1, 0x02, u64(medW))...)
		params = append(params, logParam(2, 0x02, u64(medR))...)
		params = append(params, logParam(3, 0x02, u64(d.readBytes))...)
	case 0x31: // tape capacity, in MiB: main partition remaining and maximum
		var remaining, maximum uint32
		if d.cart != nil {
			capacity, _ := d.limits()
			rem := capacity - d.cart.Used()
			if rem < 0 {
				rem = 0
			}
			remaining, maximum = uint32(rem>>20), uint32(capacity>>20)
		}
		four := func(v uint32) []byte { b := make([]byte, 4); scsi.Put32(b, v); return b }
		params = append(params, logParam(1, 0x00, four(remaining))...)
		params = append(params, logParam(2, 0x00, four(0))...)
		params = append(params, logParam(3, 0x00, four(maximum))...)
		params = append(params, logParam(4, 0x00, four(0))...)
	case 0x02, 0x03:
		errs, bytes := d.errs.WriteErrors, d.wroteByte
		if page == 0x03 {
			errs, bytes = d.errs.ReadErrors, d.readBytes
		}
		for c := uint16(0); c <= 4; c++ {
			params = append(params, logParam(c, 0x02, u64(0))...)
		}
		params = append(params, logParam(5, 0x02, u64(bytes))...)
		params = append(params, logParam(6, 0x02, u64(errs))...)
	case 0x2e:
		for f := uint16(1); f <= 64; f++ {
			v := byte(0)
			if d.alerts&(1<<(f-1)) != 0 {
				v = 1
			}
			params = append(params, logParam(f, 0x03, []byte{v})...)
		}
		d.alerts = 0 // TapeAlert flags clear when read
	default:
		return checkCondition(scsi.InvalidField(true, 2, 5))
	}
	b := []byte{page, 0, 0, 0}
	scsi.Put16(b[2:], uint32(len(params)))
	return good(append(b, params...))
}
