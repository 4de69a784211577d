// Package manifest renders a directory tree as the TSV manifest of
// fixtures/dump, for tests that compare restored trees (a Go port of the manifest.py the fixtures were made with):
// one line per entry, sorted by path:
//
//	path type(f/d/l/o) mode uid gid size mtime sha256|target|rdev=M,m|- hardlink-group xattrs
//
// lost+found and restoresymtable at the top are skipped (restore artefacts).
// mtime is in seconds (0 for symlinks), size 0 for directories.
package manifest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pkg/xattr"
	"golang.org/x/sys/unix"
)

// Options tune what is compared.
type Options struct {
	// Skip lists top-level names to ignore besides lost+found and restoresymtable.
	Skip []string
	// MtimeUsec renders mtimes in microseconds instead of seconds.
	MtimeUsec bool
	// NoRootMtime blanks the root directory's mtime.
	NoRootMtime bool
	// NamedLinks names each hard-link group after the first of its paths
	// ("h:path") and counts only links inside dir (a file whose other
	// names are outside shows "-"), so two trees compare equal only when
	// the same names are linked together. Otherwise every file with more
	// than one link shows "h" (the form File reads fixtures in).
	NamedLinks bool
}

// Dir renders the manifest of dir.
func Dir(dir string, o Options) ([]string, error) {
	skip := map[string]bool{"lost+found": true, "restoresymtable": true}
	for _, s := range o.Skip {
		skip[s] = true
	}
	var cols [][]string
	var keys [][2]uint64
	groups := map[[2]uint64]string{}
	members := map[[2]uint64]int{}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if top := strings.SplitN(rel, "/", 2)[0]; skip[top] && rel != "." {
			if rel == top {
				if st, err := os.Lstat(p); err == nil && st.IsDir() {
					return filepath.SkipDir
				}
			}
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		kind, data := "o", ""
		size := st.Size
		mt := st.Mtim.Sec
		if o.MtimeUsec {
			mt = st.Mtim.Sec*1000000 + st.Mtim.Nsec/1000
		}
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
		if rel == "." && o.NoRootMtime {
			mt = 0
		}
		grp := "-"
		var key [2]uint64
		if kind == "f" && st.Nlink > 1 {
			key = [2]uint64{st.Dev, st.Ino}
			grp = "h"
			if o.NamedLinks {
				// Walk visits paths in lexical order: the first is the
				// smallest, whatever order the links were made in.
				if _, ok := groups[key]; !ok {
					groups[key] = "h:" + rel
				}
				members[key]++
			}
		}
		xs := "-"
		if names, err := xattr.LList(p); err == nil && len(names) > 0 {
			var parts []string
			for _, n := range names {
				v, err := xattr.LGet(p, n)
				if err != nil {
					continue
				}
				parts = append(parts, n+"="+hex.EncodeToString(v))
			}
			sort.Strings(parts)
			if len(parts) > 0 {
				xs = strings.Join(parts, ";")
			}
		}
		cols = append(cols, []string{rel, kind, fmt.Sprintf("%04o", st.Mode&0o7777),
			fmt.Sprint(st.Uid), fmt.Sprint(st.Gid), fmt.Sprint(size), fmt.Sprint(mt), data, grp, xs})
		keys = append(keys, key)
		return nil
	})
	rows := make([]string, 0, len(cols))
	for i, c := range cols {
		if o.NamedLinks && c[8] != "-" {
			c[8] = "-"
			if members[keys[i]] > 1 {
				c[8] = groups[keys[i]]
			}
		}
		rows = append(rows, strings.Join(c, "\t"))
	}
	sort.Strings(rows)
	return rows, err
}

// File reads an expected manifest (fixtures/dump/expect-*.tsv), keeping
// the first ten columns and blanking hard-link group numbers to "h".
func File(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) < 10 {
			return nil, fmt.Errorf("%s: short line %q", path, line)
		}
		if strings.HasPrefix(cols[8], "h") {
			cols[8] = "h"
		}
		rows = append(rows, strings.Join(cols[:10], "\t"))
	}
	sort.Strings(rows)
	return rows, nil
}

// Diff returns a readable difference of two manifests ("" when equal).
func Diff(got, want []string) string {
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
			fmt.Fprintf(&b, "- %s\n", trunc(l))
		}
	}
	for _, l := range got {
		if !w[l] {
			fmt.Fprintf(&b, "+ %s\n", trunc(l))
		}
	}
	return b.String()
}

func trunc(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
