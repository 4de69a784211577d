package vtl

import (
	"errors"
	"fmt"
	"sync"

	"tapelab/vtl/cartridge"
	"tapelab/vtl/scsi"
)

// Drive is one virtual tape drive. Its Go API is used by the engines and
// the NDMP mover; Execute is its SSC command set. All methods are safe for
// concurrent use; each operation is atomic.
type Drive struct {
	inv     *Inventory
	lib     *Library
	index   int // 1-based drive element number in its library
	serial  string
	lun     int
	vendor  string
	product string
	config  *TapeConfig
	support SupportStatus

	mu      sync.Mutex
	alias   string
	cart    *cartridge.Cartridge
	rec     *cartRec
	meta    cartridge.Meta // of cart, with live counters
	barcode string         // cartridge present in the drive
	loaded  bool           // threaded and ready
	pos     uint64
	online  bool

	blockSize  int // 0: variable-block mode
	recordSize int
	suffix     byte
	density    byte
	algorithm  byte
	compress   bool // DCE
	descSense  bool // D_SENSE: descriptor-format sense

	owner     string // Go API reservation (Reserve/OpenTape)
	preempted bool   // the owner's persistent reservation was preempted
	goPrevent bool   // an open Tape prevents removal
	prevent   bool   // SCSI PREVENT ALLOW MEDIUM REMOVAL
	resv      string // RESERVE(6) holder
	prKeys    map[string]uint64
	prHolder  string
	prType    byte
	prGen     uint32
	sense     map[string]senseState
	ua        unitAttention
	faults    []Fault
	errs      DriveErrors
	alerts    uint64 // TapeAlert flags (bit n-1 = flag n)
	readBytes uint64
	wroteByte uint64
	verifyBuf []byte
}

// Name is the drive's alias (st0), or its SN when it has none.
func (d *Drive) Name() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.alias == "" {
		return SN(d.serial, d.lun)
	}
	return d.alias
}

// Serial is the drive's serial number.
func (d *Drive) Serial() string { return d.serial }

// Library is the library the drive belongs to.
func (d *Drive) Library() *Library { return d.lib }

// Config is the drive model's tape configuration.
func (d *Drive) Config() *TapeConfig { return d.config }

func (d *Drive) deviceNameFor(rw RewindMode, suffix byte) DeviceName {
	prefix := map[RewindMode]string{Rewind: "r", NoRewind: "nr", UnloadReload: "ur"}[rw]
	ds := d.config.Densities[suffix]
	return DeviceName{Name: prefix + d.alias + string(suffix), Rewind: rw, Suffix: suffix, Density: ds.Density,
		Compression: ds.Algorithm != 0, Description: ds.Description}
}

// deviceNames lists the tape devices (rst0l ... urst0a); empty without alias.
func (d *Drive) deviceNames() []DeviceName {
	if d.alias == "" {
		return nil
	}
	var out []DeviceName
	for _, s := range DensitySuffixes {
		if _, ok := d.config.Densities[s]; !ok {
			continue
		}
		for _, rw := range []RewindMode{Rewind, NoRewind, UnloadReload} {
			out = append(out, d.deviceNameFor(rw, s))
		}
	}
	return out
}

// selectDensity applies an l/m/h/a setting (density code, compression).
func (d *Drive) selectDensity(suffix byte) {
	ds, ok := d.config.Densities[suffix]
	if !ok {
		return
	}
	d.suffix, d.density, d.algorithm = suffix, ds.Density, ds.Algorithm
	d.compress = ds.Algorithm != 0
}

