package dump

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tapelab/engines"
	"tapelab/engines/dump/format"
)

// RestoreState is what a full restore remembers for the next level of an
// increment chain (Linux restore keeps the same in ./restoresymtable): the
// directory tree of the last image restored, by dump inode number.
type RestoreState struct {
	Date  uint32                       `json:"date"`  // c_date of the last image restored
	Level int32                        `json:"level"` // its level
	Dirs  map[uint32]map[string]uint32 `json:"dirs"`  // directory -> name -> inode
	Types map[uint32]uint16            `json:"types"` // inode -> type bits (S_IFMT)
}

// Selection is one name to extract: a path in the image (relative to the
// dump root, "" = everything) restored at Dest (relative to the target).
type Selection struct {
	Path string
	Dest string
	// FhInfo is the image offset of the inode's header (from file
	// history), or ^0 when unknown.
	FhInfo uint64
}

// RestoreSpec configures ReadImage.
type RestoreSpec struct {
	// State is the previous restore of the chain (full restores only; nil
	// for a level 0); ReadImage updates it.
	State     *RestoreState
	Select    []Selection // nil = the whole image
	Recursive bool        // extract the contents of selected directories
	NoWrite   bool        // read and check, write nothing
	List      bool        // list the image, write nothing
	NoACLs    bool        // do not restore ACLs (EXTRACT_ACL=N)
	Force     bool        // skip the free space / inode check
	Log       engines.Logger
	Progress  engines.Progress
	History   engines.FileHistory // table of contents for START_RECOVER_FILEHIST
	Phase     func(string)

	// stopAfterSelected ends phase III after the last selected inode
	// instead of at the end of the image (a directory DAR: inodes come in
	// ascending order, so nothing after it is wanted, and a DAR reads
	// only what it needs).
	stopAfterSelected bool
}

// RestoreStats are the results of ReadImage.
type RestoreStats struct {
	Files     int // inodes created or updated
	BytesRead int64
	Level     int32
	Date      uint32
}

type tapeDir struct {
	off    int64 // image offset of the directory's header
	hdr    format.Header
	ents   []format.Dirent
	xattrs []format.Xattr
}

const holdDir = ".dumprestore.tmp"

type restorer struct {
	ctx  context.Context
	rd   *format.Reader
	tgt  Target
	spec RestoreSpec
	st   RestoreStats

	clri, bits []byte
	dirs       map[uint32]*tapeDir
	place      map[uint32][]string // inode -> target paths
	created    map[string]bool     // dirs created by us (attributes to set)
	pending    *format.Entry
	lastBytes  int64
	batch      batchTarget     // the target, when it queues changes
	counted    map[string]bool // batch: files counted in st.Files
}

// batchTarget is a Target that can queue changes and apply them in
// batches (VolumeTarget): failures of queued changes come later, from
// Failures.
type batchTarget interface {
	SetBatching(on bool) error
	Flush() error
	Failures() []DeferredError
}

func (r *restorer) logf(level engines.LogLevel, f string, args ...any) {
	if r.spec.Log != nil {
		r.spec.Log.Message(level, fmt.Sprintf(f, args...))
	}
}

func (r *restorer) phase(p string) {
	if r.spec.Progress != nil {
		r.spec.Progress.Phase(p)
	}
	if r.spec.Phase != nil {
		r.spec.Phase(p)
	}
}

func (r *restorer) progress() {
	c := r.rd.Consumed()
	if r.spec.Progress != nil && c > r.lastBytes {
		r.spec.Progress.Add(c - r.lastBytes)
	}
	r.lastBytes = c
}

func (r *restorer) next() (*format.Entry, error) {
	if r.pending != nil {
		e := r.pending
		r.pending = nil
		return e, nil
	}
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	e, err := r.rd.Next()
	r.progress()
	if err != nil {
		return nil, tapeErr(err)
	}
	return e, nil
}

// tapeErr maps reader errors to the seed's restore messages.
func tapeErr(err error) error {
	switch {
	case errors.Is(err, format.ErrBadChecksum), errors.Is(err, format.ErrBadMagic), errors.Is(err, format.ErrFormat):
		return fmt.Errorf("%s: %w", MsgMediaErrorRead, err)
	case errors.Is(err, format.ErrTruncated):
		return fmt.Errorf("%s: %w", MsgTapeReadError, err)
	}
	return err
}

