package node

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"tapelab/admin"
	"tapelab/vtl"
)

func init() { vtlCalls = append(vtlCalls, registerVTLCalls) }

// LibraryArgs name a library.
type LibraryArgs struct {
	Name string `json:"name"`
}

// LibraryDetail is what vtl.library.show returns.
type LibraryDetail struct {
	Info     vtl.LibraryInfo     `json:"info"`
	Changer  vtl.ChangerInfo     `json:"changer"`
	Elements []vtl.ElementStatus `json:"elements"`
}

// TapeArgs name a cartridge (and more for some calls).
type TapeArgs struct {
	Barcode string `json:"barcode"`
	Library string `json:"library,omitempty"`
	Drive   string `json:"drive,omitempty"`
	// Move: element kind ("slot", "mailslot", "drive") and 1-based index (0: first free).
	To    string `json:"to,omitempty"`
	Index int    `json:"index,omitempty"`
	On    bool   `json:"on,omitempty"`
}

// FaultArgs inject (or clear) a fault on a cartridge barcode or a drive name.
type FaultArgs struct {
	Target string    `json:"target"`
	Fault  vtl.Fault `json:"fault"`
	Clear  bool      `json:"clear,omitempty"`
}

// DeviceArgs name a tape device or changer ("" = all).
type DeviceArgs struct {
	Device string `json:"device,omitempty"`
}

// AliasArgs are the arguments of storage.tape.alias.set/clear.
type AliasArgs struct {
	Name    string `json:"name,omitempty"`
	Mapping string `json:"mapping,omitempty"`
	Scope   string `json:"scope,omitempty"` // clear: tape, media-changer, all
}

// PositionArgs are the arguments of storage.tape.position (ONTAP operations
// weof, fsf, bsf, fsr, bsr, rewind, erase, eom).
type PositionArgs struct {
	Device    string `json:"device"`
	Operation string `json:"operation"`
	Count     int    `json:"count,omitempty"`
}

// TapeDeviceRow is one line of storage.tape.show.
type TapeDeviceRow struct {
	Name        string `json:"name"`
	Type        string `json:"type"` // tape drive, media changer
	Description string `json:"description"`
	Serial      string `json:"serial"`
	SN          string `json:"sn"`
	Library     string `json:"library"`
	Online      bool   `json:"online"`
	Status      string `json:"status"`
}

// DriveErrorsRow is one line of storage.tape.show-errors.
type DriveErrorsRow struct {
	Name   string          `json:"name"`
	Serial string          `json:"serial"`
	Errors vtl.DriveErrors `json:"errors"`
}

// ReservationArgs set tape.reservations ("" only reads it).
type ReservationArgs struct {
	Mode string `json:"mode,omitempty"`
}

func elementKind(s string) (vtl.ElementType, error) {
	switch strings.ToLower(s) {
	case "slot", "storage":
		return vtl.ElementStorage, nil
	case "mailslot", "mail", "ie", "import-export":
		return vtl.ElementImportExport, nil
	case "drive":
		return vtl.ElementDrive, nil
	}
	return 0, fmt.Errorf("element %q: use slot, mailslot or drive: %w", s, vtl.ErrInvalid)
}

