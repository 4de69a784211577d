package vtl

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"tapelab/vtl/cartridge"
	"tapelab/vtl/scsi"
)

// StateFile is the name of the VTL state file in the data directory.
const StateFile = "vtl.json"

// Element address bases (IBM TS3500 style).
const (
	transportAddr = 1
	driveBase     = 0x100
	mailBase      = 0x300
	slotBase      = 0x400
	maxSlots      = 0xffff - slotBase
	maxMailSlots  = slotBase - mailBase
)

// Inventory is the VTL of one node: libraries (changer + drives + slots),
// cartridges, aliases and options, persisted under one data directory.
// All methods are safe for concurrent use.
type Inventory struct {
	dir     string
	clock   func() time.Time
	configs []*TapeConfig

	mu       sync.Mutex // guards everything below and element contents; taken before Drive.mu
	libs     []*Library
	carts    map[string]*cartRec
	resvMode ReservationMode
	serial   int

	faultMu sync.Mutex // leaf lock for fault lists (cartRec.faults, Drive.faults)
}

// cartRec is where a cartridge is.
type cartRec struct {
	barcode string
	lib     *Library // nil: vault
	elem    ElementType
	index   int // 1-based
	source  uint16
	faults  []Fault
}

// Option configures Open.
type Option func(*Inventory)

// WithClock sets the time source (tests).
func WithClock(f func() time.Time) Option { return func(v *Inventory) { v.clock = f } }

type stateFile struct {
	Version      int             `json:"version"`
	Reservations ReservationMode `json:"tape_reservations"`
	NextSerial   int             `json:"next_serial"`
	Libraries    []libState      `json:"libraries"`
	Cartridges   []cartState     `json:"cartridges"`
}

type libState struct {
	Name           string       `json:"name"`
	Serial         string       `json:"serial"`
	Alias          string       `json:"alias"`
	ChangerVendor  string       `json:"changer_vendor"`
	ChangerProduct string       `json:"changer_product"`
	DriveVendor    string       `json:"drive_vendor"`
	DriveProduct   string       `json:"drive_product"`
	Slots          int          `json:"slots"`
	MailSlots      int          `json:"mail_slots"`
	Prevent        bool         `json:"prevent,omitempty"`
	Drives         []driveState `json:"drives"`
}

type driveState struct {
	Serial  string      `json:"serial"`
	Alias   string      `json:"alias"`
	LUN     int         `json:"lun"`
	Offline bool        `json:"offline,omitempty"`
	Faults  []Fault     `json:"faults,omitempty"`
	Errors  DriveErrors `json:"errors"`
}

type cartState struct {
	Barcode string      `json:"barcode"`
	Library string      `json:"library,omitempty"`
	Element ElementType `json:"element,omitempty"`
	Index   int         `json:"index,omitempty"`
	Source  uint16      `json:"source,omitempty"`
	Loaded  bool        `json:"loaded,omitempty"`
	Faults  []Fault     `json:"faults,omitempty"`
}

// Open opens (creating when missing) the VTL state in dir: dir/vtl.json
// (libraries, element contents, aliases, options, faults; written
// atomically), dir/tapes/<barcode>/ (one directory per cartridge) and
// optional tape configuration files in dir/tapeconfig/*.TCF.
func Open(dir string, opts ...Option) (*Inventory, error) {
	v := &Inventory{dir: dir, clock: time.Now, carts: map[string]*cartRec{}, resvMode: ReservationsOff, serial: 1}
	for _, o := range opts {
		o(v)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tapes"), 0o755); err != nil {
		return nil, err
	}
	var err error
	if v.configs, err = loadTapeConfigs(dir); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		// Cartridges without state (e.g. copied in) start in the vault.
		return v, v.scanVault()
	}
	if err != nil {
		return nil, err
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("vtl: %s: %w", StateFile, err)
	}
	if err := v.restore(st); err != nil {
		return nil, err
	}
	return v, v.scanVault()
}

func (v *Inventory) scanVault() error {
	ents, err := os.ReadDir(filepath.Join(v.dir, "tapes"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() || v.carts[e.Name()] != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(v.dir, "tapes", e.Name(), cartridge.MetaFile)); err == nil {
			v.carts[e.Name()] = &cartRec{barcode: e.Name()}
		}
	}
	return nil
}

func (v *Inventory) restore(st stateFile) error {
	if st.Reservations != "" {
		v.resvMode = st.Reservations
	}
	if st.NextSerial > 0 {
		v.serial = st.NextSerial
	}
	for _, ls := range st.Libraries {
		l := v.newLibrary(ls)
		v.libs = append(v.libs, l)
	}
	for _, cs := range st.Cartridges {
		rec := &cartRec{barcode: cs.Barcode, faults: cs.Faults, source: cs.Source}
		v.carts[cs.Barcode] = rec
		if cs.Library == "" {
			continue
		}
		l := v.lib(cs.Library)
		if l == nil || !l.validIndex(cs.Element, cs.Index) || l.occupant(cs.Element, cs.Index) != "" {
			continue // library gone or element taken: the cartridge is in the vault
		}
		rec.lib, rec.elem, rec.index = l, cs.Element, cs.Index
		l.setOccupant(cs.Element, cs.Index, cs.Barcode)
		if cs.Element == ElementDrive {
			d := l.drives[cs.Index-1]
			if err := d.insertCounted(rec, false); err != nil {
				// A cartridge that no longer opens goes back to the vault.
				rec.lib, rec.elem, rec.index = nil, 0, 0
				continue
			}
			d.mu.Lock()
			d.loaded = cs.Loaded
			d.mu.Unlock()
		}
	}
	return nil
}

