package dump_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tapelab/engines"
	"tapelab/engines/dump"
	"tapelab/engines/dump/format"
	"tapelab/internal/manifest"
	"tapelab/snapshot"
	"tapelab/volume"
)

// dropBaseSnapshots deletes every unlocked automatic snapshot (the base
// snapshots the engine keeps), as a user may.
func (l *lab) dropBaseSnapshots(t testing.TB) {
	t.Helper()
	for _, in := range l.store.Volumes() {
		v, err := l.store.Volume(in.SVM, in.Name)
		if err != nil {
			t.Fatal(err)
		}
		snaps, _ := snapshot.List(v)
		for _, s := range snaps {
			if strings.HasPrefix(s.Name, snapshot.AutoBackupPrefix) && len(s.Holders) == 0 {
				if _, err := snapshot.Delete(v, s.Name); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// forBothPaths runs an incremental test twice: with the base snapshots
// kept (every incremental from the snapshot diff) and with them deleted
// before each backup (every incremental by inode change times), and checks
// which path the incrementals took.
func forBothPaths(t *testing.T, f func(t *testing.T, l *lab)) {
	for _, ctime := range []bool{false, true} {
		name := "snapshot-diff"
		if ctime {
			name = "ctime-fallback"
		}
		t.Run(name, func(t *testing.T) {
			l := newLab(t)
			l.ctimePath = ctime
			f(t, l)
			fromDiff, byCtime := l.eng.IncrementalCounts()
			if fromDiff+byCtime == 0 {
				t.Fatal("no incremental ran")
			}
			if ctime && fromDiff != 0 || !ctime && byCtime != 0 {
				t.Errorf("%s: %d incrementals from the snapshot diff, %d by ctime", name, fromDiff, byCtime)
			}
		})
	}
}

// The snapshot diff sees a change the times do not show: new data written
// and mtime and ctime set back to before the base dump (a tool that
// preserves times). The ctime fallback misses it; the event log says
// which way each incremental went.
func TestIncrementalFromDiffSeesWhatTimesHide(t *testing.T) {
	l := newLab(t)
	v, w := l.volume(t, "vol1", 16<<20)
	f, _ := w.Create(volume.RootIno, "hidden", 0o644, volume.Owner{})
	w.Write(f.Ino, 0, []byte("version 1\n"))
	w.Create(volume.RootIno, "untouched", 0o644, volume.Owner{})
	old := l.clk.now().Add(-time.Hour)
	l.clk.advance(10 * time.Second)
	l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "0")
	l.clk.advance(10 * time.Second)
	w.Write(f.Ino, 0, []byte("version 2\n"))
	if _, err := w.SetAttr(f.Ino, volume.SetAttrIn{Valid: volume.SetMtime | volume.SetCtime, Mtime: old, Ctime: old}); err != nil {
		t.Fatal(err)
	}
	l.clk.advance(10 * time.Second)
	img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N")
	if got := strings.Join(namesOnImage(t, img), ","); got != "hidden" {
		t.Errorf("incremental from the snapshot diff dumped %q, want hidden", got)
	}
	// the base snapshot deleted by a user: the ctime scan cannot see it
	if _, err := snapshot.Delete(v, "snapshot_for_backup.0"); err != nil {
		t.Fatal(err)
	}
	img, _ = l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N")
	if got := strings.Join(namesOnImage(t, img), ","); got != "" {
		t.Errorf("incremental by ctime dumped %q (the times say nothing changed)", got)
	}
	if d, c := l.eng.IncrementalCounts(); d != 1 || c != 1 {
		t.Errorf("IncrementalCounts %d from the diff, %d by ctime; want 1, 1", d, c)
	}
	b, _ := os.ReadFile(filepath.Join(l.data, "backup"))
	for _, ev := range []string{
		" Options (incremental from snapshot diff: snapshot_for_backup.0..snapshot_for_backup.1, 1 inodes changed)",
		" Options (incremental by inode change times: the base snapshot snapshot_for_backup.0 no longer exists)",
	} {
		if !strings.Contains(string(b), ev) {
			t.Errorf("event log lacks %q:\n%s", ev, b)
		}
	}
}

// A snapshot of the base's name that is not the base's snapshot (deleted
// and made again) is not diffed against.
func TestIncrementalChecksBaseSnapshotIdentity(t *testing.T) {
	l := newLab(t)
	v, w := l.volume(t, "vol1", 16<<20)
	w.Create(volume.RootIno, "a", 0o644, volume.Owner{})
	l.clk.advance(10 * time.Second)
	l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "0")
	l.clk.advance(10 * time.Second)
	w.Create(volume.RootIno, "b", 0o644, volume.Owner{})
	if _, err := snapshot.Delete(v, "snapshot_for_backup.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.Create(v, "snapshot_for_backup.0"); err != nil {
		t.Fatal(err)
	}
	l.clk.advance(10 * time.Second)
	rec := newRecorder()
	img, _ := l.backup(t, rec, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1")
	if got := strings.Join(namesOnImage(t, img), ","); got != "b" {
		t.Errorf("incremental dumped %q", got)
	}
	if d, c := l.eng.IncrementalCounts(); d != 0 || c != 1 {
		t.Errorf("a look-alike base snapshot was diffed: %d from the diff, %d by ctime", d, c)
	}
	// the user's snapshot of that name is not the engine's to delete
	if _, err := snapshot.Show(v, "snapshot_for_backup.0"); err != nil {
		t.Errorf("the user's snapshot was deleted: %v", err)
	}
}

// inodesOnImage lists the inode numbers dumped (phases III and IV).
func inodesOnImage(t testing.TB, img []byte) []uint32 {
	t.Helper()
	rd, err := format.NewReader(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	var out []uint32
	for {
		e, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind == format.KindEnd {
			return out
		}
		if e.Kind == format.KindInode {
			out = append(out, e.Ino())
		}
	}
}

// randomChanges applies n random operations below the root of w: creates,
// writes, truncations, unlinks, renames and moves, directories made and
// removed, hard links, modes, owners, xattrs and access times.
func randomChanges(t testing.TB, w *volume.View, rng *rand.Rand, n int) {
	t.Helper()
	type ent struct {
		dir  uint64
		name string
	}
	list := func() (files, dirs []ent) {
		var walk func(ino uint64)
		dirs = append(dirs, ent{0, ""})
		walk = func(ino uint64) {
			w.ReadDir(ino, "", func(e volume.DirEntry) bool {
				if e.Mode == syscall.S_IFDIR {
					dirs = append(dirs, ent{ino, e.Name})
					walk(e.Ino)
				} else {
					files = append(files, ent{ino, e.Name})
				}
				return true
			})
		}
		walk(volume.RootIno)
		return files, dirs
	}
	inoOf := func(e ent) uint64 {
		if e.dir == 0 {
			return volume.RootIno
		}
		a, err := w.Lookup(e.dir, e.name)
		if err != nil {
			t.Fatal(err)
		}
		return a.Ino
	}
	for i := 0; i < n; i++ {
		files, dirs := list()
		d := inoOf(dirs[rng.Intn(len(dirs))])
		name := fmt.Sprintf("n%03d", rng.Intn(1000))
		var f ent
		var fino uint64
		if len(files) > 0 {
			f = files[rng.Intn(len(files))]
			fino = inoOf(f)
		}
		var err error
		switch op := rng.Intn(12); {
		case op == 0 || fino == 0:
			var a volume.Attr
			if a, err = w.Create(d, name, 0o644, volume.Owner{}); err == nil {
				_, err = w.Write(a.Ino, 0, bytes.Repeat([]byte{byte(i)}, rng.Intn(20000)))
			}
		case op == 1:
			_, err = w.Mkdir(d, name, 0o755, volume.Owner{})
		case op == 2:
			_, err = w.Write(fino, int64(rng.Intn(9000)), []byte("changed"))
		case op == 3:
			_, err = w.SetAttr(fino, volume.SetAttrIn{Valid: volume.SetSize, Size: uint64(rng.Intn(5000))})
		case op == 4:
			err = w.Unlink(f.dir, f.name)
		case op == 5:
			err = w.Rename(f.dir, f.name, d, name, 0)
		case op == 6:
			_, err = w.Link(fino, d, name)
		case op == 7:
			_, err = w.SetAttr(fino, volume.SetAttrIn{Valid: volume.SetMode, Mode: uint32(0o600 + rng.Intn(0o100))})
		case op == 8:
			_, err = w.SetAttr(fino, volume.SetAttrIn{Valid: volume.SetUID, UID: uint32(rng.Intn(3))})
		case op == 9:
			err = w.SetXattr(fino, "user.r", []byte(name), 0)
		case op == 10:
			_, err = w.SetAttr(fino, volume.SetAttrIn{Valid: volume.SetAtime, Atime: time.Unix(int64(rng.Intn(1e9)), 0)})
		case op == 11 && len(dirs) > 1:
			x := dirs[1+rng.Intn(len(dirs)-1)]
			if err = w.Rmdir(x.dir, x.name); errors.Is(err, syscall.ENOTEMPTY) {
				err = w.Rename(x.dir, x.name, volume.RootIno, name, 0)
			}
		}
		if err != nil && !errors.Is(err, syscall.EEXIST) && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTEMPTY) &&
			!errors.Is(err, syscall.ENOTDIR) && !errors.Is(err, syscall.EISDIR) && !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("op %d: %v", i, err)
		}
	}
}

// On random change sets the snapshot-diff incremental dumps the same
// inodes as the ctime scan (times kept apart from the snapshots, so the
// scan's one-second granularity does not add anything) and both chains
// restore the source. With IGNORE_CTIME the diff dumps a superset: it
// keeps mode, owner, link and xattr changes, which leave mtime alone.
func TestDiffIncrementalMatchesCtimeScan(t *testing.T) {
	restore, haveRestore := findRestore(t)
	for seed := int64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			l := newLab(t)
			v, w := l.volume(t, "vol1", 64<<20)
			randomChanges(t, w, rng, 60)
			l.clk.advance(10 * time.Second)
			img0, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "0")
			l.clk.advance(10 * time.Second)
			// a user's snapshot taken and deleted between the two dumps: the
			// diff must not depend on the snapshots in between
			randomChanges(t, w, rng, 20)
			if _, err := snapshot.Create(v, "mid"); err != nil {
				t.Fatal(err)
			}
			randomChanges(t, w, rng, 20)
			if _, err := snapshot.Delete(v, "mid"); err != nil {
				t.Fatal(err)
			}
			randomChanges(t, w, rng, 10)
			l.clk.advance(10 * time.Second)
			diff1, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N")
			diffIC, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N", "IGNORE_CTIME", "Y")
			snaps, _ := snapshot.List(v)
			if len(snaps) != 1 {
				t.Fatalf("snapshots %v, want the level 0's", snaps)
			}
			l.dropBaseSnapshots(t)
			ctime1, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N")
			ctimeIC, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N", "IGNORE_CTIME", "Y")
			if d, c := l.eng.IncrementalCounts(); d != 2 || c != 2 {
				t.Fatalf("IncrementalCounts %d, %d", d, c)
			}
			if a, b := inodesOnImage(t, diff1), inodesOnImage(t, ctime1); fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("inodes dumped\nfrom the diff %v\nby ctime      %v", a, b)
			}
			a, b := inodesOnImage(t, diffIC), inodesOnImage(t, ctimeIC)
			in := map[uint32]bool{}
			for _, x := range a {
				in[x] = true
			}
			for _, x := range b {
				if !in[x] {
					t.Errorf("IGNORE_CTIME: inode %d dumped by the mtime scan, not from the diff (%v vs %v)", x, a, b)
				}
			}
			want := shmDir(t)
			copyFromVolume(t, w, "", want)
			wantM := manifestOf(t, want, true)
			// Our restore and Linux restore -r (the reference) must both
			// reproduce the source from either chain.
			ours := map[string][]string{}
			for _, name := range []string{"diff", "ctime"} {
				img1 := map[string][]byte{"diff": diff1, "ctime": ctime1}[name]
				_, w2 := l.volume(t, "r"+name, 64<<20)
				for i, img := range [][]byte{img0, img1} {
					if _, err := l.recover(t, img, nil, "FILESYSTEM", "/vs1/r"+name); err != nil {
						t.Fatalf("%s chain, image %d: %v", name, i, err)
					}
				}
				got := shmDir(t)
				copyFromVolume(t, w2, "", got)
				ours[name] = manifestOf(t, got, true)
				if d := manifest.Diff(ours[name], wantM); d != "" {
					t.Errorf("our restore of level 0 + level 1 (%s) differs from the source:\n%s", name, d)
				}
				if !haveRestore {
					continue
				}
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
				if d := manifest.Diff(manifestOf(t, rr, true), wantM); d != "" {
					t.Errorf("Linux restore -r of level 0 + level 1 (%s) differs from the source:\n%s", name, d)
				}
			}
			if d := manifest.Diff(ours["diff"], ours["ctime"]); d != "" {
				t.Errorf("our restores of the two chains differ (- diff chain, + ctime chain):\n%s", d)
			}
		})
	}
}

