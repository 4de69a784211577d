package dump

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"tapelab/engines"
	"tapelab/engines/dump/format"
)

// Phase names, as logged and reported through Progress.
const (
	PhaseI    = "I"
	PhaseII   = "II"
	PhaseIII  = "III"
	PhaseIIIa = "IIIa"
	PhaseIIIb = "IIIb"
	PhaseIV   = "IV"
	PhaseV    = "V"
)

// DumpSpec is everything WriteImage needs besides the source and the stream.
type DumpSpec struct {
	Root    uint64 // inode of the dump root in the source (the volume root or a subtree)
	Info    format.VolumeInfo
	Exclude *Exclude // nil = nothing excluded
	// Changed selects the inodes of an incremental dump (nil = level 0:
	// everything). Ancestor directories of selected inodes are added.
	Changed func(ino uint64, a Attr) bool
	NoACLs  bool
	// WholeVolume: phase I reads the inode table (logged as such); the
	// traversal is still done for names and exclusions.
	WholeVolume bool
	History     engines.FileHistory
	Log         engines.Logger
	Progress    engines.Progress
	Phase       func(name string) // called on each phase change (event log)
}

// ImageStats are the results of WriteImage.
type ImageStats struct {
	Bytes    int64 // bytes written
	Inodes   int   // inodes dumped
	Dirs     int
	Files    int
	ACLStart int64 // offset where phase V (ACLs) begins: the end of phase IV
	Skipped  []string
}

type dnode struct {
	attr   Attr
	parent uint64 // source inode of the first parent seen (dirs: the parent)
	name   string
	ents   []DirEntry // directories: entries kept (after exclusion)
}

func mapIno(root uint64) func(uint64) (uint32, error) {
	return func(ino uint64) (uint32, error) {
		switch {
		case ino == root:
			ino = format.RootIno
		case ino == format.RootIno:
			ino = root
		}
		if ino > 0xfffffffe || ino < format.RootIno {
			return 0, fmt.Errorf("dump: inode number %d does not fit the dump format", ino)
		}
		return uint32(ino), nil
	}
}

func dinodeOf(a Attr, dino uint32) format.Dinode {
	d := format.Dinode{
		Mode:   uint16(a.Mode),
		Nlink:  uint16(min(a.Nlink, 0xffff)),
		Size:   a.Size,
		Atime:  format.TimevalOf(a.Atime),
		Mtime:  format.TimevalOf(a.Mtime),
		Ctime:  format.TimevalOf(a.Ctime),
		Blocks: uint32(min(a.Blocks, 0xffffffff)),
		UID:    a.UID,
		GID:    a.GID,
	}
	if t := a.Mode & format.IFMT; t == format.IFCHR || t == format.IFBLK {
		d.Rdev = format.MakeRdev(unix.Major(a.Rdev), unix.Minor(a.Rdev))
	}
	return d
}

// fileStat converts for file history.
func fileStat(a Attr, node uint64, fh uint64) engines.FileStat {
	st := engines.FileStat{
		Mtime: a.Mtime, Atime: a.Atime, Ctime: a.Ctime, UID: a.UID, GID: a.GID,
		Mode: a.Mode & 0o7777, Size: a.Size, Links: a.Nlink, Node: node, FhInfo: fh,
	}
	switch a.Mode & format.IFMT {
	case format.IFDIR:
		st.Type = engines.FileDir
	case format.IFIFO:
		st.Type = engines.FileFIFO
	case format.IFCHR:
		st.Type = engines.FileCSpec
	case format.IFBLK:
		st.Type = engines.FileBSpec
	case format.IFREG:
		st.Type = engines.FileReg
	case format.IFLNK:
		st.Type = engines.FileSlink
	case format.IFSOCK:
		st.Type = engines.FileSock
	default:
		st.Type = engines.FileOther
	}
	return st
}

type countingWriter struct {
	w        io.Writer
	progress engines.Progress
	ctx      context.Context
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	if c.progress != nil {
		c.progress.Add(int64(n))
	}
	return n, err
}