func (v *Inventory) newLibrary(ls libState) *Library {
	l := &Library{inv: v, name: ls.Name, serial: ls.Serial, slots: make([]string, ls.Slots), mail: make([]string, ls.MailSlots),
		changerVendor: ls.ChangerVendor, changerProduct: ls.ChangerProduct, driveVendor: ls.DriveVendor, driveProduct: ls.DriveProduct}
	l.changer = &Changer{lib: l, alias: ls.Alias, prevent: ls.Prevent, sense: map[string]senseState{}}
	cfg, status := v.modelFor(ls.DriveVendor, ls.DriveProduct)
	for i, ds := range ls.Drives {
		d := &Drive{inv: v, lib: l, index: i + 1, serial: ds.Serial, alias: ds.Alias, lun: ds.LUN, online: !ds.Offline, errs: ds.Errors,
			faults: ds.Faults, config: cfg, support: status, vendor: ls.DriveVendor, product: ls.DriveProduct,
			sense: map[string]senseState{}, prKeys: map[string]uint64{}}
		d.selectDensity('a')
		l.drives = append(l.drives, d)
	}
	return l
}

func (v *Inventory) modelFor(vendor, product string) (*TapeConfig, SupportStatus) {
	for _, c := range v.configs {
		if c.Matches(vendor, product) {
			if inQualificationTable(vendor, product) {
				return c, Qualified
			}
			return c, DynamicallyQualified
		}
	}
	if inQualificationTable(vendor, product) {
		return genericConfig(vendor, product), Qualified
	}
	return genericConfig(vendor, product), Nonqualified
}

// save writes vtl.json atomically; v.mu must be held.
func (v *Inventory) save() error {
	st := stateFile{Version: 1, Reservations: v.resvMode, NextSerial: v.serial}
	for _, l := range v.libs {
		ls := libState{Name: l.name, Serial: l.serial, Alias: l.changer.alias, ChangerVendor: l.changerVendor,
			ChangerProduct: l.changerProduct, DriveVendor: l.driveVendor, DriveProduct: l.driveProduct,
			Slots: len(l.slots), MailSlots: len(l.mail), Prevent: l.changer.prevent}
		for _, d := range l.drives {
			d.mu.Lock()
			ds := driveState{Serial: d.serial, Alias: d.alias, LUN: d.lun, Offline: !d.online, Errors: d.errs}
			d.mu.Unlock()
			v.faultMu.Lock()
			ds.Faults = append([]Fault(nil), d.faults...)
			v.faultMu.Unlock()
			ls.Drives = append(ls.Drives, ds)
		}
		st.Libraries = append(st.Libraries, ls)
	}
	for _, bc := range v.sortedBarcodes() {
		r := v.carts[bc]
		cs := cartState{Barcode: bc, Source: r.source}
		if r.lib != nil {
			cs.Library, cs.Element, cs.Index = r.lib.name, r.elem, r.index
			if r.elem == ElementDrive {
				d := r.lib.drives[r.index-1]
				d.mu.Lock()
				cs.Loaded = d.loaded
				d.mu.Unlock()
			}
		}
		v.faultMu.Lock()
		cs.Faults = append([]Fault(nil), r.faults...)
		v.faultMu.Unlock()
		st.Cartridges = append(st.Cartridges, cs)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(v.dir, StateFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(v.dir, StateFile))
}

func (v *Inventory) sortedBarcodes() []string {
	out := make([]string, 0, len(v.carts))
	for bc := range v.carts {
		out = append(out, bc)
	}
	sort.Strings(out)
	return out
}

// Close flushes cartridges and state.
func (v *Inventory) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	err := v.save()
	for _, l := range v.libs {
		for _, d := range l.drives {
			if e := d.closeCartridge(); err == nil {
				err = e
			}
		}
	}
	return err
}

// Dir is the data directory.
func (v *Inventory) Dir() string { return v.dir }

func (v *Inventory) lib(name string) *Library {
	for _, l := range v.libs {
		if l.name == name {
			return l
		}
	}
	return nil
}

func (v *Inventory) nextSerial(prefix string) string {
	s := fmt.Sprintf("%s%06d", prefix, v.serial)
	v.serial++
	return s
}

var aliasRE = regexp.MustCompile(`^(st|mc)([0-9]+)$`)

func (v *Inventory) aliasTaken(a string) bool {
	for _, l := range v.libs {
		if l.changer.alias == a {
			return true
		}
		for _, d := range l.drives {
			if d.alias == a {
				return true
			}
		}
	}
	return false
}