// ReadImage restores one image from rd into tgt: phase I reads the maps and
// every directory, phase II creates directories (and, for an incremental
// chain, deletes and renames what changed), phase III writes files.
func ReadImage(ctx context.Context, rd *format.Reader, tgt Target, spec RestoreSpec) (*RestoreStats, error) {
	r := &restorer{ctx: ctx, rd: rd, tgt: tgt, spec: spec, dirs: map[uint32]*tapeDir{}, created: map[string]bool{}}
	vol := rd.Volume()
	r.st.Level, r.st.Date = vol.Level, vol.Date
	if spec.State != nil && spec.State.Date != 0 && spec.Select == nil {
		if vol.DDate == 0 {
			// a new level 0 restarts the chain
			r.logf(engines.LogNormal, "RESTORE: level 0 image: starting a new increment chain")
		} else if vol.DDate > spec.State.Date {
			return nil, fmt.Errorf("%w: this level %d image is based on a dump of %s, but the last image restored is of %s: restore the increment chain in order",
				ErrBadEnv, vol.Level, time.Unix(int64(vol.DDate), 0).UTC().Format(time.ANSIC), time.Unix(int64(spec.State.Date), 0).UTC().Format(time.ANSIC))
		}
	}
	r.phase("I")
	if err := r.readMapsAndDirs(); err != nil {
		return nil, err
	}
	if spec.List {
		return r.list()
	}
	r.phase("II")
	if err := r.plan(); err != nil {
		return nil, err
	}
	r.phase("III")
	if bt, ok := tgt.(batchTarget); ok && spec.Select == nil && !spec.NoWrite {
		// A full restore: queue the files' changes (selections keep one
		// call per change, so each file's outcome is logged as it goes).
		r.batch, r.counted = bt, map[string]bool{}
		bt.SetBatching(true)
		defer bt.SetBatching(false)
	}
	if err := r.files(); err != nil {
		return nil, err
	}
	if err := r.finishDirs(); err != nil {
		return nil, err
	}
	if err := r.settle(true); err != nil {
		return nil, err
	}
	// A finished restore is durable: the DMA is told it succeeded and may
	// drop its copy. (A restore into a volume has written most of its data
	// by now: the store writes behind and syncs each 64 MiB of value log.)
	if s, ok := tgt.(interface{ Sync() error }); ok && !spec.NoWrite {
		if err := s.Sync(); err != nil {
			return nil, fmt.Errorf("restore: making the restored data durable: %w", err)
		}
	}
	r.st.BytesRead = rd.Consumed()
	if spec.State != nil && spec.Select == nil && !spec.NoWrite {
		r.saveState()
	}
	return &r.st, nil
}

func (r *restorer) readMapsAndDirs() error {
	for {
		e, err := r.next()
		if err != nil {
			return err
		}
		switch e.Kind {
		case format.KindClri:
			r.clri = e.Map
			continue
		case format.KindBits:
			r.bits = e.Map
			continue
		case format.KindEnd:
			r.pending = e
			return nil
		case format.KindXattr:
			if d := r.dirs[e.Ino()]; d != nil && e.XattrErr == nil {
				d.xattrs = append(d.xattrs, e.Xattrs...)
			}
			continue
		}
		if r.clri == nil || r.bits == nil {
			return fmt.Errorf("%s: %w: inode maps missing before inode %d", MsgMediaErrorRead, format.ErrFormat, e.Ino())
		}
		if e.Header.Inode.Mode&format.IFMT != format.IFDIR {
			r.pending = e
			return nil
		}
		ents, err := r.rd.ReadDir()
		r.progress()
		if err != nil {
			return tapeErr(err)
		}
		r.dirs[e.Ino()] = &tapeDir{off: e.Offset, hdr: e.Header, ents: ents}
	}
}