// snapNames lists the volume's snapshots.
func snapNames(t testing.TB, v *volume.Volume) string {
	t.Helper()
	snaps, err := snapshot.List(v)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range snaps {
		if len(s.Holders) > 0 && s.Holders[0] != "a running dump" {
			t.Errorf("snapshot %s still held by %v", s.Name, s.Holders)
		}
		out = append(out, strings.TrimPrefix(s.Name, snapshot.AutoBackupPrefix))
	}
	return strings.Join(out, ",")
}

// The base snapshot policy: a dump's automatic snapshot is kept while a
// later incremental can be based on it, no longer.
func TestBaseSnapshotPolicy(t *testing.T) {
	l := newLab(t)
	v, w := l.volume(t, "vol1", 16<<20)
	n := 0
	dump := func(kv ...string) {
		t.Helper()
		l.clk.advance(10 * time.Second)
		f, _ := w.Create(volume.RootIno, fmt.Sprint("f", n), 0o644, volume.Owner{})
		w.Write(f.Ino, 0, []byte("x"))
		n++
		l.clk.advance(10 * time.Second)
		l.backup(t, nil, append([]string{"FILESYSTEM", "/vs1/vol1"}, kv...)...)
	}
	steps := []struct {
		env  []string
		kept string // snapshot_for_backup.N numbers left
	}{
		{[]string{"LEVEL", "0"}, "0"},
		{[]string{"LEVEL", "1"}, "0,1"},
		{[]string{"LEVEL", "1"}, "0,2"}, // 0, 1, 1: the older level 1 can no longer be a base
		{[]string{"LEVEL", "1", "UPDATE", "N"}, "0,2"},
		{[]string{"LEVEL", "31"}, "0,2"}, // no level above 31
		{[]string{"LEVEL", "2"}, "0,2,5"},
		{[]string{"LEVEL", "3"}, "0,2,5,6"},
		{[]string{"LEVEL", "1"}, "0,7"}, // supersedes the levels 1, 2 and 3
		{[]string{"LEVEL", "4"}, "0,7,8"},
		{[]string{"BASE_DATE", "0"}, "0,7,8,9"}, // kept for its DUMP_DATE token
		{[]string{"LEVEL", "0"}, "9,10"},        // BASE_DATE chains are apart

	}
	for i, s := range steps {
		dump(s.env...)
		if got := snapNames(t, v); got != s.kept {
			t.Errorf("step %d %v: snapshots %s, want %s", i, s.env, got, s.kept)
		}
	}
	recs, _ := l.eng.History().Records("/vs1/vol1")
	for _, r := range recs {
		if r.Kept != (r.Level == 0) || r.Kept && r.Snapshot != "snapshot_for_backup.10" {
			t.Errorf("history record %+v", r)
		}
	}
	if d, c := l.eng.IncrementalCounts(); d != 8 || c != 0 {
		t.Errorf("%d incrementals from the diff, %d by ctime; want 8, 0", d, c)
	}

	// A retired base held by a running dump is deleted after it finishes.
	dump("LEVEL", "1")
	release, err := snapshot.Lock(v, "snapshot_for_backup.11", "a running dump")
	if err != nil {
		t.Fatal(err)
	}
	dump("LEVEL", "1")
	if got := snapNames(t, v); got != "9,10,11,12" {
		t.Errorf("with the retired base held: %s", got)
	}
	release()
	dump("LEVEL", "2")
	if got := snapNames(t, v); got != "9,10,12,13" {
		t.Errorf("after the hold ended: %s", got)
	}
	_, retired, _ := l.eng.History().Kept()
	if len(retired) != 0 {
		t.Errorf("retired list %+v", retired)
	}
}

