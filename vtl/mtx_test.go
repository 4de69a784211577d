package vtl

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tapelab/internal/testpeer"
	"tapelab/vtl/scsi"
)

// serveSG serves dev on a Unix socket in the protocol of internal/testpeer/shims/sgshim.c
// and returns the socket path.
func serveSG(t *testing.T, dev scsi.Device) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "sg.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				for {
					var cl [1]byte
					if _, err := io.ReadFull(c, cl[:]); err != nil {
						return
					}
					cdb := make([]byte, cl[0])
					var n uint32
					if _, err := io.ReadFull(c, cdb); err != nil || binary.Read(c, binary.LittleEndian, &n) != nil {
						return
					}
					out := make([]byte, n)
					if _, err := io.ReadFull(c, out); err != nil || binary.Read(c, binary.LittleEndian, &n) != nil {
						return
					}
					data, st, sense := dev.Execute("mtx", cdb, out, int(n))
					if os.Getenv("SGDEBUG") != "" {
						t.Logf("cdb % x alloc %d -> st %d sense % x data(%d) % x", cdb, n, st, sense, len(data), data)
					}
					resp := append([]byte{st, byte(len(sense))}, sense...)
					resp = binary.LittleEndian.AppendUint32(resp, uint32(len(data)))
					if _, err := c.Write(append(resp, data...)); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	return sock
}

// sgShim builds the SG_IO shim (internal/testpeer/shims/sgshim.c).
func sgShim(t *testing.T) string { return testpeer.Shim(t, "sgshim") }

// TestMtxAgainstChanger runs the real mtx (what Amanda and Bacula scripts
// call) against our medium changer through the SG_IO shim.
func TestMtxAgainstChanger(t *testing.T) {
	mtx := testpeer.Program(t, "mtx", "/usr/sbin/mtx", "/usr/bin/mtx")
	so := sgShim(t)
	v, d := newLab(t, 0)
	v.CreateCartridge(CartridgeSpec{Barcode: "TL0002L8", Library: "lib"})
	v.CreateCartridge(CartridgeSpec{Barcode: "TL0003L8"})
	v.ImportCartridge("lib", "TL0003L8")
	sock := serveSG(t, d.Library().Changer())
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(mtx, append([]string{"-f", "/tapelab-sg"}, args...)...)
		cmd.Env = append(os.Environ(), "LD_PRELOAD="+so, "TAPELAB_SG_SOCKET="+sock)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mtx %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	want := func(out string, lines ...string) {
		t.Helper()
		for _, l := range lines {
			if !strings.Contains(out, l) {
				t.Fatalf("mtx output lacks %q:\n%s", l, out)
			}
		}
	}
	want(run("inquiry"), "Product Type: Medium Changer", "Vendor ID: 'IBM     '", "Product ID: '03584L32        '")
	out := run("status")
	want(out, "2 Drives, 5 Slots ( 1 Import/Export )",
		"Data Transfer Element 0:Full (Storage Element 1 Loaded):VolumeTag = TL0001L8",
		"Data Transfer Element 1:Empty",
		"Storage Element 1:Empty",
		"Storage Element 2:Full :VolumeTag=TL0002L8",
		"Storage Element 3:Empty",
		"Storage Element 5 IMPORT/EXPORT:Full :VolumeTag=TL0003L8")
	run("load", "2", "1")
	d1, _ := v.Drive("st1")
	if info, ok := d1.Cartridge(); !ok || info.Barcode != "TL0002L8" {
		t.Fatalf("mtx load: drive 1 holds %+v", info)
	}
	run("unload", "1", "0")
	run("transfer", "5", "3")
	out = run("nobarcode", "status")
	want(out, "Data Transfer Element 0:Empty", "Data Transfer Element 1:Full (Storage Element 2 Loaded)",
		"Storage Element 1:Full", "Storage Element 2:Empty", "Storage Element 3:Full", "Storage Element 5 IMPORT/EXPORT:Empty")
	if info, _ := v.Cartridge("TL0003L8"); info.Location.Element != ElementStorage || info.Location.Index != 3 {
		t.Fatalf("mtx transfer 5 3: %+v", info.Location)
	}
	if strings.Contains(out, "VolumeTag") {
		t.Fatalf("nobarcode status shows volume tags:\n%s", out)
	}
}

// TestSg3UtilsAgainstDrive runs sg3_utils tools (real CDBs, their own
// decoders) against a drive through the SG_IO shim.
func TestSg3UtilsAgainstDrive(t *testing.T) {
	so := sgShim(t)
	v, d := newLab(t, 0)
	d.WriteRecord(rec(1, 1000))
	sock := serveSG(t, d)
	run := func(wantOK bool, prog string, args ...string) string {
		t.Helper()
		p := testpeer.Program(t, prog, "/usr/bin/"+prog)
		cmd := exec.Command(p, append(args, "/tapelab-sg")...)
		cmd.Env = append(os.Environ(), "LD_PRELOAD="+so, "TAPELAB_SG_SOCKET="+sock)
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK {
			t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
		}
		return string(out)
	}
	want := func(out string, subs ...string) {
		t.Helper()
		for _, s := range subs {
			if !strings.Contains(out, s) {
				t.Fatalf("output lacks %q:\n%s", s, out)
			}
		}
	}
	want(run(true, "sg_inq"), "Peripheral device type: tape", "Product identification: ULT3580-TD8", "Unit serial number: "+d.Serial())
	want(run(true, "sg_modes", "-a"), "Density code=0x5e", "Data Compression", "Device configuration", "Control, page_control: current")
	want(run(true, "sg_read_block_limits"), "Minimum block size: 1 byte", "Maximum block size: 8388608")
	want(run(true, "sg_opcodes"), "Locate(16)", "Space(16)", "Read position", "Persistent reserve out, preempt")
	want(run(true, "sg_logs", "-a"), "Total bytes processed = 1000", "Tape alert page", "Tape capacity page")
	want(run(true, "sg_vpd", "-a"), "Unit serial number: "+d.Serial(), "T10 vendor identification")
	want(run(true, "sg_persist", "-k"), "there are NO registered reservation keys")
	want(run(true, "sg_read_attr"), "Medium serial number: TL0001L8", "Barcode: TL0001L8", "Load count: 1",
		"Maximum capacity in partition [MiB]: 11444091", "Medium manufacturer: TAPELAB")
	run(true, "sg_turs")
	run(true, "sg_prevent", "--allow")
	want(run(true, "sg_requests"), "No Sense")
	if _, err := v.UnloadCartridge("st0"); err != nil {
		t.Fatal(err)
	}
	want(run(false, "sg_turs"), "device not ready")
	want(run(true, "sg_requests"), "Not Ready", "Medium not present")
}