func registerVTLCalls(n *Node, m *admin.Mux) error {
	inv := n.VTL()
	handle(m, "vtl.library.create", func(ctx context.Context, in vtl.LibrarySpec) (any, error) {
		l, err := inv.CreateLibrary(in)
		if err != nil {
			return nil, err
		}
		return l.Info(), nil
	})
	handle(m, "vtl.library.list", func(ctx context.Context, _ struct{}) (any, error) {
		out := []vtl.LibraryInfo{}
		for _, l := range inv.Libraries() {
			out = append(out, l.Info())
		}
		return out, nil
	})
	handle(m, "vtl.library.show", func(ctx context.Context, in LibraryArgs) (any, error) {
		l, err := inv.Library(in.Name)
		if err != nil {
			return nil, err
		}
		return LibraryDetail{Info: l.Info(), Changer: l.Changer().Info(), Elements: l.Changer().Status(vtl.ElementAll)}, nil
	})
	handle(m, "vtl.library.delete", func(ctx context.Context, in LibraryArgs) (any, error) {
		return nil, inv.DeleteLibrary(in.Name)
	})
	handle(m, "vtl.tape.create", func(ctx context.Context, in vtl.CartridgeSpec) (any, error) {
		return inv.CreateCartridge(in)
	})
	handle(m, "vtl.tape.list", func(ctx context.Context, _ struct{}) (any, error) {
		out := inv.Cartridges()
		if out == nil {
			out = []vtl.CartridgeInfo{}
		}
		return out, nil
	})
	handle(m, "vtl.tape.show", func(ctx context.Context, in TapeArgs) (any, error) {
		return inv.Cartridge(in.Barcode)
	})
	handle(m, "vtl.tape.delete", func(ctx context.Context, in TapeArgs) (any, error) {
		return nil, inv.DeleteCartridge(in.Barcode)
	})
	handle(m, "vtl.tape.import", func(ctx context.Context, in TapeArgs) (any, error) {
		return inv.ImportCartridge(in.Library, in.Barcode)
	})
	handle(m, "vtl.tape.export", func(ctx context.Context, in TapeArgs) (any, error) {
		return nil, inv.ExportCartridge(in.Barcode)
	})
	handle(m, "vtl.tape.move", func(ctx context.Context, in TapeArgs) (any, error) {
		k, err := elementKind(in.To)
		if err != nil {
			return nil, err
		}
		return inv.MoveCartridge(in.Barcode, k, in.Index)
	})
	handle(m, "vtl.tape.load", func(ctx context.Context, in TapeArgs) (any, error) {
		if err := inv.LoadCartridge(in.Barcode, in.Drive); err != nil {
			return nil, err
		}
		return inv.Cartridge(in.Barcode)
	})
	handle(m, "vtl.tape.unload", func(ctx context.Context, in TapeArgs) (any, error) {
		return inv.UnloadCartridge(in.Drive)
	})
	handle(m, "vtl.tape.write-protect", func(ctx context.Context, in TapeArgs) (any, error) {
		if err := inv.SetWriteProtect(in.Barcode, in.On); err != nil {
			return nil, err
		}
		return inv.Cartridge(in.Barcode)
	})
	handle(m, "vtl.tape.inject-fault", func(ctx context.Context, in FaultArgs) (any, error) {
		if in.Clear {
			return nil, inv.ClearFaults(in.Target)
		}
		if _, err := inv.Cartridge(in.Target); err == nil {
			return nil, inv.InjectCartridgeFault(in.Target, in.Fault)
		}
		return nil, inv.InjectDriveFault(in.Target, in.Fault)
	})
	handle(m, "vtl.reservations", func(ctx context.Context, in ReservationArgs) (any, error) {
		if in.Mode != "" {
			if err := inv.SetReservationMode(vtl.ReservationMode(in.Mode)); err != nil {
				return nil, err
			}
		}
		return string(inv.ReservationMode()), nil
	})

	handle(m, "storage.tape.show", func(ctx context.Context, _ struct{}) (any, error) {
		out := []TapeDeviceRow{}
		for _, d := range inv.Drives() {
			i := d.Info()
			out = append(out, TapeDeviceRow{Name: i.Name, Type: "tape drive", Description: i.Description, Serial: i.Serial, SN: i.SN,
				Library: i.Library, Online: i.Online, Status: string(i.Status)})
		}
		for _, c := range inv.Changers() {
			i := c.Info()
			out = append(out, TapeDeviceRow{Name: i.Name, Type: "media changer", Description: i.Vendor + " " + i.Product, Serial: i.Serial,
				SN: i.SN, Library: i.Library, Online: true})
		}
		return out, nil
	})
	handle(m, "storage.tape.show-tape-drive", func(ctx context.Context, in DeviceArgs) (any, error) {
		ds, err := drives(inv, in.Device)
		if err != nil {
			return nil, err
		}
		out := []vtl.DriveInfo{}
		for _, d := range ds {
			out = append(out, d.Info())
		}
		return out, nil
	})
	handle(m, "storage.tape.show-media-changer", func(ctx context.Context, in DeviceArgs) (any, error) {
		out := []vtl.ChangerInfo{}
		if in.Device != "" {
			c, err := inv.Changer(in.Device)
			if err != nil {
				return nil, err
			}
			return append(out, c.Info()), nil
		}
		for _, c := range inv.Changers() {
			out = append(out, c.Info())
		}
		return out, nil
	})
	handle(m, "storage.tape.show-errors", func(ctx context.Context, in DeviceArgs) (any, error) {
		ds, err := drives(inv, in.Device)
		if err != nil {
			return nil, err
		}
		out := []DriveErrorsRow{}
		for _, d := range ds {
			i := d.Info()
			out = append(out, DriveErrorsRow{Name: i.Name, Serial: i.Serial, Errors: i.Errors})
		}
		return out, nil
	})
	handle(m, "storage.tape.show-supported-status", func(ctx context.Context, _ struct{}) (any, error) {
		return inv.SupportedStatus(), nil
	})
	handle(m, "storage.tape.alias.set", func(ctx context.Context, in AliasArgs) (any, error) {
		return nil, inv.SetAlias(in.Name, in.Mapping)
	})
	handle(m, "storage.tape.alias.clear", func(ctx context.Context, in AliasArgs) (any, error) {
		if in.Scope != "" {
			return nil, inv.ClearAliases(in.Scope)
		}
		return nil, inv.ClearAlias(in.Name)
	})
	handle(m, "storage.tape.alias.show", func(ctx context.Context, _ struct{}) (any, error) {
		out := inv.Aliases()
		if out == nil {
			out = []vtl.Alias{}
		}
		return out, nil
	})
	handle(m, "storage.tape.position", func(ctx context.Context, in PositionArgs) (any, error) {
		d, err := inv.Drive(in.Device)
		if err != nil {
			return nil, err
		}
		if d.Owner() != "" {
			return nil, fmt.Errorf("tape drive %s: %w", in.Device, vtl.ErrReservationConflict)
		}
		if err := positionDrive(d, in.Operation, in.Count); err != nil {
			return nil, err
		}
		return d.Position()
	})
	handle(m, "storage.tape.reset", func(ctx context.Context, in DeviceArgs) (any, error) {
		d, err := inv.Drive(in.Device)
		if err != nil {
			return nil, err
		}
		return nil, d.Reset()
	})
	for _, st := range []struct {
		name string
		on   bool
	}{{"storage.tape.online", true}, {"storage.tape.offline", false}} {
		on := st.on
		handle(m, st.name, func(ctx context.Context, in DeviceArgs) (any, error) {
			d, err := inv.Drive(in.Device)
			if err != nil {
				return nil, err
			}
			return nil, d.SetOnline(on)
		})
	}
	return nil
}

