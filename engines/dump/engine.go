package dump

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tapelab/engines"
	"tapelab/engines/dump/format"
	"tapelab/snapshot"
	"tapelab/volume"
)

// NDMP v4 butype attribute bits (ndmp4_butype_info.attrs).
const (
	AttrBackupFileHistory  = 0x0001
	AttrBackupFilelist     = 0x0002
	AttrRecoverFilelist    = 0x0004
	AttrBackupDirect       = 0x0008
	AttrRecoverDirect      = 0x0010
	AttrBackupIncremental  = 0x0020
	AttrRecoverIncremental = 0x0040
	AttrBackupUTF8         = 0x0080
	AttrRecoverUTF8        = 0x0100
	AttrBackupFHFile       = 0x0200
	AttrBackupFHDir        = 0x0400
	AttrRecoverFileHist    = 0x0800
	AttrRecoverFHFile      = 0x1000
	AttrRecoverFHDir       = 0x2000
)

// Engine is the dump butype: BSD dump images of volume snapshots.
type Engine struct {
	store    *volume.Store
	dataDir  string
	now      func() time.Time
	host     string
	ntrec    int
	maxSess  int
	maxBases int  // automatic snapshots kept per volume as incremental bases
	basesSet bool // WithBaseSnapshots was given
	events   *EventLog
	history  *History
	sessions atomic.Int32
	ids      atomic.Int64
	stateMu  sync.Mutex
	states   map[string][]byte // restore chain states without a data directory

	// incrementals selected from a snapshot diff and by inode change times
	diffIncrementals, ctimeIncrementals atomic.Int64
}

// Option configures New.
type Option func(*Engine)

// WithDataDir sets the directory for the dump history (dumpdates), the
// restore chain state and, unless WithLogDir says otherwise, the backup
// event log.
func WithDataDir(dir string) Option { return func(e *Engine) { e.dataDir = dir } }

// WithLogDir sets the directory of the backup event log (DIR/backup).
func WithLogDir(dir string) Option {
	return func(e *Engine) { e.events = NewEventLog(dir, nil) }
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// WithHostname sets c_host of written images.
func WithHostname(h string) Option { return func(e *Engine) { e.host = h } }

// WithBlockingFactor sets the records per tape block images are padded to
// (4-256, default 64: 64 KiB).
func WithBlockingFactor(n int) Option { return func(e *Engine) { e.ntrec = n } }

// WithMemory sets the session limit from the system memory as seed 001's
// table does: < 16 GiB: 4, < 24 GiB: 16, else 32.
func WithMemory(bytes int64) Option {
	return func(e *Engine) {
		switch {
		case bytes < 16<<30:
			e.maxSess = 4
		case bytes < 24<<30:
			e.maxSess = 16
		default:
			e.maxSess = 32
		}
	}
}

// WithBaseSnapshots sets how many automatic snapshots the engine keeps per
// volume as the bases of later incrementals (default DefaultBaseSnapshots
// with a data directory, 0 without one: an in-memory history would forget
// them at exit; 0 deletes every automatic snapshot after its backup, as
// ONTAP's dump does, and incrementals then select files by inode change
// times).
func WithBaseSnapshots(n int) Option {
	return func(e *Engine) { e.maxBases, e.basesSet = max(n, 0), true }
}

// New returns the dump engine over store.
func New(store *volume.Store, opts ...Option) *Engine {
	e := &Engine{store: store, now: time.Now, host: "tapelab", ntrec: 64, maxSess: 4, maxBases: DefaultBaseSnapshots}
	for _, o := range opts {
		o(e)
	}
	if e.events == nil && e.dataDir != "" {
		e.events = NewEventLog(e.dataDir, nil)
	}
	if e.events != nil {
		e.events.now = e.now
	}
	if e.dataDir != "" {
		e.history = NewHistory(filepath.Join(e.dataDir, "dumpdates"))
	} else {
		e.history = NewHistory("")
		if !e.basesSet {
			e.maxBases = 0
		}
	}
	if e.maxBases > 0 {
		e.registerReclaimer()
	}
	return e
}

// EventLog returns the backup event log (nil without a directory).
func (e *Engine) EventLog() *EventLog { return e.events }

// IncrementalCounts returns how many incrementals selected their files
// from a snapshot difference and how many by inode change times.
func (e *Engine) IncrementalCounts() (fromDiff, byCtime int64) {
	return e.diffIncrementals.Load(), e.ctimeIncrementals.Load()
}

// History returns the dump history.
func (e *Engine) History() *History { return e.history }

// Name implements engines.Engine.
func (e *Engine) Name() string { return "dump" }

// Attributes implements engines.Engine.
func (e *Engine) Attributes() uint32 {
	return AttrBackupFileHistory | AttrRecoverFilelist | AttrRecoverDirect | AttrBackupIncremental |
		AttrRecoverIncremental | AttrBackupUTF8 | AttrRecoverUTF8 | AttrBackupFHDir | AttrRecoverFileHist
}

// DefaultEnv implements engines.Engine (seed 001's defaults).
func (e *Engine) DefaultEnv() []engines.Env {
	return []engines.Env{
		{Name: "TYPE", Value: "dump"}, {Name: "FILESYSTEM", Value: ""}, {Name: "LEVEL", Value: "0"},
		{Name: "UPDATE", Value: "Y"}, {Name: "HIST", Value: "N"}, {Name: "DIRECT", Value: "N"},
		{Name: "BASE_DATE", Value: "-1"}, {Name: "DEBUG", Value: "N"}, {Name: "VERBOSE", Value: "N"},
		{Name: "EXCLUDE", Value: ""}, {Name: "NO_ACLS", Value: "N"}, {Name: "NON_QUOTA_TREE", Value: "N"},
		{Name: "IGNORE_CTIME", Value: "N"}, {Name: "EXTRACT", Value: "N"}, {Name: "EXTRACT_ACL", Value: "Y"},
		{Name: "FORCE", Value: "N"}, {Name: "NOWRITE", Value: "N"}, {Name: "LIST", Value: "N"},
		{Name: "LIST_QTREES", Value: "N"}, {Name: "IGNORE_QTREES", Value: "N"}, {Name: "RECURSIVE", Value: "Y"},
		{Name: "RECOVER_FULL_PATHS", Value: "N"}, {Name: "ENHANCED_DAR_ENABLED", Value: "N"},
		{Name: "NDMP_UNICODE_FH", Value: "N"},
	}
}

// env reads variables with the seed's defaults and Y/T, N/F booleans.
type env struct{ vars []engines.Env }

func (v env) str(name, def string) string {
	if s, ok := engines.Lookup(v.vars, name); ok {
		return s
	}
	return def
}

func (v env) flag(name string, def bool) (bool, error) {
	s, ok := engines.Lookup(v.vars, name)
	if !ok || strings.TrimSpace(s) == "" {
		return def, nil
	}
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "Y", "T", "YES", "TRUE":
		return true, nil
	case "N", "F", "NO", "FALSE":
		return false, nil
	}
	return def, fmt.Errorf("%w: %s=%q (Y or N)", ErrBadEnv, name, s)
}

