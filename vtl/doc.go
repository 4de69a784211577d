// Package vtl is tapelab's virtual tape library: cartridges, tape drives
// (SSC) and medium changers (SMC) backed by files, with ONTAP's device
// names, aliases, tape configuration files, reservations and injectable
// faults. The engines and the NDMP mover use the plain Go API (Drive,
// Tape); the NDMP SCSI/TAPE pass-through and the iSCSI target execute CDBs
// through the one SCSI layer, scsi.Device, which *Drive and *Changer
// implement. CDB parsing of each command set lives next to the device it
// acts on (ssc.go, changer.go); status, sense and field helpers in vtl/scsi.
//
// # Data directory
//
//	DIR/vtl.json            libraries, drives (serial, alias, LUN, online,
//	                        faults), changers, element contents (which
//	                        cartridge is in which slot / mail slot / drive,
//	                        source element, loaded), cartridge faults and
//	                        tape.reservations; rewritten atomically (temp
//	                        file, fsync, rename) after every change
//	DIR/tapes/<barcode>/    one cartridge (format in package vtl/cartridge)
//	DIR/tapeconfig/*.TCF    optional node-specific tape configuration files
//
// A cartridge directory found under tapes/ but absent from vtl.json (copied
// in by hand) appears in the vault: outside every library, ready to import.
//
// # Devices and names
//
// A library has one changer (alias mc<N>, serial VLIB<n>, LUN 0) and up to
// 255 drives (alias st<N>, serial VDRV<n>, LUN 1..); a node holds at most
// 64 drives and 16 changers (seed 001). Serial numbers print as ONTAP does,
// SN[serial]L<lun> (no L part for LUN 0). Each drive with an alias has the
// tape devices {r,nr,ur}st<N>{l,m,h,a}: rewind on close, no rewind, unload
// on close; the suffix selects the density code and compression algorithm
// of the drive model's tape configuration file (algorithm != 0 turns
// compression on). Aliases are persistent and can be set (alias set st3
// SN[...]L4), cleared and listed.
//
// Element addresses: transport 1, drives 0x100.., import/export 0x300..,
// storage 0x400... Moving a cartridge into a drive loads it (threaded, at
// BOT); moving it out unloads it (refused while PREVENT MEDIUM REMOVAL is
// set on the drive or a Tape handle is open on it). READ ELEMENT STATUS
// honours the element type, starting address, number of elements,
// allocation length, VOLTAG (36-byte primary volume tag) and DVCID (drive
// vendor/product/serial), ignoring the obsolete LUN bits of byte 1 that
// mtx sets; the real mtx is run against it in the tests (mtx_test.go,
// through an LD_PRELOAD SG_IO shim), as are sg3_utils against a drive.
//
// # Drive models and qualification
//
// Tape configuration files use seed 001's format (vendor_id, product_id,
// id_match_size, vendor_pretty/product_pretty, {l,m,h,a}_description /
// _density / _algorithm, autoload, cmd_timeout_0xNN with m/s/ms units).
// tapelab ships files for HP Ultrium 5..9 and IBM ULT3580-TD5..TD9
// (package fixtures/tapeconfig). A drive whose INQUIRY vendor/product is
// in the built-in qualification table is Qualified; one matched only by a
// configuration file is Dynamically Qualified; anything else is
// Nonqualified and gets generic l/m/h/a settings.
//
// # Reservations
//
// Drive.Reserve / Inventory.OpenTape give one owner (an NDMP session)
// exclusive use of a drive; another owner gets ErrReservationConflict,
// whose text is seed 001's "Tape is currently in use by other operations".
// tape.reservations decides what other SCSI initiators see: off (default)
// nothing; scsi a RESERVE(6) held in the owner's name; persistent an
// Exclusive Access persistent reservation under a key derived from the
// owner. Either way they get RESERVATION CONFLICT until the owner closes.
// As seed 001 describes, a reset (storage tape reset) drops RESERVE(6)
// reservations but not persistent ones; when another initiator preempts or
// clears the owner's persistent reservation, the owner's next operation
// fails with ErrReservationPreempted ("Tape reservation preempted").
// SCSI initiators can also RESERVE/RELEASE(6/10) and use PERSISTENT RESERVE
// IN (READ KEYS, READ RESERVATION, REPORT CAPABILITIES) / OUT (REGISTER,
// RESERVE, RELEASE, CLEAR, PREEMPT, REGISTER AND IGNORE) themselves.
//
// # Positions, capacity, errors
//
// Block numbers are logical object numbers: records and filemarks both
// count, as READ POSITION reports them. Writing anywhere but at EOD
// truncates everything after the position. Capacity counts stored
// (possibly compressed) record bytes (the overflow check before a write
// uses the uncompressed length, so a compressing drive reports VOLUME
// OVERFLOW up to one record early); early warning starts 1/32 of the
// capacity (at most 1 GiB) before the end: a write that ends inside the
// zone succeeds with ErrEarlyWarning (sense NO SENSE, EOM, 00/02); a write
// that would cross the end fails with ErrEndOfMedium (VOLUME OVERFLOW).
// Reads return ErrFilemark (FILEMARK, 00/01), ErrEOD (BLANK CHECK, 00/05),
// *RecordLengthError (ILI), ErrMediumError (MEDIUM ERROR 11/00 on read,
// 0C/00 on write); writes on a protected cartridge ErrWriteProtected (DATA
// PROTECT 27/00, or 30/0C for a WORM overwrite); no cartridge ErrNotReady
// (NOT READY 3A/00; 04/02 when present but unloaded); an offline drive
// ErrOffline (NOT READY 04/12). Sense is fixed format unless the control
// mode page's D_SENSE bit (or REQUEST SENSE DESC) asks for descriptors.
//
// Record sizes: the drive takes records of 1 byte to MaxBlockSize (8 MiB,
// READ BLOCK LIMITS), so st-driver tools work over SCSI; the blocking
// factor of backups and restores is checked with CheckRecordSize /
// Drive.SetRecordSize against seed 001's 4 KiB..256 KiB range ("Tape record
// size must be in the range between 4KB and 256KB").
//
// # Faults
//
// Inventory.InjectCartridgeFault / InjectDriveFault attach persistent
// faults: read-error / write-error at a block (MEDIUM ERROR), write-fail
// (every write fails), early-eom after N bytes, write-protect, worm, and
// offline (drive). Count > 0 limits how often a fault fires. The engines
// turn the resulting sentinel errors into the seed's messages (messages.go:
// "Media error on tape write", "Tape write failed - new tape is broken or
// write protected", "Already at the end of tape", ...).
//
// Unit attentions are off by default (the Go API and NDMP pass-through do
// not expect them); SetUnitAttentions(true) on a drive or changer makes it
// report POWER ON, RESET (29/00) to each new initiator, NOT READY TO READY
// CHANGE (28/00) after a medium change and IMPORT OR EXPORT ELEMENT
// ACCESSED (28/01) after an import/export, as an iSCSI target needs.
//
// LOG SENSE pages: 0x00 (supported), 0x02/0x03 (write/read error counters),
// 0x0C (sequential-access byte counts), 0x2E (TapeAlert; flags clear once
// read) and 0x31 (tape capacity in MiB).
//
// READ ATTRIBUTE (MAM, read only): remaining/maximum capacity, load count,
// MiB written/read, manufacturer, medium serial number (the barcode),
// manufacture date, medium type (data or write-once) and barcode.
//
// Not implemented: partitions, WRITE ATTRIBUTE, encryption, cleaning
// cartridges, REPORT DENSITY SUPPORT, VERIFY byte compare and logical
// block protection. VERIFY(6) checks record checksums by blocks, by one
// variable block or through N filemarks (VBF).
package vtl