// tree is the directory structure after this image: tape directories
// override the previous state's. A directory of the state whose inode is
// on this image as another type is gone (its number was reused).
func (r *restorer) tree() (map[uint32]map[string]uint32, map[uint32]uint16) {
	dirs := map[uint32]map[string]uint32{}
	types := map[uint32]uint16{}
	if st := r.spec.State; st != nil && r.spec.Select == nil && r.rd.Volume().DDate != 0 {
		for d, ents := range st.Dirs {
			if format.TestBit(r.clri, d) && (r.dirs[d] != nil || !format.TestBit(r.bits, d)) {
				dirs[d] = ents
			}
		}
		for ino, t := range st.Types {
			types[ino] = t
		}
	}
	for ino, d := range r.dirs {
		m := map[string]uint32{}
		for _, e := range d.ents {
			if e.Name == "." || e.Name == ".." {
				continue
			}
			m[e.Name] = e.Ino
			if e.Type != format.DTUnknown {
				types[e.Ino] = uint16(e.Type) << 12
			}
		}
		dirs[ino] = m
		types[ino] = format.IFDIR
	}
	return dirs, types
}

// walk lists every path below root in the tree (only inodes in use).
func (r *restorer) walk(dirs map[uint32]map[string]uint32, root uint32, prefix string, out map[uint32][]string) {
	if _, ok := out[root]; !ok {
		out[root] = []string{prefix}
	}
	names := make([]string, 0, len(dirs[root]))
	for n := range dirs[root] {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ino := dirs[root][n]
		if r.clri != nil && !format.TestBit(r.clri, ino) {
			continue
		}
		p := joinRel(prefix, n)
		if _, isDir := dirs[ino]; isDir {
			if _, seen := out[ino]; seen {
				continue // a directory loop or a second name: ignore
			}
			r.walk(dirs, ino, p, out)
			continue
		}
		out[ino] = append(out[ino], p)
	}
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func depth(p string) int {
	if p == "" {
		return 0
	}
	return strings.Count(p, "/") + 1
}

func (r *restorer) list() (*RestoreStats, error) {
	// drain the image first: the table of contents carries each inode's
	// attributes and position (FhInfo)
	type node struct {
		hdr format.Header
		off int64
	}
	nodes := map[uint32]node{}
	for ino, d := range r.dirs {
		nodes[ino] = node{d.hdr, d.off}
	}
	for {
		e, err := r.next()
		if err != nil {
			return nil, err
		}
		if e.Kind == format.KindEnd {
			break
		}
		if e.Kind == format.KindInode {
			nodes[e.Ino()] = node{e.Header, e.Offset}
		}
	}
	dirs, _ := r.tree()
	paths := map[uint32][]string{}
	r.walk(dirs, format.RootIno, "", paths)
	var inos []uint32
	for ino := range paths {
		if format.TestBit(r.bits, ino) {
			inos = append(inos, ino)
		}
	}
	sort.Slice(inos, func(i, j int) bool { return inos[i] < inos[j] })
	for _, ino := range inos {
		for _, p := range paths[ino] {
			r.logf(engines.LogNormal, "%10d\t./%s", ino, p)
			if r.spec.History != nil {
				n, ok := nodes[ino]
				st := engines.FileStat{Node: uint64(ino), FhInfo: ^uint64(0), Type: engines.FileOther}
				if ok {
					st = fileStat(attrOfDinode(n.hdr.Inode), uint64(ino), uint64(n.off))
					st.Links = uint32(n.hdr.Inode.Nlink)
				}
				if err := r.spec.History.AddFile("/"+p, st); err != nil {
					return nil, err
				}
			}
		}
		r.st.Files++
	}
	r.st.BytesRead = r.rd.Consumed()
	return &r.st, nil
}

func (r *restorer) plan() error {
	newDirs, types := r.tree()
	newPaths := map[uint32][]string{}
	r.walk(newDirs, format.RootIno, "", newPaths)
	if r.spec.Select != nil {
		return r.planSelect(newPaths, newDirs)
	}
	r.place = newPaths
	if !r.spec.Force && !r.spec.NoWrite {
		if _, freeInodes, err := r.tgt.Free(); err == nil {
			need := uint64(0)
			for ino := range newPaths {
				if format.TestBit(r.bits, ino) {
					need++
				}
			}
			if freeInodes < need {
				return fmt.Errorf("%w: %d inodes needed, %d free (set FORCE=Y to restore as much as fits)", ErrNoSpace, need, freeInodes)
			}
		}
	}
	if r.spec.NoWrite {
		return nil
	}
	if st := r.spec.State; st != nil && st.Dirs != nil && r.rd.Volume().DDate != 0 {
		return r.reconcile(layoutOf(st.Dirs, nil), layoutOf(newDirs, r.clri))
	}
	// A level 0 (or a restore without a chain): create the directories,
	// parents first; existing directories are kept.
	var inos []uint32
	for ino := range newPaths {
		if ino != format.RootIno && types[ino] == format.IFDIR && r.dirs[ino] != nil {
			inos = append(inos, ino)
		}
	}
	sortByDepth(inos, newPaths, false)
	for _, ino := range inos {
		if err := r.mkdir(newPaths[ino][0]); err != nil {
			return err
		}
	}
	return nil
}

// sortByDepth orders inodes by the depth of their first path, shallowest
// (or, with deepest, deepest) first, then by inode number.
func sortByDepth(inos []uint32, paths map[uint32][]string, deepest bool) {
	sort.Slice(inos, func(i, j int) bool {
		di, dj := depth(paths[inos[i]][0]), depth(paths[inos[j]][0])
		if di != dj {
			return di < dj != deepest
		}
		return inos[i] < inos[j]
	})
}

// link is one directory entry: name in directory dir.
type link struct {
	dir  uint32
	name string
}

// layout is a directory tree by inode number: where each directory is (a
// directory has one name; further names and loops are ignored, as in
// walk) and every name of every other inode.
type layout struct {
	path  map[uint32][]string // directory -> {its path} ("" = the root)
	at    map[uint32]link     // directory -> its entry (not for the root)
	names map[uint32][]link   // non-directory -> its entries
}

// layoutOf lays out the tree below the root; inUse (nil = all) is the
// map of inodes in use: entries for other inodes are ignored.
func layoutOf(dirs map[uint32]map[string]uint32, inUse []byte) *layout {
	l := &layout{path: map[uint32][]string{}, at: map[uint32]link{}, names: map[uint32][]link{}}
	var visit func(dir uint32, p string)
	visit = func(dir uint32, p string) {
		l.path[dir] = []string{p}
		names := make([]string, 0, len(dirs[dir]))
		for n := range dirs[dir] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ino := dirs[dir][n]
			if inUse != nil && !format.TestBit(inUse, ino) {
				continue
			}
			if _, isDir := dirs[ino]; !isDir {
				l.names[ino] = append(l.names[ino], link{dir, n})
			} else if _, seen := l.path[ino]; !seen {
				l.at[ino] = link{dir, n}
				visit(ino, joinRel(p, n))
			}
		}
	}
	visit(format.RootIno, "")
	return l
}