// Info describes the drive.
func (d *Drive) Info() DriveInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	info := DriveInfo{Name: d.alias, Serial: d.serial, SN: SN(d.serial, d.lun), LUN: d.lun, Library: d.lib.name,
		Vendor: d.vendor, Product: d.product, Revision: driveRevision, Description: d.config.Pretty(), Status: d.support,
		Online: d.online, Cartridge: d.barcode, Loaded: d.loaded, DeviceNames: d.deviceNames(), ReservedBy: d.owner, Errors: d.errs}
	if info.ReservedBy == "" {
		info.ReservedBy = d.resv
	}
	if info.ReservedBy == "" {
		info.ReservedBy = d.prHolder
	}
	if d.cart != nil && d.loaded {
		info.Position = d.position()
	}
	d.inv.faultMu.Lock()
	info.Faults = append([]Fault(nil), d.faults...)
	d.inv.faultMu.Unlock()
	return info
}

const driveRevision = "TL01"

// insert puts a cartridge into the drive and loads it; inv.mu held.
func (d *Drive) insert(r *cartRec) error { return d.insertCounted(r, true) }

func (d *Drive) insertCounted(r *cartRec, count bool) error {
	c, err := cartridge.Open(d.inv.cartDir(r.barcode))
	if err != nil {
		return fmt.Errorf("load %s into %s: %w: %v", r.barcode, d.alias, ErrCorrupt, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cart, d.rec, d.barcode, d.meta = c, r, r.barcode, c.Meta()
	d.loaded, d.pos = true, 0
	d.ua.post(scsi.ASCNotReadyToReady)
	if !count {
		return nil
	}
	d.meta.Counters.Loads++
	return d.cart.SetMeta(d.meta)
}

// eject unloads and removes the cartridge; inv.mu held.
func (d *Drive) eject() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.prevent || d.goPrevent {
		return fmt.Errorf("tape drive %s: %w", d.alias, ErrRemovalPrevented)
	}
	return d.closeLocked()
}

func (d *Drive) closeCartridge() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closeLocked()
}

func (d *Drive) closeLocked() error {
	if d.cart == nil {
		return nil
	}
	err := d.cart.SetMeta(d.meta)
	if e := d.cart.Sync(); err == nil {
		err = e
	}
	if e := d.cart.Close(); err == nil {
		err = e
	}
	d.cart, d.rec, d.barcode, d.loaded, d.pos = nil, nil, "", false, 0
	d.ua.post(scsi.ASCNotReadyToReady)
	return err
}

// Cartridge describes the cartridge in the drive; ok is false when empty.
func (d *Drive) Cartridge() (info CartridgeInfo, ok bool) {
	d.inv.mu.Lock() // the location is guarded by the inventory
	defer d.inv.mu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cart == nil {
		return CartridgeInfo{}, false
	}
	info = CartridgeInfo{Barcode: d.barcode, Location: d.rec.location()}
	fillCartInfo(&info, d.cart)
	info.Counters = Counters(d.meta.Counters)
	info.WriteProtected = d.meta.WriteProtected
	return info, true
}

// ready checks that a cartridge is loaded and the drive online.
func (d *Drive) ready() error {
	if !d.online {
		return fmt.Errorf("tape drive %s: %w", d.alias, ErrOffline)
	}
	if d.cart == nil {
		return fmt.Errorf("tape drive %s: %w", d.alias, ErrNotReady)
	}
	if !d.loaded {
		return fmt.Errorf("tape drive %s: cartridge %s not loaded: %w", d.alias, d.barcode, ErrNotReady)
	}
	return nil
}

// goIdentity is the initiator the Go API acts as.
func (d *Drive) goIdentity() string {
	if d.owner != "" {
		return d.owner
	}
	return "local"
}

// goCheck runs the checks every Go API data operation needs.
func (d *Drive) goCheck(write bool) error {
	if d.preempted {
		return fmt.Errorf("tape drive %s: %w", d.alias, ErrReservationPreempted)
	}
	if err := d.conflict(d.goIdentity(), cmdClass{write: write, media: true}); err != nil {
		return err
	}
	return d.ready()
}

func (d *Drive) cartFault(match func(Fault) bool) (Fault, bool) {
	if f, ok := d.inv.consumeFault(&d.faults, match); ok {
		return f, true
	}
	if d.rec != nil {
		return d.inv.consumeFault(&d.rec.faults, match)
	}
	return Fault{}, false
}

