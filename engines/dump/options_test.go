package dump_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tapelab/engines"
	"tapelab/engines/dump"
	"tapelab/engines/dump/internal/gentree"
	"tapelab/internal/manifest"
	"tapelab/snapshot"
	"tapelab/volume"
)

func readVol(t testing.TB, w *volume.View, p string) string {
	t.Helper()
	a, err := w.Resolve(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	buf := make([]byte, a.Size)
	n, _ := w.Read(a.Ino, 0, buf)
	return string(buf[:n])
}

func TestRecoverOptions(t *testing.T) {
	l := newLab(t)
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 5}); err != nil {
		t.Fatal(err)
	}
	_, w := l.volume(t, "vol1", 64<<20)
	copyToVolume(t, src, w)
	img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1")
	_, w2 := l.volume(t, "vol2", 64<<20)

	// EXTRACT=Y: named files and a directory (recursively); a missing name is reported
	rec := newRecorder()
	res, err := l.eng.Recover(context.Background(), &engines.RecoverRequest{
		Env: envOf("FILESYSTEM", "/vs1/vol2", "EXTRACT", "Y"),
		Names: []engines.NameEntry{
			{OriginalPath: "/dir/nested/deep.txt", DestinationPath: "/vs1/vol2/one/deep.txt", FhInfo: ^uint64(0)},
			{OriginalPath: "/acldir", DestinationPath: "/vs1/vol2/two/acldir", FhInfo: ^uint64(0)},
			{OriginalPath: "/no/such/file", DestinationPath: "/vs1/vol2/x", FhInfo: ^uint64(0)},
		},
		Stream: bytes.NewReader(img), Log: rec})
	if err != nil {
		t.Fatal(err)
	}
	if readVol(t, w2, "one/deep.txt") != "deep file\n" || readVol(t, w2, "two/acldir/inherits.txt") != "in acl dir\n" {
		t.Error("extracted contents")
	}
	if _, err := w2.Resolve("hello.txt"); err == nil {
		t.Error("an unselected file was restored")
	}
	if a, _ := w2.Resolve("two/acldir"); a.Ino != 0 {
		if v, err := w2.GetXattr(a.Ino, "system.posix_acl_default"); err != nil || !bytes.Equal(v, gentree.ACL(1000, 1000, true)) {
			t.Errorf("directory ACL not restored: %v", err)
		}
	}
	if err := rec.files["/no/such/file"]; err == nil {
		t.Errorf("missing name not reported: %v (%d files)", rec.files, res.Files)
	}
	// EXTRACT=E: restore under another name; without E the destination is a directory
	if _, err := l.recover(t, img, []engines.NameEntry{{OriginalPath: "/hello.txt", DestinationPath: "/vs1/vol2/renamed.txt", FhInfo: ^uint64(0)}}, "FILESYSTEM", "/vs1/vol2", "EXTRACT", "E"); err != nil {
		t.Fatal(err)
	}
	if readVol(t, w2, "renamed.txt") != "hello, world\n" {
		t.Error("EXTRACT=E rename")
	}
	if _, err := l.recover(t, img, []engines.NameEntry{{OriginalPath: "/hello.txt", DestinationPath: "/vs1/vol2/into", FhInfo: ^uint64(0)}}, "FILESYSTEM", "/vs1/vol2", "EXTRACT", "Y"); err != nil {
		t.Fatal(err)
	}
	if readVol(t, w2, "into/hello.txt") != "hello, world\n" {
		t.Error("EXTRACT=Y into a directory")
	}
	// FILESYSTEM naming the original volume, destinations in another one;
	// a destination without a volume is relative to FILESYSTEM
	if _, err := l.recover(t, img, []engines.NameEntry{{OriginalPath: "/hello.txt", DestinationPath: "/vs1/vol2/orig-fs/hello.txt", FhInfo: ^uint64(0)}}, "FILESYSTEM", "/vs1/vol1"); err != nil {
		t.Fatal(err)
	}
	if readVol(t, w2, "orig-fs/hello.txt") != "hello, world\n" {
		t.Error("destination in another volume than FILESYSTEM")
	}
	if _, err := l.recover(t, img, []engines.NameEntry{{OriginalPath: "/hello.txt", DestinationPath: "/rel/hello.txt", FhInfo: ^uint64(0)}}, "FILESYSTEM", "/vs1/vol2"); err != nil {
		t.Fatal(err)
	}
	if readVol(t, w2, "rel/hello.txt") != "hello, world\n" {
		t.Error("relative destination")
	}
	// existing files are overwritten, directories are not
	a, _ := w2.Resolve("renamed.txt")
	w2.Write(a.Ino, 0, []byte("garbage garbage garbage"))
	if _, err := l.recover(t, img, []engines.NameEntry{{OriginalPath: "/hello.txt", DestinationPath: "/vs1/vol2/renamed.txt", FhInfo: ^uint64(0)}}, "FILESYSTEM", "/vs1/vol2", "EXTRACT", "E"); err != nil {
		t.Fatal(err)
	}
	if readVol(t, w2, "renamed.txt") != "hello, world\n" {
		t.Error("existing file not overwritten")
	}

	// LIST: names and inode numbers, nothing written
	_, w3 := l.volume(t, "vol3", 16<<20)
	rec = newRecorder()
	res, err = l.eng.Recover(context.Background(), &engines.RecoverRequest{Env: envOf("FILESYSTEM", "/vs1/vol3", "LIST", "Y"),
		Stream: bytes.NewReader(img), Log: rec})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(rec.msgs, "\n")
	if !strings.Contains(joined, "./dir/nested/deep.txt") || res.Files < 30 {
		t.Errorf("LIST output (%d files):\n%s", res.Files, joined)
	}
	// the listing's table of contents (START_RECOVER_FILEHIST) carries
	// positions a DAR can use
	rec = newRecorder()
	if _, err := l.eng.Recover(context.Background(), &engines.RecoverRequest{Env: envOf("FILESYSTEM", "/vs1/vol3", "LIST", "Y"),
		Stream: bytes.NewReader(img), History: rec}); err != nil {
		t.Fatal(err)
	}
	st, ok := rec.toc["/dir/nested/deep.txt"]
	if !ok || st.FhInfo == ^uint64(0) || st.Size != 10 || st.Type != engines.FileReg {
		t.Fatalf("table of contents entry %+v %v", st, ok)
	}
	s := &seekStream{img: img}
	if _, err := l.eng.Recover(context.Background(), &engines.RecoverRequest{Env: envOf("FILESYSTEM", "/vs1/vol2", "DIRECT", "Y"),
		Names:  []engines.NameEntry{{OriginalPath: "/dir/nested/deep.txt", DestinationPath: "/vs1/vol2/fromtoc.txt", FhInfo: st.FhInfo}},
		Stream: s, Seek: s.seek}); err != nil {
		t.Fatal(err)
	}
	if readVol(t, w2, "fromtoc.txt") != "deep file\n" {
		t.Error("DAR from the table of contents")
	}
	// EXTRACT_ACL=N: no ACLs restored (other xattrs are)
	if _, err := l.recover(t, img, []engines.NameEntry{{OriginalPath: "/acl.txt", DestinationPath: "/vs1/vol2/noacl", FhInfo: ^uint64(0)}},
		"FILESYSTEM", "/vs1/vol2", "EXTRACT_ACL", "N"); err != nil {
		t.Fatal(err)
	}
	if a, err := w2.Resolve("noacl/acl.txt"); err != nil {
		t.Fatal(err)
	} else if _, err := w2.GetXattr(a.Ino, "system.posix_acl_access"); err == nil {
		t.Error("EXTRACT_ACL=N restored an ACL")
	}
	// NOWRITE: read everything, write nothing
	res, err = l.recover(t, img, nil, "FILESYSTEM", "/vs1/vol3", "NOWRITE", "Y")
	if err != nil || res.BytesRead != int64(len(img)) {
		t.Fatalf("NOWRITE: %v %+v", err, res)
	}
	n := 0
	w3.ReadDir(volume.RootIno, "", func(volume.DirEntry) bool { n++; return true })
	if n != 0 {
		t.Errorf("LIST/NOWRITE wrote %d entries", n)
	}
}

