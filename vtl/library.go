package vtl

import (
	"fmt"
)

// Library is a tape library: one changer, drives, storage slots and
// import/export (mail) slots. Element contents are guarded by the
// Inventory's lock.
type Library struct {
	inv            *Inventory
	name, serial   string
	changerVendor  string
	changerProduct string
	driveVendor    string
	driveProduct   string
	slots, mail    []string // barcodes ("" = empty)
	drives         []*Drive
	changer        *Changer
}

// Name is the library's name.
func (l *Library) Name() string { return l.name }

// Info summarises the library.
func (l *Library) Info() LibraryInfo {
	l.inv.mu.Lock()
	defer l.inv.mu.Unlock()
	info := LibraryInfo{Name: l.name, Changer: l.changer.alias, Serial: l.serial, Slots: len(l.slots), MailSlots: len(l.mail),
		DriveModel: l.driveVendor + " " + l.driveProduct}
	for _, d := range l.drives {
		info.Drives = append(info.Drives, d.alias)
	}
	for _, r := range l.inv.carts {
		if r.lib == l {
			info.Cartridges++
		}
	}
	return info
}

// Changer returns the library's medium changer.
func (l *Library) Changer() *Changer { return l.changer }

// Drives returns the library's drives in element order.
func (l *Library) Drives() []*Drive { return append([]*Drive(nil), l.drives...) }

func (l *Library) count(t ElementType) int {
	switch t {
	case ElementTransport:
		return 1
	case ElementStorage:
		return len(l.slots)
	case ElementImportExport:
		return len(l.mail)
	case ElementDrive:
		return len(l.drives)
	}
	return 0
}

func (l *Library) base(t ElementType) uint16 {
	switch t {
	case ElementTransport:
		return transportAddr
	case ElementStorage:
		return slotBase
	case ElementImportExport:
		return mailBase
	case ElementDrive:
		return driveBase
	}
	return 0
}

func (l *Library) validIndex(t ElementType, i int) bool { return i >= 1 && i <= l.count(t) }

func (l *Library) addr(t ElementType, i int) uint16 { return l.base(t) + uint16(i-1) }

// element resolves an element address.
func (l *Library) element(a uint16) (ElementType, int, bool) {
	for _, t := range []ElementType{ElementTransport, ElementStorage, ElementImportExport, ElementDrive} {
		b := l.base(t)
		if a >= b && int(a-b) < l.count(t) {
			return t, int(a-b) + 1, true
		}
	}
	return 0, 0, false
}

func (l *Library) drvOcc(i int) string {
	d := l.drives[i-1]
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.barcode
}

func (l *Library) occupant(t ElementType, i int) string {
	switch t {
	case ElementStorage:
		return l.slots[i-1]
	case ElementImportExport:
		return l.mail[i-1]
	case ElementDrive:
		return l.drvOcc(i)
	}
	return ""
}

func (l *Library) setOccupant(t ElementType, i int, bc string) {
	switch t {
	case ElementStorage:
		l.slots[i-1] = bc
	case ElementImportExport:
		l.mail[i-1] = bc
	}
}

// firstFree returns the first empty element of type t (0: none). Storage
// slots that are the home (source) of a cartridge now in a drive are kept
// for its return.
func (l *Library) firstFree(t ElementType) int {
	home := map[uint16]bool{}
	if t == ElementStorage {
		for _, d := range l.drives {
			d.mu.Lock()
			if d.rec != nil && d.rec.source != 0 {
				home[d.rec.source] = true
			}
			d.mu.Unlock()
		}
	}
	for i := 1; i <= l.count(t); i++ {
		if t != ElementTransport && l.occupant(t, i) == "" && !home[l.addr(t, i)] {
			return i
		}
	}
	return 0
}

// move moves a cartridge between element addresses; inv.mu held. A move
// into a drive loads the cartridge; a move out of a drive unloads it.
func (l *Library) move(src, dst uint16) error {
	st, si, ok := l.element(src)
	if !ok || st == ElementTransport {
		return fmt.Errorf("element address %d: %w", src, ErrInvalid)
	}
	dt, di, ok := l.element(dst)
	if !ok || dt == ElementTransport {
		return fmt.Errorf("element address %d: %w", dst, ErrInvalid)
	}
	bc := l.occupant(st, si)
	if bc == "" {
		return fmt.Errorf("element %d: %w", src, ErrElementEmpty)
	}
	if src == dst {
		return nil
	}
	if l.occupant(dt, di) != "" {
		return fmt.Errorf("element %d: %w", dst, ErrElementFull)
	}
	r := l.inv.carts[bc]
	if st == ElementDrive {
		if err := l.drives[si-1].eject(); err != nil {
			return err
		}
	}
	if dt == ElementDrive {
		if err := l.drives[di-1].insert(r); err != nil {
			if st == ElementDrive {
				_ = l.drives[si-1].insert(r)
			}
			return err
		}
	}
	l.setOccupant(st, si, "")
	l.setOccupant(dt, di, bc)
	if st != ElementDrive {
		r.source = src
	}
	r.elem, r.index = dt, di
	return nil
}
