package vtl

import "errors"

var errNotImplemented = errors.New("vtl: not implemented yet")

// Inventory is the VTL of one node: libraries (changer + drives + slots),
// cartridges, aliases and options, persisted under one data directory.
type Inventory struct{}

// Open opens (creating when missing) the VTL state in dir: dir/vtl.json
// (libraries, element contents, aliases, options, faults; written
// atomically) and dir/tapes/<barcode>/ (one directory per cartridge).
func Open(dir string, opts ...Option) (*Inventory, error) { return nil, errNotImplemented }

// Option configures Open.
type Option func(*Inventory)

// Close flushes cartridges and state.
func (v *Inventory) Close() error { return errNotImplemented }

// CreateLibrary creates a library with its changer, drives and slots.
func (v *Inventory) CreateLibrary(spec LibrarySpec) (*Library, error) { return nil, errNotImplemented }

// DeleteLibrary removes a library; its cartridges go to the vault.
func (v *Inventory) DeleteLibrary(name string) error { return errNotImplemented }

// Libraries lists the libraries.
func (v *Inventory) Libraries() []*Library { return nil }

// Library finds a library by name.
func (v *Inventory) Library(name string) (*Library, error) { return nil, errNotImplemented }

// Drives lists every drive of the node (st0, st1, ...), in alias order.
func (v *Inventory) Drives() []*Drive { return nil }

// Changers lists every medium changer of the node (mc0, ...).
func (v *Inventory) Changers() []*Changer { return nil }

// Drive finds a drive by alias (st0), device name (nrst0a), serial number
// (SN[...] or the bare serial).
func (v *Inventory) Drive(name string) (*Drive, error) { return nil, errNotImplemented }

// Changer finds a changer by alias (mc0) or serial number.
func (v *Inventory) Changer(name string) (*Changer, error) { return nil, errNotImplemented }

// Device finds a drive or changer by any of its names, as a SCSI Device.
func (v *Inventory) Device(name string) (Device, error) { return nil, errNotImplemented }

// ParseDeviceName splits a tape device name (nrst0a) into the drive and the
// device's rewind type and density.
func (v *Inventory) ParseDeviceName(name string) (*Drive, DeviceName, error) {
	return nil, DeviceName{}, errNotImplemented
}

// OpenTape opens a tape device by name (rst0a, nrst0a, urst0a, st0) for
// owner (an NDMP session id): reserves the drive (ErrReservationConflict,
// "Tape is currently in use by other operations", when another owner holds
// it), selects the device's density/compression, and returns a handle whose
// Close rewinds (r), leaves the position (nr) or unloads (ur) and releases.
func (v *Inventory) OpenTape(name, owner string) (*Tape, error) { return nil, errNotImplemented }

// SetReservationMode sets tape.reservations (off, scsi, persistent).
func (v *Inventory) SetReservationMode(m ReservationMode) error { return errNotImplemented }

// ReservationMode returns tape.reservations.
func (v *Inventory) ReservationMode() ReservationMode { return ReservationsOff }

// SetAlias maps alias (st3, mc1) to mapping (SN[123456]L4).
func (v *Inventory) SetAlias(alias, mapping string) error { return errNotImplemented }

// ClearAlias removes one alias.
func (v *Inventory) ClearAlias(alias string) error { return errNotImplemented }

// ClearAliases removes the aliases of scope "tape", "media-changer" or "all".
func (v *Inventory) ClearAliases(scope string) error { return errNotImplemented }

// Aliases lists the alias mappings.
func (v *Inventory) Aliases() []Alias { return nil }

// CreateCartridge creates a blank cartridge.
func (v *Inventory) CreateCartridge(spec CartridgeSpec) (CartridgeInfo, error) {
	return CartridgeInfo{}, errNotImplemented
}

// DeleteCartridge deletes a cartridge that is not in a drive.
func (v *Inventory) DeleteCartridge(barcode string) error { return errNotImplemented }