func TestRecoverErrors(t *testing.T) {
	l := newLab(t)
	_, w := l.volume(t, "vol1", 16<<20)
	for i := 0; i < 20; i++ {
		f, _ := w.Create(volume.RootIno, "f"+string(rune('a'+i)), 0o644, volume.Owner{})
		w.Write(f.Ino, 0, []byte("data"))
	}
	img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1")
	// empty stream
	l.volume(t, "vol2", 16<<20)
	_, err := l.recover(t, nil, nil, "FILESYSTEM", "/vs1/vol2")
	if !errors.Is(err, dump.ErrAtEndOfTape) || !strings.Contains(err.Error(), "Already at the end of tape") {
		t.Errorf("empty stream: %v", err)
	}
	// damaged image
	bad := append([]byte(nil), img...)
	bad[3*1024+100] ^= 0xff
	_, err = l.recover(t, bad, nil, "FILESYSTEM", "/vs1/vol2")
	if err == nil || !strings.Contains(err.Error(), "Media error on tape read") {
		t.Errorf("damaged image: %v", err)
	}
	_, err = l.recover(t, img[:len(img)/2], nil, "FILESYSTEM", "/vs1/vol2")
	if err == nil || !strings.Contains(err.Error(), "Tape read error") {
		t.Errorf("truncated image: %v", err)
	}
	// read-only (DP) destination
	dp, err := l.store.CreateVolume(volume.Spec{SVM: "vs1", Name: "dp", Size: 16 << 20, Type: volume.TypeDP})
	if err != nil {
		t.Fatal(err)
	}
	_ = dp
	_, err = l.recover(t, img, nil, "FILESYSTEM", "/vs1/dp")
	if !errors.Is(err, dump.ErrReadOnlyDest) || err.Error() != "Destination volume is read-only" {
		t.Errorf("DP destination: %v", err)
	}
	// too few inodes: refused without FORCE, partial and stopped with FORCE
	small, err := l.store.CreateVolume(volume.Spec{SVM: "vs1", Name: "small", Size: 16 << 20, InodeLimit: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.recover(t, img, nil, "FILESYSTEM", "/vs1/small")
	if !errors.Is(err, dump.ErrNoSpace) {
		t.Errorf("no FORCE: %v", err)
	}
	if small.Info().Inodes != 1 {
		t.Errorf("refused restore wrote %d inodes", small.Info().Inodes)
	}
	_, err = l.recover(t, img, nil, "FILESYSTEM", "/vs1/small", "FORCE", "Y")
	if err == nil || !strings.Contains(err.Error(), "restore stopped") {
		t.Errorf("FORCE into a full volume: %v", err)
	}
	if got := small.Info().Inodes; got < 5 {
		t.Errorf("FORCE restored only %d inodes", got)
	}
}

// Our level 0 + level 1 of a changing volume, restored in chain order into
// another volume, reproduce it: deletions, renames, reused inodes, moves;
// with the level 1 from the snapshot diff and by the ctime fallback.
func TestVolumeIncrementalChain(t *testing.T) { forBothPaths(t, testVolumeIncrementalChain) }

func testVolumeIncrementalChain(t *testing.T, l *lab) {
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 7}); err != nil {
		t.Fatal(err)
	}
	_, w := l.volume(t, "vol1", 64<<20)
	copyToVolume(t, src, w)
	l.clk.advance(10 * time.Second)
	img0, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "0")
	l.clk.advance(10 * time.Second)
	if _, err := l.recover(t, img0, nil, "FILESYSTEM", "/vs1/vol2/copy"); err == nil {
		t.Fatal("restore into a missing volume succeeded")
	}
	_, w2 := l.volume(t, "vol2", 64<<20)
	if _, err := l.recover(t, img0, nil, "FILESYSTEM", "/vs1/vol2/copy"); err != nil {
		t.Fatal(err)
	}
	// change the source
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	root := volume.RootIno
	must(w.Unlink(root, "empty"))
	must(w.Rmdir(root, "emptydir"))
	must(w.Rename(root, "rand-20000.bin", root, "renamed-20000.bin", 0))
	dir, _ := w.Resolve("dir")
	nested, _ := w.Resolve("dir/nested")
	must(w.Unlink(nested.Ino, "deep.txt"))
	f, err := w.Create(nested.Ino, "deep.txt", 0o644, volume.Owner{})
	must(err)
	w.Write(f.Ino, 0, []byte("deep file, level 1 version\n"))
	nd, err := w.Mkdir(root, "newdir", 0o755, volume.Owner{})
	must(err)
	f, err = w.Create(nd.Ino, "file.txt", 0o644, volume.Owner{})
	must(err)
	w.Write(f.Ino, 0, []byte("new\n"))
	must(w.Rename(root, "longnames", dir.Ino, "moved-longnames", 0)) // a directory moves
	x, _ := w.Resolve("xattr.txt")
	_, err = w.SetAttr(x.Ino, volume.SetAttrIn{Valid: volume.SetMode, Mode: 0o600})
	must(err)
	a, _ := w.Resolve("acl.txt")
	must(w.SetXattr(a.Ino, "user.added", []byte("level1"), 0))
	l.clk.advance(10 * time.Second)
	img1, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1")
	if len(img1) >= len(img0) {
		t.Errorf("level 1 (%d bytes) not smaller than level 0 (%d)", len(img1), len(img0))
	}
	if _, err := l.recover(t, img1, nil, "FILESYSTEM", "/vs1/vol2/copy"); err != nil {
		t.Fatal(err)
	}
	a1, a2 := shmDir(t), shmDir(t)
	copyFromVolume(t, w, "", a1)
	copyFromVolume(t, w2, "copy", a2)
	want := manifestOf(t, a1, true)
	if d := manifest.Diff(manifestOf(t, a2, true), want); d != "" {
		t.Errorf("level 0 + level 1 restore differs from the source:\n%s", d)
	}
	// Linux restore -r applies the same chain of our images identically
	restore, _ := findRestore(t)
	work := shmDir(t)
	rr := filepath.Join(work, "rr")
	os.Mkdir(rr, 0o755)
	for i, img := range [][]byte{img0, img1} {
		p := filepath.Join(work, fmt.Sprintf("l%d.dump", i))
		os.WriteFile(p, img, 0o644)
		if out, err := run(t, rr, restore, "-r", "-f", p); err != nil {
			t.Fatalf("restore -r level %d: %v\n%s", i, err, out)
		}
	}
	if d := manifest.Diff(manifestOf(t, rr, true), want); d != "" {
		t.Errorf("Linux restore -r of our level 0 + level 1 differs from the source:\n%s", d)
	}
}