// At most WithBaseSnapshots bases are kept per volume, and at the
// 255-snapshot limit a backup releases kept bases rather than fail.
func TestBaseSnapshotBudget(t *testing.T) {
	l := newLab(t)
	l.eng = dump.New(l.store, dump.WithDataDir(l.data), dump.WithClock(l.clk.now), dump.WithBaseSnapshots(2))
	v, w := l.volume(t, "vol1", 16<<20)
	for _, d := range []string{"a", "b", "c"} {
		dir, _ := w.Mkdir(volume.RootIno, d, 0o755, volume.Owner{})
		w.Create(dir.Ino, "f", 0o644, volume.Owner{})
	}
	for _, d := range []string{"a", "b", "c"} {
		l.clk.advance(10 * time.Second)
		l.backup(t, nil, "FILESYSTEM", "/vs1/vol1/"+d)
	}
	if got := snapNames(t, v); got != "1,2" {
		t.Errorf("with a budget of 2: %s", got)
	}
	// /vs1/vol1/a lost its base: its incremental goes by ctime
	l.clk.advance(10 * time.Second)
	l.backup(t, nil, "FILESYSTEM", "/vs1/vol1/a", "LEVEL", "1", "UPDATE", "N")
	l.backup(t, nil, "FILESYSTEM", "/vs1/vol1/b", "LEVEL", "1", "UPDATE", "N")
	if d, c := l.eng.IncrementalCounts(); d != 1 || c != 1 {
		t.Errorf("%d from the diff, %d by ctime; want 1, 1", d, c)
	}
	// fill the volume to the limit with the user's snapshots
	for i := 0; len(v.Snapshots()) < snapshot.MaxPerVolume; i++ {
		if _, err := snapshot.Create(v, fmt.Sprint("user", i)); err != nil {
			t.Fatal(err)
		}
	}
	// the level 1 of b needs b's base: c's is released instead
	l.clk.advance(10 * time.Second)
	rec := newRecorder()
	l.backup(t, rec, "FILESYSTEM", "/vs1/vol1/b", "LEVEL", "1")
	if _, err := snapshot.Show(v, "snapshot_for_backup.1"); err != nil {
		t.Errorf("the base of this dump was released: %v", err)
	}
	if _, err := snapshot.Show(v, "snapshot_for_backup.2"); err == nil {
		t.Error("no base released at the snapshot limit")
	}
	b, _ := os.ReadFile(filepath.Join(l.data, "backup"))
	if !strings.Contains(string(b), "/vs1/vol1/c Options (base snapshot snapshot_for_backup.2 of the level 0 dump released: the volume has the maximum number of snapshots)") {
		t.Errorf("no release logged:\n%s", b)
	}
	// a user's snapshot at the limit takes the place of a kept base too
	// (the oldest: b's level 0)
	if n := len(v.Snapshots()); n != snapshot.MaxPerVolume {
		t.Fatalf("%d snapshots", n)
	}
	if _, err := snapshot.Create(v, "users-256th"); err != nil {
		t.Errorf("user snapshot at the limit with a kept base: %v", err)
	}
	if _, err := snapshot.Show(v, "snapshot_for_backup.1"); err == nil {
		t.Error("the oldest kept base was not given up for the user's snapshot")
	}
	if n := len(v.Snapshots()); n != snapshot.MaxPerVolume {
		t.Errorf("%d snapshots after the user's", n)
	}
	// nothing left to release: the limit error as before
	for i := 0; len(v.Snapshots()) < snapshot.MaxPerVolume; i++ {
		snapshot.Create(v, fmt.Sprint("more", i))
	}
	l.dropBaseSnapshots(t)
	for i := 0; len(v.Snapshots()) < snapshot.MaxPerVolume; i++ {
		snapshot.Create(v, fmt.Sprint("again", i))
	}
	var buf bytes.Buffer
	_, err := l.eng.Backup(context.Background(), &engines.BackupRequest{Env: envOf("FILESYSTEM", "/vs1/vol1"), Stream: &buf})
	if !errors.Is(err, snapshot.ErrLimit) {
		t.Errorf("backup at the limit without kept bases: %v", err)
	}
}

