package vtl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tapelab/internal/testpeer"
	"tapelab/vtl/scsi"
)

// TestPagesDecodeWithSg3Utils decodes our INQUIRY, VPD and LOG SENSE data
// with sg3_utils' own decoders (sg_inq, sg_vpd, sg_logs reading ASCII hex).
func TestPagesDecodeWithSg3Utils(t *testing.T) {
	sgInq := testpeer.Program(t, "sg_inq", "/usr/bin/sg_inq")
	sgVpd := testpeer.Program(t, "sg_vpd", "/usr/bin/sg_vpd")
	sgLogs := testpeer.Program(t, "sg_logs", "/usr/bin/sg_logs")
	v, d := newLab(t, 0)
	c := d.Library().Changer()
	v.InjectCartridgeFault("TL0001L8", Fault{Kind: FaultWriteError, Count: 1})
	d.WriteRecord(rec(1, 100))
	dir := t.TempDir()
	cases := []struct {
		dev  scsi.Device
		cdb  []byte
		prog string
		args []string
		want []string
	}{
		{d, []byte{0x12, 0, 0, 0, 255, 0}, sgInq, []string{"--inhex"}, []string{"PDT=1", "RMB=1", "[SPC-4]", "Peripheral device type: tape", "Vendor identification: IBM", "Product identification: ULT3580-TD8", "Product revision level: TL01"}},
		{c, []byte{0x12, 0, 0, 0, 255, 0}, sgInq, []string{"--inhex"}, []string{"PDT=8", "medium changer", "Product identification: 03584L32"}},
		{d, []byte{0x12, 1, 0x80, 0, 255, 0}, sgVpd, []string{"--inhex"}, []string{"Unit serial number: " + d.Serial()}},
		{d, []byte{0x12, 1, 0x83, 0, 255, 0}, sgVpd, []string{"--inhex"}, []string{"T10 vendor identification", "vendor id: IBM", "ULT3580-TD8     " + d.Serial(), "designator type: NAA"}},
		{d, []byte{0x12, 1, 0x00, 0, 255, 0}, sgVpd, []string{"--inhex"}, []string{"Supported VPD pages", "Unit serial number", "Device identification"}},
		{d, []byte{0x4d, 0, 0x40 | 0x02, 0, 0, 0, 0, 0x10, 0, 0}, sgLogs, []string{"--pdt=1", "--in"}, []string{"Write error counter page", "Total uncorrected errors = 1"}},
		{d, []byte{0x4d, 0, 0x40 | 0x31, 0, 0, 0, 0, 0x10, 0, 0}, sgLogs, []string{"--pdt=1", "--in"}, []string{"Tape capacity page", "Main partition maximum capacity (in MiB): 11444091"}},
		{d, []byte{0x4d, 0, 0x40 | 0x2e, 0, 0, 0, 0, 0x10, 0, 0}, sgLogs, []string{"--pdt=1", "--in"}, []string{"Tape alert page", "Write failure: 1", "Media: 1", "Read failure: 0"}},
	}
	for _, tc := range cases {
		args := tc.args
		last := args[len(args)-1]
		args = append(args[:len(args)-1:len(args)-1], last+"=")
		full := decodeWith(t, tc.dev, tc.cdb, tc.prog, args, dir)
		for _, w := range tc.want {
			if !strings.Contains(full, w) {
				t.Errorf("%s of cdb % x lacks %q:\n%s", filepath.Base(tc.prog), tc.cdb, w, full)
			}
		}
	}
}

func decodeWith(t *testing.T, dev scsi.Device, cdb []byte, prog string, args []string, dir string) string {
	t.Helper()
	data, st, _ := dev.Execute("sg3", cdb, nil, 4096)
	if st != scsi.StatusGood {
		t.Fatalf("cdb % x: status %#x", cdb, st)
	}
	var b strings.Builder
	for i, x := range data {
		fmt.Fprintf(&b, "%02x ", x)
		if i%16 == 15 {
			b.WriteByte('\n')
		}
	}
	f := filepath.Join(dir, "page.hex")
	if err := os.WriteFile(f, []byte(b.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := append([]string(nil), args...)
	a[len(a)-1] += f
	out, err := exec.Command(prog, a...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, a, err, out)
	}
	return string(out)
}