func (v *Inventory) freeAlias(prefix string) string {
	for i := 0; ; i++ {
		a := prefix + strconv.Itoa(i)
		if !v.aliasTaken(a) {
			return a
		}
	}
}

func (v *Inventory) countDevices() (drives, changers int) {
	for _, l := range v.libs {
		changers++
		drives += len(l.drives)
	}
	return
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// CreateLibrary creates a library with its changer, drives and slots.
func (v *Inventory) CreateLibrary(spec LibrarySpec) (*Library, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !nameRE.MatchString(spec.Name) {
		return nil, fmt.Errorf("library name %q: %w", spec.Name, ErrInvalid)
	}
	if v.lib(spec.Name) != nil {
		return nil, fmt.Errorf("library %s: %w", spec.Name, ErrExists)
	}
	if spec.Drives < 0 || spec.Slots < 0 || spec.MailSlots < 0 || spec.Slots > maxSlots || spec.MailSlots > maxMailSlots || spec.Drives > driveBase-1 {
		return nil, fmt.Errorf("library %s: bad element counts: %w", spec.Name, ErrInvalid)
	}
	nd, nc := v.countDevices()
	if nd+spec.Drives > MaxDrives {
		return nil, fmt.Errorf("library %s: %d drives would exceed %d tape drives per node: %w", spec.Name, nd+spec.Drives, MaxDrives, ErrLimit)
	}
	if nc+1 > MaxChangers {
		return nil, fmt.Errorf("library %s: more than %d medium changers per node: %w", spec.Name, MaxChangers, ErrLimit)
	}
	vendor, product, err := v.resolveModel(spec.DriveModel)
	if err != nil {
		return nil, err
	}
	ls := libState{Name: spec.Name, Serial: v.nextSerial("VLIB"), ChangerVendor: spec.ChangerVendor, ChangerProduct: spec.ChangerProduct,
		DriveVendor: vendor, DriveProduct: product, Slots: spec.Slots, MailSlots: spec.MailSlots, Alias: v.freeAlias("mc")}
	if ls.ChangerVendor == "" {
		ls.ChangerVendor, ls.ChangerProduct = "IBM", "03584L32"
	}
	used := map[string]bool{}
	for i := 0; i < spec.Drives; i++ {
		a := ""
		for k := 0; ; k++ {
			a = "st" + strconv.Itoa(k)
			if !v.aliasTaken(a) && !used[a] {
				break
			}
		}
		used[a] = true
		ls.Drives = append(ls.Drives, driveState{Serial: v.nextSerial("VDRV"), Alias: a, LUN: i + 1})
	}
	l := v.newLibrary(ls)
	v.libs = append(v.libs, l)
	if err := v.save(); err != nil {
		return nil, err
	}
	return l, nil
}

// resolveModel maps a drive model name to INQUIRY vendor/product.
func (v *Inventory) resolveModel(model string) (string, string, error) {
	if model == "" {
		model = "IBM ULT3580-TD8"
	}
	for _, c := range v.configs {
		if strings.EqualFold(model, c.VendorID+" "+c.ProductID) || strings.EqualFold(model, c.Pretty()) {
			return c.VendorID, c.ProductID, nil
		}
	}
	vendor, product, ok := strings.Cut(strings.TrimSpace(model), " ")
	if !ok || len(vendor) > 8 || len(product) > 16 || product == "" {
		return "", "", fmt.Errorf("drive model %q: give a known model or \"VENDOR PRODUCT\": %w", model, ErrInvalid)
	}
	return vendor, strings.TrimSpace(product), nil
}

// DeleteLibrary removes a library; its cartridges go to the vault.
func (v *Inventory) DeleteLibrary(name string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	l := v.lib(name)
	if l == nil {
		return fmt.Errorf("library %s: %w", name, ErrNotFound)
	}
	for _, d := range l.drives {
		d.mu.Lock()
		busy := d.owner != ""
		d.mu.Unlock()
		if busy {
			return fmt.Errorf("library %s: drive %s: %w", name, d.alias, ErrReservationConflict)
		}
	}
	for _, d := range l.drives {
		if err := d.closeCartridge(); err != nil {
			return err
		}
	}
	for _, r := range v.carts {
		if r.lib == l {
			r.lib, r.elem, r.index, r.source = nil, 0, 0, 0
		}
	}
	for i, x := range v.libs {
		if x == l {
			v.libs = append(v.libs[:i], v.libs[i+1:]...)
			break
		}
	}
	return v.save()
}

// Libraries lists the libraries.
func (v *Inventory) Libraries() []*Library {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]*Library(nil), v.libs...)
}

// Library finds a library by name.
func (v *Inventory) Library(name string) (*Library, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if l := v.lib(name); l != nil {
		return l, nil
	}
	return nil, fmt.Errorf("library %s: %w", name, ErrNotFound)
}

// Drives lists every drive of the node, in alias order.
func (v *Inventory) Drives() []*Drive {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []*Drive
	for _, l := range v.libs {
		out = append(out, l.drives...)
	}
	sort.SliceStable(out, func(i, j int) bool { return aliasLess(out[i].alias, out[j].alias) })
	return out
}