func (d *Drive) hasFault(k FaultKind) (Fault, bool) {
	d.inv.faultMu.Lock()
	defer d.inv.faultMu.Unlock()
	for _, l := range [][]Fault{d.faults, d.recFaults()} {
		for _, f := range l {
			if f.Kind == k {
				return f, true
			}
		}
	}
	return Fault{}, false
}

func (d *Drive) recFaults() []Fault {
	if d.rec == nil {
		return nil
	}
	return d.rec.faults
}

func (d *Drive) worm() bool {
	_, f := d.hasFault(FaultWORM)
	return d.meta.WORM || f
}

func (d *Drive) writeProtected() bool {
	_, f := d.hasFault(FaultWriteProtect)
	return d.meta.WriteProtected || f
}

// limits returns the effective capacity and early-warning point.
func (d *Drive) limits() (capacity, ew int64) {
	capacity, ew = d.meta.Capacity, d.meta.EarlyWarning
	if f, ok := d.hasFault(FaultEarlyEOM); ok && f.Bytes < capacity {
		capacity = f.Bytes
		ew = capacity - earlyWarningZone(capacity)
	}
	return
}

// errWORM marks a WORM overwrite (DATA PROTECT 30/0C rather than 27/00).
var errWORM = fmt.Errorf("WORM medium: overwrite attempted: %w", ErrWriteProtected)

func (d *Drive) noteError(write bool, err error) {
	d.errs.LastError = err.Error()
	d.errs.LastErrorTime = d.inv.clock()
	if errors.Is(err, ErrMediumError) {
		d.errs.MediumErrors++
		d.alerts |= 1 << (4 - 1) // TapeAlert 4: media
	}
	if write {
		d.errs.WriteErrors++
		d.meta.Counters.WriteErrors++
		d.alerts |= 1 << (6 - 1) // 6: write failure
	} else {
		d.errs.ReadErrors++
		d.meta.Counters.ReadErrors++
		d.alerts |= 1 << (5 - 1) // 5: read failure
	}
}

// prepareWrite checks protection and faults and truncates at the position.
func (d *Drive) prepareWrite(nbytes int) error {
	if d.writeProtected() {
		d.alerts |= 1 << (9 - 1) // 9: write protect
		return fmt.Errorf("cartridge %s: %w", d.barcode, ErrWriteProtected)
	}
	if d.pos < d.cart.Objects() && d.worm() {
		d.alerts |= 1 << (0x3c - 1) // TapeAlert 3Ch: WORM medium - overwrite attempted
		return fmt.Errorf("cartridge %s at block %d: %w", d.barcode, d.pos, errWORM)
	}
	if _, ok := d.cartFault(func(f Fault) bool {
		return f.Kind == FaultWriteFail || f.Kind == FaultWriteError && f.Block == d.pos
	}); ok {
		err := fmt.Errorf("%s: cartridge %s block %d: %w", MsgMediaErrorWrite, d.barcode, d.pos, ErrMediumError)
		d.noteError(true, err)
		return err
	}
	if err := d.cart.Truncate(d.pos); err != nil {
		return fmt.Errorf("cartridge %s: %w: %v", d.barcode, ErrMediumError, err)
	}
	if capacity, _ := d.limits(); d.cart.Used()+int64(nbytes) > capacity {
		return fmt.Errorf("cartridge %s: %w", d.barcode, ErrEndOfMedium)
	}
	return nil
}

func (d *Drive) writeRecord(p []byte) error {
	if len(p) == 0 || len(p) > MaxBlockSize {
		return fmt.Errorf("record of %d bytes (1..%d): %w", len(p), MaxBlockSize, ErrRecordSize)
	}
	if err := d.prepareWrite(len(p)); err != nil {
		return err
	}
	if _, err := d.cart.AppendRecord(p, d.compress); err != nil {
		err = fmt.Errorf("%s: %w: %v", MsgMediaErrorWrite, ErrMediumError, err)
		d.noteError(true, err)
		return err
	}
	d.pos++
	d.meta.Counters.BytesWritten += uint64(len(p))
	d.wroteByte += uint64(len(p))
	if _, ew := d.limits(); d.cart.Used() >= ew {
		return fmt.Errorf("cartridge %s: %w", d.barcode, ErrEarlyWarning)
	}
	return nil
}

