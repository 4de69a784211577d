package vtldev

import (
	"errors"
	"fmt"
	"strings"

	"tapelab/ndmp"
	"tapelab/vtl"
)

// Devices serves an Inventory's drives and changers.
type Devices struct {
	Inv *vtl.Inventory
}

// New wraps inv.
func New(inv *vtl.Inventory) *Devices { return &Devices{Inv: inv} }

// Tapes lists every drive with its device names.
func (d *Devices) Tapes() []ndmp.DeviceInfo {
	var out []ndmp.DeviceInfo
	for _, dr := range d.Inv.Drives() {
		in := dr.Info()
		di := ndmp.DeviceInfo{Model: strings.TrimSpace(in.Vendor + " " + in.Product), Serial: in.Serial}
		for _, n := range in.DeviceNames {
			di.Names = append(di.Names, n.Name)
		}
		out = append(out, di)
	}
	return out
}

// Changers lists every medium changer.
func (d *Devices) Changers() []ndmp.DeviceInfo {
	var out []ndmp.DeviceInfo
	for _, c := range d.Inv.Changers() {
		in := c.Info()
		out = append(out, ndmp.DeviceInfo{Model: strings.TrimSpace(in.Vendor + " " + in.Product), Names: []string{c.Name()}, Serial: in.Serial, Changer: true})
	}
	return out
}

// OpenTape opens and reserves a tape device for owner.
func (d *Devices) OpenTape(name, owner string) (ndmp.TapeDrive, error) {
	t, err := d.Inv.OpenTape(name, owner)
	if err != nil {
		return nil, mapErr(err)
	}
	return &tape{t: t}, nil
}

// Changer returns the changer called name.
func (d *Devices) Changer(name string) (ndmp.SCSIDevice, string, error) {
	c, err := d.Inv.Changer(name)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, ndmp.ErrNoDevice)
	}
	return c, c.Name(), nil
}

// mapErr maps vtl sentinels to the ndmp ones (keeping the message).
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	for _, m := range []struct{ v, n error }{
		{vtl.ErrFilemark, ndmp.ErrFilemark},
		{vtl.ErrEOD, ndmp.ErrEOD},
		{vtl.ErrBOT, ndmp.ErrBOT},
		{vtl.ErrEarlyWarning, ndmp.ErrEarlyWarning},
		{vtl.ErrEndOfMedium, ndmp.ErrEndOfMedium},
		{vtl.ErrWriteProtected, ndmp.ErrWriteProtected},
		{vtl.ErrMediumError, ndmp.ErrMediumError},
		{vtl.ErrNotReady, ndmp.ErrNotReady},
		{vtl.ErrOffline, ndmp.ErrNotReady},
		{vtl.ErrReservationConflict, ndmp.ErrBusy},
		{vtl.ErrReservationPreempted, ndmp.ErrBusy}, // another initiator took the drive
		{vtl.ErrNotFound, ndmp.ErrNoDevice},
	} {
		if errors.Is(err, m.v) {
			return fmt.Errorf("%w: %v", m.n, err)
		}
	}
	return err
}

// tape is one open vtl tape device.
type tape struct {
	t *vtl.Tape
}

func (t *tape) ID() string { return t.t.Serial() }

func (t *tape) Close() error { return mapErr(t.t.Close()) }

func (t *tape) ReadRecord(p []byte) (int, error) {
	n, err := t.t.ReadRecord(p)
	switch {
	case errors.Is(err, vtl.ErrIncorrectLength):
		return n, nil // truncated read: the record is consumed
	case errors.Is(err, vtl.ErrFilemark):
		// SCSI READ crossed the filemark; NDMP v4 stays before it.
		if _, e := t.t.Space(vtl.SpaceFilemarks, -1); e != nil && !errors.Is(e, vtl.ErrBOT) {
			return 0, mapErr(e)
		}
		return 0, ndmp.ErrFilemark
	}
	return n, mapErr(err)
}

func (t *tape) WriteRecord(p []byte) error { return mapErr(t.t.WriteRecord(p)) }

func (t *tape) WriteFilemarks(n int) error { return mapErr(t.t.WriteFilemarks(n)) }

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// SpaceRecords moves n records without crossing a filemark.
func (t *tape) SpaceRecords(n int) (int, error) {
	resid, err := t.t.Space(vtl.SpaceBlocks, int64(n))
	moved := int(abs(int64(n)) - abs(resid))
	if errors.Is(err, vtl.ErrFilemark) {
		// Step back over the filemark SPACE crossed.
		dir := int64(-1)
		if n < 0 {
			dir = 1
		}
		if _, e := t.t.Space(vtl.SpaceFilemarks, dir); e != nil {
			return moved, mapErr(e)
		}
	}
	return moved, mapErr(err)
}

// SpaceFilemarks crosses n filemarks.
func (t *tape) SpaceFilemarks(n int) (int, error) {
	resid, err := t.t.Space(vtl.SpaceFilemarks, int64(n))
	return int(abs(int64(n)) - abs(resid)), mapErr(err)
}

func (t *tape) Rewind() error { return mapErr(t.t.Rewind()) }

func (t *tape) Unload() error { return mapErr(t.t.Unload()) }

func (t *tape) State() ndmp.TapeState {
	p, err := t.t.Position()
	if err != nil {
		return ndmp.TapeState{WriteProtected: t.t.WriteProtected()}
	}
	return ndmp.TapeState{
		Loaded: true, WriteProtected: t.t.WriteProtected(),
		File: p.File, Block: p.BlockInFile, BlockSize: uint32(t.t.BlockSize()),
		HasCapacity: true, Total: uint64(p.BytesWritten + p.BytesRemaining), Remaining: uint64(max(p.BytesRemaining, 0)),
	}
}

// Execute passes a CDB to the drive's SSC emulation (TAPE_EXECUTE_CDB).
func (t *tape) Execute(initiator string, cdb, dataOut []byte, allocLen int) ([]byte, byte, []byte) {
	return t.t.Execute(initiator, cdb, dataOut, allocLen)
}
