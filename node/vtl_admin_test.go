package node

import (
	"context"
	"errors"
	"strings"
	"testing"

	"tapelab/vtl"
)

// TestVTLAdminCalls drives the vtl and storage.tape admin calls the CLI uses.
func TestVTLAdminCalls(t *testing.T) {
	n, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	m := n.Mux()
	ctx := context.Background()
	do := func(name string, args, result any) {
		t.Helper()
		if err := m.Call(ctx, name, args, result); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var li vtl.LibraryInfo
	do("vtl.library.create", vtl.LibrarySpec{Name: "lib", Drives: 2, Slots: 4, MailSlots: 1, DriveModel: "IBM LTO-9"}, &li)
	if li.Changer != "mc0" || len(li.Drives) != 2 {
		t.Fatalf("%+v", li)
	}
	var ci vtl.CartridgeInfo
	do("vtl.tape.create", vtl.CartridgeSpec{Barcode: "TL0001L9", Library: "lib"}, &ci)
	do("vtl.tape.create", vtl.CartridgeSpec{Barcode: "TL0002L9"}, &ci)
	var loc vtl.Location
	do("vtl.tape.import", TapeArgs{Barcode: "TL0002L9", Library: "lib"}, &loc)
	if loc.Element != vtl.ElementImportExport {
		t.Fatalf("import to %+v", loc)
	}
	do("vtl.tape.load", TapeArgs{Barcode: "TL0001L9", Drive: "st0"}, &ci)
	var p vtl.Position
	do("storage.tape.position", PositionArgs{Device: "nrst0a", Operation: "weof", Count: 2}, &p)
	do("storage.tape.position", PositionArgs{Device: "st0", Operation: "rewind"}, &p)
	do("storage.tape.position", PositionArgs{Device: "st0", Operation: "fsf", Count: 1}, &p)
	if p.File != 1 || p.Block != 1 {
		t.Fatalf("after fsf: %+v", p)
	}
	err = m.Call(ctx, "storage.tape.position", PositionArgs{Device: "st0", Operation: "fsf", Count: 5}, &p)
	if err == nil || !strings.Contains(err.Error(), vtl.MsgAlreadyAtEndOfTape) {
		t.Fatalf("fsf past the end: %v", err)
	}
	do("vtl.tape.inject-fault", FaultArgs{Target: "st1", Fault: vtl.Fault{Kind: vtl.FaultOffline}}, nil)
	var rows []TapeDeviceRow
	do("storage.tape.show", nil, &rows)
	if len(rows) != 3 || rows[1].Online || rows[0].Status != string(vtl.DynamicallyQualified) {
		t.Fatalf("storage tape show %+v", rows)
	}
	do("storage.tape.online", DeviceArgs{Device: "st1"}, nil)
	do("storage.tape.alias.set", AliasArgs{Name: "st9", Mapping: rows[1].SN}, nil)
	var as []vtl.Alias
	do("storage.tape.alias.show", nil, &as)
	if len(as) != 3 || as[2].Name != "st9" {
		t.Fatalf("aliases %+v", as)
	}
	var ss []vtl.SupportedDrive
	do("storage.tape.show-supported-status", nil, &ss)
	if ss[0].Name != "IBM LTO-9" || !ss[0].Attached {
		t.Fatalf("supported %+v", ss[0])
	}
	var mode string
	do("vtl.reservations", ReservationArgs{Mode: "persistent"}, &mode)
	if mode != "persistent" {
		t.Fatal(mode)
	}
	// An NDMP session holds the drive: position from the CLI is refused.
	tp, err := n.VTL().OpenTape("nrst0a", "ndmp-1")
	if err != nil {
		t.Fatal(err)
	}
	err = m.Call(ctx, "storage.tape.position", PositionArgs{Device: "st0", Operation: "rewind"}, &p)
	if err == nil || !strings.Contains(err.Error(), vtl.MsgTapeInUse) {
		t.Fatalf("position of a drive in use: %v", err)
	}
	tp.Close()
	do("vtl.tape.unload", TapeArgs{Drive: "st0"}, &loc)
	do("vtl.tape.export", TapeArgs{Barcode: "TL0002L9"}, nil)
	var detail LibraryDetail
	do("vtl.library.show", LibraryArgs{Name: "lib"}, &detail)
	if len(detail.Elements) != 1+4+1+2 || !detail.Elements[1].Full || detail.Elements[1].Barcode != "TL0001L9" {
		t.Fatalf("library detail %+v", detail.Elements)
	}
	if err := m.Call(ctx, "vtl.tape.move", TapeArgs{Barcode: "TL0001L9", To: "shelf"}, &loc); !errors.Is(err, vtl.ErrInvalid) && (err == nil || !strings.Contains(err.Error(), "shelf")) {
		t.Fatalf("bad element kind: %v", err)
	}
	do("vtl.library.delete", LibraryArgs{Name: "lib"}, nil)
	var cs []vtl.CartridgeInfo
	do("vtl.tape.list", nil, &cs)
	if len(cs) != 2 || cs[0].Location.Library != "" {
		t.Fatalf("tapes after library delete %+v", cs)
	}
}
