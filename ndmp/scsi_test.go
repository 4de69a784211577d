package ndmp

import (
	"strings"
	"testing"

	"tapelab/ndmp/wire"
)

func TestSCSIService(t *testing.T) {
	fc := &fakeChanger{}
	_, addr := startTestServer(t, Config{Devices: &memDevices{changers: map[string]SCSIDevice{"mc0": fc}}})
	c := dialTest(t, addr)
	si, err := c.GetSCSIInfo()
	if err != nil || len(si.Devices) != 1 || si.Devices[0].Caplist[0].Device != "mc0" {
		t.Fatalf("scsi info %+v %v", si, err)
	}
	expectErr(t, "close unopened", c.SCSIClose(), wire.DevNotOpenErr)
	_, err = c.SCSIGetState()
	expectErr(t, "state unopened", err, wire.DevNotOpenErr)
	_, err = c.SCSIExecuteCDB([]byte{0x12, 0, 0, 0, 36, 0}, nil, 36)
	expectErr(t, "cdb unopened", err, wire.DevNotOpenErr)
	expectErr(t, "bogus", c.SCSIOpen("mc9"), wire.NoDeviceErr)
	expectErr(t, "open", c.SCSIOpen("mc0"), wire.NoErr)
	expectErr(t, "open twice", c.SCSIOpen("mc0"), wire.DeviceOpenedErr)
	c2 := dialTest(t, addr)
	expectErr(t, "busy", c2.SCSIOpen("mc0"), wire.DeviceBusyErr)
	st, err := c.SCSIGetState()
	expectErr(t, "state", err, wire.NoErr)
	if st.TargetID != 0 {
		t.Fatalf("state %+v", st)
	}
	expectErr(t, "reset", c.SCSIResetDevice(), wire.NoErr)
	r, err := c.SCSIExecuteCDB([]byte{0x12, 0, 0, 0, 36, 0}, nil, 36)
	expectErr(t, "inquiry", err, wire.NoErr)
	if r.Status != 0 || !strings.Contains(string(r.Datain), "FAKE") || !strings.HasPrefix(fc.initiator, "ndmp-session-") {
		t.Fatalf("inquiry %+v by %q", r, fc.initiator)
	}
	// CHECK CONDITION is not an NDMP error: status and sense come back.
	r, err = c.SCSIExecuteCDB([]byte{0xFF, 0, 0, 0, 0, 0}, nil, 0)
	expectErr(t, "bad opcode", err, wire.NoErr)
	if r.Status != 2 || len(r.ExtSense) != 18 || r.ExtSense[12] != 0x20 {
		t.Fatalf("check condition %+v", r)
	}
	// Malformed requests.
	_, err = c.SCSIExecuteCDB(nil, nil, 0)
	expectErr(t, "empty cdb", err, wire.IllegalArgsErr)
	_, err = c.Call(wire.SCSIExecuteCDB, &wire.ExecuteCDBRequest{Flags: 3, CDB: []byte{0}})
	expectErr(t, "in and out", err, wire.IllegalArgsErr)
	expectErr(t, "close", c.SCSIClose(), wire.NoErr)
	expectErr(t, "open after close", c2.SCSIOpen("mc0"), wire.NoErr)
}