func (e *Engine) acquire() (func(), error) {
	if n := e.sessions.Add(1); int(n) > e.maxSess {
		e.sessions.Add(-1)
		return nil, fmt.Errorf("%w: %s", ErrSessionLimit, fmt.Sprintf(MsgSessionLimitFmt, e.maxSess))
	}
	return func() { e.sessions.Add(-1) }, nil
}

type logger struct {
	l       engines.Logger
	verbose bool
	debug   bool
}

func (l logger) Message(level engines.LogLevel, text string) {
	if l.l == nil || (level == engines.LogDebug && !l.debug && !l.verbose) {
		return
	}
	l.l.Message(level, text)
}

func (l logger) File(path string, err error) {
	if l.l != nil {
		l.l.File(path, err)
	}
}

// dumpPath is a parsed FILESYSTEM: /SVM/VOL[/.snapshot/SNAP][/rel].
type dumpPath struct {
	svm, vol, snap, rel string
}

func parseDumpPath(p string) (dumpPath, error) {
	svm, vol, rel, err := volume.ParsePath(p)
	if err != nil {
		return dumpPath{}, fmt.Errorf("%w: %s: %v", ErrInvalidPath, p, err)
	}
	d := dumpPath{svm: svm, vol: vol, rel: rel}
	if rel == ".snapshot" || strings.HasPrefix(rel, ".snapshot/") {
		parts := strings.SplitN(strings.TrimPrefix(rel, ".snapshot/"), "/", 2)
		if parts[0] == "" || parts[0] == ".snapshot" {
			return dumpPath{}, fmt.Errorf("%w: %s: no snapshot name", ErrInvalidPath, p)
		}
		d.snap = parts[0]
		d.rel = ""
		if len(parts) == 2 {
			d.rel = parts[1]
		}
	}
	return d, nil
}

func (d dumpPath) key() string {
	k := "/" + d.svm + "/" + d.vol
	if d.rel != "" {
		k += "/" + d.rel
	}
	return k
}