func (d *Drive) writeFilemarks(n int) error {
	if n < 0 || n > MaxFilemarks {
		return fmt.Errorf("filemark count %d (0..%d): %w", n, MaxFilemarks, ErrInvalid)
	}
	if n > 0 {
		if err := d.prepareWrite(0); err != nil {
			return err
		}
		if err := d.cart.AppendFilemarks(n); err != nil {
			return fmt.Errorf("%s: %w: %v", MsgMediaErrorWrite, ErrMediumError, err)
		}
		d.pos += uint64(n)
	}
	// A filemark flushes the drive's buffer to the medium.
	if err := d.cart.Sync(); err != nil {
		return fmt.Errorf("cartridge %s: sync: %w: %v", d.barcode, ErrMediumError, err)
	}
	if err := d.cart.SetMeta(d.meta); err != nil {
		return err
	}
	if _, ew := d.limits(); n > 0 && d.cart.Used() >= ew {
		return fmt.Errorf("cartridge %s: %w", d.barcode, ErrEarlyWarning)
	}
	return nil
}

// readRecord reads the object at the position.
func (d *Drive) readRecord(buf []byte) (n, length int, err error) {
	if d.pos >= d.cart.Objects() {
		return 0, 0, fmt.Errorf("cartridge %s block %d: %w", d.barcode, d.pos, ErrEOD)
	}
	if _, ok := d.cartFault(func(f Fault) bool { return f.Kind == FaultReadError && f.Block == d.pos }); ok {
		err := fmt.Errorf("%s: cartridge %s block %d: %w", MsgMediaErrorRead, d.barcode, d.pos, ErrMediumError)
		d.noteError(false, err)
		return 0, 0, err
	}
	e, _ := d.cart.Entry(d.pos)
	if e.Type == cartridge.TypeFilemark {
		d.pos++
		return 0, 0, ErrFilemark
	}
	n, length, err = d.cart.Read(d.pos, buf)
	if err != nil {
		err = fmt.Errorf("%s: cartridge %s block %d: %w: %v", MsgMediaErrorRead, d.barcode, d.pos, ErrMediumError, err)
		d.noteError(false, err)
		return 0, length, err
	}
	d.pos++
	d.meta.Counters.BytesRead += uint64(n)
	d.readBytes += uint64(n)
	if length > len(buf) {
		return n, length, &RecordLengthError{Length: length}
	}
	return n, length, nil
}

// fmIndex is the number of filemarks before pos, i.e. the index (into the
// filemark list) of the first filemark at or after pos.
func (d *Drive) fmIndex(pos uint64) uint64 { return d.cart.FileNumber(pos) }