func (l *layout) pathOf(e link) string { return joinRel(l.path[e.dir][0], e.name) }

// reconcile turns the tree of the previous restore (old, which the target
// holds) into the tree of this incremental image (cur) by inode number,
// as BSD restore does with its symbol table: a directory is the same
// directory if its inode is a directory in both trees (it keeps its
// contents wherever it moves); another inode is the same file if it is in
// both trees and not on this image (an inode on the image is restored
// afresh in phase III, so all its old names go). The order makes every
// path valid when it is used:
//
//  1. names of files that are gone or on the image, and names that moved,
//     are removed at their old paths (nothing has moved yet); a file that
//     keeps none of its names is first renamed into the holding directory;
//  2. directories that moved go to the holding directory and directories
//     that are gone are removed, deepest first (so their parents are still
//     where the old tree says; what a removed directory held that lives on
//     was moved out before);
//  3. new and moved directories are placed, parents first;
//  4. new names of kept files are linked.
func (r *restorer) reconcile(old, cur *layout) error {
	onTape := func(ino uint32) bool { return format.TestBit(r.bits, ino) }
	held := false
	hold := func(ino uint32, from string) bool {
		if !held {
			if err := r.tgt.Mkdir(holdDir, 0o700); err != nil && !errors.Is(err, errExist) {
				r.logf(engines.LogWarning, "RESTORE: cannot create %s: %v", holdDir, err)
				return false
			}
			held = true
		}
		if err := r.tgt.Rename(from, joinRel(holdDir, fmt.Sprint(ino))); err != nil {
			r.logf(engines.LogWarning, "RESTORE: cannot move %s: %v", from, err)
			return false
		}
		return true
	}
	// sameDir: the directory is in both trees; gone: a directory of the
	// old tree that is not (its subtree is removed with it).
	sameDir := func(ino uint32) bool {
		_, a := old.path[ino]
		_, b := cur.path[ino]
		return a && b
	}
	gone := func(dir uint32) bool { return !sameDir(dir) }

	// 1. file names
	type addition struct {
		ino  uint32
		from string // a path of the inode once directories are placed
		to   []link
	}
	var adds []addition
	for ino, olds := range old.names {
		news := cur.names[ino]
		if onTape(ino) {
			news = nil
		} else if len(olds) == 1 && len(news) == 1 && olds[0] == news[0] {
			continue // the common case: one name, unchanged
		}
		var kept, added []link
		isOld := make(map[link]bool, len(olds))
		for _, e := range olds {
			isOld[e] = true
		}
		isNew := make(map[link]bool, len(news))
		for _, e := range news {
			isNew[e] = true
			if isOld[e] {
				kept = append(kept, e)
			} else {
				added = append(added, e)
			}
		}
		if len(added) > 0 {
			a := addition{ino: ino, to: added}
			if len(kept) > 0 {
				a.from = cur.pathOf(kept[0])
			} else {
				// keep the file in the holding directory under its
				// inode number; it leaves its first old name
				i := 0
				for i < len(olds) && isNew[olds[i]] {
					i++
				}
				if !hold(ino, old.pathOf(olds[i])) {
					continue
				}
				isNew[olds[i]] = true // moved, not to be removed
				a.from = joinRel(holdDir, fmt.Sprint(ino))
			}
			adds = append(adds, a)
		}
		for _, e := range olds {
			if isNew[e] || gone(e.dir) {
				continue // kept, or removed with its directory
			}
			p := old.pathOf(e)
			if err := r.tgt.Remove(p); err == nil {
				r.logf(engines.LogDebug, "RESTORE: removed %s", p)
			} else if !errors.Is(err, errNotExist) {
				r.logf(engines.LogWarning, "RESTORE: cannot remove %s: %v", p, err)
			}
		}
	}

	// 2. directories that move or go, deepest first
	var moving []uint32
	moved := map[uint32]bool{}
	for ino := range old.path {
		if ino == format.RootIno {
			continue
		}
		if sameDir(ino) {
			if old.at[ino] != cur.at[ino] {
				moving = append(moving, ino)
			}
		} else if !gone(old.at[ino].dir) {
			moving = append(moving, ino) // the top of a removed subtree
		}
	}
	sortByDepth(moving, old.path, true)
	for _, ino := range moving {
		p := old.path[ino][0]
		if sameDir(ino) {
			moved[ino] = hold(ino, p)
			continue
		}
		if err := r.tgt.RemoveAll(p); err != nil {
			return fmt.Errorf("restore: removing %s: %w", p, err)
		}
		r.logf(engines.LogDebug, "RESTORE: removed %s", p)
	}

	// 3. directories, parents first
	var place []uint32
	for ino := range cur.path {
		if ino != format.RootIno && (moved[ino] || !sameDir(ino)) {
			place = append(place, ino)
		}
	}
	sortByDepth(place, cur.path, false)
	for _, ino := range place {
		p := cur.path[ino][0]
		if moved[ino] {
			if err := r.tgt.Rename(joinRel(holdDir, fmt.Sprint(ino)), p); err != nil {
				return fmt.Errorf("restore: moving to %s: %w", p, err)
			}
			continue
		}
		if r.dirs[ino] == nil {
			r.logf(engines.LogWarning, "RESTORE: directory %s (inode %d) is neither on the image nor restored before", p, ino)
		}
		if err := r.mkdir(p); err != nil {
			return err
		}
	}

	// 4. new names of kept files
	for _, a := range adds {
		for _, e := range a.to {
			p := cur.pathOf(e)
			if err := r.tgt.Link(a.from, p); err != nil {
				r.logf(engines.LogWarning, "RESTORE: cannot link %s: %v", p, err)
			}
		}
	}
	for ino, news := range cur.names {
		if _, had := old.names[ino]; !had && !onTape(ino) {
			r.logf(engines.LogWarning, "RESTORE: %s (inode %d) is neither on the image nor restored before", cur.pathOf(news[0]), ino)
		}
	}
	if held {
		if err := r.tgt.RemoveAll(holdDir); err != nil {
			r.logf(engines.LogWarning, "RESTORE: cannot remove %s: %v", holdDir, err)
		}
	}
	return nil
}