// Backup implements engines.Engine.
func (e *Engine) Backup(ctx context.Context, req *engines.BackupRequest) (res *engines.BackupResult, err error) {
	release, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	ev := env{req.Env}
	verbose, _ := ev.flag("VERBOSE", false)
	debug, _ := ev.flag("DEBUG", false)
	log := logger{req.Log, verbose, debug}
	id := e.ids.Add(1)
	fs := ev.str("FILESYSTEM", "")
	ident := fmt.Sprintf("%s/(%d)", strings.TrimSuffix(fs, "/"), id)
	event := func(name, info string) { _ = e.events.Event("dmp", ident, name, info) }
	var written int64
	defer func() {
		if err != nil {
			event("Error", err.Error())
			event("Abort", fmt.Sprintf("%d KB", written/1024))
			log.Message(engines.LogError, "DUMP: "+err.Error())
		}
	}()
	if t := strings.ToLower(ev.str("TYPE", "dump")); t != "dump" && t != "" {
		return nil, fmt.Errorf("%w: TYPE=%s is not handled by the dump engine", ErrBadEnv, t)
	}
	if fs == "" {
		return nil, fmt.Errorf("%w: FILESYSTEM is not set", ErrInvalidPath)
	}
	dp, err := parseDumpPath(fs)
	if err != nil {
		return nil, err
	}
	level := 0
	if s := ev.str("LEVEL", "0"); s != "" {
		level, err = strconv.Atoi(strings.TrimSpace(s))
		if err != nil || level < 0 || level > 31 {
			return nil, fmt.Errorf("%w: LEVEL=%q (0-31)", ErrBadEnv, s)
		}
	}
	baseLevel, baseTime, useBaseDate, err := ParseBaseDate(ev.str("BASE_DATE", "-1"))
	if err != nil {
		return nil, err
	}
	if useBaseDate {
		level = baseLevel + 1
	}
	update, err := ev.flag("UPDATE", true)
	if err != nil {
		return nil, err
	}
	hist, err := ev.flag("HIST", false)
	if err != nil {
		return nil, err
	}
	noACLs, err := ev.flag("NO_ACLS", false)
	if err != nil {
		return nil, err
	}
	ignoreCtime, err := ev.flag("IGNORE_CTIME", false)
	if err != nil {
		return nil, err
	}
	nonQuota, err := ev.flag("NON_QUOTA_TREE", false)
	if err != nil {
		return nil, err
	}
	excl, err := ParseExclude(ev.str("EXCLUDE", ""))
	if err != nil {
		return nil, err
	}
	if nonQuota && excl != nil {
		log.Message(engines.LogWarning, "DUMP: EXCLUDE is ignored with NON_QUOTA_TREE=Y")
		excl = nil
	}
	var subtrees []string
	key := dp.key()
	if m := ev.str("MULTI_SUBTREE_NAMES", ""); m != "" {
		name := ev.str("DMP_NAME", "")
		if name == "" {
			return nil, fmt.Errorf("%w: MULTI_SUBTREE_NAMES needs DMP_NAME", ErrBadEnv)
		}
		parts := strings.Split(strings.TrimRight(m, "\x00\n"), "\n")
		common := strings.TrimSpace(parts[len(parts)-1])
		if strings.HasPrefix(common, "/") {
			// the common root as a full path (/SVM/VOL[/dir])
			cp, err := parseDumpPath(common)
			if err != nil {
				return nil, err
			}
			if cp.svm != dp.svm || cp.vol != dp.vol {
				return nil, fmt.Errorf("%w: MULTI_SUBTREE_NAMES root %s is not in %s", ErrBadEnv, common, fs)
			}
			dp.rel = cp.rel
		} else if common = strings.Trim(common, "/"); common != "" && common != "." {
			dp.rel = strings.TrimPrefix(dp.rel+"/"+common, "/")
		}
		for _, s := range parts[:len(parts)-1] {
			if s = strings.Trim(s, "/\x00"); s != "" {
				subtrees = append(subtrees, s)
			}
		}
		key = "/" + dp.svm + "/" + dp.vol + "//" + name
	}
	event("Start", fmt.Sprintf("level %d, NDMP", level))
	event("Options", fmt.Sprintf("LEVEL=%d, UPDATE=%s, HIST=%s, NO_ACLS=%s, IGNORE_CTIME=%s; %s",
		level, yn(update), yn(hist), yn(noACLs), yn(ignoreCtime), envList(req.Env)))

	vol, err := e.store.Volume(dp.svm, dp.vol)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidPath, fs, err)
	}
	// The base of an incremental, looked up first: at the snapshot limit
	// the automatic snapshot may take the place of kept bases, never of
	// this dump's own base.
	var base DumpRecord
	baseFound := false
	if level > 0 {
		if useBaseDate {
			base, baseFound = DumpRecord{Path: key, Level: baseLevel, Date: baseTime}, true
			if r, ok, herr := e.history.Token(key, baseLevel, baseTime); herr != nil {
				return nil, herr
			} else if ok {
				base = r // the token's dump and its snapshot
			}
		} else if base, baseFound, err = e.history.Base(key, level); err != nil {
			return nil, err
		}
	}
	// The snapshot: named, or an automatic one, deleted afterwards unless
	// it is kept as the base of later incrementals (see keepBase).
	snap := dp.snap
	holder := fmt.Sprintf("dump backup %d", id)
	keep := false
	// last, once this dump's locks are released: retired base snapshots it
	// held (its base, superseded meanwhile) can be deleted now
	defer e.collectBases(vol, log)
	// The base snapshot, while it exists, is held for the duration: from
	// before the automatic snapshot is made, so that at the snapshot limit
	// other kept bases give way, not this one.
	if baseFound {
		if _, ok := recordedSnapshot(vol, base); ok {
			if rel, lerr := snapshot.Lock(vol, base.Snapshot, holder+" (base)"); lerr == nil {
				defer rel()
			}
		}
	}
	if snap == "" {
		snap = snapshot.AutoBackupName(vol)
		if _, err := e.createBackupSnapshot(vol, snap, log); err != nil {
			return nil, err
		}
		defer func() {
			if keep {
				return
			}
			if _, derr := snapshot.Delete(vol, snap); derr != nil {
				log.Message(engines.LogWarning, "DUMP: "+derr.Error())
			}
		}()
	}
	unlock, err := snapshot.Lock(vol, snap, holder)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLockSnapshot, err)
	}
	defer unlock()
	info, err := snapshot.Show(vol, snap)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLockSnapshot, err)
	}
	event("Snapshot", fmt.Sprintf("%s, %s", snap, stamp(info.Created)))
	view, err := snapshot.View(vol, snap)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLockSnapshot, err)
	}
	src := VolumeSource{V: view}
	rootAttr, err := src.Resolve(dp.rel)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidPath, fs, err)
	}
	dumpTime := info.Created.Truncate(time.Second)

	// The inodes of an incremental: from the snapshot difference while the
	// base dump's snapshot exists (held for the duration), else by inode
	// change times.
	var ddate time.Time
	var changed func(uint64, Attr) bool
	if level > 0 && !baseFound {
		log.Message(engines.LogWarning, fmt.Sprintf("DUMP: no lower-level dump of %s found: dumping everything", key))
	}
	if baseFound {
		ddate = base.Date
		event("Base_dump", fmt.Sprintf("level %d, %s", base.Level, stamp(base.Date)))
		log.Message(engines.LogNormal, "DUMP: Date of last level "+strconv.Itoa(base.Level)+" dump: "+base.Date.Format(time.ANSIC))
		var method, detail string
		changed, method, detail, err = changedSince(vol, view, info.Epoch, base, ignoreCtime)
		if err != nil {
			return nil, err
		}
		if method == IncrementalFromDiff {
			e.diffIncrementals.Add(1)
		} else {
			e.ctimeIncrementals.Add(1)
		}
		event("Options", method+": "+detail)
		lvl := engines.LogNormal
		if method != IncrementalFromDiff {
			lvl = engines.LogWarning
			detail += "; selecting files changed since " + ddate.UTC().Format(time.ANSIC)
		}
		log.Message(lvl, "DUMP: "+method+": "+detail)
	}
	if len(subtrees) > 0 {
		changed = subtreeFilter(src, rootAttr.Ino, subtrees, changed)
	}
	label := dp.vol
	if len(label) > 15 {
		label = label[:15]
	}
	vinfo := format.VolumeInfo{Date: dumpTime, DDate: ddate, Level: level, Label: label,
		Filesys: strings.TrimSuffix(fs, "/"), Dev: snap, Host: e.host, Ntrec: e.ntrec}
	log.Message(engines.LogNormal, "DUMP: Date of this level "+strconv.Itoa(level)+" dump: "+dumpTime.UTC().Format(time.ANSIC))
	log.Message(engines.LogNormal, fmt.Sprintf("DUMP: Dumping %s (snapshot %s)", fs, snap))
	device := req.Device
	if device == "" {
		device = "ndmp"
	}
	event("Tape_open", device)
	spec := DumpSpec{
		Root: rootAttr.Ino, Info: vinfo, Exclude: excl, Changed: changed, NoACLs: noACLs,
		WholeVolume: dp.rel == "", Log: log, Progress: req.Progress,
		Phase: func(p string) {
			event("Phase-change", p)
			log.Message(engines.LogNormal, "DUMP: "+dumpPhaseText[p])
		},
	}
	if hist {
		spec.History = req.History
	}
	cw := &countWriter{w: req.Stream}
	st, err := WriteImage(ctx, src, cw, spec)
	written = cw.n
	event("Tape_close", device)
	if err != nil {
		return nil, err
	}
	if update || useBaseDate {
		// LEVEL/UPDATE dumps update the path's history; BASE_DATE dumps
		// record their DUMP_DATE token's snapshot (TokenPrefix + path), so
		// that the incremental given that token can diff against it
		rec := DumpRecord{Path: key, Level: level, Date: dumpTime, Snapshot: snap, SnapshotEpoch: info.Epoch}
		if useBaseDate {
			rec.Path = TokenPrefix + key
		}
		// keepBase: the automatic snapshot of a dump that later incrementals
		// can be based on is kept (deleted once superseded, see History.Update)
		rec.Kept = dp.snap == "" && level < 31 && e.maxBases > 0
		recorded, err := e.history.Update(rec)
		if err != nil {
			return nil, fmt.Errorf("dump: updating the dump history: %w", err)
		}
		if !recorded {
			log.Message(engines.LogWarning, fmt.Sprintf("DUMP: the dump history holds a newer level %d dump of %s: not updated", level, key))
		}
		keep = recorded && rec.Kept
	}
	event("End", fmt.Sprintf("%d KB", st.Bytes/1024))
	log.Message(engines.LogNormal, fmt.Sprintf("DUMP: %d KB, %d directories, %d files", st.Bytes/1024, st.Dirs, st.Files))
	out := []engines.Env{
		{Name: "ACL_START", Value: strconv.FormatInt(st.ACLStart, 10)},
		{Name: "PATHNAME_SEPARATOR", Value: "/"},
		{Name: "NDMP_VERSION", Value: "4"},
	}
	if useBaseDate {
		out = append([]engines.Env{{Name: "DUMP_DATE", Value: DumpDate(level, dumpTime)}}, out...)
	}
	return &engines.BackupResult{Env: out, Bytes: st.Bytes}, nil
}

