package dump

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DumpRecord is one line of the dump history (Linux dump's dumpdates):
// the last dump of a path at a level.
type DumpRecord struct {
	Path     string
	Level    int
	Date     time.Time
	Snapshot string // the snapshot dumped (used for snapshot diffs while it exists)
}

// History keeps the per-path dump history in a file (one record per
// path and level, tab-separated: path level unix-time snapshot).
type History struct {
	mu   sync.Mutex
	file string       // "" = kept in memory only
	mem  []DumpRecord // the records when file is ""
}

// NewHistory uses file (created on first update); "" keeps the history in
// memory (an engine without a data directory).
func NewHistory(file string) *History { return &History{file: file} }

func (h *History) load() ([]DumpRecord, error) {
	if h.file == "" {
		return append([]DumpRecord(nil), h.mem...), nil
	}
	f, err := os.Open(h.file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []DumpRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 3 {
			continue
		}
		lvl, err1 := strconv.Atoi(c[1])
		t, err2 := strconv.ParseInt(c[2], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		r := DumpRecord{Path: c[0], Level: lvl, Date: time.Unix(t, 0).UTC()}
		if len(c) > 3 {
			r.Snapshot = c[3]
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// Records lists the history of path.
func (h *History) Records(path string) ([]DumpRecord, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	all, err := h.load()
	var out []DumpRecord
	for _, r := range all {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out, err
}

// Base returns the base of a level-n dump of path: the most recent dump
// at a lower level (seed 001's increment chains). ok is false when none.
func (h *History) Base(path string, level int) (DumpRecord, bool, error) {
	recs, err := h.Records(path)
	if err != nil {
		return DumpRecord{}, false, err
	}
	var best DumpRecord
	found := false
	for _, r := range recs {
		if r.Level < level && (!found || r.Date.After(best.Date) || (r.Date.Equal(best.Date) && r.Level > best.Level)) {
			best, found = r, true
		}
	}
	return best, found, nil
}

// Update records a dump (UPDATE=Y), replacing the path's record at that level.
func (h *History) Update(r DumpRecord) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	all, err := h.load()
	if err != nil {
		return err
	}
	kept := all[:0]
	for _, x := range all {
		if !(x.Path == r.Path && x.Level == r.Level) {
			kept = append(kept, x)
		}
	}
	kept = append(kept, r)
	sort.SliceStable(kept, func(i, j int) bool {
		if kept[i].Path != kept[j].Path {
			return kept[i].Path < kept[j].Path
		}
		return kept[i].Level < kept[j].Level
	})
	if h.file == "" {
		h.mem = kept
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(h.file), 0o755); err != nil {
		return err
	}
	tmp := h.file + ".tmp"
	var b strings.Builder
	for _, x := range kept {
		fmt.Fprintf(&b, "%s\t%d\t%d\t%s\n", x.Path, x.Level, x.Date.Unix(), x.Snapshot)
	}
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, h.file)
}

// DumpDate builds a DUMP_DATE token: the 32-bit level prepended to the
// 32-bit time.
func DumpDate(level int, t time.Time) string {
	return strconv.FormatUint(uint64(uint32(level))<<32|uint64(uint32(t.Unix())), 10)
}

// ParseBaseDate splits a BASE_DATE token; -1 (disabled) returns ok=false.
func ParseBaseDate(v string) (level int, t time.Time, ok bool, err error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "-1" {
		return 0, time.Time{}, false, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("%w: BASE_DATE %q", ErrBadEnv, v)
	}
	if n == 0 {
		return -1, time.Time{}, true, nil
	}
	return int(n >> 32), time.Unix(int64(uint32(n)), 0).UTC(), true, nil
}