var errExist = syscall.EEXIST

// mkdir creates a directory; an existing directory is kept (directories
// are not overwritten), an existing file in the way is replaced.
func (r *restorer) mkdir(p string) error {
	a, err := r.tgt.Lstat(p)
	if err == nil {
		if a.IsDir() {
			return nil
		}
		if err := r.tgt.Remove(p); err != nil {
			return fmt.Errorf("restore: replacing %s: %w", p, err)
		}
	}
	if err := r.tgt.Mkdir(p, 0o700); err != nil {
		return fmt.Errorf("restore: creating directory %s: %w", p, err)
	}
	r.created[p] = true
	return nil
}

// planSelect maps the selected names to their destinations.
func (r *restorer) planSelect(paths map[uint32][]string, dirs map[uint32]map[string]uint32) error {
	byPath := map[string]uint32{}
	for ino, ps := range paths {
		for _, p := range ps {
			byPath[p] = ino
		}
	}
	r.place = map[uint32][]string{}
	var mk []string
	for _, s := range r.spec.Select {
		src := strings.Trim(path.Clean("/"+s.Path), "/")
		ino, ok := byPath[src]
		if !ok {
			err := fmt.Errorf("%s: not found in the backup image", s.Path)
			r.logf(engines.LogError, "RESTORE: %v", err)
			if r.spec.Log != nil {
				r.spec.Log.File(s.Path, err)
			}
			continue
		}
		dest := strings.Trim(path.Clean("/"+s.Dest), "/")
		r.place[ino] = append(r.place[ino], dest)
		if _, isDir := dirs[ino]; isDir {
			mk = append(mk, dest)
			if r.spec.Recursive {
				sub := map[uint32][]string{}
				r.walk(dirs, ino, dest, sub)
				for cino, cps := range sub {
					if cino == ino {
						continue
					}
					r.place[cino] = append(r.place[cino], cps...)
					if _, d := dirs[cino]; d {
						mk = append(mk, cps...)
					}
				}
			}
		}
	}
	if len(r.place) == 0 {
		return ErrNoFiles
	}
	if r.spec.NoWrite {
		return nil
	}
	sort.Slice(mk, func(i, j int) bool { return depth(mk[i]) < depth(mk[j]) })
	for _, p := range mk {
		if err := r.mkdirAll(p); err != nil {
			return err
		}
	}
	// parents of selected files
	for ino, ps := range r.place {
		if _, isDir := dirs[ino]; isDir {
			continue
		}
		for _, p := range ps {
			if d := path.Dir(p); d != "." {
				if err := r.mkdirAll(d); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (r *restorer) mkdirAll(p string) error {
	if p == "" || p == "." {
		return nil
	}
	if a, err := r.tgt.Lstat(p); err == nil && a.IsDir() {
		return nil
	}
	if d := path.Dir(p); d != "." {
		if err := r.mkdirAll(d); err != nil {
			return err
		}
	}
	return r.mkdir(p)
}

// lastSelected is the highest inode number phase III restores (0: none).
func (r *restorer) lastSelected() uint32 {
	var last uint32
	for ino := range r.place {
		if _, dir := r.dirs[ino]; !dir {
			last = max(last, ino)
		}
	}
	return last
}

// files is phase III: regular files, symlinks, devices, in inode order.
func (r *restorer) files() error {
	stopAfter := uint32(math.MaxUint32)
	if r.spec.stopAfterSelected {
		stopAfter = r.lastSelected()
	}
	var cur *fileRestore
	flush := func() {
		if cur != nil {
			cur.finish(r)
			cur = nil
		}
	}
	defer flush()
	for {
		if err := r.settle(false); err != nil {
			return err
		}
		e, err := r.next()
		if err != nil {
			return err
		}
		switch e.Kind {
		case format.KindEnd:
			flush()
			return r.settle(true)
		case format.KindXattr:
			if e.XattrErr != nil {
				r.logf(engines.LogWarning, "RESTORE: inode %d: %v", e.Ino(), e.XattrErr)
				continue
			}
			if cur != nil && cur.ino == e.Ino() {
				cur.xattrs = append(cur.xattrs, e.Xattrs...)
			} else if d := r.dirs[e.Ino()]; d != nil {
				d.xattrs = append(d.xattrs, e.Xattrs...)
			}
			continue
		case format.KindClri, format.KindBits:
			return fmt.Errorf("%s: %w: unexpected inode map", MsgMediaErrorRead, format.ErrFormat)
		}
		flush()
		if e.Ino() > stopAfter {
			return r.settle(true) // as at the end of the image
		}
		if e.Header.Inode.Mode&format.IFMT == format.IFDIR {
			// a directory after the files (not written by BSD dumps): read it
			ents, err := r.rd.ReadDir()
			if err != nil {
				return tapeErr(err)
			}
			r.dirs[e.Ino()] = &tapeDir{hdr: e.Header, ents: ents}
			continue
		}
		paths := r.place[e.Ino()]
		if len(paths) == 0 || r.spec.NoWrite {
			if r.spec.NoWrite && len(paths) > 0 {
				r.st.Files++
			}
			continue // not selected: the reader skips its data
		}
		cur = &fileRestore{ino: e.Ino(), hdr: e.Header, paths: paths}
		if err := cur.create(r); err != nil {
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
				return fmt.Errorf("restore stopped: %w", err)
			}
			r.logf(engines.LogError, "RESTORE: %s: %v", paths[0], err)
			if r.spec.Log != nil {
				r.spec.Log.File(paths[0], err)
			}
			cur = nil
		}
	}
}

type fileRestore struct {
	ino    uint32
	hdr    format.Header
	paths  []string
	xattrs []format.Xattr
	ok     bool
}

func (f *fileRestore) create(r *restorer) error {
	in := f.hdr.Inode
	p := f.paths[0]
	if a, err := r.tgt.Lstat(p); err == nil {
		if a.IsDir() {
			return fmt.Errorf("a directory is in the way (directories are not overwritten)")
		}
		if in.Mode&format.IFMT != format.IFREG || a.Mode&format.IFMT != format.IFREG || a.Nlink > 1 {
			if err := r.tgt.Remove(p); err != nil {
				return err
			}
		}
	}
	switch in.Mode & format.IFMT {
	case format.IFREG:
		w, err := r.tgt.Create(p, uint32(in.Mode)&0o777|0o200)
		if err != nil {
			return err
		}
		var end int64
		werr := r.rd.ReadData(func(off int64, b []byte) error {
			end = off + int64(len(b))
			_, err := w.WriteAt(b, off)
			return err
		})
		r.progress()
		// a trailing hole (or an empty file over an existing one) needs the
		// size set; otherwise the data written already ends at the size
		if werr == nil && end != int64(in.Size) {
			if err := w.Truncate(int64(in.Size)); err != nil {
				var errno syscall.Errno
				errors.As(err, &errno)
				r.logf(engines.LogError, MsgTruncationFmt, f.ino, int(errno))
				werr = err
			}
		}
		if err := w.Close(); err != nil && werr == nil {
			werr = err
		}
		if werr != nil {
			if errors.Is(werr, format.ErrTruncated) || errors.Is(werr, format.ErrBadChecksum) || errors.Is(werr, format.ErrFormat) {
				return tapeErr(werr)
			}
			return werr
		}
	case format.IFLNK:
		target, err := r.rd.ReadAll(1 << 20)
		if err != nil {
			return tapeErr(err)
		}
		if err := r.tgt.Symlink(string(target), p); err != nil {
			return err
		}
	case format.IFCHR, format.IFBLK, format.IFIFO, format.IFSOCK:
		ma, mi := format.SplitRdev(in.Rdev)
		if err := r.tgt.Mknod(p, uint32(in.Mode), unix.Mkdev(ma, mi)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown file type %#o", in.Mode&format.IFMT)
	}
	for _, extra := range f.paths[1:] {
		if a, err := r.tgt.Lstat(extra); err == nil && !a.IsDir() {
			_ = r.tgt.Remove(extra)
		}
		if err := r.tgt.Link(p, extra); err != nil {
			r.logf(engines.LogWarning, "RESTORE: cannot link %s: %v", extra, err)
		}
	}
	f.ok = true
	return nil
}

func (f *fileRestore) finish(r *restorer) {
	if !f.ok {
		return
	}
	p := f.paths[0]
	r.setXattrs(p, f.xattrs)
	if err := r.tgt.SetAttr(p, attrOfDinode(f.hdr.Inode)); err != nil {
		r.logf(engines.LogWarning, "RESTORE: attributes of %s: %v", p, err)
	}
	r.st.Files++
	if r.counted != nil {
		r.counted[p] = true
	}
	if r.spec.Log != nil && r.spec.Select != nil {
		for _, q := range f.paths {
			r.spec.Log.File("/"+q, nil)
		}
	}
}

// settle reports the failures of queued changes (applying the queue
// first when all is true) as the calls that queued them would have:
// a file that could not be created or written is an error (and ENOSPC
// stops the restore), links, attributes and xattrs are warnings.
func (r *restorer) settle(all bool) error {
	if r.batch == nil {
		return nil
	}
	if all {
		r.batch.Flush() // its error is among the failures
	}
	var stop error
	for _, f := range r.batch.Failures() {
		switch f.Op {
		case "create":
			if errors.Is(f.Err, syscall.ENOSPC) || errors.Is(f.Err, syscall.EDQUOT) {
				if stop == nil {
					stop = fmt.Errorf("restore stopped: %w", f.Err)
				}
				continue
			}
			r.logf(engines.LogError, "RESTORE: %s: %v", f.Path, f.Err)
			if r.spec.Log != nil {
				r.spec.Log.File(f.Path, f.Err)
			}
			if r.counted[f.Path] {
				r.st.Files--
			}
		case "link":
			r.logf(engines.LogWarning, "RESTORE: cannot link %s: %v", f.Path, f.Err)
		case "attr":
			r.logf(engines.LogWarning, "RESTORE: attributes of %s: %v", f.Path, f.Err)
		case "xattr":
			r.logf(engines.LogWarning, "RESTORE: %s: extended attribute %s: %v", f.Path, f.Name, f.Err)
		}
	}
	return stop
}

func (r *restorer) setXattrs(p string, xs []format.Xattr) {
	for _, x := range xs {
		if r.spec.NoACLs && (x.Name == format.ACLAccess || x.Name == format.ACLDefault) {
			continue
		}
		if err := r.tgt.SetXattr(p, x.Name, x.Value); err != nil {
			r.logf(engines.LogWarning, "RESTORE: %s: extended attribute %s: %v", p, x.Name, err)
		}
	}
}

func attrOfDinode(in format.Dinode) Attr {
	return Attr{
		Mode: uint32(in.Mode), UID: in.UID, GID: in.GID, Size: in.Size,
		Atime: in.Atime.Time(), Mtime: in.Mtime.Time(), Ctime: in.Ctime.Time(),
	}
}

// finishDirs sets directory attributes, deepest first so that creating
// entries does not touch a finished parent's mtime.
func (r *restorer) finishDirs() error {
	if r.spec.NoWrite {
		return nil
	}
	type dp struct {
		ino uint32
		p   string
	}
	var list []dp
	for ino := range r.dirs {
		for _, p := range r.place[ino] {
			if p == "" || r.created[p] || r.spec.State != nil {
				list = append(list, dp{ino, p})
			}
		}
	}
	sort.Slice(list, func(i, j int) bool {
		di, dj := depth(list[i].p), depth(list[j].p)
		if di != dj {
			return di > dj
		}
		return list[i].p < list[j].p
	})
	for _, d := range list {
		td := r.dirs[d.ino]
		r.setXattrs(d.p, td.xattrs)
		if err := r.tgt.SetAttr(d.p, attrOfDinode(td.hdr.Inode)); err != nil {
			r.logf(engines.LogWarning, "RESTORE: attributes of %s: %v", d.p, err)
		}
		if r.created[d.p] {
			r.st.Files++
		}
	}
	return nil
}

func (r *restorer) saveState() {
	dirs, types := r.tree()
	st := r.spec.State
	st.Dirs, st.Types = dirs, types
	st.Date, st.Level = r.rd.Volume().Date, r.rd.Volume().Level
}
