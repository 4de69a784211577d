package ndmpdump_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"tapelab/vtl"
)

// users makes two NDMP users through the CLI: one with a chosen password
// (used with MD5 challenge auth) and one with a generated password (used
// with text auth, which is off by default: `ndmp modify --plaintext=true`).
func (l *lab) users() (md5Agent, textAgent string) {
	l.T.Helper()
	l.Run("ndmp", "modify", "--plaintext=true")
	l.Run("ndmp", "user", "add", "backupadm", "--password", "Tape-Lab-42")
	var gen struct{ User, Password string }
	l.JSON(&gen, "ndmp", "generate-password", "--user", "operator")
	if gen.User != "operator" || len(gen.Password) < 8 {
		l.T.Fatalf("generate-password: %+v", gen)
	}
	return l.agent("4m", "backupadm", "Tape-Lab-42"), l.agent("4t", "operator", gen.Password)
}

var moverReadRE = regexp.MustCompile(`MOVER: read (\d+)KB`)

// moverRead is the largest "MOVER: read NKB" ndmjob reported.
func moverRead(out string) int {
	n := -1
	for _, m := range moverReadRE.FindAllStringSubmatch(out, -1) {
		if v, _ := strconv.Atoi(m[1]); v > n {
			n = v
		}
	}
	return n
}

// TestNdmjobDumpBackupRestore: ndmjob is the DMA, our node the DATA and
// TAPE server with butype dump. A volume filled through FUSE is backed up
// to a cartridge (MD5 auth), listed (-t, text auth), extracted entirely into
// another volume and compared, and named files are recovered by direct
// access with the fh_info of ndmjob's own index (-J).
func TestNdmjobDumpBackupRestore(t *testing.T) {
	l := newLab(t)
	for _, v := range []string{"vol1", "vol2", "vol3", "vol4"} {
		l.Run("volume", "create", "/vs1/"+v, "--size", "64m")
	}
	src := l.mount("vol1")
	want := fill(t, sourceTree(t), src)
	l.library("TL0001L8", true)
	md5, text := l.users()
	work := t.TempDir()
	cIndex := filepath.Join(work, "c-index")

	// Backup.
	out := ndmjob(t, "-c", "-v", "-D", md5, "-B", "dump", "-C", "/vs1/vol1", "-I", cIndex, "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation started"`, `DLMn "DUMP: Dumping /vs1/vol1`, `DLMn "DUMP: dumping (Pass IV) [regular files]"`,
		`SESS "Operation ended OKAY"`, `SESS "Operation complete"`)
	var ci vtl.CartridgeInfo
	l.JSON(&ci, "vtl", "tape", "show", "TL0001L8")
	// ndmjob ends its image with two filemarks (the end-of-data mark).
	if ci.Filemarks < 1 || ci.Filemarks > 2 || ci.Objects < 10 {
		t.Fatalf("cartridge after the backup: %+v", ci)
	}
	idx, err := os.ReadFile(cIndex)
	if err != nil {
		t.Fatal(err)
	}
	// Node-based file history: every name of the tree is a DHd entry.
	for _, p := range paths(want) {
		if p == "." {
			continue
		}
		if !strings.Contains(string(idx), " "+filepath.Base(p)+" UNIX ") {
			t.Errorf("backup index lacks a directory entry for %s", p)
		}
	}
	mustContain(t, string(idx), "DE PATHNAME_SEPARATOR=/", "DHr ")
	// The backup event log names the tape device ndmjob opened (seed 001:
	// Tape_open's information is "the new tape device name").
	evlog, err := os.ReadFile(filepath.Join(l.Dir, "log", "backup"))
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, string(evlog), " Tape_open (nrst0a)", " Tape_close (nrst0a)")

	// Table of contents: ndmjob's -t index holds exactly the tree's paths.
	tIndex := filepath.Join(work, "t-index")
	out = ndmjob(t, "-t", "-v", "-D", text, "-B", "dump", "-I", tIndex, "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`, `SESS "Operation complete"`)
	toc, err := os.ReadFile(tIndex)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, line := range strings.Split(string(toc), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "DHf" {
			p := strings.TrimPrefix(line[4:strings.Index(line, " UNIX ")], "/")
			if p == "" {
				p = "."
			}
			listed = append(listed, p)
		}
	}
	sort.Strings(listed)
	if d := diffRows(listed, paths(want)); d != "" {
		t.Errorf("table of contents differs from the tree (- tree, + listed):\n%s", d)
	}

	// Extract everything into vol2. ndmjob names the destination in env
	// PREFIX (-C), which the dump engine does not read: FILESYSTEM is given
	// too (see TestNdmjobKnownBugs/extract-with-PREFIX-only).
	out = ndmjob(t, "-x", "-v", "-D", md5, "-B", "dump", "-C", "/vs1/vol2", "-E", "FILESYSTEM=/vs1/vol2", "-f", "nrst0a")
	mustContain(t, out, `DLMn "RESTORE: Phase III: restoring file data"`, `SESS "Operation ended OKAY"`, `SESS "Operation complete"`)
	full := moverRead(out)
	dst := l.mount("vol2")
	sameTree(t, "ndmjob -x into /vs1/vol2", manifest(t, dst), want)
	diffR(t, src, dst)

	// Direct access recovery of one file: ndmjob looks its fh_info up in
	// the backup index (-J) and the mover reads only a few records.
	out = ndmjob(t, "-x", "-v", "-D", md5, "-B", "dump", "-C", "/vs1/vol3", "-J", cIndex, "-E", "DIRECT=Y", "-f", "nrst0a",
		"/docs/deep/deeper/leaf.bin")
	mustContain(t, out, `SESS "Processing input index (-J`, `DLF "OK: /docs/deep/deeper/leaf.bin"`, `SESS "Operation ended OKAY"`)
	if strings.Contains(out, "No index entry for") {
		t.Fatalf("ndmjob found no fh_info:\n%s", out)
	}
	if dar := moverRead(out); dar < 0 || full <= 0 || dar >= full/4 {
		t.Errorf("direct access read %d KB of a %d KB image", dar, full)
	}
	one := l.mount("vol3")
	got, err := os.ReadFile(filepath.Join(one, "docs/deep/deeper/leaf.bin"))
	if err != nil || string(got) != string(pattern(70000, 3)) {
		t.Errorf("DAR restored %d bytes: %v", len(got), err)
	}
	if _, err := os.Stat(filepath.Join(one, "hello.txt")); !os.IsNotExist(err) {
		t.Errorf("DAR restored more than asked: %v", err)
	}
	if n := strings.Count(out, `DLF "OK: /docs/deep/deeper/leaf.bin"`); n != 1 {
		t.Errorf("LOG_FILE for the DAR file posted %d times", n)
	}

	// DAR of several files (one bigger than a DAR window) in one run.
	many := []string{"/hello.txt", "/docs/big.bin", "/docs/notes.txt", "/bin/tool"}
	out = ndmjob(t, append([]string{"-x", "-v", "-D", md5, "-B", "dump", "-C", "/vs1/vol4", "-J", cIndex, "-E", "DIRECT=Y", "-f", "nrst0a"}, many...)...)
	mustContain(t, out, `SESS "Operation ended OKAY"`)
	four := l.mount("vol4")
	for _, f := range many {
		if n := strings.Count(out, `DLF "OK: `+f+`"`); n != 1 {
			t.Errorf("LOG_FILE OK for %s posted %d times", f, n)
		}
		a, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(four, f))
		if err != nil || string(a) != string(b) {
			t.Errorf("DAR of %s: %d of %d bytes, %v", f, len(b), len(a), err)
		}
	}
	if out := l.Run("volume", "check", "/vs1/vol2"); !strings.Contains(out, "consistent") {
		t.Errorf("volume check vol2:\n%s", out)
	}
}

