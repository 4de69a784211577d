package ndmp_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"strings"

	"tapelab/internal/testpeer"
	"tapelab/ndmp/client"
	"tapelab/ndmp/wire"
	"tapelab/vtl"
)

func TestNdmjobQueryAgents(t *testing.T) {
	l := newLab(t, ndmpConfigWithFS())
	// Plaintext is off by default (SVM-scoped mode): ndmjob's default
	// TEXT authentication is refused until `ndmp modify --plaintext=true`.
	out := ndmjob(t, nil, "-q", "-D", l.agent("4t"))
	if strings.Contains(out, "Data Agent 127.0.0.1 NDMPv4") {
		t.Fatalf("plaintext accepted while disabled:\n%s", out)
	}
	if err := l.srv.Modify("plaintext", "true"); err != nil {
		t.Fatal(err)
	}
	out = ndmjob(t, nil, "-q", "-D", l.agent("4"))
	mustContain(t, out, "Data Agent 127.0.0.1 NDMPv4", "vendor     tapelab", "auths      (2)  NDMP4_AUTH_TEXT NDMP4_AUTH_MD5",
		"NDMP4_ADDR_LOCAL NDMP4_ADDR_TCP", "/vs1/vol1")
	out = ndmjob(t, nil, "-q", "-T", l.agent("4m"))
	mustContain(t, out, "Tape Agent 127.0.0.1 NDMPv4", "nrst0a", "rst1a")
	out = ndmjob(t, nil, "-q", "-R", l.agent("4m"), "-r", "mc0")
	mustContain(t, out, "scsi IBM 03584L32", "device     mc0", "slots 10@1024  drive 2@256  arm 1@1  i/e 2@768",
		"@1025 SLOT Full  PVolTag(TL0002L8,#0)", "@256 TAPE Full", "PVolTag(TL0001L8,#0)", "@257 TAPE Empty")
}

func TestNdmjobTestTape(t *testing.T) {
	l := newLab(t, ndmpConfigWithFS())
	shims := testpeer.Shim(t, "gmalloc0") + " " + testpeer.Shim(t, "skip_tbwr")
	out := ndmjob(t, []string{"LD_PRELOAD=" + shims}, "-o", "test-tape", "-v", "-T", l.agent("4m"), "-f", "nrst0a")
	mustContain(t, out, "Test T-OC Passed", "Test T-BGS Passed", "Test T-BW Passed", "Test T-BR Passed",
		"Test T-WRITE Passed", "Test T-READ Passed", "Test T-MTIO Passed", "FINAL test-tape Passed")
}

// TestNdmjobTestData runs ndmjob's DATA conformance series (ndmjob's own
// daemon stops at D-LISTEN #3: it has no DATA_LISTEN).
func TestNdmjobTestData(t *testing.T) {
	l := newLab(t, labConfig())
	out := ndmjob(t, nil, "-o", "test-data", "-v", "-D", l.agent("4m"), "-B", "lab", "-f", "nrst0a")
	mustContain(t, out, "Test D-IDLE Passed", "Test D-LISTEN Passed", "Test D-LISTEN/bogus-args Passed",
		"FINAL test-data Passed", "LOCAL and TCP addressing tested.")
}

func TestNdmjobTestMover(t *testing.T) {
	l := newLab(t, ndmpConfigWithFS())
	out := ndmjob(t, nil, "-o", "test-mover", "-v", "-T", l.agent("4m"), "-f", "nrst0a")
	mustContain(t, out, "Test M-IDLE Passed", "Test M-LISTEN/tape-rw Passed", "FINAL test-mover Passed", "LOCAL and TCP addressing tested.")
}