func (d *Drive) space(kind SpaceKind, count int64) (int64, error) {
	n := d.cart.Objects()
	switch kind {
	case SpaceEOD:
		d.pos = n
		return 0, nil
	case SpaceBlocks:
		if count >= 0 {
			k := d.fmIndex(d.pos)
			limit := n
			fm, hasFM := d.cart.FilemarkAt(k)
			if hasFM {
				limit = fm
			}
			if d.pos+uint64(count) <= limit {
				d.pos += uint64(count)
				return 0, nil
			}
			done := int64(limit - d.pos)
			if hasFM {
				d.pos = fm + 1
				return count - done, ErrFilemark
			}
			d.pos = n
			return count - done, ErrEOD
		}
		c := uint64(-count)
		k := d.fmIndex(d.pos) // filemarks before pos
		var lo uint64
		fm, hasFM := uint64(0), false
		if k > 0 {
			fm, _ = d.cart.FilemarkAt(k - 1)
			hasFM, lo = true, fm+1
		}
		if d.pos >= lo+c {
			d.pos -= c
			return 0, nil
		}
		done := d.pos - lo
		if hasFM {
			d.pos = fm
			return -(int64(c) - int64(done)), ErrFilemark
		}
		d.pos = 0
		return -(int64(c) - int64(done)), ErrBOT
	case SpaceFilemarks:
		if count >= 0 {
			if count == 0 {
				return 0, nil
			}
			k := d.fmIndex(d.pos)
			target := k + uint64(count) - 1
			if fm, ok := d.cart.FilemarkAt(target); ok {
				d.pos = fm + 1
				return 0, nil
			}
			have := int64(d.cart.Filemarks() - k)
			d.pos = n
			return count - have, ErrEOD
		}
		c := uint64(-count)
		k := d.fmIndex(d.pos)
		if c <= k {
			d.pos, _ = d.cart.FilemarkAt(k - c)
			return 0, nil
		}
		d.pos = 0
		return -int64(c - k), ErrBOT
	}
	return count, fmt.Errorf("space kind %d: %w", kind, ErrInvalid)
}

func (d *Drive) position() Position {
	n := d.cart.Objects()
	capacity, ew := d.limits()
	p := Position{Block: d.pos, File: d.cart.FileNumber(d.pos), BOT: d.pos == 0, EOD: d.pos == n, Objects: n,
		BytesWritten: d.cart.Used(), BytesRemaining: capacity - d.cart.Used()}
	if p.BytesRemaining < 0 {
		p.BytesRemaining = 0
	}
	p.EW = d.cart.Used() >= ew && d.pos == n
	start := uint64(0)
	if p.File > 0 {
		fm, _ := d.cart.FilemarkAt(p.File - 1)
		start = fm + 1
	}
	p.BlockInFile = d.pos - start
	return p
}

// ---- Go API ----

// Load threads the cartridge in the drive (LOAD); ErrNotReady when empty.
func (d *Drive) Load() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.conflict(d.goIdentity(), cmdClass{media: true}); err != nil {
		return err
	}
	if !d.online {
		return fmt.Errorf("tape drive %s: %w", d.alias, ErrOffline)
	}
	if d.cart == nil {
		return fmt.Errorf("tape drive %s: %w", d.alias, ErrNotReady)
	}
	if !d.loaded {
		d.loaded, d.pos = true, 0
		d.meta.Counters.Loads++
	}
	return nil
}

// Unload rewinds and unthreads the cartridge; it stays in the drive element
// until the changer moves it (Changer.Move, Inventory.UnloadCartridge).
func (d *Drive) Unload() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.unloadLocked(d.goIdentity())
}

func (d *Drive) unloadLocked(initiator string) error {
	if err := d.conflict(initiator, cmdClass{media: true}); err != nil {
		return err
	}
	if err := d.ready(); err != nil {
		return err
	}
	if d.prevent {
		return fmt.Errorf("tape drive %s: %w", d.alias, ErrRemovalPrevented)
	}
	d.pos, d.loaded = 0, false
	if err := d.cart.Sync(); err != nil {
		return err
	}
	return d.cart.SetMeta(d.meta)
}

// WriteRecord writes one variable-length record at the current position,
// truncating anything after it. ErrEarlyWarning means it WAS written;
// ErrEndOfMedium means it was not.
func (d *Drive) WriteRecord(p []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.goCheck(true); err != nil {
		return err
	}
	return d.writeRecord(p)
}

// ReadRecord reads the next record into buf and returns its length. At a
// filemark: (0, ErrFilemark) and the position moves past it; at end of data
// (0, ErrEOD). A record longer than buf: (len(buf), *RecordLengthError
// wrapping ErrIncorrectLength), position after the record.
func (d *Drive) ReadRecord(buf []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.goCheck(false); err != nil {
		return 0, err
	}
	n, _, err := d.readRecord(buf)
	return n, err
}