// Cartridges lists the cartridges.
func (v *Inventory) Cartridges() []CartridgeInfo { return nil }

// Cartridge describes one cartridge.
func (v *Inventory) Cartridge(barcode string) (CartridgeInfo, error) {
	return CartridgeInfo{}, errNotImplemented
}

// ImportCartridge puts a vault cartridge into the library's first free
// import/export slot (or storage slot when the library has none).
func (v *Inventory) ImportCartridge(library, barcode string) (Location, error) {
	return Location{}, errNotImplemented
}

// ExportCartridge takes a cartridge out of its library into the vault.
func (v *Inventory) ExportCartridge(barcode string) error { return errNotImplemented }

// MoveCartridge moves a cartridge to an element of its library (like MOVE MEDIUM).
func (v *Inventory) MoveCartridge(barcode string, to ElementType, index int) (Location, error) {
	return Location{}, errNotImplemented
}

// LoadCartridge moves a cartridge into a drive and loads it.
func (v *Inventory) LoadCartridge(barcode, drive string) error { return errNotImplemented }

// UnloadCartridge unloads the drive and returns its cartridge to its source slot.
func (v *Inventory) UnloadCartridge(drive string) (Location, error) {
	return Location{}, errNotImplemented
}

// SetWriteProtect sets a cartridge's write-protect switch.
func (v *Inventory) SetWriteProtect(barcode string, on bool) error { return errNotImplemented }

// InjectCartridgeFault attaches a fault to a cartridge (persisted).
func (v *Inventory) InjectCartridgeFault(barcode string, f Fault) error { return errNotImplemented }

// InjectDriveFault attaches a fault to a drive (persisted).
func (v *Inventory) InjectDriveFault(drive string, f Fault) error { return errNotImplemented }

// ClearFaults removes the faults of a cartridge barcode or drive name.
func (v *Inventory) ClearFaults(name string) error { return errNotImplemented }

// SupportedStatus lists the known drive models and the node's drives with
// their qualification (storage tape show-supported-status).
func (v *Inventory) SupportedStatus() []SupportedDrive { return nil }

// SupportedDrive is one line of show-supported-status.
type SupportedDrive struct {
	Name      string // "IBM LTO-8" (vendor_pretty product_pretty) or vendor/product
	Supported bool
	Status    SupportStatus
	Attached  bool
}

// Library is a tape library: one changer, drives, slots.
type Library struct{}

// Info summarises the library.
func (l *Library) Info() LibraryInfo { return LibraryInfo{} }

// Changer returns the library's medium changer.
func (l *Library) Changer() *Changer { return nil }

// Drives returns the library's drives in element order.
func (l *Library) Drives() []*Drive { return nil }

// Drive is one virtual tape drive. Its Go API is used by the engines and
// the NDMP mover; Execute is its SSC command set.
type Drive struct{}

// Info describes the drive.
func (d *Drive) Info() DriveInfo { return DriveInfo{} }

// Name is the drive's alias (st0).
func (d *Drive) Name() string { return "" }

// Execute runs one SSC CDB (see scsi.Device).
func (d *Drive) Execute(initiator string, cdb, dataOut []byte, allocLen int) ([]byte, byte, []byte) {
	return nil, 0, nil
}

// Load threads the cartridge in the drive (LOAD); ErrNotReady when empty.
func (d *Drive) Load() error { return errNotImplemented }

// Unload rewinds and ejects the cartridge; it stays in the drive element
// until the changer moves it.
func (d *Drive) Unload() error { return errNotImplemented }

// Cartridge describes the cartridge in the drive; ok is false when empty.
func (d *Drive) Cartridge() (info CartridgeInfo, ok bool) { return CartridgeInfo{}, false }

// WriteRecord writes one variable-length record at the current position,
// truncating anything after it. ErrEarlyWarning means it WAS written.
func (d *Drive) WriteRecord(p []byte) error { return errNotImplemented }

