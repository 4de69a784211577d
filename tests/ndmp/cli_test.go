package ndmp_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"tapelab/internal/testlab"
	"tapelab/ndmp/client"
	"tapelab/ndmp/wire"
)

var tapelabBin string

func TestMain(m *testing.M) { testlab.Main(m, &tapelabBin) }

// TestCLINDMP drives `tapelab ndmp ...` and `tapelab tape ...` against a
// running `tapelab serve`, with a real DMA session to look at.
func TestCLINDMP(t *testing.T) {
	l := testlab.New(t, tapelabBin)
	addr := l.Serve()
	l.Run("vtl", "library", "create", "lib0", "--drives", "1", "--slots", "3")
	l.Run("vtl", "tape", "create", "TL0001L8", "--library", "lib0")
	l.Run("vtl", "tape", "create", "TL0002L8", "--library", "lib0")

	l.Run("ndmp", "user", "add", "backup", "--password", "secret")
	out := l.Run("ndmp", "generate-password", "--user", "vsadmin")
	m := regexp.MustCompile(`Password:\s+(\S+)`).FindStringSubmatch(out)
	if m == nil || len(m[1]) != 16 {
		t.Fatalf("generate-password:\n%s", out)
	}
	pw := m[1]
	l.Run("ndmp", "modify", "--plaintext=true", "--max-sessions=12")
	out = l.Run("ndmp", "show")
	for _, want := range []string{"Authentication type plaintext:      true", "Maximum NDMP sessions:              12", "Listening on:                       " + addr, "Users:                              backup, vsadmin"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if out := l.Run("ndmp", "version"); !strings.Contains(out, "NDMP version 4") {
		t.Errorf("version: %s", out)
	}

	// Labels and moves over NDMP, through the node's own DMA credentials.
	out = l.Run("tape", "labels")
	if !regexp.MustCompile(`1024\s+slot\s+full\s+TL0001L8`).MatchString(out) {
		t.Fatalf("labels:\n%s", out)
	}
	l.Run("tape", "load", "--from", "1024")
	out = l.Run("tape", "labels")
	if !regexp.MustCompile(`256\s+drive\s+full\s+TL0001L8\s+1024`).MatchString(out) {
		t.Fatalf("after load:\n%s", out)
	}

	// A DMA session to watch: status, probe, trace, kill.
	c, err := client.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect("vsadmin", pw, false); err != nil {
		t.Fatal(err)
	}
	if err := c.TapeOpen("nrst0a", wire.TapeReadMode); err != nil {
		t.Fatal(err)
	}
	out = l.Run("ndmp", "status")
	m = regexp.MustCompile(`(?m)^(\d+)\s+127\.0\.0\.1:\d+\s+vsadmin\s+nrst0a\s+IDLE`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("status:\n%s", out)
	}
	id := m[1]
	out = l.Run("ndmp", "probe", id)
	if !strings.Contains(out, "Tape device:") || !strings.Contains(out, "nrst0a") || !strings.Contains(out, "READ") {
		t.Fatalf("probe:\n%s", out)
	}
	out = l.Run("ndmp", "log", "start", id)
	tm := regexp.MustCompile(`trace:\s+(\S+)`).FindStringSubmatch(out)
	if tm == nil {
		t.Fatalf("log start:\n%s", out)
	}
	c.TapeGetState()
	l.Run("ndmp", "log", "stop", id)
	if tr, _ := os.ReadFile(tm[1]); !strings.Contains(string(tr), "NDMP4_TAPE_GET_STATE") {
		t.Fatalf("trace file:\n%s", tr)
	}
	out = l.Run("ndmp", "query", addr, "--user", "backup", "--password", "secret", "--text")
	if !strings.Contains(out, "NDMP Agent "+addr+" NDMPv4") || !strings.Contains(out, "Backup type info of dump format") {
		t.Fatalf("query:\n%s", out)
	}
	l.Run("ndmp", "kill", id)
	if _, err := c.TapeGetState(); err == nil {
		t.Fatal("killed session still answers")
	}
	// Its drive is free: unload through the changer.
	l.Run("tape", "unload", "--from", "256")
	l.Run("tape", "move", "1024", "1026")
	out = l.Run("tape", "labels")
	if !regexp.MustCompile(`1026\s+slot\s+full\s+TL0001L8`).MatchString(out) {
		t.Fatalf("after move:\n%s", out)
	}

	l.Run("ndmp", "off")
	if _, err := client.Dial(addr); err == nil {
		t.Fatal("connection accepted while off")
	}
	l.Run("ndmp", "on")
	if out := l.Run("ndmp", "kill-all"); !strings.Contains(out, "sessions terminated") {
		t.Fatalf("kill-all: %s", out)
	}
}