// WriteFilemarks writes n filemarks and flushes to disk (n == 0 only flushes).
func (d *Drive) WriteFilemarks(n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.goCheck(true); err != nil {
		return err
	}
	return d.writeFilemarks(n)
}

// Space moves over count blocks or filemarks (negative: backward) or to end
// of data. residual is the count not done when it stops early: at a
// filemark (ErrFilemark; forward: after it, backward: before it), at BOT
// (ErrBOT) or at EOD (ErrEOD). Backward residuals are negative.
func (d *Drive) Space(kind SpaceKind, count int64) (residual int64, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.goCheck(false); err != nil {
		return count, err
	}
	return d.space(kind, count)
}

// Locate moves to logical object number block; beyond EOD it stops at EOD with ErrEOD.
func (d *Drive) Locate(block uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.goCheck(false); err != nil {
		return err
	}
	return d.locate(block)
}

func (d *Drive) locate(block uint64) error {
	if n := d.cart.Objects(); block > n {
		d.pos = n
		return fmt.Errorf("locate %d beyond end of data %d: %w", block, n, ErrEOD)
	}
	d.pos = block
	return nil
}

// LocateFile moves to the beginning of tape file n (after its n-th filemark).
func (d *Drive) LocateFile(n uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.goCheck(false); err != nil {
		return err
	}
	if n == 0 {
		d.pos = 0
		return nil
	}
	fm, ok := d.cart.FilemarkAt(n - 1)
	if !ok {
		d.pos = d.cart.Objects()
		return fmt.Errorf("tape file %d: %w", n, ErrEOD)
	}
	d.pos = fm + 1
	return nil
}

// Position reports the current position.
func (d *Drive) Position() (Position, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ready(); err != nil {
		return Position{}, err
	}
	return d.position(), nil
}

// Rewind moves to the beginning of the partition.
func (d *Drive) Rewind() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.goCheck(false); err != nil {
		return err
	}
	d.pos = 0
	return nil
}

// Erase erases from the current position to the end of the tape.
func (d *Drive) Erase() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.goCheck(true); err != nil {
		return err
	}
	return d.erase()
}

func (d *Drive) erase() error {
	if err := d.prepareWrite(0); err != nil {
		return err
	}
	return d.cart.Sync()
}

// SetBlockSize sets fixed-block mode with size n, or variable mode with 0.
func (d *Drive) SetBlockSize(n int) error {
	if n < 0 || n > MaxBlockSize {
		return fmt.Errorf("block size %d: %w", n, ErrRecordSize)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.blockSize = n
	return nil
}

// BlockSize returns the fixed block size (0: variable).
func (d *Drive) BlockSize() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.blockSize
}

// SetRecordSize validates and records the backup/restore record size
// (4 KiB..256 KiB, ErrRecordSize with the seed's message otherwise).
func (d *Drive) SetRecordSize(n int) error {
	if err := CheckRecordSize(n); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recordSize = n
	return nil
}

// RecordSize returns the record size set by SetRecordSize (0: none).
func (d *Drive) RecordSize() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.recordSize
}

// SetCompression enables or disables data compression (DCE).
func (d *Drive) SetCompression(on bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.compress = on
	return nil
}

// Compression reports whether data compression is on.
func (d *Drive) Compression() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.compress
}

// Reserve reserves the drive for owner: ErrReservationConflict ("Tape is
// currently in use by other operations") when another owner holds it or a
// SCSI initiator has reserved it. With tape.reservations scsi or persistent
// the reservation is also placed at the SCSI level (RESERVE(6) or a
// persistent Exclusive Access reservation) so SCSI initiators see
// RESERVATION CONFLICT; with off only Go API users are kept out.
func (d *Drive) Reserve(owner string) error {
	mode := d.inv.ReservationMode()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.owner != "" && d.owner != owner {
		return fmt.Errorf("tape drive %s: %w", d.alias, ErrReservationConflict)
	}
	if (d.resv != "" && d.resv != owner) || (d.prHolder != "" && d.prHolder != owner) {
		return fmt.Errorf("tape drive %s: %w", d.alias, ErrReservationConflict)
	}
	d.owner = owner
	switch mode {
	case ReservationsSCSI:
		d.resv = owner
	case ReservationsPersistent:
		d.prKeys[owner] = keyFor(owner)
		d.prHolder, d.prType = owner, prExclusiveAccess
		d.prGen++
	}
	return nil
}

