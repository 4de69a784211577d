package ndmpdump_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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

// manifest renders dir as fixtures/dump's expect-*.tsv columns, one row
// per entry sorted by path:
//
//	path type(f/d/l/o) mode uid gid size mtime sha256|target|rdev=M,m|- hardlink-group xattrs
//
// size is 0 for directories, mtime (seconds) 0 for symlinks; a hard-link
// group is named after the first of its paths ("h:path"). Top-level names
// in skip are left out.
func manifest(t *testing.T, dir string, skip ...string) []string {
	t.Helper()
	type row struct {
		cols []string
		key  [2]uint64
	}
	var rows []row
	groups := map[[2]uint64][]string{}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, s := range skip {
			if rel == s {
				if st, err := os.Lstat(p); err == nil && st.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		kind, data, size, mt := "o", "", st.Size, st.Mtim.Sec
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			kind = "f"
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, bufio.NewReaderSize(f, 1<<20))
			f.Close()
			if err != nil {
				return err
			}
			data = hex.EncodeToString(h.Sum(nil))
		case unix.S_IFLNK:
			kind, mt = "l", 0
			data, _ = os.Readlink(p)
		case unix.S_IFDIR:
			kind, data, size = "d", "-", 0
		default:
			data = fmt.Sprintf("rdev=%d,%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		r := row{cols: []string{rel, kind, fmt.Sprintf("%04o", st.Mode&0o7777), fmt.Sprint(st.Uid), fmt.Sprint(st.Gid),
			fmt.Sprint(size), fmt.Sprint(mt), data, "-", xattrs(p)}}
		if kind == "f" && st.Nlink > 1 {
			r.key = [2]uint64{st.Dev, st.Ino}
			groups[r.key] = append(groups[r.key], rel)
		}
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		t.Fatalf("manifest of %s: %v", dir, err)
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		if g := groups[r.key]; len(g) > 1 {
			sort.Strings(g)
			r.cols[8] = "h:" + g[0]
		}
		out = append(out, strings.Join(r.cols, "\t"))
	}
	sort.Strings(out)
	return out
}

func xattrs(p string) string {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return "-"
	}
	var parts []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name == "" {
			continue
		}
		v := make([]byte, 64<<10)
		sz, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			continue
		}
		parts = append(parts, name+"="+hex.EncodeToString(v[:sz]))
	}
	if len(parts) == 0 {
		return "-"
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// fixtureManifest reads fixtures/dump/expect-*.tsv (first ten columns).
func fixtureManifest(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "dump", name))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) < 10 {
			t.Fatalf("%s: short line %q", name, line)
		}
		if strings.HasPrefix(cols[8], "h") {
			cols[8] = "h"
		}
		rows = append(rows, strings.Join(cols[:10], "\t"))
	}
	sort.Strings(rows)
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
func diffRows(got, want []string) string {
	g, w := map[string]bool{}, map[string]bool{}
	for _, l := range got {
		g[l] = true
	}
	for _, l := range want {
		w[l] = true
	}
	var b strings.Builder
	for _, l := range want {
		if !g[l] {
			fmt.Fprintf(&b, "- %s\n", testlab.Tail(l, 300))
		}
	}
	for _, l := range got {
		if !w[l] {
			fmt.Fprintf(&b, "+ %s\n", testlab.Tail(l, 300))
		}
	}
	return b.String()
}

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