// TestNdmjobRobot drives our changer (mc0, through the VTL's SMC layer)
// and drive with ndmjob's robot operations and checks both ndmjob's lines
// and where the VTL says the cartridges are.
func TestNdmjobRobot(t *testing.T) {
	l := newLabLoaded(t, ndmpConfigWithFS(), false)
	R := []string{"-R", l.agent("4m"), "-r", "mc0"}
	T := []string{"-T", l.agent("4m"), "-f", "nrst0a"}
	run := func(args ...string) string { return ndmjob(t, nil, args...) }
	where := func(barcode string) vtl.Location {
		t.Helper()
		c, err := l.inv.Cartridge(barcode)
		if err != nil {
			t.Fatal(err)
		}
		return c.Location
	}

	out := run(append(append(append([]string{"-o", "init-labels", "-v"}, R...), T...), "-m", "VOL001@1025", "-m", "VOL002@1026")...)
	mustContain(t, out, `Commanding robot to load slot @1025 into drive @256`, `Writing tape label 'VOL001' type=m`,
		`Commanding robot to unload drive @256 to slot @1026`, `SESS "Operation complete"`)

	out = run(append(append(append([]string{"-l", "-v"}, R...), T...), "-m", "@1025", "-m", "@1026")...)
	mustContain(t, out, `ME "VOL001@1025"`, `ME "VOL002@1026"`)

	out = run(append(append([]string{"-o", "load=1027", "-v"}, R...), T...)...)
	mustContain(t, out, `Commanding robot to load slot @1027 into drive @256`, `SESS "Operation complete"`)
	if loc := where("TL0004L8"); loc.Element != vtl.ElementDrive {
		t.Fatalf("after load, TL0004L8 is at %v", loc)
	}
	out = run(append(append([]string{"-o", "unload", "-v"}, R...), T...)...)
	mustContain(t, out, `Commanding robot to unload drive @256 to slot @1027`)
	if loc := where("TL0004L8"); loc.Element != vtl.ElementStorage {
		t.Fatalf("after unload, TL0004L8 is at %v", loc)
	}
	out = run(append([]string{"-o", "export=1028", "-v"}, R...)...)
	mustContain(t, out, `SESS "Operation complete"`)
	if loc := where("TL0005L8"); loc.Element != vtl.ElementImportExport {
		t.Fatalf("after export, TL0005L8 is at %v", loc)
	}
	out = run(append([]string{"-o", "import=1028", "-v"}, R...)...)
	mustContain(t, out, `SESS "Operation complete"`)
	if loc := where("TL0005L8"); loc.Element != vtl.ElementStorage {
		t.Fatalf("after import, TL0005L8 is at %v", loc)
	}
	out = run(append([]string{"-o", "move", "-o", "from-addr=1029", "-o", "to-addr=1033", "-v"}, R...)...)
	mustContain(t, out, `SESS "Operation complete"`)
	out = run(append([]string{"-q"}, R...)...)
	mustContain(t, out, "@1033 SLOT Full  PVolTag(TL0006L8,#0)", "@1029 SLOT Empty", "@256 TAPE Empty")
	if len(l.srv.Sessions()) > 0 {
		// ndmjob has closed every connection; sessions end with them.
		waitNoSessions(t, l)
	}
}