// WithBaseSnapshots(0): every automatic snapshot is deleted after its
// backup, as ONTAP does, and incrementals go by ctime.
func TestNoBaseSnapshots(t *testing.T) {
	l := newLab(t)
	l.eng = dump.New(l.store, dump.WithDataDir(l.data), dump.WithClock(l.clk.now), dump.WithBaseSnapshots(0))
	v, w := l.volume(t, "vol1", 16<<20)
	w.Create(volume.RootIno, "a", 0o644, volume.Owner{})
	l.clk.advance(10 * time.Second)
	l.backup(t, nil, "FILESYSTEM", "/vs1/vol1")
	l.clk.advance(10 * time.Second)
	w.Create(volume.RootIno, "b", 0o644, volume.Owner{})
	l.clk.advance(10 * time.Second)
	img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1")
	if got := strings.Join(namesOnImage(t, img), ","); got != "b" {
		t.Errorf("incremental dumped %q", got)
	}
	if got := snapNames(t, v); got != "" {
		t.Errorf("snapshots left: %s", got)
	}
	if d, c := l.eng.IncrementalCounts(); d != 0 || c != 1 {
		t.Errorf("%d from the diff, %d by ctime", d, c)
	}
}

// The Linux dump fixtures (level 0, then level 1: deletions, renames,
// reused inodes, mode and xattr changes) restored into a volume, dumped by
// us at level 0 and 1 after each, and our chain restored into another
// volume, give the fixture's tree; from the diff and by ctime.
func TestFixtureChainThroughOurIncremental(t *testing.T) {
	forBothPaths(t, func(t *testing.T, l *lab) {
		l.volume(t, "src", 16<<20)
		_, w2 := l.volume(t, "dst", 16<<20)
		var imgs [][]byte
		for i, lv := range []string{"level0", "level1"} {
			if _, err := l.recover(t, readFixture(t, lv+".dump"), nil, "FILESYSTEM", "/vs1/src"); err != nil {
				t.Fatalf("%s: %v", lv, err)
			}
			l.clk.advance(10 * time.Second)
			img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/src", "LEVEL", fmt.Sprint(i))
			imgs = append(imgs, img)
			l.clk.advance(10 * time.Second)
			if _, err := l.recover(t, img, nil, "FILESYSTEM", "/vs1/dst"); err != nil {
				t.Fatalf("our %s: %v", lv, err)
			}
			out := shmDir(t)
			copyFromVolume(t, w2, "", out)
			wantRows, _ := manifest.File(fixturePath("expect-" + lv + ".tsv"))
			if d := manifest.Diff(manifestOf(t, out, false), wantRows); d != "" {
				t.Errorf("our %s restored differs:\n%s", lv, d)
			}
		}
		if len(imgs[1]) >= len(imgs[0]) {
			t.Errorf("level 1 (%d bytes) not smaller than level 0 (%d)", len(imgs[1]), len(imgs[0]))
		}
	})
}