func aliasLess(a, b string) bool {
	ma, mb := aliasRE.FindStringSubmatch(a), aliasRE.FindStringSubmatch(b)
	if ma != nil && mb != nil && ma[1] == mb[1] {
		x, _ := strconv.Atoi(ma[2])
		y, _ := strconv.Atoi(mb[2])
		return x < y
	}
	if (a == "") != (b == "") {
		return b == ""
	}
	return a < b
}

// Changers lists every medium changer of the node (mc0, ...).
func (v *Inventory) Changers() []*Changer {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []*Changer
	for _, l := range v.libs {
		out = append(out, l.changer)
	}
	sort.SliceStable(out, func(i, j int) bool { return aliasLess(out[i].alias, out[j].alias) })
	return out
}

// SN formats a serial number as ONTAP shows it: SN[serial] plus L<lun> when lun != 0.
func SN(serial string, lun int) string {
	if lun == 0 {
		return "SN[" + serial + "]"
	}
	return fmt.Sprintf("SN[%s]L%d", serial, lun)
}

var snRE = regexp.MustCompile(`(?i)^SN\s*\[([^\]]{1,32})\]\s*(?:L\s*([0-9]+))?$`)

// Drive finds a drive by alias (st0), device name (nrst0a) or serial number
// (SN[...]L1 or the bare serial).
func (v *Inventory) Drive(name string) (*Drive, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if d := v.findDrive(name); d != nil {
		return d, nil
	}
	if d, _, err := v.parseDeviceName(name); err == nil {
		return d, nil
	}
	return nil, fmt.Errorf("tape drive %s: %w", name, ErrNotFound)
}

func (v *Inventory) findDrive(name string) *Drive {
	serial, lun, isSN := parseSN(name)
	for _, l := range v.libs {
		for _, d := range l.drives {
			if isSN {
				if strings.EqualFold(d.serial, serial) && (lun < 0 || lun == d.lun) {
					return d
				}
				continue
			}
			if name == d.alias || strings.EqualFold(name, d.serial) {
				return d
			}
		}
	}
	return nil
}

func parseSN(name string) (serial string, lun int, ok bool) {
	m := snRE.FindStringSubmatch(strings.TrimSpace(name))
	if m == nil {
		return "", 0, false
	}
	lun = 0
	if m[2] != "" {
		lun, _ = strconv.Atoi(m[2])
	}
	return m[1], lun, true
}

func (v *Inventory) findChanger(name string) *Changer {
	serial, lun, isSN := parseSN(name)
	for _, l := range v.libs {
		c := l.changer
		if isSN {
			if strings.EqualFold(l.serial, serial) && lun == 0 {
				return c
			}
			continue
		}
		if name == c.alias || strings.EqualFold(name, l.serial) || name == l.name {
			return c
		}
	}
	return nil
}

// Changer finds a changer by alias (mc0), serial number or library name.
func (v *Inventory) Changer(name string) (*Changer, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c := v.findChanger(name); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("media changer %s: %w", name, ErrNotFound)
}

// Device finds a drive or changer by any of its names, as a SCSI Device.
func (v *Inventory) Device(name string) (Device, error) {
	if d, err := v.Drive(name); err == nil {
		return d, nil
	}
	if c, err := v.Changer(name); err == nil {
		return c, nil
	}
	return nil, fmt.Errorf("device %s: %w", name, ErrNotFound)
}

var devNameRE = regexp.MustCompile(`^(r|nr|ur)(st[0-9]+)([lmha])$`)

// ParseDeviceName splits a tape device name (nrst0a) into the drive and the
// device's rewind type and density.
func (v *Inventory) ParseDeviceName(name string) (*Drive, DeviceName, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.parseDeviceName(name)
}

func (v *Inventory) parseDeviceName(name string) (*Drive, DeviceName, error) {
	m := devNameRE.FindStringSubmatch(name)
	if m == nil {
		return nil, DeviceName{}, fmt.Errorf("tape device %s: %w", name, ErrNotFound)
	}
	d := v.findDrive(m[2])
	if d == nil {
		return nil, DeviceName{}, fmt.Errorf("tape device %s: %w", name, ErrNotFound)
	}
	for _, dn := range d.deviceNames() {
		if dn.Name == name {
			return d, dn, nil
		}
	}
	return nil, DeviceName{}, fmt.Errorf("tape device %s: %w", name, ErrNotFound)
}

// OpenTape opens a tape device by name (rst0a, nrst0a, urst0a; a bare
// alias st0 or serial means the no-rewind "a" device) for owner (an NDMP
// session id): reserves the drive (ErrReservationConflict, "Tape is
// currently in use by other operations", when another owner holds it),
// selects the device's density/compression, and returns a handle whose
// Close rewinds (r), leaves the position (nr) or unloads (ur) and releases.
func (v *Inventory) OpenTape(name, owner string) (*Tape, error) {
	if owner == "" {
		return nil, fmt.Errorf("open %s: empty owner: %w", name, ErrInvalid)
	}
	v.mu.Lock()
	d, dn, err := v.parseDeviceName(name)
	if err != nil {
		if d = v.findDrive(name); d == nil {
			v.mu.Unlock()
			return nil, err
		}
		dn = d.deviceNameFor(NoRewind, 'a')
	}
	v.mu.Unlock()
	if err := d.Reserve(owner); err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	d.mu.Lock()
	d.selectDensity(dn.Suffix)
	d.goPrevent = true
	d.mu.Unlock()
	return &Tape{Drive: d, Device: dn, Owner: owner}, nil
}