// TestNdmjobBackupRestore has ndmjob drive our DATA service (butype lab)
// and mover: a local backup with file history, a table of contents and a
// restore, then a three-way backup (separate DATA and TAPE sessions, TCP
// data connection).
func TestNdmjobBackupRestore(t *testing.T) {
	l := newLab(t, labConfig())
	A := l.agent("4m")
	idx := filepath.Join(t.TempDir(), "c-index")
	out := ndmjob(t, nil, "-c", "-v", "-D", A, "-B", "lab", "-C", "/vs1/vol1", "-I", idx, "-E", "SIZE=3000000", "-E", "FILES=40", "-T", A, "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`, `SESS "Operation complete"`)
	index, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, string(index), "DE DUMP_DATE=1700000000", "DHf /f0 UNIX f- m0644 u0 g0 s0 tm1700000000 @0",
		"DHf /f39 UNIX f- m0644 u0 g0 s3900 tm1700000000 @19968")
	out = ndmjob(t, nil, "-t", "-v", "-D", A, "-B", "lab", "-I", "t-index", "-E", "SIZE=3000000", "-T", A, "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`)
	out = ndmjob(t, nil, "-x", "-v", "-D", A, "-B", "lab", "-C", "/vs1/vol1", "-E", "SIZE=3000000", "-T", A, "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`)
	// Three-way: DATA and TAPE in separate sessions, MOVER_LISTEN TCP.
	l.srv.Modify("plaintext", "true")
	out = ndmjob(t, nil, "-c", "-v", "-D", l.agent("4m"), "-T", l.agent("4t"), "-B", "lab", "-C", "/vs1/vol1", "-E", "SIZE=2000000", "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`)
	// Swapped connection: DATA_LISTEN on the data side, MOVER_CONNECT
	// (ndmjob's own daemon cannot do this: it has no DATA_LISTEN).
	out = ndmjob(t, nil, "-c", "-v", "-o", "swap-connect", "-D", l.agent("4m"), "-T", l.agent("4t"), "-B", "lab", "-C", "/vs1/vol1", "-E", "SIZE=1500000", "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`)
	// Three-way restore of it.
	out = ndmjob(t, nil, "-x", "-v", "-D", l.agent("4m"), "-T", l.agent("4t"), "-B", "lab", "-C", "/vs1/vol1", "-E", "SIZE=1500000", "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`)
	waitNoSessions(t, l)
}

// TestQueryMatchesNdmjob checks that client.Query prints the lines ndmjob
// -q prints for the DATA and TAPE agents.
func TestQueryMatchesNdmjob(t *testing.T) {
	l := newLab(t, labConfig())
	c, err := client.Dial(l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect("ndmp", "ndmp", false); err != nil {
		t.Fatal(err)
	}
	var ours strings.Builder
	if err := client.Query(&ours, c, "Agent", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	theirs := ndmjob(t, nil, "-q", "-D", l.agent("4m")) + ndmjob(t, nil, "-q", "-T", l.agent("4m"))
	n := 0
	for _, line := range strings.Split(ours.String(), "\n") {
		if strings.HasPrefix(line, "Agent ") || strings.HasPrefix(line, "  scsi") || strings.HasPrefix(line, "    device     mc0") ||
			strings.Contains(line, "SERIAL_NUMBER=VLIB") || strings.HasPrefix(line, "  Empty scsi") {
			continue // ndmjob shows changers only in a robot query
		}
		if !strings.Contains(theirs, `QR "`+line+`"`) {
			t.Errorf("ndmjob -q does not print %q", line)
		}
		n++
	}
	if n < 40 || t.Failed() {
		t.Fatalf("compared %d lines; ours:\n%s", n, ours.String())
	}
}

// TestClientRobot lists volume tags and moves cartridges over NDMP SCSI
// with our client (what `tapelab tape` does) and checks the VTL agrees.
func TestClientRobot(t *testing.T) {
	l := newLab(t, labConfig())
	c, err := client.Dial(l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect("ndmp", "ndmp", false); err != nil {
		t.Fatal(err)
	}
	if err := c.SCSIOpen("mc0"); err != nil {
		t.Fatal(err)
	}
	els, err := c.ReadElementStatus()
	if err != nil {
		t.Fatal(err)
	}
	tags := map[uint16]string{}
	for _, e := range els {
		if e.Full {
			tags[e.Addr] = e.VolTag
		}
	}
	if len(els) != 15 || tags[256] != "TL0001L8" || tags[1025] != "TL0002L8" || tags[1024] != "" {
		t.Fatalf("elements %+v", els)
	}
	arm := client.Transport(els)
	if err := c.MoveMedium(arm, 1025, 257); err != nil { // load into the second drive
		t.Fatal(err)
	}
	if loc, _ := l.inv.Cartridge("TL0002L8"); loc.Location.Element != vtl.ElementDrive {
		t.Fatalf("TL0002L8 at %+v", loc.Location)
	}
	var se *client.SCSIError
	if err := c.MoveMedium(arm, 1025, 1030); !errors.As(err, &se) || se.Key != 5 {
		t.Fatalf("moving from an empty slot: %v", err)
	}
	if err := c.MoveMedium(arm, 257, 1025); err != nil {
		t.Fatal(err)
	}
}

// TestVTLDriveReleaseAndCDB: TAPE_EXECUTE_CDB reaches the VTL drive's SSC
// layer; a killed session releases its VTL reservation.
func TestVTLDriveReleaseAndCDB(t *testing.T) {
	l := newLab(t, labConfig())
	a, err := client.Dial(l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Connect("ndmp", "ndmp", false); err != nil {
		t.Fatal(err)
	}
	if err := a.TapeOpen("nrst0a", wire.TapeRDWRMode); err != nil {
		t.Fatal(err)
	}
	// INQUIRY through the drive's SCSI layer.
	r, err := a.TapeExecuteCDB([]byte{0x12, 0, 0, 0, 96, 0}, nil, 96)
	if err != nil || r.Status != 0 || len(r.Datain) < 36 || !strings.Contains(string(r.Datain[8:36]), "ULT3580") {
		t.Fatalf("INQUIRY: %+v %v", r, err)
	}
	drive, err := l.inv.Drive("st0")
	if err != nil {
		t.Fatal(err)
	}
	if drive.Owner() == "" {
		t.Fatal("open drive not reserved in the VTL")
	}
	b, err := client.Dial(l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Connect("ndmp", "ndmp", false); err != nil {
		t.Fatal(err)
	}
	if err := b.TapeOpen("nrst0a", wire.TapeReadMode); !errors.Is(err, wire.DeviceBusyErr) {
		t.Fatalf("second open: %v", err)
	}
	for _, s := range l.srv.Sessions() {
		if s.TapeDevice == "nrst0a" {
			if err := l.srv.Kill(s.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 0; drive.Owner() != ""; i++ {
		if i == 500 {
			t.Fatalf("reservation still held by %q", drive.Owner())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.TapeOpen("nrst0a", wire.TapeReadMode); err != nil {
		t.Fatalf("open after kill: %v", err)
	}
}