// Named snapshots: an incremental of the base's own snapshot is empty; one
// of a snapshot older than its base cannot diff and goes by ctime.
func TestIncrementalOfNamedSnapshots(t *testing.T) {
	l := newLab(t)
	v, w := l.volume(t, "vol1", 16<<20)
	w.Create(volume.RootIno, "a", 0o644, volume.Owner{})
	l.clk.advance(10 * time.Second)
	snapshot.Create(v, "old")
	l.clk.advance(10 * time.Second)
	w.Create(volume.RootIno, "b", 0o644, volume.Owner{})
	l.clk.advance(10 * time.Second)
	snapshot.Create(v, "new")
	l.backup(t, nil, "FILESYSTEM", "/vs1/vol1/.snapshot/new", "LEVEL", "0")
	img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1/.snapshot/new", "LEVEL", "1", "UPDATE", "N")
	if got := strings.Join(namesOnImage(t, img), ","); got != "" {
		t.Errorf("incremental of the base's own snapshot dumped %q", got)
	}
	img, _ = l.backup(t, nil, "FILESYSTEM", "/vs1/vol1/.snapshot/old", "LEVEL", "1", "UPDATE", "N")
	if got := strings.Join(namesOnImage(t, img), ","); got != "" {
		t.Errorf("incremental of an older snapshot dumped %q", got)
	}
	if d, c := l.eng.IncrementalCounts(); d != 1 || c != 1 {
		t.Errorf("%d from the diff, %d by ctime; want 1, 1", d, c)
	}
	b, _ := os.ReadFile(filepath.Join(l.data, "backup"))
	if !strings.Contains(string(b), "the base snapshot new is newer than old") {
		t.Errorf("event log:\n%s", b)
	}
	// both named snapshots are the user's: kept
	if got := snapNames(t, v); got != "old,new" {
		t.Errorf("snapshots %s", got)
	}
}

