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
// the last dump of a path at a level, and the snapshot it was taken from.
type DumpRecord struct {
	Path  string
	Level int
	Date  time.Time // the dump date: the snapshot's creation time, in seconds
	// Snapshot names the snapshot dumped; with SnapshotEpoch and Date it
	// identifies it (a later snapshot of the same name is another one).
	// The next incremental of the path diffs against it while it exists.
	Snapshot      string
	SnapshotEpoch uint64
	// Kept: Snapshot is an automatic snapshot_for_backup.N the engine kept
	// as a base and deletes once no incremental can be based on it.
	Kept bool
}

// History keeps the per-path dump history in a file, one record per path
// and level, tab-separated:
//
//	path level unix-time snapshot epoch flags
//
// (flags "kept" for a base snapshot the engine owns). Lines whose level is
// "-" are kept snapshots retired from the chain that still have to be
// deleted (their deletion failed, for instance while a running dump held
// them). Older files have only the first three or four columns.
type History struct {
	mu      sync.Mutex
	file    string       // "" = kept in memory only
	mem     []DumpRecord // the records when file is ""
	retired []DumpRecord // the retired snapshots when file is ""
}

// NewHistory uses file (created on first update); "" keeps the history in
// memory (an engine without a data directory).
func NewHistory(file string) *History { return &History{file: file} }

// load returns the records and the retired snapshots.
func (h *History) load() ([]DumpRecord, []DumpRecord, error) {
	if h.file == "" {
		return append([]DumpRecord(nil), h.mem...), append([]DumpRecord(nil), h.retired...), nil
	}
	f, err := os.Open(h.file)
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var out, retired []DumpRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 3 {
			continue
		}
		isRetired := c[1] == "-"
		lvl, err1 := strconv.Atoi(c[1])
		if isRetired {
			lvl, err1 = -1, nil
		}
		t, err2 := strconv.ParseInt(c[2], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		r := DumpRecord{Path: c[0], Level: lvl, Date: time.Unix(t, 0).UTC()}
		if len(c) > 3 {
			r.Snapshot = c[3]
		}
		if len(c) > 4 {
			r.SnapshotEpoch, _ = strconv.ParseUint(c[4], 10, 64)
		}
		if len(c) > 5 {
			r.Kept = strings.Contains(c[5], "kept")
		}
		if isRetired {
			retired = append(retired, r)
		} else {
			out = append(out, r)
		}
	}
	return out, retired, sc.Err()
}

func (h *History) store(all, retired []DumpRecord) error {
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Path != all[j].Path {
			return all[i].Path < all[j].Path
		}
		return all[i].Level < all[j].Level
	})
	if h.file == "" {
		h.mem, h.retired = all, retired
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(h.file), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	line := func(x DumpRecord, level string) {
		flags := ""
		if x.Kept {
			flags = "kept"
		}
		fmt.Fprintf(&b, "%s\t%s\t%d\t%s\t%d\t%s\n", x.Path, level, x.Date.Unix(), x.Snapshot, x.SnapshotEpoch, flags)
	}
	for _, x := range all {
		line(x, strconv.Itoa(x.Level))
	}
	for _, x := range retired {
		line(x, "-")
	}
	tmp := h.file + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, h.file)
}

// TokenPrefix marks the history records of BASE_DATE/DUMP_DATE dumps
// ("token:/SVM/VOL..."): kept apart from the LEVEL/UPDATE history, which
// BASE_DATE dumps leave alone, and found by their token (Token).
const TokenPrefix = "token:"

// Token returns the BASE_DATE dump of path whose DUMP_DATE token is
// (level, date), if the history holds it.
func (h *History) Token(path string, level int, date time.Time) (DumpRecord, bool, error) {
	recs, err := h.Records(TokenPrefix + path)
	for _, r := range recs {
		if r.Level == level && r.Date.Equal(date) {
			return r, true, err
		}
	}
	return DumpRecord{}, false, err
}

// Records lists the history of path.
func (h *History) Records(path string) ([]DumpRecord, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	all, _, err := h.load()
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
	return baseOf(recs, level)
}

