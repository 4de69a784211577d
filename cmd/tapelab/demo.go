package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"tapelab/dma"
	"tapelab/ndmp/wire"
	"tapelab/node"
	"tapelab/snapshot"
	"tapelab/volume"
	"tapelab/vtl"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:  "demo",
		Usage: "run the whole lab once in a temporary data directory: volume, snapshots, NDMP dump backups to a tape library, restore, verify, DAR",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "keep", Usage: "keep the temporary data directory and print its path"},
		},
		Action: runDemo,
	})
}

type demoStep struct {
	Step   string        `json:"step"`
	Result string        `json:"result"`
	Took   time.Duration `json:"took"`
}

func runDemo(c *cli.Context) error {
	dir, err := os.MkdirTemp("", "tapelab-demo-")
	if err != nil {
		return err
	}
	if c.Bool("keep") {
		fmt.Fprintf(os.Stderr, "demo data directory: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	n, err := node.Open(dir, node.Options{})
	if err != nil {
		return err
	}
	defer n.Close()
	ctx := c.Context
	quiet := c.Bool("json")
	var steps []demoStep
	step := func(name string, fn func() (string, error)) error {
		start := time.Now()
		if !quiet {
			fmt.Fprintf(os.Stderr, "==> %s\n", name)
		}
		res, err := fn()
		if err != nil {
			return fmt.Errorf("demo step %q: %w", name, err)
		}
		steps = append(steps, demoStep{name, res, time.Since(start)})
		return nil
	}
	call := func(name string, args, result any) error { return n.Mux().Call(ctx, name, args, result) }

	const src, dst, darDst = "/vs1/vol1", "/vs1/vol1_restore", "/vs1/vol1_dar"
	var vol *volume.Volume
	if err := step("create volume "+src+" with sample data", func() (string, error) {
		var info volume.Info
		if err := call("volume.create", node.CreateVolumeArgs{Path: src, Size: 256 << 20}, &info); err != nil {
			return "", err
		}
		vol, err = n.Volumes().Volume("vs1", "vol1")
		if err != nil {
			return "", err
		}
		files, bytes, err := demoPopulate(vol)
		return fmt.Sprintf("%d files, %s", files, human(bytes)), err
	}); err != nil {
		return err
	}
	if err := step("snapshot "+src+" demo_base", func() (string, error) {
		s, err := snapshot.Create(vol, "demo_base")
		return "snapshot " + s.Name, err
	}); err != nil {
		return err
	}
	const barcode = "TL0001L8"
	if err := step("create tape library lib1 (2 drives, 8 slots) and load "+barcode, func() (string, error) {
		inv := n.VTL()
		lib, err := inv.CreateLibrary(vtl.LibrarySpec{Name: "lib1", Drives: 2, Slots: 8, MailSlots: 2})
		if err != nil {
			return "", err
		}
		if _, err := inv.CreateCartridge(vtl.CartridgeSpec{Barcode: barcode, Library: "lib1", Capacity: 1 << 30}); err != nil {
			return "", err
		}
		drive := lib.Drives()[0]
		if err := inv.LoadCartridge(barcode, drive.Name()); err != nil {
			return "", err
		}
		return fmt.Sprintf("changer %s, drive %s (nrst0a), cartridge %s loaded", lib.Info().Changer, drive.Name(), barcode), nil
	}); err != nil {
		return err
	}
	var ep node.Endpoint
	if err := call("ndmp.endpoint", nil, &ep); err != nil {
		return err
	}
	srv := dma.Server{Addr: ep.Addr, User: ep.User, Password: ep.Password}
	// Each backup reads a named snapshot, so the level 1 finds its changes
	// with a snapshot diff against the level 0's snapshot.
	backup := func(level int, snap string) (node.CatalogEntry, *dma.BackupResult, error) {
		env := []wire.PVal{{Name: "FILESYSTEM", Value: src + "/.snapshot/" + snap}, {Name: "LEVEL", Value: fmt.Sprint(level)}, {Name: "HIST", Value: "Y"}, {Name: "DIRECT", Value: "Y"}, {Name: "UPDATE", Value: "Y"}}
		pr := newProgress(fmt.Sprintf("backup %s level %d", src, level), quiet)
		res, err := dma.Backup(ctx, dma.Job{Data: srv, Device: "nrst0a", Butype: "dump", Env: env, Observer: pr.observer()})
		if err != nil {
			return node.CatalogEntry{}, nil, err
		}
		e := node.CatalogEntry{Path: src, Butype: "dump", Level: level, Date: time.Now(), Snapshot: snap, DumpDate: envValue(res.Env, "DUMP_DATE"), Device: "nrst0a", Cartridge: barcode, TapeFile: res.FileNumber, Bytes: res.Bytes}
		err = call("catalog.add", node.CatalogAddArgs{Entry: e, Index: res.Index}, &e)
		return e, res, err
	}
	var full, incr node.CatalogEntry
	var fullRes *dma.BackupResult
	if err := step("level 0 dump backup over NDMP", func() (string, error) {
		var err error
		full, fullRes, err = backup(0, "demo_base")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("backup %d: %s, %d files indexed, tape file %d, %s", full.ID, human(int64(full.Bytes)), full.Files, full.TapeFile, rate(full.Bytes, fullRes.Duration)), nil
	}); err != nil {
		return err
	}
	if err := step("change files (modify, add, delete, rename)", func() (string, error) {
		return demoChange(vol)
	}); err != nil {
		return err
	}
	if err := step("level 1 dump backup over NDMP", func() (string, error) {
		if _, err := snapshot.Create(vol, "demo_incr"); err != nil {
			return "", err
		}
		var err error
		incr, _, err = backup(1, "demo_incr")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("backup %d: %s, %d files indexed, tape file %d", incr.ID, human(int64(incr.Bytes)), incr.Files, incr.TapeFile), nil
	}); err != nil {
		return err
	}
	recover := func(e node.CatalogEntry, to string, names []wire.Name, env ...wire.PVal) (*dma.RecoverResult, error) {
		env = append([]wire.PVal{{Name: "FILESYSTEM", Value: to}}, env...)
		pr := newProgress(fmt.Sprintf("restore backup %d -> %s", e.ID, to), quiet)
		return dma.Recover(ctx, dma.Job{Data: srv, Device: "nrst0a", Butype: "dump", Env: env, Observer: pr.observer()}, e.TapeFile, names)
	}
	if err := step("restore level 0 + level 1 into "+dst, func() (string, error) {
		if err := call("volume.create", node.CreateVolumeArgs{Path: dst, Size: 256 << 20}, nil); err != nil {
			return "", err
		}
		var read uint64
		for _, e := range []node.CatalogEntry{full, incr} {
			r, err := recover(e, dst, nil)
			if err != nil {
				return "", err
			}
			read += r.BytesRead
		}
		return fmt.Sprintf("%s read from tape", human(int64(read))), nil
	}); err != nil {
		return err
	}
	if err := step("verify every file of "+dst+" against "+src, func() (string, error) {
		out, err := n.Volumes().Volume("vs1", "vol1_restore")
		if err != nil {
			return "", err
		}
		count, diffs, err := demoCompare(vol, out)
		if err != nil {
			return "", err
		}
		if len(diffs) > 0 {
			if len(diffs) > 10 {
				diffs = append(diffs[:10], fmt.Sprintf("... and %d more", len(diffs)-10))
			}
			return "", fmt.Errorf("restored tree differs:\n  %s", strings.Join(diffs, "\n  "))
		}
		return fmt.Sprintf("%d entries identical (contents, modes, owners, mtimes, links, xattrs)", count), nil
	}); err != nil {
		return err
	}
	if err := step("single-file DAR of /data/blob-07.bin from the level 0 image", func() (string, error) {
		if err := call("volume.create", node.CreateVolumeArgs{Path: darDst, Size: 64 << 20}, nil); err != nil {
			return "", err
		}
		var img node.CatalogImage
		if err := call("catalog.get", node.CatalogGetArgs{ID: full.ID, WithIndex: true}, &img); err != nil {
			return "", err
		}
		hits := node.Lookup(img.Index, "/data/blob-07.bin")
		if len(hits) != 1 {
			return "", fmt.Errorf("index has %d entries for /data/blob-07.bin", len(hits))
		}
		name := wire.Name{OriginalPath: "/data/blob-07.bin", DestinationPath: darDst + "/data/blob-07.bin", Node: hits[0].Node, FhInfo: hits[0].FhInfo}
		r, err := recover(full, darDst, []wire.Name{name}, wire.PVal{Name: "DIRECT", Value: "Y"})
		if err != nil {
			return "", err
		}
		dv, err := n.Volumes().Volume("vs1", "vol1_dar")
		if err != nil {
			return "", err
		}
		got, err := demoReadFile(dv, "/data/blob-07.bin")
		if err != nil {
			return "", err
		}
		if !bytes.Equal(got, demoBlob(7)) {
			return "", fmt.Errorf("DAR restored wrong contents (%d bytes)", len(got))
		}
		return fmt.Sprintf("read %s of a %s image (%.1f%%)", human(int64(r.BytesRead)), human(int64(full.Bytes)), 100*float64(r.BytesRead)/float64(full.Bytes)), nil
	}); err != nil {
		return err
	}
	if err := step("volume check "+src+" and "+dst, func() (string, error) {
		for _, p := range []string{src, dst} {
			var rep volume.Report
			if err := call("volume.check", node.VolumeArgs{Path: p}, &rep); err != nil {
				return "", err
			}
			if !rep.OK() {
				return "", fmt.Errorf("%s: %v", p, rep.Problems)
			}
		}
		return "consistent", nil
	}); err != nil {
		return err
	}
	return output(c, steps, func(w io.Writer) {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Step\tResult\tTime")
		fmt.Fprintln(w, "----\t------\t----")
		for _, s := range steps {
			fmt.Fprintf(w, "%s\t%s\t%s\n", s.Step, s.Result, s.Took.Round(time.Millisecond))
		}
		fmt.Fprintln(w, "\nDemo complete: every step passed.")
	})
}

var demoOwner = volume.Owner{UID: 1000, GID: 1000}

// demoBlob is deterministic, poorly compressible content for file i.
func demoBlob(i int) []byte {
	size := 64<<10 + i*37<<10
	out := make([]byte, 0, size+32)
	seed := sha256.Sum256([]byte(fmt.Sprintf("tapelab demo blob %d", i)))
	for len(out) < size {
		seed = sha256.Sum256(seed[:])
		out = append(out, seed[:]...)
	}
	return out[:size]
}

func demoWrite(v *volume.View, parent uint64, name string, data []byte, perm uint32) (volume.Attr, error) {
	a, err := v.Create(parent, name, perm, demoOwner)
	if err != nil {
		return a, fmt.Errorf("create %s: %w", name, err)
	}
	if len(data) > 0 {
		if _, err := v.Write(a.Ino, 0, data); err != nil {
			return a, fmt.Errorf("write %s: %w", name, err)
		}
	}
	return a, nil
}

func demoPopulate(vol *volume.Volume) (int, int64, error) {
	v, err := vol.Active()
	if err != nil {
		return 0, 0, err
	}
	var files int
	var total int64
	mkdir := func(parent uint64, name string) (uint64, error) {
		a, err := v.Mkdir(parent, name, 0o755, demoOwner)
		return a.Ino, err
	}
	docs, err := mkdir(volume.RootIno, "docs")
	if err != nil {
		return 0, 0, err
	}
	notes, err := mkdir(docs, "notes")
	if err != nil {
		return 0, 0, err
	}
	data, err := mkdir(volume.RootIno, "data")
	if err != nil {
		return 0, 0, err
	}
	readme := []byte("tapelab demo volume\nbacked up with dump over NDMP to a virtual tape library\n")
	ra, err := demoWrite(v, docs, "readme.txt", readme, 0o644)
	if err != nil {
		return 0, 0, err
	}
	if err := v.SetXattr(ra.Ino, "user.project", []byte("tapelab"), 0); err != nil {
		return 0, 0, fmt.Errorf("xattr: %w", err)
	}
	files++
	total += int64(len(readme))
	for i := 0; i < 24; i++ {
		body := []byte(strings.Repeat(fmt.Sprintf("note %02d line\n", i), 40*(i+1)))
		if _, err := demoWrite(v, notes, fmt.Sprintf("note-%02d.txt", i), body, 0o640); err != nil {
			return 0, 0, err
		}
		files++
		total += int64(len(body))
	}
	for i := 0; i < 12; i++ {
		b := demoBlob(i)
		if _, err := demoWrite(v, data, fmt.Sprintf("blob-%02d.bin", i), b, 0o600); err != nil {
			return 0, 0, err
		}
		files++
		total += int64(len(b))
	}
	// A sparse file: 16 MiB with data only at 1 MiB and 12 MiB.
	sa, err := demoWrite(v, data, "sparse.img", nil, 0o644)
	if err != nil {
		return 0, 0, err
	}
	for _, off := range []int64{1 << 20, 12 << 20} {
		if _, err := v.Write(sa.Ino, off, demoBlob(1)); err != nil {
			return 0, 0, err
		}
	}
	if _, err := v.SetAttr(sa.Ino, volume.SetAttrIn{Valid: volume.SetSize, Size: 16 << 20}); err != nil {
		return 0, 0, err
	}
	files++
	total += 2 * int64(len(demoBlob(1)))
	if _, err := v.Symlink(docs, "latest", "notes/note-23.txt", demoOwner); err != nil {
		return 0, 0, err
	}
	if _, err := v.Link(ra.Ino, volume.RootIno, "README"); err != nil {
		return 0, 0, err
	}
	if _, err := v.Mknod(data, "pipe", syscall.S_IFIFO|0o600, 0, demoOwner); err != nil {
		return 0, 0, err
	}
	files += 3
	return files, total, vol.Sync()
}

func demoChange(vol *volume.Volume) (string, error) {
	v, err := vol.Active()
	if err != nil {
		return "", err
	}
	docs, err := v.Resolve("docs")
	if err != nil {
		return "", err
	}
	notes, err := v.Resolve("docs/notes")
	if err != nil {
		return "", err
	}
	readme, err := v.Resolve("docs/readme.txt")
	if err != nil {
		return "", err
	}
	extra := []byte("changed after the level 0 backup\n")
	if _, err := v.Write(readme.Ino, int64(readme.Size), extra); err != nil {
		return "", err
	}
	if _, err := demoWrite(v, docs.Ino, "new.txt", []byte("created after the level 0 backup\n"), 0o644); err != nil {
		return "", err
	}
	if err := v.Unlink(notes.Ino, "note-03.txt"); err != nil {
		return "", err
	}
	if err := v.Rename(notes.Ino, "note-04.txt", docs.Ino, "renamed.txt", 0); err != nil {
		return "", err
	}
	return "modified docs/readme.txt, added docs/new.txt, deleted docs/notes/note-03.txt, renamed note-04.txt to docs/renamed.txt", vol.Sync()
}

func demoReadFile(vol *volume.Volume, p string) ([]byte, error) {
	v, err := vol.Active()
	if err != nil {
		return nil, err
	}
	a, err := v.Resolve(strings.TrimPrefix(p, "/"))
	if err != nil {
		return nil, err
	}
	buf := make([]byte, a.Size)
	n, err := v.Read(a.Ino, 0, buf)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return buf[:n], nil
}

// demoCompare walks both active file systems and lists every difference.
func demoCompare(a, b *volume.Volume) (int, []string, error) {
	va, err := a.Active()
	if err != nil {
		return 0, nil, err
	}
	vb, err := b.Active()
	if err != nil {
		return 0, nil, err
	}
	type entry struct {
		attr   volume.Attr
		hash   [32]byte
		target string
		xattrs string
	}
	walk := func(v *volume.View) (map[string]entry, error) {
		out := map[string]entry{}
		var rec func(dir uint64, p string) error
		rec = func(dir uint64, p string) error {
			var ents []volume.DirEntry
			if err := v.ReadDir(dir, "", func(e volume.DirEntry) bool { ents = append(ents, e); return true }); err != nil {
				return err
			}
			for _, de := range ents {
				if de.Name == ".snapshot" || de.Name == "restore_symboltable" {
					continue
				}
				at, err := v.GetAttr(de.Ino)
				if err != nil {
					return err
				}
				e := entry{attr: at}
				full := path.Join(p, de.Name)
				switch at.Mode & syscall.S_IFMT {
				case syscall.S_IFREG:
					buf := make([]byte, at.Size)
					n, err := v.Read(at.Ino, 0, buf)
					if err != nil && err != io.EOF {
						return err
					}
					e.hash = sha256.Sum256(buf[:n])
				case syscall.S_IFLNK:
					if e.target, err = v.Readlink(at.Ino); err != nil {
						return err
					}
				}
				names, err := v.ListXattr(at.Ino)
				if err != nil {
					return err
				}
				sort.Strings(names)
				for _, nm := range names {
					val, _ := v.GetXattr(at.Ino, nm)
					e.xattrs += nm + "=" + string(val) + ";"
				}
				out[full] = e
				if at.IsDir() {
					if err := rec(at.Ino, full); err != nil {
						return err
					}
				}
			}
			return nil
		}
		return out, rec(volume.RootIno, "/")
	}
	ea, err := walk(va)
	if err != nil {
		return 0, nil, err
	}
	eb, err := walk(vb)
	if err != nil {
		return 0, nil, err
	}
	var diffs []string
	for p, x := range ea {
		y, ok := eb[p]
		if !ok {
			diffs = append(diffs, p+": missing in the restore")
			continue
		}
		switch {
		case x.attr.Mode != y.attr.Mode:
			diffs = append(diffs, fmt.Sprintf("%s: mode %o vs %o", p, x.attr.Mode, y.attr.Mode))
		case x.attr.UID != y.attr.UID || x.attr.GID != y.attr.GID:
			diffs = append(diffs, p+": owner differs")
		case x.attr.Size != y.attr.Size:
			diffs = append(diffs, fmt.Sprintf("%s: size %d vs %d", p, x.attr.Size, y.attr.Size))
		case x.hash != y.hash:
			diffs = append(diffs, p+": contents differ")
		case x.target != y.target:
			diffs = append(diffs, p+": symlink target differs")
		case x.xattrs != y.xattrs:
			diffs = append(diffs, fmt.Sprintf("%s: xattrs %q vs %q", p, x.xattrs, y.xattrs))
		case x.attr.Nlink != y.attr.Nlink:
			diffs = append(diffs, fmt.Sprintf("%s: nlink %d vs %d", p, x.attr.Nlink, y.attr.Nlink))
		case !x.attr.IsDir() && x.attr.Mtime.Unix() != y.attr.Mtime.Unix():
			diffs = append(diffs, fmt.Sprintf("%s: mtime %s vs %s", p, x.attr.Mtime, y.attr.Mtime))
		}
	}
	for p := range eb {
		if _, ok := ea[p]; !ok {
			diffs = append(diffs, p+": extra in the restore")
		}
	}
	sort.Strings(diffs)
	return len(ea), diffs, nil
}