// Phase lines as dump and restore log them.
var dumpPhaseText = map[string]string{
	PhaseI:    "mapping (Pass I)[regular files]",
	PhaseII:   "mapping (Pass II)[directories]",
	PhaseIII:  "dumping (Pass III) [directories]",
	PhaseIIIa: "dumping (Pass IIIa) [ACLs]",
	PhaseIIIb: "dumping (Pass IIIb) [offset map]",
	PhaseIV:   "dumping (Pass IV) [regular files]",
	PhaseV:    "dumping (Pass V) [ACLs]",
}

var restorePhaseText = map[string]string{
	"I":   "Phase I: reading the directories and the inode maps",
	"II":  "Phase II: creating directories and empty files",
	"III": "Phase III: restoring file data",
}

// envList renders the environment for the Options event (values with
// newlines, as MULTI_SUBTREE_NAMES, are quoted).
func envList(vars []engines.Env) string {
	parts := make([]string, 0, len(vars))
	for _, v := range vars {
		val := v.Value
		if strings.ContainsAny(val, "\n\x00 ,") {
			val = strconv.Quote(val)
		}
		parts = append(parts, v.Name+"="+val)
	}
	return strings.Join(parts, ", ")
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// subtreeFilter restricts a dump to the named subtrees (MULTI_SUBTREE_NAMES)
// below root: inodes outside them are not dumped (their directories are
// still dumped as ancestors when needed).
func subtreeFilter(src Source, root uint64, subtrees []string, inner func(uint64, Attr) bool) func(uint64, Attr) bool {
	in := map[uint64]bool{}
	var mark func(ino uint64)
	mark = func(ino uint64) {
		if in[ino] {
			return
		}
		in[ino] = true
		a, err := src.GetAttr(ino)
		if err != nil || !a.IsDir() {
			return
		}
		src.ReadDir(ino, func(e DirEntry) bool { mark(e.Ino); return true })
	}
	for _, s := range subtrees {
		ino := root
		ok := true
		for _, c := range strings.Split(s, "/") {
			found := false
			src.ReadDir(ino, func(e DirEntry) bool {
				if e.Name == c {
					ino, found = e.Ino, true
					return false
				}
				return true
			})
			if !found {
				ok = false
				break
			}
		}
		if ok {
			mark(ino)
		}
	}
	return func(ino uint64, a Attr) bool {
		if !in[ino] {
			return false
		}
		return inner == nil || inner(ino, a)
	}
}

// Recover implements engines.Engine.
func (e *Engine) Recover(ctx context.Context, req *engines.RecoverRequest) (res *engines.RecoverResult, err error) {
	release, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	ev := env{req.Env}
	verbose, _ := ev.flag("VERBOSE", false)
	debug, _ := ev.flag("DEBUG", false)
	log := logger{req.Log, verbose, debug}
	fs := strings.TrimSuffix(ev.str("FILESYSTEM", ""), "/")
	if fs == "" {
		// DMAs such as ndmjob name a whole-image restore's destination
		// in PREFIX (their -C) rather than FILESYSTEM.
		fs = strings.TrimSuffix(ev.str("PREFIX", ""), "/")
	}
	ident := fs
	if fs == "" && len(req.Names) > 0 {
		ident = req.Names[0].DestinationPath
	}
	event := func(name, info string) { _ = e.events.Event("rst", ident, name, info) }
	var stats *RestoreStats
	cr := &countReader{r: req.Stream}
	defer func() {
		if err != nil {
			event("Error", err.Error())
			files := 0
			if stats != nil {
				files = stats.Files
			}
			event("Abort", fmt.Sprintf("%d files, %d KB", files, cr.n/1024))
			log.Message(engines.LogError, "RESTORE: "+err.Error())
		}
	}()
	flags := map[string]bool{}
	for name, def := range map[string]bool{"DIRECT": false, "EXTRACT_ACL": true, "FORCE": false, "NOWRITE": false,
		"LIST": false, "RECURSIVE": true, "RECOVER_FULL_PATHS": false, "ENHANCED_DAR_ENABLED": false, "IGNORE_QTREES": false} {
		v, ferr := ev.flag(name, def)
		if ferr != nil {
			return nil, ferr
		}
		flags[name] = v
	}
	extract := strings.ToUpper(ev.str("EXTRACT", "N"))
	if _, set := engines.Lookup(req.Env, "EXTRACT_ACL"); !set && flags["DIRECT"] {
		flags["EXTRACT_ACL"] = false // the default is not to restore ACLs on a DAR
	}
	event("Start", "NDMP restore")
	event("Options", fmt.Sprintf("DIRECT=%s, EXTRACT=%s, EXTRACT_ACL=%s, FORCE=%s, NOWRITE=%s, LIST=%s, RECURSIVE=%s; %s",
		yn(flags["DIRECT"]), extract, yn(flags["EXTRACT_ACL"]), yn(flags["FORCE"]), yn(flags["NOWRITE"]), yn(flags["LIST"]), yn(flags["RECURSIVE"]), envList(req.Env)))

	// Destination volume and root: the names' destinations when there are
	// names (FILESYSTEM then usually holds the original path), FILESYSTEM
	// for a full restore. A destination that does not name a volume is
	// taken relative to FILESYSTEM.
	fullDest := func(n engines.NameEntry) string {
		d := strings.TrimSuffix(n.DestinationPath, "/")
		if d == "" {
			return fs + "/" + strings.TrimPrefix(n.OriginalPath, "/")
		}
		if dp, err := parseDumpPath(d); err == nil {
			if _, err := e.store.Volume(dp.svm, dp.vol); err == nil || fs == "" {
				return d
			}
		}
		return fs + "/" + strings.TrimPrefix(d, "/")
	}
	destPath := fs
	if len(req.Names) > 0 {
		destPath = fullDest(req.Names[0])
	}
	var tgt Target
	var baseRel string
	var view *volume.View
	var svm, vname string
	// DATA_START_RECOVER_FILEHIST (req.History set) asks for the table of
	// contents only: a listing, whatever LIST says, writing nothing.
	list := flags["LIST"] || req.History != nil
	noWrite := flags["NOWRITE"] || list
	if destPath != "" {
		dp, perr := parseDumpPath(destPath)
		if perr != nil {
			return nil, perr
		}
		svm, vname = dp.svm, dp.vol
		vol, verr := e.store.Volume(dp.svm, dp.vol)
		if verr != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidPath, destPath, verr)
		}
		if vol.Info().Type == volume.TypeDP && !noWrite {
			return nil, ErrReadOnlyDest
		}
		view, err = vol.RestoreTarget()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidPath, err)
		}
		if view.ReadOnly() && !noWrite {
			return nil, ErrReadOnlyDest
		}
		baseRel = dp.rel
	} else if !noWrite {
		return nil, fmt.Errorf("%w: no destination (FILESYSTEM or a name's destination path)", ErrInvalidPath)
	}
	var sels []Selection
	if len(req.Names) > 0 {
		for _, n := range req.Names {
			s := Selection{Path: n.OriginalPath, FhInfo: n.FhInfo}
			dst := fullDest(n)
			orig := strings.TrimSuffix(n.OriginalPath, "/")
			switch {
			case n.DestinationPath == "":
			case extract != "E" && !flags["DIRECT"] && path.Base(dst) != path.Base(orig) && orig != "" && orig != "/":
				// without EXTRACT=E (or DAR) a name keeps its name: the
				// destination is the directory to restore it into
				dst = dst + "/" + path.Base(orig)
			}
			if view != nil {
				ddp, derr := parseDumpPath(dst)
				if derr != nil || ddp.svm != svm || ddp.vol != vname {
					if derr == nil {
						derr = fmt.Errorf("all destinations must be in one volume (%s is not in /%s/%s)", dst, svm, vname)
					}
					return nil, fmt.Errorf("%w: %v", ErrInvalidPath, derr)
				}
				s.Dest = ddp.rel
			}
			sels = append(sels, s)
		}
	}
	if view != nil {
		if len(sels) > 0 {
			tgt = NewVolumeTarget(view, volume.RootIno)
		} else {
			if !noWrite {
				if err := NewVolumeTarget(view, volume.RootIno).mkdirAllBase(baseRel); err != nil {
					return nil, err
				}
			}
			a, rerr := view.Resolve(baseRel)
			if rerr != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrInvalidPath, destPath, rerr)
			}
			tgt = NewVolumeTarget(view, a.Ino)
		}
	}
	device := req.Device
	if device == "" {
		device = "ndmp"
	}
	event("Tape_open", device)
	defer event("Tape_close", device)
	spec := RestoreSpec{
		Select: sels, Recursive: flags["RECURSIVE"], NoWrite: noWrite, List: list,
		NoACLs: !flags["EXTRACT_ACL"], Force: flags["FORCE"], Log: log, Progress: req.Progress, History: req.History,
		Phase: func(p string) {
			event("Phase-change", p)
			log.Message(engines.LogNormal, "RESTORE: "+restorePhaseText[p])
		},
	}
	if sels == nil && !noWrite && tgt != nil {
		spec.State, err = e.loadState(destPath)
		if err != nil {
			return nil, err
		}
	}
	if flags["DIRECT"] && req.Seek != nil && len(sels) > 0 && allKnown(sels) {
		if flags["RECOVER_FULL_PATHS"] || !flags["RECURSIVE"] {
			if !flags["ENHANCED_DAR_ENABLED"] {
				return nil, fmt.Errorf("%w: RECOVER_FULL_PATHS and RECURSIVE=N need ENHANCED_DAR_ENABLED=Y", ErrBadEnv)
			}
			for _, n := range req.Names {
				if !strings.HasSuffix(strings.TrimSuffix(n.DestinationPath, "/"), strings.TrimSuffix(n.OriginalPath, "/")) {
					return nil, fmt.Errorf("%w: the recovery path %s must end with the original path %s", ErrBadEnv, n.DestinationPath, n.OriginalPath)
				}
			}
		}
		stats, err = e.dar(ctx, req, tgt, spec, flags["ENHANCED_DAR_ENABLED"], flags["RECOVER_FULL_PATHS"], cr)
	} else {
		var rd *format.Reader
		rd, err = format.NewReader(cr)
		if err != nil {
			if cr.n == 0 {
				return nil, fmt.Errorf("%w: %v", ErrAtEndOfTape, err)
			}
			return nil, tapeErr(err)
		}
		stats, err = ReadImage(ctx, rd, tgtOrNil(tgt), spec)
	}
	if err != nil {
		return nil, err
	}
	if spec.State != nil {
		if err := e.saveState(destPath, spec.State); err != nil {
			return nil, err
		}
	}
	if stats.Files == 0 && len(sels) > 0 && !noWrite {
		return nil, ErrNoFiles
	}
	event("End", fmt.Sprintf("%d files, %d KB", stats.Files, cr.n/1024))
	return &engines.RecoverResult{Files: stats.Files, BytesRead: cr.n}, nil
}