// TestNdmjobTestData runs ndmjob's DATA-service conformance suite against
// our server with butype dump: every phase passes.
func TestNdmjobTestData(t *testing.T) {
	l := newLab(t)
	l.Run("volume", "create", "/vs1/vol1", "--size", "32m")
	l.library("TL0001L8", true)
	md5, text := l.users()
	for _, a := range []string{md5, text} {
		out := ndmjob(t, "-o", "test-data", "-v", "-D", a, "-B", "dump", "-f", "nrst0a")
		mustContain(t, out, `TEST "Test D-IDLE Passed`, `TEST "Test D-LISTEN Passed`, `TEST "Test D-LISTEN/bogus-args Passed`,
			`TEST "FINAL test-data Passed`, `warn=0 fail=0`, `TEST "LOCAL and TCP addressing tested."`)
		if strings.Contains(out, "Failed") || strings.Contains(out, "Almost") {
			t.Fatalf("test-data:\n%s", out)
		}
	}
}

// TestNdmjobExtractWithPrefix: `ndmjob -x -C /vs1/vol2` without names sends
// the destination as PREFIX only; the whole image lands there.
func TestNdmjobExtractWithPrefix(t *testing.T) {
	l := newLab(t)
	for _, v := range []string{"vol1", "vol2"} {
		l.Run("volume", "create", "/vs1/"+v, "--size", "64m")
	}
	src := l.mount("vol1")
	want := fill(t, sourceTree(t), src)
	l.library("TL0001L8", true)
	md5, _ := l.users()
	cIndex := filepath.Join(t.TempDir(), "c-index")
	out := ndmjob(t, "-c", "-v", "-D", md5, "-B", "dump", "-C", "/vs1/vol1", "-I", cIndex, "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`)
	out = ndmjob(t, "-x", "-v", "-D", md5, "-B", "dump", "-C", "/vs1/vol2", "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`)
	sameTree(t, "ndmjob -x -C /vs1/vol2", manifest(t, l.mount("vol2")), want)
}

// TestNdmjobThreeWay: DATA and TAPE in separate sessions (MOVER_LISTEN on
// TCP, DATA_CONNECT), with the two authentication types, for a backup and
// a sequential (non-DAR) extract of a named directory.
func TestNdmjobThreeWay(t *testing.T) {
	l := newLab(t)
	l.Run("volume", "create", "/vs1/vol1", "--size", "64m")
	l.Run("volume", "create", "/vs1/vol2", "--size", "64m")
	src := l.mount("vol1")
	fill(t, sourceTree(t), src)
	l.library("TL0001L8", true)
	md5, text := l.users()
	idx := filepath.Join(t.TempDir(), "c-index")
	out := ndmjob(t, "-c", "-v", "-D", md5, "-T", text, "-B", "dump", "-C", "/vs1/vol1", "-I", idx, "-f", "nrst0a")
	mustContain(t, out, `SESS "Operation ended OKAY"`, `SESS "Operation complete"`)
	out = ndmjob(t, "-x", "-v", "-D", text, "-T", md5, "-B", "dump", "-C", "/vs1/vol2", "-J", idx, "-f", "nrst0a", "/docs")
	mustContain(t, out, `DLF "OK: /docs`, `SESS "Operation ended OKAY"`)
	dst := l.mount("vol2")
	want := manifest(t, filepath.Join(src, "docs"))
	sameTree(t, "three-way extract of /docs", manifest(t, filepath.Join(dst, "docs")), want)
	if _, err := os.Stat(filepath.Join(dst, "hello.txt")); !os.IsNotExist(err) {
		t.Errorf("extract of /docs restored /hello.txt: %v", err)
	}
}