// WriteImage writes one dump image of src below spec.Root to w, phases I
// to V. It is the pure part of a backup: no snapshots, no history.
func WriteImage(ctx context.Context, src Source, w io.Writer, spec DumpSpec) (*ImageStats, error) {
	phase := func(p string) {
		if spec.Progress != nil {
			spec.Progress.Phase(p)
		}
		if spec.Phase != nil {
			spec.Phase(p)
		}
	}
	logf := func(level engines.LogLevel, format string, args ...any) {
		if spec.Log != nil {
			spec.Log.Message(level, fmt.Sprintf(format, args...))
		}
	}
	toDump := mapIno(spec.Root)

	// Phase I: the inode map.
	phase(PhaseI)
	// For a whole volume without exclusions the attributes come from one
	// scan of the inode table; directories are then read for the names.
	var table map[uint64]Attr
	if it, ok := src.(InodeTable); ok && spec.WholeVolume && spec.Exclude == nil {
		logf(engines.LogDebug, "DUMP: Pass I from the inode table")
		table = map[uint64]Attr{}
		if err := it.Inodes(0, func(a Attr) bool { table[a.Ino] = a; return ctx.Err() == nil }); err != nil {
			return nil, fmt.Errorf("dump: reading the inode table: %w", err)
		}
	} else {
		logf(engines.LogDebug, "DUMP: Pass I by directory traversal")
	}
	nodes := map[uint64]*dnode{}
	rootAttr, err := src.GetAttr(spec.Root)
	if err != nil {
		return nil, fmt.Errorf("dump: root of the dump: %w", err)
	}
	if !rootAttr.IsDir() {
		return nil, fmt.Errorf("dump: %w: the dump root is not a directory", ErrInvalidPath)
	}
	nodes[spec.Root] = &dnode{attr: rootAttr, parent: spec.Root}
	queue := []uint64{spec.Root}
	var dirs []uint64
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir := queue[0]
		queue = queue[1:]
		dirs = append(dirs, dir)
		dn := nodes[dir]
		var ents []DirEntry
		if err := src.ReadDir(dir, func(e DirEntry) bool { ents = append(ents, e); return true }); err != nil {
			return nil, fmt.Errorf("dump: reading directory %d: %w", dir, err)
		}
		for _, e := range ents {
			if spec.Exclude != nil && spec.Exclude.Match(e.Name) {
				logf(engines.LogDebug, "DUMP: excluding %s", e.Name)
				continue
			}
			dn.ents = append(dn.ents, e)
			if _, seen := nodes[e.Ino]; seen {
				continue // another hard link
			}
			a, ok := table[e.Ino]
			if !ok {
				var err error
				if a, err = src.GetAttr(e.Ino); err != nil {
					return nil, fmt.Errorf("dump: %s: %w", e.Name, err)
				}
			}
			nodes[e.Ino] = &dnode{attr: a, parent: dir, name: e.Name}
			if a.IsDir() {
				queue = append(queue, e.Ino)
			}
		}
	}
	// Which inodes go on this dump.
	dumped := map[uint64]bool{}
	for ino, n := range nodes {
		if spec.Changed == nil || spec.Changed(ino, n.attr) {
			dumped[ino] = true
		}
	}
	// Pass II of BSD dump: every directory holding a name of a dumped
	// inode (each name of a hard-linked file: restore -r recreates the
	// file under the names its image lists, and leaves an unlisted name
	// as it was), and every ancestor directory of one.
	dumped[spec.Root] = true
	for _, dir := range dirs {
		for _, e := range nodes[dir].ents {
			if dumped[e.Ino] {
				dumped[dir] = true
				break
			}
		}
	}
	sel := make([]uint64, 0, len(dumped))
	for ino := range dumped {
		sel = append(sel, ino)
	}
	for _, ino := range sel {
		for p := ino; p != spec.Root; {
			p = nodes[p].parent
			dumped[p] = true
		}
	}
	var maxino uint32 = format.RootIno
	dinos := map[uint64]uint32{}
	for ino := range nodes {
		d, err := toDump(ino)
		if err != nil {
			return nil, err
		}
		dinos[ino] = d
		maxino = max(maxino, d)
	}
	maxino++
	clri := make([]byte, format.MapSize(maxino))
	bits := make([]byte, format.MapSize(maxino))
	var order []uint64
	for ino := range nodes {
		format.SetBit(clri, dinos[ino])
		if dumped[ino] {
			format.SetBit(bits, dinos[ino])
			order = append(order, ino)
		}
	}
	sort.Slice(order, func(i, j int) bool { return dinos[order[i]] < dinos[order[j]] })

	// Phase II: the maps.
	phase(PhaseII)
	pipe := newWriteBehind(w, 8)
	defer pipe.Close() // on the error returns: stop its goroutine
	cw := &countingWriter{w: pipe, progress: spec.Progress, ctx: ctx}
	wr, err := format.NewWriter(cw, spec.Info)
	if err != nil {
		return nil, err
	}
	if err := wr.WriteMap(format.TSClri, maxino, clri); err != nil {
		return nil, fmt.Errorf("dump: writing the inode map: %w", err)
	}
	if err := wr.WriteMap(format.TSBits, maxino, bits); err != nil {
		return nil, fmt.Errorf("dump: writing the inode map: %w", err)
	}
	st := &ImageStats{}
	hist := spec.History
	writeX := func(ino uint64, dino uint32, d format.Dinode) error {
		xs, err := src.Xattrs(ino)
		if err != nil {
			return fmt.Errorf("dump: xattrs of inode %d: %w", ino, err)
		}
		if spec.NoACLs {
			xs = dropACLs(xs)
		}
		skipped, err := wr.WriteXattrs(dino, d, xs)
		for _, s := range skipped {
			logf(engines.LogWarning, "DUMP: extended attribute %s of inode %d not dumped", s, dino)
		}
		st.Skipped = append(st.Skipped, skipped...)
		return err
	}

	// Phase III: directories.
	phase(PhaseIII)
	var dirNodes []engines.FileStat
	for _, ino := range order {
		n := nodes[ino]
		if !n.attr.IsDir() {
			continue
		}
		dino := dinos[ino]
		parent := dinos[n.parent]
		ents := make([]format.Dirent, 0, len(n.ents)+2)
		ents = append(ents, format.Dirent{Ino: dino, Type: format.DTDir, Name: "."}, format.Dirent{Ino: parent, Type: format.DTDir, Name: ".."})
		for _, e := range n.ents {
			ents = append(ents, format.Dirent{Ino: dinos[e.Ino], Type: format.DTOfMode(e.Mode), Name: e.Name})
		}
		off := wr.Offset()
		d := dinodeOf(n.attr, dino)
		if err := wr.WriteDir(dino, d, ents); err != nil {
			return nil, fmt.Errorf("dump: writing directory inode %d: %w", dino, err)
		}
		if err := writeX(ino, dino, d); err != nil {
			return nil, err
		}
		st.Dirs++
		if hist != nil {
			for _, e := range ents {
				if err := hist.AddDir(e.Name, uint64(dino), uint64(e.Ino)); err != nil {
					return nil, err
				}
			}
			dirNodes = append(dirNodes, fileStat(n.attr, uint64(dino), uint64(off)))
		}
	}
	// Directory nodes once every directory entry has been named, so that
	// each ADD_NODE follows the ADD_DIR naming it.
	for _, st := range dirNodes {
		if err := hist.AddNode(st); err != nil {
			return nil, err
		}
	}
	phase(PhaseIIIa) // ACLs travel with each inode as EXT_XATTR records
	if hist != nil {
		phase(PhaseIIIb) // offsets are reported per node (FhInfo) as they are written
	}

	// Phase IV: everything else, in inode order.
	phase(PhaseIV)
	for _, ino := range order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := nodes[ino]
		if n.attr.IsDir() {
			continue
		}
		dino := dinos[ino]
		d := dinodeOf(n.attr, dino)
		off := wr.Offset()
		switch n.attr.Mode & format.IFMT {
		case format.IFREG:
			ext, err := src.Extents(ino)
			if err != nil {
				return nil, fmt.Errorf("dump: extents of inode %d: %w", ino, err)
			}
			err = wr.WriteFile(dino, d, readerAt{src, ino}, ext)
			if err != nil {
				return nil, fmt.Errorf("dump: writing inode %d: %w", dino, err)
			}
		case format.IFLNK:
			target, err := src.Readlink(ino)
			if err != nil {
				return nil, fmt.Errorf("dump: symlink inode %d: %w", ino, err)
			}
			if err := wr.WriteSymlink(dino, d, target); err != nil {
				return nil, err
			}
		default:
			if err := wr.WriteSpecial(dino, d); err != nil {
				return nil, err
			}
		}
		if err := writeX(ino, dino, d); err != nil {
			return nil, err
		}
		st.Files++
		if hist != nil {
			if err := hist.AddNode(fileStat(n.attr, uint64(dino), uint64(off))); err != nil {
				return nil, err
			}
		}
	}
	st.ACLStart = wr.Offset()
	phase(PhaseV) // no-op, as in modern ONTAP
	if err := wr.Close(); err != nil {
		return nil, fmt.Errorf("dump: %w", err)
	}
	if err := pipe.Close(); err != nil {
		return nil, fmt.Errorf("dump: writing the image: %w", err)
	}
	st.Bytes = wr.Written()
	st.Inodes = len(order)
	return st, nil
}