// Release releases owner's reservation (no-op when owner holds none).
func (d *Drive) Release(owner string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.owner == owner {
		d.owner, d.goPrevent, d.preempted = "", false, false
	}
	if d.resv == owner {
		d.resv = ""
	}
	if d.prHolder == owner {
		d.prHolder, d.prType = "", 0
		delete(d.prKeys, owner)
		d.prGen++
	}
	return nil
}

// Owner returns the Go API owner holding the drive ("" when free).
func (d *Drive) Owner() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.owner
}

// WriteProtected reports whether the loaded cartridge is write protected.
func (d *Drive) WriteProtected() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cart != nil && d.writeProtected()
}

// WORM reports whether the loaded cartridge is WORM media.
func (d *Drive) WORM() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cart != nil && d.worm()
}

// SetOnline brings the drive online or takes it offline (storage tape online/offline).
func (d *Drive) SetOnline(on bool) error {
	d.mu.Lock()
	d.online = on
	d.mu.Unlock()
	d.inv.mu.Lock()
	defer d.inv.mu.Unlock()
	return d.inv.save()
}

// Online reports whether the drive is online.
func (d *Drive) Online() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.online
}

// Reset resets the drive (storage tape reset): SCSI reservations, mode
// settings and pending sense are cleared; the Go owner and the position stay.
func (d *Drive) Reset() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.resv, d.prevent = "", false
	d.blockSize, d.descSense = 0, false
	d.selectDensity(d.suffix)
	d.sense = map[string]senseState{}
	d.ua.reset()
	return nil
}

// ResetErrors zeroes the error counters (storage stats tape zero).
func (d *Drive) ResetErrors() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errs = DriveErrors{}
	d.alerts = 0
}

// Sync flushes the loaded cartridge to disk.
func (d *Drive) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cart == nil {
		return nil
	}
	if err := d.cart.Sync(); err != nil {
		return err
	}
	return d.cart.SetMeta(d.meta)
}

// Tape is an open tape device (Inventory.OpenTape): the Drive, reserved for
// Owner, with the device name's rewind type and density. Close applies the
// rewind type and releases the drive.
type Tape struct {
	*Drive
	Device DeviceName
	Owner  string
}

// Close rewinds (rst), keeps the position (nrst) or, for urst, unloads the
// cartridge, returns it to its slot and loads the cartridge of the next
// full storage slot (the library's tape sequence), then releases the drive.
func (t *Tape) Close() error {
	d := t.Drive
	d.mu.Lock()
	var err error
	if d.cart != nil {
		err = d.cart.Sync()
		if e := d.cart.SetMeta(d.meta); err == nil {
			err = e
		}
		switch t.Device.Rewind {
		case Rewind:
			d.pos = 0
		case UnloadReload:
			d.pos, d.loaded = 0, false
		}
	}
	d.goPrevent = false
	present := d.barcode != ""
	d.mu.Unlock()
	if t.Device.Rewind == UnloadReload && present {
		loc, e := d.inv.UnloadCartridge(d.serial)
		if e != nil && err == nil && !errors.Is(e, ErrElementEmpty) {
			err = e
		}
		if e == nil && loc.Element == ElementStorage {
			// The library loads the next tape of its sequence, if there is one.
			if e := d.inv.loadNextAfter(d, loc.Index); e != nil && err == nil {
				err = e
			}
		}
	}
	if e := d.Release(t.Owner); err == nil {
		err = e
	}
	return err
}