func baseOf(recs []DumpRecord, level int) (DumpRecord, bool, error) {
	var best DumpRecord
	found := false
	for _, r := range recs {
		if r.Level < level && (!found || r.Date.After(best.Date) || (r.Date.Equal(best.Date) && r.Level > best.Level)) {
			best, found = r, true
		}
	}
	return best, found, nil
}

// superseded reports whether r can no longer be the base of any
// incremental of its path: a dump at the same or a lower level was taken
// after it (every later level-n dump then finds that one, or a newer one,
// first), or it is at level 31 (no level is higher).
func superseded(r DumpRecord, recs []DumpRecord) bool {
	if r.Level >= 31 {
		return true
	}
	for _, x := range recs {
		if x.Path == r.Path && x.Level <= r.Level && newer(x, r) {
			return true
		}
	}
	return false
}

// newer orders two dumps of one path: by date, then (snapshots taken in
// the same second) by snapshot epoch.
func newer(x, r DumpRecord) bool {
	return x.Date.After(r.Date) || (x.Date.Equal(r.Date) && x.SnapshotEpoch > r.SnapshotEpoch)
}

// Update records a dump (UPDATE=Y), replacing the path's record at that
// level, unless that record is of a newer dump (dumps finishing out of
// order): then r is not recorded and recorded is false. A kept base
// snapshot that can no longer serve as a base (the replaced record's, and
// those of records the new dump supersedes) is moved to the retired list,
// which Kept returns until Forget.
func (h *History) Update(r DumpRecord) (recorded bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	all, retired, err := h.load()
	if err != nil {
		return false, err
	}
	for _, x := range all {
		if x.Path == r.Path && x.Level == r.Level && newer(x, r) {
			return false, nil
		}
	}
	kept := all[:0]
	for _, x := range all {
		if x.Path == r.Path && x.Level == r.Level {
			if x.Kept && x.Snapshot != "" {
				retired = append(retired, x)
			}
			continue
		}
		kept = append(kept, x)
	}
	kept = append(kept, r)
	for i, x := range kept {
		if x.Path == r.Path && x.Kept && x.Snapshot != "" && superseded(x, kept) {
			retired = append(retired, x)
			kept[i].Snapshot, kept[i].SnapshotEpoch, kept[i].Kept = "", 0, false
		}
	}
	return true, h.store(kept, retired)
}

// Retire moves the kept base snapshot of the record (path, level) to the
// retired list: its chain goes on by inode change times. It does nothing
// when the record no longer names that snapshot.
func (h *History) Retire(r DumpRecord) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	all, retired, err := h.load()
	if err != nil {
		return err
	}
	for i, x := range all {
		if x.Path == r.Path && x.Level == r.Level && x.Snapshot == r.Snapshot && x.SnapshotEpoch == r.SnapshotEpoch {
			if x.Kept {
				retired = append(retired, x)
			}
			all[i].Snapshot, all[i].SnapshotEpoch, all[i].Kept = "", 0, false
			return h.store(all, retired)
		}
	}
	return nil
}

// Kept lists the records whose base snapshot the engine keeps, and the
// retired snapshots still to delete, oldest first.
func (h *History) Kept() (live, retired []DumpRecord, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	all, ret, err := h.load()
	for _, x := range all {
		if x.Kept && x.Snapshot != "" {
			live = append(live, x)
		}
	}
	byDate := func(s []DumpRecord) {
		sort.SliceStable(s, func(i, j int) bool { return s[i].Date.Before(s[j].Date) })
	}
	byDate(live)
	byDate(ret)
	return live, ret, err
}

// Forget drops a retired snapshot from the list (it was deleted, or is
// gone).
func (h *History) Forget(r DumpRecord) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	all, retired, err := h.load()
	if err != nil {
		return err
	}
	out := retired[:0]
	for _, x := range retired {
		if x.Path == r.Path && x.Snapshot == r.Snapshot && x.SnapshotEpoch == r.SnapshotEpoch {
			continue
		}
		out = append(out, x)
	}
	return h.store(all, out)
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