// The kept bases outlive the engine (a node restart): the history in the
// data directory still names them, and a dump history of the old format
// (path level time [snapshot]) still reads, its bases matched by name and
// date.
func TestBaseSnapshotsAcrossRestart(t *testing.T) {
	l := newLab(t)
	_, w := l.volume(t, "vol1", 16<<20)
	w.Create(volume.RootIno, "a", 0o644, volume.Owner{})
	l.clk.advance(10 * time.Second)
	l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "0")
	l.clk.advance(10 * time.Second)
	w.Create(volume.RootIno, "b", 0o644, volume.Owner{})
	l.clk.advance(10 * time.Second)
	l.eng = dump.New(l.store, dump.WithDataDir(l.data), dump.WithClock(l.clk.now))
	img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N")
	if got := strings.Join(namesOnImage(t, img), ","); got != "b" {
		t.Errorf("after a restart the incremental dumped %q", got)
	}
	if d, c := l.eng.IncrementalCounts(); d != 1 || c != 0 {
		t.Errorf("after a restart: %d from the diff, %d by ctime", d, c)
	}
	// the old four-column format: no epoch, not kept
	p := filepath.Join(l.data, "dumpdates")
	recs, _ := l.eng.History().Records("/vs1/vol1")
	old := fmt.Sprintf("/vs1/vol1\t0\t%d\t%s\n/vs1/other\t1\t12345\n", recs[0].Date.Unix(), recs[0].Snapshot)
	if err := os.WriteFile(p, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	img, _ = l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N")
	if got := strings.Join(namesOnImage(t, img), ","); got != "b" {
		t.Errorf("with an old-format history the incremental dumped %q", got)
	}
	if d, _ := l.eng.IncrementalCounts(); d != 2 {
		t.Errorf("old-format base not diffed against (%d from the diff)", d)
	}
	if recs, _ := l.eng.History().Records("/vs1/other"); len(recs) != 1 || recs[0].Level != 1 || recs[0].Date.Unix() != 12345 {
		t.Errorf("old-format record %+v", recs)
	}
}