// ReadRecord reads the next record into buf and returns its length. At a
// filemark: (0, ErrFilemark) and the position moves past it; at end of data
// (0, ErrEOD). A record longer than buf: (len(buf), *RecordLengthError).
func (d *Drive) ReadRecord(buf []byte) (int, error) { return 0, errNotImplemented }

// WriteFilemarks writes n filemarks (n == 0 flushes).
func (d *Drive) WriteFilemarks(n int) error { return errNotImplemented }

// Space moves over count blocks or filemarks (negative: backward) or to end
// of data. residual is the count not done when it stops early (at a
// filemark, BOT or EOD, with ErrFilemark, ErrBOT, ErrEOD).
func (d *Drive) Space(kind SpaceKind, count int64) (residual int64, err error) {
	return 0, errNotImplemented
}

// Locate moves to logical object number block (LOCATE); beyond EOD: ErrEOD at EOD.
func (d *Drive) Locate(block uint64) error { return errNotImplemented }

// Position reports the current position.
func (d *Drive) Position() (Position, error) { return Position{}, errNotImplemented }

// Rewind moves to the beginning of the partition.
func (d *Drive) Rewind() error { return errNotImplemented }

// Erase erases from the current position to the end (long erase).
func (d *Drive) Erase() error { return errNotImplemented }

// SetBlockSize sets fixed-block mode with size n, or variable mode with 0.
func (d *Drive) SetBlockSize(n int) error { return errNotImplemented }

// BlockSize returns the fixed block size (0: variable).
func (d *Drive) BlockSize() int { return 0 }

// SetRecordSize validates and records the backup/restore record size (4K..256K).
func (d *Drive) SetRecordSize(n int) error { return errNotImplemented }

// SetCompression enables or disables data compression (DCE).
func (d *Drive) SetCompression(on bool) error { return errNotImplemented }

// Reserve reserves the drive for owner (ErrReservationConflict if another holds it).
func (d *Drive) Reserve(owner string) error { return errNotImplemented }

// Release releases owner's reservation.
func (d *Drive) Release(owner string) error { return errNotImplemented }

// WriteProtected reports whether the loaded cartridge is write protected (or WORM with data past the position).
func (d *Drive) WriteProtected() bool { return false }

// SetOnline brings the drive online or takes it offline.
func (d *Drive) SetOnline(on bool) error { return errNotImplemented }

// Reset resets the drive (position kept, reservations and mode cleared).
func (d *Drive) Reset() error { return errNotImplemented }

// Tape is an open tape device (OpenTape): a Drive with an owner, a rewind
// type and a density. Its methods are the Drive's; Close applies the
// device's rewind type and releases the drive.
type Tape struct {
	*Drive
	Device DeviceName
	Owner  string
}

// Close rewinds/unloads per the device name and releases the drive.
func (t *Tape) Close() error { return errNotImplemented }

// Changer is a medium changer (SMC).
type Changer struct{}

// Info describes the changer.
func (c *Changer) Info() ChangerInfo { return ChangerInfo{} }

// Name is the changer's alias (mc0).
func (c *Changer) Name() string { return "" }

// Execute runs one SMC CDB (see scsi.Device).
func (c *Changer) Execute(initiator string, cdb, dataOut []byte, allocLen int) ([]byte, byte, []byte) {
	return nil, 0, nil
}

// Elements returns the element address assignment.
func (c *Changer) Elements() ElementMap { return ElementMap{} }

// Status lists the elements of type t (ElementAll: all).
func (c *Changer) Status(t ElementType) []ElementStatus { return nil }

// Move moves a cartridge between element addresses (MOVE MEDIUM).
func (c *Changer) Move(from, to uint16) error { return errNotImplemented }

// Exchange moves src to dst1 and dst1's cartridge to dst2 (EXCHANGE MEDIUM).
func (c *Changer) Exchange(src, dst1, dst2 uint16) error { return errNotImplemented }
