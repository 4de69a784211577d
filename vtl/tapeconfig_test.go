package vtl

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hpLTO5 is the example file of seed 001, verbatim.
const hpLTO5 = `vendor_id="HP"
product_id="Ultrium 5-SCSI"
id_match_size=9
vendor_pretty="Hewlett-Packard"
product_pretty="LTO-5"
l_description="LTO-3(ro)/4 4/800GB"
l_density=0x00
l_algorithm=0x00
m_description="LTO-3(ro)/4 8/1600GB cmp"
m_density=0x00
m_algorithm=0x01
h_description="LTO-5 1600GB"
h_density=0x58
h_algorithm=0x00
a_description="LTO-5 3200GB cmp"
a_density=0x58
a_algorithm=0x01
autoload="yes"
`

func TestParseTapeConfigSeedExample(t *testing.T) {
	c, err := ParseTapeConfig("HP_LTO5.TCF", []byte(hpLTO5))
	if err != nil {
		t.Fatal(err)
	}
	if c.VendorID != "HP" || c.ProductID != "Ultrium 5-SCSI" || c.IDMatchSize != 9 || !c.Autoload || c.Pretty() != "Hewlett-Packard LTO-5" {
		t.Fatalf("%+v", c)
	}
	if a := c.Densities['a']; a.Density != 0x58 || a.Algorithm != 1 || a.Description != "LTO-5 3200GB cmp" {
		t.Fatalf("a: %+v", a)
	}
	if !c.Matches("HP", "Ultrium 5-SCSI") || !c.Matches("HP      ", "Ultrium 5-FOO") || c.Matches("HP", "Ultrium 6-SCSI") || c.Matches("IBM", "Ultrium 5-SCSI") {
		t.Fatal("matching by id_match_size")
	}
	back, err := ParseTapeConfig("x", []byte(c.Format()))
	if err != nil || back.Format() != c.Format() {
		t.Fatalf("round trip: %v\n%s", err, c.Format())
	}
	for _, bad := range []string{
		"vendor_id=\"HP\"\n",                                                                      // no product_id
		"vendor_id=\"TOOLONGVENDOR\"\nproduct_id=\"x\"\n",                                         // > 8 bytes
		"vendor_id=\"HP\"\nproduct_id=\"x\"\nvendor_pretty=\"a\"\n",                               // pretty pair
		"vendor_id=\"HP\"\nproduct_id=\"x\"\nl_density=0xzz\n",                                    // hex
		"vendor_id=\"HP\"\nproduct_id=\"x\"\nautoload=\"maybe\"\n",                                // bool
		"vendor_id=\"HP\"\nproduct_id=\"x\"\ncmd_timeout_0x08=10\n",                               // unit
		"vendor_id=\"HP\"\nproduct_id=\"x\"\nbogus=1\n",                                           // field
		"vendor_id=\"HP\"\nproduct_id=\"x\"\nl_description=\"" + strings.Repeat("x", 25) + "\"\n", // > 24
	} {
		if _, err := ParseTapeConfig("bad", []byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("accepted %q: %v", bad, err)
		}
	}
	c, err = ParseTapeConfig("t", []byte("vendor_id=\"X\"\nproduct_id=\"Y\"\ncmd_timeout_0x01=5m\ncmd_timeout_0x08=250ms\n"))
	if err != nil || c.CmdTimeouts[1] != 5*time.Minute || c.CmdTimeouts[8] != 250*time.Millisecond {
		t.Fatal(err, c.CmdTimeouts)
	}
}

func TestShippedConfigsAndQualification(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tapeconfig"), 0o755)
	os.WriteFile(filepath.Join(dir, "tapeconfig", "STK.TCF"), []byte("vendor_id=\"STK\"\nproduct_id=\"T9840C\"\nvendor_pretty=\"StorageTek\"\nproduct_pretty=\"T9840C\"\nh_description=\"T9840C\"\nh_density=0x45\n"), 0o644)
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, spec := range []LibrarySpec{
		{Name: "ibm8", Drives: 1, DriveModel: "IBM ULT3580-TD8"},
		{Name: "ibm9", Drives: 1, DriveModel: "IBM LTO-9"},
		{Name: "stk", Drives: 1, DriveModel: "STK T9840C"},
		{Name: "odd", Drives: 1, DriveModel: "ACME TapeMaster 3000"},
	} {
		if _, err := v.CreateLibrary(spec); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]SupportStatus{"st0": Qualified, "st1": DynamicallyQualified, "st2": DynamicallyQualified, "st3": Nonqualified}
	for name, st := range want {
		d, _ := v.Drive(name)
		if got := d.Info().Status; got != st {
			t.Errorf("%s (%s %s): %s, want %s", name, d.Info().Vendor, d.Info().Product, got, st)
		}
	}
	if d, _ := v.Drive("st2"); len(d.Info().DeviceNames) != 3 || d.Info().DeviceNames[0].Name != "rst2h" {
		t.Fatalf("STK device names %+v", d.Info().DeviceNames)
	}
	ss := v.SupportedStatus()
	if len(ss) < 10 || ss[3].Name != "ACME TapeMaster 3000" || ss[3].Supported || ss[3].Status != Nonqualified || !ss[3].Attached {
		t.Fatalf("supported status %+v", ss)
	}
	shipped := 0
	for _, c := range v.configs {
		if strings.HasPrefix(c.File, "shipped") {
			shipped++
			if len(c.Densities) != 4 || c.Densities['a'].Algorithm == 0 || c.Densities['h'].Algorithm != 0 {
				t.Errorf("%s densities %+v", c.File, c.Densities)
			}
		}
	}
	if shipped != 10 {
		t.Fatalf("%d shipped configuration files", shipped)
	}
}