// IGNORE_CTIME: a ctime-only change is dumped without it, not with it;
// from the snapshot diff and by the ctime fallback.
func TestIgnoreCtime(t *testing.T) { forBothPaths(t, testIgnoreCtime) }

func testIgnoreCtime(t *testing.T, l *lab) {
	_, w := l.volume(t, "vol1", 16<<20)
	f, _ := w.Create(volume.RootIno, "meta-only", 0o644, volume.Owner{})
	w.Create(volume.RootIno, "untouched", 0o644, volume.Owner{})
	l.clk.advance(10 * time.Second)
	l.backup(t, nil, "FILESYSTEM", "/vs1/vol1")
	l.clk.advance(10 * time.Second)
	// only the ctime changes (same mode set again)
	if _, err := w.SetAttr(f.Ino, volume.SetAttrIn{Valid: volume.SetMode, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	l.clk.advance(10 * time.Second)
	img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N")
	if got := strings.Join(namesOnImage(t, img), ","); got != "meta-only" {
		t.Errorf("ctime change: dumped %q", got)
	}
	img, _ = l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N", "IGNORE_CTIME", "Y")
	if got := strings.Join(namesOnImage(t, img), ","); got != "" {
		t.Errorf("IGNORE_CTIME: dumped %q", got)
	}
	// a real attribute change (the mode) leaves mtime alone: the diff keeps
	// it with IGNORE_CTIME (only the ctime alone is ignored, the seed's
	// rule); the fallback, by mtime, cannot see it (BSD dump's behaviour)
	if _, err := w.SetAttr(f.Ino, volume.SetAttrIn{Valid: volume.SetMode, Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	l.clk.advance(10 * time.Second)
	img, _ = l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N", "IGNORE_CTIME", "Y")
	want := "meta-only"
	if l.ctimePath {
		want = ""
	}
	if got := strings.Join(namesOnImage(t, img), ","); got != want {
		t.Errorf("IGNORE_CTIME after a chmod: dumped %q, want %q", got, want)
	}
}

// Named snapshots: the incremental comes from the snapshot difference.
func TestSnapshotDiffOfNamedSnapshots(t *testing.T) {
	l := newLab(t)
	v, w := l.volume(t, "vol1", 16<<20)
	snapshot.Create(v, "s0")
	l.backup(t, nil, "FILESYSTEM", "/vs1/vol1/.snapshot/s0", "LEVEL", "0")
	w.Create(volume.RootIno, "after-s0", 0o644, volume.Owner{})
	snapshot.Create(v, "s1")
	rec := newRecorder()
	img, _ := l.backup(t, rec, "FILESYSTEM", "/vs1/vol1/.snapshot/s1", "LEVEL", "1")
	if got := strings.Join(namesOnImage(t, img), ","); got != "after-s0" {
		t.Errorf("snapshot-diff incremental dumped %q", got)
	}
	if !strings.Contains(strings.Join(rec.msgs, "\n"), "incremental from snapshot diff: s0..s1") {
		t.Errorf("incremental not from the snapshot diff:\n%s", strings.Join(rec.msgs, "\n"))
	}
}

func TestEventLogRotationAndSwitch(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	log := dump.NewEventLog(dir, func() time.Time { return now })
	for week := 0; week < 9; week++ {
		if err := log.Event("dmp", "/vs1/vol1/(1)", "Start", "level 0, NDMP"); err != nil {
			t.Fatal(err)
		}
		now = now.Add(8 * 24 * time.Hour)
	}
	for i := 0; i < dump.MaxRotated; i++ {
		if _, err := os.Stat(filepath.Join(dir, "backup."+string(rune('0'+i)))); err != nil {
			t.Errorf("backup.%d: %v", i, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "backup.6")); err == nil {
		t.Error("more than backup.0..5 kept")
	}
	b, _ := os.ReadFile(filepath.Join(dir, "backup"))
	if want := "dmp Fri Mar  6 00:00:00 UTC 2026 /vs1/vol1/(1) Start (level 0, NDMP)\n"; string(b) != want {
		t.Errorf("log line %q, want %q", b, want)
	}
	dir = t.TempDir()
	log = dump.NewEventLog(dir, func() time.Time { return now })
	log.Event("dmp", "x", "Start", "y")
	log.SetEnabled(false)
	log.Event("dmp", "x", "End", "y")
	log.SetEnabled(true)
	b, _ = os.ReadFile(filepath.Join(dir, "backup"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "log ") || !strings.HasSuffix(lines[1], "Stop_Logging") || !strings.HasSuffix(lines[2], "Start_Logging") {
		t.Errorf("logging switch:\n%s", b)
	}
}

func TestSessionLimit(t *testing.T) {
	l := newLab(t)
	l.eng = dump.New(l.store, dump.WithDataDir(l.data), dump.WithClock(l.clk.now), dump.WithMemory(8<<30))
	_, w := l.volume(t, "vol1", 16<<20)
	f, _ := w.Create(volume.RootIno, "f", 0o644, volume.Owner{})
	w.Write(f.Ino, 0, bytes.Repeat([]byte("x"), 1<<20))
	var readers []*io.PipeReader
	done := make(chan error, 4)
	for i := 0; i < 4; i++ {
		r, wr := io.Pipe()
		readers = append(readers, r)
		go func() {
			_, err := l.eng.Backup(context.Background(), &engines.BackupRequest{Env: envOf("FILESYSTEM", "/vs1/vol1"), Stream: wr})
			wr.Close()
			done <- err
		}()
		r.Read(make([]byte, 1024)) // the backup is running
	}
	// while they run, their automatic snapshots exist and are locked
	v, _ := l.store.Volume("vs1", "vol1")
	snaps, _ := snapshot.List(v)
	if len(snaps) != 4 {
		t.Errorf("%d snapshots during 4 backups", len(snaps))
	}
	for _, s := range snaps {
		if !strings.HasPrefix(s.Name, "snapshot_for_backup.") || len(s.Holders) == 0 {
			t.Errorf("snapshot %s holders %v", s.Name, s.Holders)
		}
		if _, err := snapshot.Delete(v, s.Name); !errors.Is(err, snapshot.ErrLocked) {
			t.Errorf("deleting %s during the backup: %v", s.Name, err)
		}
	}
	_, err := l.eng.Backup(context.Background(), &engines.BackupRequest{Env: envOf("FILESYSTEM", "/vs1/vol1"), Stream: io.Discard})
	if !errors.Is(err, dump.ErrSessionLimit) || !strings.Contains(err.Error(), "Maximum number of allowed dumps or restores (4) in progress") {
		t.Errorf("5th session: %v", err)
	}
	for _, r := range readers {
		go io.Copy(io.Discard, r)
	}
	for i := 0; i < 4; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	// one is kept, unlocked: the base of the next incremental
	recs, _ := l.eng.History().Records("/vs1/vol1")
	if snaps, _ := snapshot.List(v); len(snaps) != 1 || len(snaps[0].Holders) != 0 || len(recs) != 1 || recs[0].Snapshot != snaps[0].Name {
		t.Errorf("snapshots left after the backups: %v, history %+v", snaps, recs)
	}
}

// A cancelled backup leaves no snapshot and no lock behind.
func TestBackupCancelled(t *testing.T) {
	l := newLab(t)
	v, w := l.volume(t, "vol1", 16<<20)
	f, _ := w.Create(volume.RootIno, "f", 0o644, volume.Owner{})
	w.Write(f.Ino, 0, bytes.Repeat([]byte("x"), 4<<20))
	ctx, cancel := context.WithCancel(context.Background())
	cw := &cancelWriter{cancel: cancel}
	_, err := l.eng.Backup(ctx, &engines.BackupRequest{Env: envOf("FILESYSTEM", "/vs1/vol1"), Stream: cw})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled backup: %v", err)
	}
	if snaps, _ := snapshot.List(v); len(snaps) != 0 {
		t.Errorf("snapshots left: %v", snaps)
	}
	// the next backup gets the same automatic name again and works
	if _, err := l.eng.Backup(context.Background(), &engines.BackupRequest{Env: envOf("FILESYSTEM", "/vs1/vol1"), Stream: io.Discard}); err != nil {
		t.Fatal(err)
	}
}

type cancelWriter struct {
	cancel func()
	n      int
}

func (c *cancelWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	if c.n > 64<<10 {
		c.cancel()
	}
	return len(p), nil
}