func drives(inv *vtl.Inventory, name string) ([]*vtl.Drive, error) {
	if name == "" {
		return inv.Drives(), nil
	}
	d, err := inv.Drive(name)
	if err != nil {
		return nil, err
	}
	return []*vtl.Drive{d}, nil
}

// positionDrive runs one ONTAP storage tape position operation.
func positionDrive(d *vtl.Drive, op string, count int) error {
	if count == 0 {
		count = 1
	}
	var err error
	switch op {
	case "rewind":
		return d.Rewind()
	case "eom":
		_, err = d.Space(vtl.SpaceEOD, 0)
	case "fsf":
		_, err = d.Space(vtl.SpaceFilemarks, int64(count))
	case "bsf":
		_, err = d.Space(vtl.SpaceFilemarks, -int64(count))
	case "fsr":
		_, err = d.Space(vtl.SpaceBlocks, int64(count))
	case "bsr":
		_, err = d.Space(vtl.SpaceBlocks, -int64(count))
	case "weof":
		err = d.WriteFilemarks(count)
	case "erase":
		err = d.Erase()
	default:
		return fmt.Errorf("operation %q: use weof, fsf, bsf, fsr, bsr, rewind, erase or eom: %w", op, vtl.ErrInvalid)
	}
	if errors.Is(err, vtl.ErrEOD) && (op == "fsf" || op == "fsr") {
		return fmt.Errorf("%s: %w", vtl.MsgAlreadyAtEndOfTape, err)
	}
	return err
}