func tgtOrNil(t Target) Target {
	if t == nil {
		return nopTarget{}
	}
	return t
}

func allKnown(sels []Selection) bool {
	for _, s := range sels {
		if s.FhInfo == ^uint64(0) {
			return false
		}
	}
	return true
}

func (t *VolumeTarget) mkdirAllBase(rel string) error {
	ino := t.Base
	if rel == "" {
		return nil
	}
	for _, c := range strings.Split(rel, "/") {
		a, err := t.V.Lookup(ino, c)
		if err != nil {
			a, err = t.V.Mkdir(ino, c, 0o755, volume.Owner{})
			if err != nil {
				return fmt.Errorf("restore: creating %s: %w", rel, err)
			}
		}
		ino = a.Ino
	}
	return nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (e *Engine) statePath(dest string) string {
	name := strings.NewReplacer("/", "%", "\x00", "").Replace(dest)
	return filepath.Join(e.dataDir, "restore", name+".json")
}

func (e *Engine) loadState(dest string) (*RestoreState, error) {
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	var b []byte
	var err error
	if e.dataDir == "" {
		if b = e.states[dest]; b == nil {
			return &RestoreState{}, nil
		}
	} else {
		b, err = os.ReadFile(e.statePath(dest))
	}
	if errors.Is(err, os.ErrNotExist) {
		return &RestoreState{}, nil
	}
	if err != nil {
		return nil, err
	}
	st := &RestoreState{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("restore: chain state %s: %w", e.statePath(dest), err)
	}
	return st, nil
}

func (e *Engine) saveState(dest string, st *RestoreState) error {
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if e.dataDir == "" {
		if e.states == nil {
			e.states = map[string][]byte{}
		}
		e.states[dest] = b
		return nil
	}
	p := e.statePath(dest)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

// dar restores the named files by seeking to their headers (direct
// access recovery), reading only the records they occupy.
func (e *Engine) dar(ctx context.Context, req *engines.RecoverRequest, tgt Target, spec RestoreSpec, enhanced, fullPaths bool, cr *countReader) (*RestoreStats, error) {
	if err := req.Seek(0, format.TPBSize); err != nil {
		return nil, fmt.Errorf("%s: %w", MsgMediaErrorRead, err)
	}
	rd, err := format.NewReader(io.LimitReader(cr, format.TPBSize))
	if err != nil {
		return nil, tapeErr(err)
	}
	sels := append([]Selection(nil), spec.Select...)
	sort.Slice(sels, func(i, j int) bool { return sels[i].FhInfo < sels[j].FhInfo })
	st := &RestoreStats{Level: rd.Volume().Level, Date: rd.Volume().Date}
	var newDirs []fullPathDir
	wr := &darWindowReader{r: cr, seek: req.Seek}
	for i, s := range sels {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// The next selected file's header bounds this file's windows: a
		// window never reaches past data the image is known to hold.
		var next uint64
		for _, n := range sels[i+1:] {
			if n.FhInfo > s.FhInfo {
				next = n.FhInfo
				break
			}
		}
		if err := wr.seekTo(s.FhInfo, next); err != nil {
			return nil, fmt.Errorf("%s: %w", MsgMediaErrorRead, err)
		}
		rd.Reposition(wr, int64(s.FhInfo), true)
		ent, err := rd.Next()
		if err != nil {
			return nil, tapeErr(err)
		}
		if ent.Kind != format.KindInode {
			return nil, fmt.Errorf("%s: no inode at offset %d for %s", MsgMediaErrorRead, s.FhInfo, s.Path)
		}
		wr.expect(s.FhInfo + darExtent(ent.Header.Inode.Size))
		if ent.Header.Inode.Mode&format.IFMT == format.IFDIR {
			if !enhanced {
				return nil, ErrNoFiles
			}
			// Enhanced DAR of a directory: read the directories (phase I)
			// from the start of the image, then the files below it up to
			// the last of them (inode order), in bounded windows.
			if err := wr.stream(0); err != nil {
				return nil, fmt.Errorf("%s: %w", MsgMediaErrorRead, err)
			}
			r2, err := format.NewReader(wr)
			if err != nil {
				return nil, tapeErr(err)
			}
			sub := spec
			sub.Select = []Selection{s}
			sub.State = nil
			sub.stopAfterSelected = true
			dst, err := ReadImage(ctx, r2, tgtOrNil(tgt), sub)
			if err != nil {
				return nil, err
			}
			st.Files += dst.Files
			continue
		}
		if spec.NoWrite || spec.List {
			st.Files++
			continue
		}
		// The file's LOG_FILE is posted below under its original path;
		// without Select, finish does not post another one (under the
		// destination path).
		fspec := spec
		fspec.Select = nil
		r := &restorer{ctx: ctx, rd: rd, tgt: tgt, spec: fspec, dirs: map[uint32]*tapeDir{}, created: map[string]bool{}}
		if d := pathDir(s.Dest); d != "" {
			if err := r.mkdirAll(d); err != nil {
				return nil, err
			}
		}
		if fullPaths {
			for d := range r.created {
				newDirs = append(newDirs, fullPathDir{dest: d, sel: s})
			}
		}
		f := &fileRestore{ino: ent.Ino(), hdr: ent.Header, paths: []string{s.Dest}}
		if err := f.create(r); err != nil {
			log := spec.Log
			if log != nil {
				log.File(s.Path, err)
			}
			return nil, fmt.Errorf(MsgRestoreFailedFmt+": %w", s.Path, err)
		}
		// extended attributes follow the data
		for {
			x, err := rd.Next()
			if err != nil || x.Kind != format.KindXattr || x.Ino() != ent.Ino() {
				break
			}
			if x.XattrErr == nil {
				f.xattrs = append(f.xattrs, x.Xattrs...)
			}
		}
		f.finish(r)
		st.Files += r.st.Files
		if spec.Log != nil {
			spec.Log.File(s.Path, nil)
		}
	}
	if len(newDirs) > 0 {
		if err := e.restoreFullPaths(ctx, req, tgt, spec, newDirs, cr); err != nil {
			return nil, err
		}
	}
	st.BytesRead = cr.n
	return st, nil
}

// darWindowReader reads a DAR file's records in bounded ranges: a DATA
// service cannot seek again once it streams an open-ended range (NDMP: the
// mover is busy with MOVER_READ to the end of the image), and a range
// reaching past the end of the image makes the mover stop at the filemark
// (MOVER_PAUSED EOF), after which the next seek finds no data. So a file
// asks for its header first, then for the extent its size implies (kept
// below the next selected file's header), then, if its records go on (an
// extended attribute, a low estimate), for small steps.
type darWindowReader struct {
	r     io.Reader
	seek  func(off, length uint64) error
	off   uint64 // image offset of the next byte
	limit uint64 // the file's records are expected to end here (0: unknown)
	bound uint64 // the next selected file's header (0: none)
	win   uint64
}

const (
	darHeaderWindow = 2 * format.TPBSize
	darStep         = 2 * format.TPBSize
	darMaxWindow    = 4 << 20
)

// darExtent is how many image bytes an inode of size bytes can occupy:
// its header, its data records, the TS_ADDR headers continuing the block
// map (one per 512 records) and the next record's header, read to find
// extended attributes.
func darExtent(size uint64) uint64 {
	blocks := (size + format.TPBSize - 1) / format.TPBSize
	hdrs := uint64(1)
	if blocks > 512 {
		hdrs += (blocks - 1) / 512
	}
	return (blocks + hdrs + 1) * format.TPBSize
}

func (w *darWindowReader) seekTo(off, bound uint64) error {
	w.limit, w.bound, w.win = 0, bound, darHeaderWindow
	return w.seekWindow(off)
}

// stream reads on from off in windows of darMaxWindow, with no end in
// view (a directory DAR reading up to its last file).
func (w *darWindowReader) stream(off uint64) error {
	w.limit, w.bound, w.win = 0, 0, darMaxWindow
	return w.seekWindow(off)
}

// expect records where the file's records should end.
func (w *darWindowReader) expect(end uint64) {
	if w.bound != 0 && end > w.bound {
		end = w.bound
	}
	w.limit = end
	if end > w.off {
		w.win = min(end-w.off, darMaxWindow)
	}
}

func (w *darWindowReader) seekWindow(off uint64) error {
	n := w.win
	switch {
	case w.limit > off:
		n = min(n, w.limit-off)
	case w.limit != 0:
		n = darStep
	}
	if w.bound > off {
		n = min(n, w.bound-off)
	}
	n = max(n, format.TPBSize)
	if err := w.seek(off, n); err != nil {
		return err
	}
	w.off = off
	return nil
}

func (w *darWindowReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.off += uint64(n)
	if n == 0 && err == io.EOF {
		if err := w.seekWindow(w.off); err != nil {
			return 0, err
		}
		n, err = w.r.Read(p)
		w.off += uint64(n)
	}
	return n, err
}

type fullPathDir struct {
	dest string
	sel  Selection
}

// restoreFullPaths (RECOVER_FULL_PATHS=Y) gives the directories a DAR
// created along the recovery path their permissions and ACLs from the
// image: it reads the directories (phase III) from the start of the image.
func (e *Engine) restoreFullPaths(ctx context.Context, req *engines.RecoverRequest, tgt Target, spec RestoreSpec, dirs []fullPathDir, cr *countReader) error {
	if err := req.Seek(0, 0); err != nil {
		return fmt.Errorf("%s: %w", MsgMediaErrorRead, err)
	}
	rd, err := format.NewReader(cr)
	if err != nil {
		return tapeErr(err)
	}
	r := &restorer{ctx: ctx, rd: rd, tgt: tgt, spec: spec, dirs: map[uint32]*tapeDir{}, created: map[string]bool{}}
	if err := r.readMapsAndDirs(); err != nil {
		return err
	}
	tree, _ := r.tree()
	paths := map[uint32][]string{}
	r.walk(tree, format.RootIno, "", paths)
	byPath := map[string]uint32{}
	for ino, ps := range paths {
		for _, p := range ps {
			byPath[p] = ino
		}
	}
	for _, d := range dirs {
		// dest ends with the original path: map the directory back
		orig := strings.Trim(d.sel.Path, "/")
		dest := strings.Trim(d.sel.Dest, "/")
		prefix := strings.TrimSuffix(dest, orig)
		if !strings.HasPrefix(d.dest, prefix) {
			continue
		}
		ino, ok := byPath[strings.Trim(strings.TrimPrefix(d.dest, prefix), "/")]
		if !ok || r.dirs[ino] == nil {
			continue
		}
		td := r.dirs[ino]
		r.setXattrs(d.dest, td.xattrs)
		if err := tgt.SetAttr(d.dest, attrOfDinode(td.hdr.Inode)); err != nil {
			r.logf(engines.LogWarning, "RESTORE: attributes of %s: %v", d.dest, err)
		}
	}
	return nil
}

func pathDir(p string) string {
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// nopTarget is used for LIST/NOWRITE without a destination.
type nopTarget struct{}

func (nopTarget) Lstat(string) (Attr, error)                { return Attr{}, errNotExist }
func (nopTarget) Mkdir(string, uint32) error                { return nil }
func (nopTarget) Create(string, uint32) (FileWriter, error) { return nil, errNotExist }
func (nopTarget) Symlink(string, string) error              { return nil }
func (nopTarget) Mknod(string, uint32, uint64) error        { return nil }
func (nopTarget) Link(string, string) error                 { return nil }
func (nopTarget) Remove(string) error                       { return nil }
func (nopTarget) RemoveAll(string) error                    { return nil }
func (nopTarget) Rename(string, string) error               { return nil }
func (nopTarget) SetAttr(string, Attr) error                { return nil }
func (nopTarget) SetXattr(string, string, []byte) error     { return nil }
func (nopTarget) Free() (uint64, uint64, error)             { return 0, 0, nil }
