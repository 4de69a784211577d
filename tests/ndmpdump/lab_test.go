package ndmpdump_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	tm "tapelab/internal/manifest"
	"tapelab/internal/testlab"
	"tapelab/internal/testpeer"
)

const ndmjobPath = "/usr/lib/amanda/ndmjob"

var tapelabBin string

func TestMain(m *testing.M) { testlab.Main(m, &tapelabBin) }

// lab is a data directory with a running `tapelab serve` whose NDMP server
// listens on a free 127.0.0.1 port (addr).
type lab struct {
	*testlab.Lab
	addr string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	testpeer.FUSE(t)
	l := &lab{Lab: testlab.New(t, tapelabBin)}
	l.addr = l.Serve()
	return l
}

// mount mounts /vs1/VOL through FUSE (held by the running node) and
// unmounts it at cleanup, before the node stops.
func (l *lab) mount(vol string) string { return l.Mount("/vs1/" + vol) }

// library makes library lib1 (one drive st0) with cartridge barcode
// loaded in st0 when load is set.
func (l *lab) library(barcode string, load bool) {
	l.T.Helper()
	l.Run("vtl", "library", "create", "lib1", "--drives", "1", "--slots", "4")
	l.Run("vtl", "tape", "create", barcode, "--library", "lib1", "--capacity", "256m")
	if load {
		l.Run("vtl", "tape", "load", barcode, "--drive", "st0")
	}
}

// agent is an ndmjob agent string: HOST:PORT/FLAGS,USER,PASSWORD.
func (l *lab) agent(flags, user, password string) string {
	return l.addr + "/" + flags + "," + user + "," + password
}

// ndmjob runs Amanda's ndmjob in a temporary directory and returns its
// output. It exits 0 even when the operation failed, so callers assert on
// its lines.
func ndmjob(t *testing.T, args ...string) string {
	t.Helper()
	nj := testpeer.Program(t, "ndmjob", ndmjobPath)
	cmd := exec.Command(nj, args...)
	cmd.Dir = t.TempDir()
	out, _ := cmd.CombinedOutput()
	return testlab.Tail(string(out), 64<<10)
}

func mustContain(t *testing.T, out string, lines ...string) {
	t.Helper()
	missing := false
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("output lacks %q", l)
			missing = true
		}
	}
	if missing {
		t.Fatalf("output:\n%s", testlab.Tail(out, 8000))
	}
}

// diffR runs diff -r --no-dereference on two trees; fifos, which diff
// cannot compare ("X is a fifo while file Y is a fifo"), are not differences.
func diffR(t *testing.T, a, b string) {
	t.Helper()
	out, err := exec.Command("diff", "-r", "--no-dereference", a, b).CombinedOutput()
	if err == nil {
		return
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !regexp.MustCompile(`^File .* is a fifo while file .* is a fifo$`).MatchString(line) {
			t.Errorf("diff -r %s %s: %v\n%s", a, b, err, testlab.Tail(string(out), 4000))
			return
		}
	}
}

// manifest renders dir as fixtures/dump's expect-*.tsv columns
// (internal/manifest), naming hard-link groups after their first path;
// top-level names in skip, lost+found and restoresymtable are left out.
func manifest(t *testing.T, dir string, skip ...string) []string {
	t.Helper()
	rows, err := tm.Dir(dir, tm.Options{Skip: skip, NamedLinks: true})
	if err != nil {
		t.Fatalf("manifest of %s: %v", dir, err)
	}
	return rows
}

// fixtureManifest reads fixtures/dump/expect-*.tsv (first ten columns).
func fixtureManifest(t *testing.T, name string) []string {
	t.Helper()
	rows, err := tm.File(filepath.Join("..", "..", "fixtures", "dump", name))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// anonymousGroups blanks hard-link group names to "h" (fixture style).
func anonymousGroups(rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		cols := strings.Split(r, "\t")
		if strings.HasPrefix(cols[8], "h") {
			cols[8] = "h"
		}
		out[i] = strings.Join(cols, "\t")
	}
	sort.Strings(out)
	return out
}

// diffRows is a readable difference of two manifests ("" when equal).
func diffRows(got, want []string) string { return tm.Diff(got, want) }

func sameTree(t *testing.T, what string, got, want []string) {
	t.Helper()
	if d := diffRows(got, want); d != "" {
		t.Errorf("%s: trees differ (- want, + got):\n%s", what, d)
	}
	if len(want) < 3 {
		t.Errorf("%s: only %d entries compared", what, len(want))
	}
}

// paths returns the first column of manifest rows.
func paths(rows []string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.SplitN(r, "\t", 2)[0])
	}
	sort.Strings(out)
	return out
}

// sourceTree builds the test tree in a temporary directory: regular files
// of several sizes (one empty, one sparse), nested directories, modes
// 0600/0640/0755/4755/1777, another owner, a symlink, a hard link, a fifo,
// a user xattr, and fixed mtimes (1.7e9 + 60*k).
func sourceTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	mk := func(p string, mode os.FileMode) {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(root, p), mode)
	}
	write := func(p string, data []byte, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(root, p), data, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(root, p), mode)
	}
	mk("", 0o755)
	mk("docs", 0o755)
	mk("docs/deep/deeper", 0o700)
	mk("bin", 0o755)
	mk("tmp", 0o1777)
	write("hello.txt", []byte("hello, tape\n"), 0o644)
	write("empty", nil, 0o600)
	write("docs/notes.txt", bytes.Repeat([]byte("notes on tape backup\n"), 300), 0o640)
	write("docs/deep/deeper/leaf.bin", pattern(70000, 3), 0o644)
	write("docs/big.bin", pattern(1<<20+333, 7), 0o644)
	write("bin/tool", []byte("#!/bin/sh\necho tool\n"), 0o4755)
	write("owned.txt", []byte("someone else's file\n"), 0o644)
	if err := os.Chown(filepath.Join(root, "owned.txt"), 1000, 1001); err != nil {
		t.Fatal(err)
	}
	sparse, err := os.Create(filepath.Join(root, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	sparse.WriteAt([]byte("start"), 0)
	sparse.WriteAt([]byte("middle"), 300000)
	sparse.Truncate(600000)
	sparse.Close()
	if err := os.Link(filepath.Join(root, "hello.txt"), filepath.Join(root, "docs", "hello-link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("docs/notes.txt", filepath.Join(root, "notes-link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(root, "fifo"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(root, "docs", "notes.txt"), "user.origin", []byte("ndmpdump test"), 0); err != nil {
		t.Fatal(err)
	}
	// mtimes, deepest first so directory times stick
	var all []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		all = append(all, p)
		return nil
	})
	sort.Sort(sort.Reverse(sort.StringSlice(all)))
	for k, p := range all {
		ts := unix.NsecToTimespec(time.Unix(1700000000+60*int64(k), 0).UnixNano())
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// fill copies tree into a FUSE-mounted volume with cp -a (modes, owners,
// times, links, xattrs) and checks the volume shows the same tree.
func fill(t *testing.T, tree, mnt string) []string {
	t.Helper()
	if out, err := exec.Command("cp", "-a", tree+"/.", mnt).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	want := manifest(t, tree)
	got := manifest(t, mnt)
	sameTree(t, "source tree copied through FUSE", got, want)
	if t.Failed() {
		t.FailNow()
	}
	return got
}