// InodeTable is implemented by sources that list every inode in inode
// order (a volume's inode table), which phase I uses for whole volumes.
type InodeTable interface {
	Inodes(from uint64, fn func(Attr) bool) error
}

type readerAt struct {
	src Source
	ino uint64
}

func (r readerAt) ReadAt(p []byte, off int64) (int, error) { return r.src.ReadAt(r.ino, p, off) }

func dropACLs(xs []format.Xattr) []format.Xattr {
	out := xs[:0:0]
	for _, x := range xs {
		if x.Name != format.ACLAccess && x.Name != format.ACLDefault {
			out = append(out, x)
		}
	}
	return out
}

// Exclude is a parsed EXCLUDE list (seed 001 rules): exact names, '*' only
// as the first or last character, at most two per name, "\," for a comma
// in a name, at most 32 names.
type Exclude struct{ pats []string }

// ParseExclude parses an EXCLUDE value.
func ParseExclude(v string) (*Exclude, error) {
	var pats []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v) && v[i+1] == ',':
			cur.WriteByte(',')
			i++
		case v[i] == ',':
			pats = append(pats, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	pats = append(pats, cur.String())
	out := &Exclude{}
	for _, p := range pats {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		n := strings.Count(p, "*")
		if n > 2 {
			return nil, fmt.Errorf("%w: EXCLUDE name %q has more than two asterisks", ErrBadEnv, p)
		}
		inner := strings.Trim(p, "*")
		if strings.Contains(inner, "*") || (n == 2 && (p[0] != '*' || p[len(p)-1] != '*')) {
			return nil, fmt.Errorf("%w: EXCLUDE name %q: an asterisk must be the first or last character", ErrBadEnv, p)
		}
		out.pats = append(out.pats, p)
	}
	if len(out.pats) > 32 {
		return nil, fmt.Errorf("%w: EXCLUDE lists %d names (at most 32)", ErrBadEnv, len(out.pats))
	}
	if len(out.pats) == 0 {
		return nil, nil
	}
	return out, nil
}

// Match reports whether a file or directory name is excluded.
func (e *Exclude) Match(name string) bool {
	if e == nil {
		return false
	}
	for _, p := range e.pats {
		pre, suf := strings.HasPrefix(p, "*"), strings.HasSuffix(p, "*") && len(p) > 1
		core := strings.Trim(p, "*")
		switch {
		case pre && suf:
			if strings.Contains(name, core) {
				return true
			}
		case pre:
			if strings.HasSuffix(name, core) {
				return true
			}
		case suf:
			if strings.HasPrefix(name, core) {
				return true
			}
		case name == p:
			return true
		}
	}
	return false
}
