package ndmp_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tapelab/internal/testpeer"
)

// serveInNetns starts the lab's server on 127.0.0.1:10000 of a private
// namespace (in addition to its normal listener) and returns the namespace.
func serveInNetns(t *testing.T, l *lab) *netns {
	t.Helper()
	ns := newNetns(t)
	ln, err := ns.listen("127.0.0.1:10000")
	if err != nil {
		t.Fatal(err)
	}
	l.srv.Serve(ln)
	return ns
}

// TestTsharkDecodesSession captures a query and a local backup with
// ndmjob and checks that Wireshark's dissector decodes every NDMP PDU: no
// malformed packets, no expert errors, nothing left undecoded on port 10000.
func TestTsharkDecodesSession(t *testing.T) {
	dumpcap := testpeer.Program(t, "dumpcap")
	tshark := testpeer.Program(t, "tshark")
	nj := testpeer.Program(t, "ndmjob", ndmjobPath)
	l := newLab(t, labConfig())
	ns := serveInNetns(t, l)
	pcap := filepath.Join(t.TempDir(), "session.pcap")
	cap := ns.command(dumpcap, "-i", "lo", "-f", "tcp port 10000", "-w", pcap)
	stderr, _ := cap.StderrPipe()
	if err := cap.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Capturing on") {
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		cap.Process.Kill()
		t.Fatal("dumpcap did not start")
	}
	// dumpcap reports "Capturing on" a moment before packets flow.
	time.Sleep(time.Second)
	A := "127.0.0.1:10000/4m,ndmp,ndmp"
	out, _ := ns.command(nj, "-q", "-D", A).CombinedOutput()
	mustContain(t, string(out), "Data Agent 127.0.0.1 NDMPv4")
	out, _ = ns.command(nj, "-c", "-v", "-D", A, "-B", "lab", "-C", "/vs1/vol1", "-E", "SIZE=200000", "-E", "FILES=5", "-I", filepath.Join(t.TempDir(), "idx"), "-T", A, "-f", "nrst0a").CombinedOutput()
	mustContain(t, string(out), `SESS "Operation ended OKAY"`)
	// The conformance series and a robot query put every TAPE, MOVER,
	// DATA and SCSI message (and many error replies) on the wire.
	shims := testpeer.Shim(t, "gmalloc0") + " " + testpeer.Shim(t, "skip_tbwr")
	tt := ns.command(nj, "-o", "test-tape", "-T", A, "-f", "nrst0a")
	tt.Env = append(os.Environ(), "LD_PRELOAD="+shims)
	out, _ = tt.CombinedOutput()
	mustContain(t, string(out), "FINAL test-tape Passed")
	out, _ = ns.command(nj, "-o", "test-mover", "-T", A, "-f", "nrst0a").CombinedOutput()
	mustContain(t, string(out), "FINAL test-mover Passed")
	out, _ = ns.command(nj, "-o", "test-data", "-D", A, "-B", "lab").CombinedOutput()
	mustContain(t, string(out), "FINAL test-data Passed")
	out, _ = ns.command(nj, "-q", "-R", A, "-r", "mc0").CombinedOutput()
	mustContain(t, string(out), "slots 10@1024")
	// The query again at the end, in case dumpcap missed the first packets.
	out, _ = ns.command(nj, "-q", "-D", A).CombinedOutput()
	mustContain(t, string(out), "Data Agent 127.0.0.1 NDMPv4")
	time.Sleep(300 * time.Millisecond) // let the last packets reach dumpcap
	cap.Process.Signal(syscall.SIGINT)
	cap.Wait()

	sum, err := run(tshark, "-r", pcap, "-Y", "ndmp")
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, sum)
	}
	for _, want := range []string{"NOTIFY_CONNECTED Request", "CONNECT_OPEN Reply", "CONFIG_GET_AUTH_ATTR Reply", "CONNECT_CLIENT_AUTH Reply",
		"CONFIG_GET_FS_INFO Reply", "TAPE_OPEN Reply", "MOVER_LISTEN Reply", "DATA_CONNECT Reply", "DATA_START_BACKUP Reply",
		"FH_ADD_FILE Request", "NOTIFY_DATA_HALTED Request", "NOTIFY_MOVER_HALTED Request", "DATA_GET_ENV Reply",
		"TAPE_MTIO Reply", "TAPE_WRITE Request", "TAPE_READ Reply", "MOVER_ABORT Reply", "MOVER_STOP Reply", "MOVER_SET_WINDOW Reply",
		"DATA_LISTEN Reply", "DATA_ABORT Reply", "CONFIG_GET_SCSI_INFO Reply", "SCSI_OPEN Reply",
		"SCSI: Inquiry", "SCSI: Read Element Status", "SCSI: Response"} {
		if !strings.Contains(sum, want) {
			t.Errorf("capture lacks %q", want)
		}
	}
	if n := strings.Count(sum, "\n"); n < 40 {
		t.Errorf("only %d NDMP PDUs decoded", n)
	}
	bad, _ := run(tshark, "-r", pcap, "-Y", `_ws.malformed || _ws.expert.severity >= "Error"`)
	if strings.TrimSpace(bad) != "" {
		t.Errorf("malformed or expert errors:\n%s", bad)
	}
	undecoded, _ := run(tshark, "-r", pcap, "-Y", "tcp.port==10000 && tcp.len>0 && !ndmp && !tcp.reassembled_in")
	if strings.TrimSpace(undecoded) != "" {
		t.Errorf("undecoded PDUs:\n%s", undecoded)
	}
	if t.Failed() {
		if len(sum) > 8000 {
			sum = sum[:8000]
		}
		t.Logf("tshark summary:\n%s", sum)
	}
}

// TestNmapReportsServer runs nmap's ndmp-version and ndmp-fs-info scripts.
func TestNmapReportsServer(t *testing.T) {
	nmap := testpeer.Program(t, "nmap")
	l := newLab(t, labConfig())
	ns := serveInNetns(t, l)
	out, err := ns.command(nmap, "-Pn", "-n", "-p", "10000", "--script", "ndmp-fs-info,ndmp-version", "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	mustContain(t, string(out), "10000/tcp open  ndmp", "ndmp-fs-info:", "tapelab  /vs1/vol1       vol1", "Service Info: OS: tapelab")
	t.Logf("%s", out)
}

// run returns a command's standard output without tshark's "Running as
// user root" warning.
func run(name string, args ...string) (string, error) {
	out, err := osexec(name, args...)
	var keep []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "Running as user") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n"), err
}