// SetReservationMode sets tape.reservations (off, scsi, persistent).
func (v *Inventory) SetReservationMode(m ReservationMode) error {
	switch m {
	case ReservationsOff, ReservationsSCSI, ReservationsPersistent:
	default:
		return fmt.Errorf("tape.reservations %q: must be scsi, persistent or off: %w", m, ErrInvalid)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.resvMode = m
	return v.save()
}

// ReservationMode returns tape.reservations.
func (v *Inventory) ReservationMode() ReservationMode {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.resvMode
}

// SetAlias maps alias (st3, mc1) to mapping (SN[123456]L4). A drive alias
// must be st<N>, a changer alias mc<N>; the device's previous alias is replaced.
func (v *Inventory) SetAlias(alias, mapping string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := aliasRE.FindStringSubmatch(alias)
	if m == nil {
		return fmt.Errorf("alias %q: must be st<N> or mc<N>: %w", alias, ErrInvalid)
	}
	if _, _, ok := parseSN(mapping); !ok {
		return fmt.Errorf("mapping %q: must be SN[serial] or SN[serial]L<lun>: %w", mapping, ErrInvalid)
	}
	if m[1] == "st" {
		d := v.findDrive(mapping)
		if d == nil {
			return fmt.Errorf("tape drive %s: %w", mapping, ErrNotFound)
		}
		if d.alias == alias {
			return nil
		}
		if v.aliasTaken(alias) {
			return fmt.Errorf("alias %s: %w", alias, ErrExists)
		}
		d.mu.Lock()
		d.alias = alias
		d.mu.Unlock()
	} else {
		c := v.findChanger(mapping)
		if c == nil {
			return fmt.Errorf("media changer %s: %w", mapping, ErrNotFound)
		}
		if c.alias == alias {
			return nil
		}
		if v.aliasTaken(alias) {
			return fmt.Errorf("alias %s: %w", alias, ErrExists)
		}
		c.alias = alias
	}
	return v.save()
}

// ClearAlias removes one alias.
func (v *Inventory) ClearAlias(alias string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, l := range v.libs {
		if l.changer.alias == alias {
			l.changer.alias = ""
			return v.save()
		}
		for _, d := range l.drives {
			if d.alias == alias {
				d.mu.Lock()
				d.alias = ""
				d.mu.Unlock()
				return v.save()
			}
		}
	}
	return fmt.Errorf("alias %s: %w", alias, ErrNotFound)
}

// ClearAliases removes the aliases of scope "tape", "media-changer" or "all".
func (v *Inventory) ClearAliases(scope string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if scope != "tape" && scope != "media-changer" && scope != "all" {
		return fmt.Errorf("clear-scope %q: must be tape, media-changer or all: %w", scope, ErrInvalid)
	}
	for _, l := range v.libs {
		if scope != "tape" {
			l.changer.alias = ""
		}
		if scope != "media-changer" {
			for _, d := range l.drives {
				d.mu.Lock()
				d.alias = ""
				d.mu.Unlock()
			}
		}
	}
	return v.save()
}

// Aliases lists the alias mappings.
func (v *Inventory) Aliases() []Alias {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []Alias
	for _, l := range v.libs {
		if l.changer.alias != "" {
			out = append(out, Alias{Name: l.changer.alias, Mapping: SN(l.serial, 0), Kind: "media-changer"})
		}
		for _, d := range l.drives {
			if d.alias != "" {
				out = append(out, Alias{Name: d.alias, Mapping: SN(d.serial, d.lun), Kind: "tape"})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return aliasLess(out[i].Name, out[j].Name) })
	return out
}

func (v *Inventory) cartDir(barcode string) string { return filepath.Join(v.dir, "tapes", barcode) }

// CreateCartridge creates a blank cartridge.
func (v *Inventory) CreateCartridge(spec CartridgeSpec) (CartridgeInfo, error) {
	if err := validBarcode(spec.Barcode); err != nil {
		return CartridgeInfo{}, err
	}
	var mt MediaType
	var ok bool
	if spec.MediaType != "" {
		if mt, ok = LookupMediaType(spec.MediaType); !ok {
			return CartridgeInfo{}, fmt.Errorf("media type %q: %w", spec.MediaType, ErrInvalid)
		}
	} else if mt, ok = mediaTypeForBarcode(spec.Barcode); !ok {
		mt, _ = LookupMediaType("LTO-8")
	}
	capacity := mt.Capacity
	if spec.Capacity > 0 {
		capacity = spec.Capacity
		if spec.MediaType == "" {
			mt.Name = "custom"
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.carts[spec.Barcode] != nil {
		return CartridgeInfo{}, fmt.Errorf("cartridge %s: %w", spec.Barcode, ErrExists)
	}
	rec := &cartRec{barcode: spec.Barcode}
	if spec.Library != "" {
		l := v.lib(spec.Library)
		if l == nil {
			return CartridgeInfo{}, fmt.Errorf("library %s: %w", spec.Library, ErrNotFound)
		}
		idx := spec.Slot
		if idx == 0 {
			idx = l.firstFree(ElementStorage)
			if idx == 0 {
				return CartridgeInfo{}, fmt.Errorf("library %s: no free storage slot: %w", l.name, ErrElementFull)
			}
		}
		if !l.validIndex(ElementStorage, idx) {
			return CartridgeInfo{}, fmt.Errorf("library %s: slot %d: %w", l.name, idx, ErrInvalid)
		}
		if l.occupant(ElementStorage, idx) != "" {
			return CartridgeInfo{}, fmt.Errorf("library %s: slot %d: %w", l.name, idx, ErrElementFull)
		}
		rec.lib, rec.elem, rec.index = l, ElementStorage, idx
	}
	meta := cartridge.Meta{Barcode: spec.Barcode, MediaType: mt.Name, Density: mt.Density, Capacity: capacity,
		EarlyWarning: capacity - earlyWarningZone(capacity), WORM: spec.WORM, Created: v.clock().UTC()}
	if err := cartridge.Create(v.cartDir(spec.Barcode), meta); err != nil {
		return CartridgeInfo{}, err
	}
	v.carts[spec.Barcode] = rec
	if rec.lib != nil {
		rec.lib.setOccupant(ElementStorage, rec.index, spec.Barcode)
	}
	if err := v.save(); err != nil {
		return CartridgeInfo{}, err
	}
	return v.cartInfo(rec)
}

// cartInfo describes a cartridge; v.mu held.
func (v *Inventory) cartInfo(r *cartRec) (CartridgeInfo, error) {
	info := CartridgeInfo{Barcode: r.barcode, Location: r.location()}
	v.faultMu.Lock()
	info.Faults = append([]Fault(nil), r.faults...)
	v.faultMu.Unlock()
	if r.lib != nil && r.elem == ElementDrive {
		d := r.lib.drives[r.index-1]
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.cart != nil {
			fillCartInfo(&info, d.cart)
			return info, nil
		}
	}
	c, err := cartridge.Open(v.cartDir(r.barcode))
	if err != nil {
		return info, fmt.Errorf("cartridge %s: %w: %v", r.barcode, ErrCorrupt, err)
	}
	defer c.Close()
	fillCartInfo(&info, c)
	return info, nil
}

func fillCartInfo(info *CartridgeInfo, c *cartridge.Cartridge) {
	m := c.Meta()
	info.MediaType, info.Capacity, info.EarlyWarning = m.MediaType, m.Capacity, m.EarlyWarning
	info.WORM, info.WriteProtected, info.Created = m.WORM, m.WriteProtected, m.Created
	info.Used, info.Objects, info.Filemarks = c.Used(), c.Objects(), c.Filemarks()
	info.Counters = Counters(m.Counters)
}

func (r *cartRec) location() Location {
	if r.lib == nil {
		return Location{}
	}
	loc := Location{Library: r.lib.name, Element: r.elem, Index: r.index, Address: r.lib.addr(r.elem, r.index)}
	if r.elem == ElementDrive {
		loc.Drive = r.lib.drives[r.index-1].alias
	}
	return loc
}

// DeleteCartridge deletes a cartridge that is not in a drive.
func (v *Inventory) DeleteCartridge(barcode string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.carts[barcode]
	if r == nil {
		return fmt.Errorf("cartridge %s: %w", barcode, ErrNotFound)
	}
	if r.lib != nil && r.elem == ElementDrive {
		return fmt.Errorf("cartridge %s is in drive %s: %w", barcode, r.lib.drives[r.index-1].alias, ErrReservationConflict)
	}
	if r.lib != nil {
		r.lib.setOccupant(r.elem, r.index, "")
	}
	delete(v.carts, barcode)
	if err := v.save(); err != nil {
		return err
	}
	return os.RemoveAll(v.cartDir(barcode))
}

// Cartridges lists the cartridges, by barcode.
func (v *Inventory) Cartridges() []CartridgeInfo {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []CartridgeInfo
	for _, bc := range v.sortedBarcodes() {
		info, _ := v.cartInfo(v.carts[bc])
		out = append(out, info)
	}
	return out
}

// Cartridge describes one cartridge.
func (v *Inventory) Cartridge(barcode string) (CartridgeInfo, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.carts[barcode]
	if r == nil {
		return CartridgeInfo{}, fmt.Errorf("cartridge %s: %w", barcode, ErrNotFound)
	}
	return v.cartInfo(r)
}

// ImportCartridge puts a vault cartridge into the library's first free
// import/export slot (or storage slot when the library has none free).
func (v *Inventory) ImportCartridge(library, barcode string) (Location, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.carts[barcode]
	if r == nil {
		return Location{}, fmt.Errorf("cartridge %s: %w", barcode, ErrNotFound)
	}
	if r.lib != nil {
		return Location{}, fmt.Errorf("cartridge %s is already in library %s: %w", barcode, r.lib.name, ErrExists)
	}
	l := v.lib(library)
	if l == nil {
		return Location{}, fmt.Errorf("library %s: %w", library, ErrNotFound)
	}
	if l.changer.prevent {
		return Location{}, fmt.Errorf("library %s: %w", library, ErrRemovalPrevented)
	}
	t, idx := ElementImportExport, l.firstFree(ElementImportExport)
	if idx == 0 {
		t, idx = ElementStorage, l.firstFree(ElementStorage)
	}
	if idx == 0 {
		return Location{}, fmt.Errorf("library %s: no free slot: %w", library, ErrElementFull)
	}
	r.lib, r.elem, r.index, r.source = l, t, idx, 0
	l.setOccupant(t, idx, barcode)
	l.changer.ua.post(scsi.ASCImportExportAccessed)
	return r.location(), v.save()
}

// ExportCartridge takes a cartridge out of its library into the vault.
func (v *Inventory) ExportCartridge(barcode string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.carts[barcode]
	if r == nil {
		return fmt.Errorf("cartridge %s: %w", barcode, ErrNotFound)
	}
	if r.lib == nil {
		return nil
	}
	if r.elem == ElementDrive {
		return fmt.Errorf("cartridge %s is in drive %s (unload it first): %w", barcode, r.lib.drives[r.index-1].alias, ErrRemovalPrevented)
	}
	if r.elem == ElementImportExport && r.lib.changer.prevent {
		return fmt.Errorf("library %s: %w", r.lib.name, ErrRemovalPrevented)
	}
	r.lib.setOccupant(r.elem, r.index, "")
	r.lib.changer.ua.post(scsi.ASCImportExportAccessed)
	r.lib, r.elem, r.index, r.source = nil, 0, 0, 0
	return v.save()
}

// MoveCartridge moves a cartridge to an element of its library (like MOVE
// MEDIUM; moving into a drive loads it). index 0 picks the first free element.
func (v *Inventory) MoveCartridge(barcode string, to ElementType, index int) (Location, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.carts[barcode]
	if r == nil {
		return Location{}, fmt.Errorf("cartridge %s: %w", barcode, ErrNotFound)
	}
	if r.lib == nil {
		return Location{}, fmt.Errorf("cartridge %s is in the vault (import it first): %w", barcode, ErrInvalid)
	}
	l := r.lib
	if index == 0 {
		if index = l.firstFree(to); index == 0 {
			return Location{}, fmt.Errorf("library %s: no free %s: %w", l.name, to, ErrElementFull)
		}
	}
	if !l.validIndex(to, index) {
		return Location{}, fmt.Errorf("library %s: no %s %d: %w", l.name, to, index, ErrInvalid)
	}
	if err := l.move(l.addr(r.elem, r.index), l.addr(to, index)); err != nil {
		return Location{}, err
	}
	return r.location(), v.save()
}

// LoadCartridge moves a cartridge into a drive of its library and loads it.
func (v *Inventory) LoadCartridge(barcode, drive string) error {
	d, err := v.Drive(drive)
	if err != nil {
		return err
	}
	v.mu.Lock()
	r := v.carts[barcode]
	v.mu.Unlock()
	if r == nil {
		return fmt.Errorf("cartridge %s: %w", barcode, ErrNotFound)
	}
	if r.lib != d.lib {
		return fmt.Errorf("cartridge %s is not in library %s: %w", barcode, d.lib.name, ErrInvalid)
	}
	_, err = v.MoveCartridge(barcode, ElementDrive, d.index)
	return err
}

// UnloadCartridge unloads the drive and returns its cartridge to the slot
// it came from (or the first free storage slot).
func (v *Inventory) UnloadCartridge(drive string) (Location, error) {
	d, err := v.Drive(drive)
	if err != nil {
		return Location{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	bc := d.lib.drvOcc(d.index)
	if bc == "" {
		return Location{}, fmt.Errorf("tape drive %s: %w", d.alias, ErrElementEmpty)
	}
	r := v.carts[bc]
	dst := uint16(0)
	if r.source != 0 {
		if t, i, ok := d.lib.element(r.source); ok && t != ElementDrive && d.lib.occupant(t, i) == "" {
			dst = r.source
		}
	}
	if dst == 0 {
		i := d.lib.firstFree(ElementStorage)
		if i == 0 {
			return Location{}, fmt.Errorf("library %s: no free slot: %w", d.lib.name, ErrElementFull)
		}
		dst = d.lib.addr(ElementStorage, i)
	}
	if err := d.lib.move(d.lib.addr(ElementDrive, d.index), dst); err != nil {
		return Location{}, err
	}
	return r.location(), v.save()
}

// SetWriteProtect sets a cartridge's write-protect switch.
func (v *Inventory) SetWriteProtect(barcode string, on bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.carts[barcode]
	if r == nil {
		return fmt.Errorf("cartridge %s: %w", barcode, ErrNotFound)
	}
	if r.lib != nil && r.elem == ElementDrive {
		d := r.lib.drives[r.index-1]
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.cart != nil {
			d.meta.WriteProtected = on
			return d.cart.SetMeta(d.meta)
		}
	}
	m, err := cartridge.ReadMeta(v.cartDir(barcode))
	if err != nil {
		return err
	}
	m.WriteProtected = on
	return cartridge.WriteMeta(v.cartDir(barcode), m)
}

func validFault(f Fault, forDrive bool) error {
	switch f.Kind {
	case FaultReadError, FaultWriteError, FaultWriteFail, FaultEarlyEOM:
		if f.Kind == FaultEarlyEOM && f.Bytes <= 0 {
			return fmt.Errorf("fault %s needs bytes > 0: %w", f.Kind, ErrInvalid)
		}
	case FaultWriteProtect, FaultWORM:
	case FaultOffline:
		if !forDrive {
			return fmt.Errorf("fault %s applies to drives: %w", f.Kind, ErrInvalid)
		}
	default:
		return fmt.Errorf("fault kind %q: %w", f.Kind, ErrInvalid)
	}
	if f.Count < 0 {
		return fmt.Errorf("fault count %d: %w", f.Count, ErrInvalid)
	}
	return nil
}

// InjectCartridgeFault attaches a fault to a cartridge (persisted).
func (v *Inventory) InjectCartridgeFault(barcode string, f Fault) error {
	if err := validFault(f, false); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.carts[barcode]
	if r == nil {
		return fmt.Errorf("cartridge %s: %w", barcode, ErrNotFound)
	}
	v.faultMu.Lock()
	r.faults = append(r.faults, f)
	v.faultMu.Unlock()
	return v.save()
}

// InjectDriveFault attaches a fault to a drive (persisted). FaultOffline
// takes the drive offline until SetOnline(true) or ClearFaults.
func (v *Inventory) InjectDriveFault(drive string, f Fault) error {
	if err := validFault(f, true); err != nil {
		return err
	}
	d, err := v.Drive(drive)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if f.Kind == FaultOffline {
		d.mu.Lock()
		d.online = false
		d.mu.Unlock()
	} else {
		v.faultMu.Lock()
		d.faults = append(d.faults, f)
		v.faultMu.Unlock()
	}
	return v.save()
}

// ClearFaults removes the faults of a cartridge barcode or drive name (and
// brings a drive taken offline by a fault back online).
func (v *Inventory) ClearFaults(name string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r := v.carts[name]; r != nil {
		v.faultMu.Lock()
		r.faults = nil
		v.faultMu.Unlock()
		return v.save()
	}
	d := v.findDrive(name)
	if d == nil {
		return fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	v.faultMu.Lock()
	d.faults = nil
	v.faultMu.Unlock()
	d.mu.Lock()
	d.online = true
	d.mu.Unlock()
	return v.save()
}

// SupportedDrive is one line of show-supported-status.
type SupportedDrive struct {
	Name      string        `json:"name"` // "IBM LTO-8" (vendor_pretty product_pretty) or vendor/product
	Supported bool          `json:"is_supported"`
	Status    SupportStatus `json:"support_status"`
	Attached  bool          `json:"attached"`
}

// SupportedStatus lists the node's drive models first (attached) and then
// every known model with its qualification (storage tape show-supported-status).
func (v *Inventory) SupportedStatus() []SupportedDrive {
	v.mu.Lock()
	defer v.mu.Unlock()
	seen := map[string]bool{}
	var out []SupportedDrive
	for _, l := range v.libs {
		if len(l.drives) == 0 {
			continue
		}
		d := l.drives[0]
		name := d.config.Pretty()
		if d.support == Nonqualified {
			name = d.vendor + " " + d.product
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, SupportedDrive{Name: name, Supported: d.support != Nonqualified, Status: d.support, Attached: true})
	}
	var rest []SupportedDrive
	for _, c := range v.configs {
		if seen[c.Pretty()] {
			continue
		}
		seen[c.Pretty()] = true
		st := DynamicallyQualified
		if inQualificationTable(c.VendorID, c.ProductID) {
			st = Qualified
		}
		rest = append(rest, SupportedDrive{Name: c.Pretty(), Supported: true, Status: st})
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Name < rest[j].Name })
	return append(out, rest...)
}

// consumeFault finds the first matching fault in *list and uses it up;
// the caller holds no fault lock.
func (v *Inventory) consumeFault(list *[]Fault, match func(Fault) bool) (Fault, bool) {
	v.faultMu.Lock()
	defer v.faultMu.Unlock()
	for i, f := range *list {
		if match(f) {
			if f.Count > 0 {
				(*list)[i].Count--
				if (*list)[i].Count == 0 {
					*list = append((*list)[:i:i], (*list)[i+1:]...)
				}
			}
			return f, true
		}
	}
	return Fault{}, false
}

// loadNextAfter moves the cartridge of the first full storage slot after
// slot into drive d (urst devices); nothing when there is none.
func (v *Inventory) loadNextAfter(d *Drive, slot int) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	l := d.lib
	for i := slot + 1; i <= len(l.slots); i++ {
		if l.slots[i-1] != "" {
			if err := l.move(l.addr(ElementStorage, i), l.addr(ElementDrive, d.index)); err != nil {
				return err
			}
			return v.save()
		}
	}
	return nil
}
