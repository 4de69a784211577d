package snapshot

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"tapelab/volume"
)

func newVol(t testing.TB, size int64) (*volume.Store, *volume.Volume, *volume.View) {
	t.Helper()
	s, err := volume.Open(t.TempDir(), volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	v, err := s.CreateVolume(volume.Spec{SVM: "vs1", Name: "vol1", Size: size})
	if err != nil {
		t.Fatal(err)
	}
	w, err := v.Active()
	if err != nil {
		t.Fatal(err)
	}
	return s, v, w
}

func TestLimitAndMessage(t *testing.T) {
	_, v, _ := newVol(t, 4<<20)
	for i := 0; i < MaxPerVolume; i++ {
		if _, err := Create(v, fmt.Sprintf("s%03d", i)); err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
	}
	_, err := Create(v, "one_too_many")
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("256th: %v", err)
	}
	want := "Failed to create snapshot: snapshot limit reached: The volume already contains the maximum number of snapshots."
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("message %q, want prefix %q", err, want)
	}
	if _, err := Delete(v, "s100"); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(v, "one_more"); err != nil {
		t.Fatalf("after delete: %v", err)
	}
	l, err := List(v)
	if err != nil || len(l) != MaxPerVolume {
		t.Fatalf("list: %d %v", len(l), err)
	}
	if l[0].Name != "s000" || l[len(l)-1].Name != "one_more" {
		t.Fatal("list order")
	}
}

func TestNamesAndErrors(t *testing.T) {
	_, v, _ := newVol(t, 4<<20)
	for _, bad := range []string{"", "-x", ".x", "a/b", "a b", strings.Repeat("a", 256)} {
		if _, err := Create(v, bad); !errors.Is(err, ErrBadName) || !strings.HasPrefix(err.Error(), MsgCreateFailed) {
			t.Errorf("create %q: %v", bad, err)
		}
	}
	if _, err := Create(v, "nightly.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(v, "nightly.0"); !errors.Is(err, ErrExists) || !strings.HasPrefix(err.Error(), MsgCreateFailed) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := Show(v, "nope"); !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), MsgFindFailed) {
		t.Fatalf("show missing: %v", err)
	}
	if _, err := View(v, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("view missing: %v", err)
	}
	if _, err := Delete(v, "nope"); !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), MsgDeleteFailed) {
		t.Fatalf("delete missing: %v", err)
	}
	if _, err := Lock(v, "nope", "x"); !strings.HasPrefix(fmt.Sprint(err), MsgLockFailed) {
		t.Fatalf("lock missing: %v", err)
	}
}

func TestLockHolders(t *testing.T) {
	_, v, _ := newVol(t, 4<<20)
	if _, err := Create(v, "snapshot_for_backup.0"); err != nil {
		t.Fatal(err)
	}
	rel1, err := Lock(v, "snapshot_for_backup.0", "dump backup session 7")
	if err != nil {
		t.Fatal(err)
	}
	rel2, err := Lock(v, "snapshot_for_backup.0", "smtape backup session 9")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Delete(v, "snapshot_for_backup.0")
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("delete locked: %v", err)
	}
	for _, want := range []string{MsgDeleteFailed, "dump backup session 7", "smtape backup session 9"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("message %q lacks %q", err, want)
		}
	}
	in, err := Show(v, "snapshot_for_backup.0")
	if err != nil || len(in.Holders) != 2 {
		t.Fatalf("show: %+v %v", in, err)
	}
	rel1()
	rel1() // idempotent
	_, err = Delete(v, "snapshot_for_backup.0")
	if !strings.Contains(fmt.Sprint(err), "smtape backup session 9") || strings.Contains(err.Error(), "session 7") {
		t.Fatalf("after one release: %v", err)
	}
	rel2()
	if _, err := Delete(v, "snapshot_for_backup.0"); err != nil {
		t.Fatal(err)
	}
}

func TestAutoBackupName(t *testing.T) {
	_, v, _ := newVol(t, 4<<20)
	if n := AutoBackupName(v); n != "snapshot_for_backup.0" {
		t.Fatal(n)
	}
	if _, err := Create(v, "snapshot_for_backup.2"); err != nil {
		t.Fatal(err)
	}
	if n := AutoBackupName(v); n != "snapshot_for_backup.1" {
		t.Fatal(n)
	}
	if n := AutoBackupName(v); n != "snapshot_for_backup.3" {
		t.Fatalf("should skip the used .2: %s", n)
	}
}

func TestDiffAndUnique(t *testing.T) {
	s, v, w := newVol(t, 16<<20)
	keep, _ := w.Create(volume.RootIno, "keep", 0o644, volume.Owner{})
	gone, _ := w.Create(volume.RootIno, "gone", 0o644, volume.Owner{})
	w.Write(keep.Ino, 0, make1(64<<10, 1))
	w.Write(gone.Ino, 0, make1(8<<10, 2))
	if _, err := Create(v, "base"); err != nil {
		t.Fatal(err)
	}
	w.Write(keep.Ino, 8192, make1(4096, 3)) // block 2 changes
	w.Unlink(volume.RootIno, "gone")
	nw, _ := w.Create(volume.RootIno, "new", 0o644, volume.Owner{})
	w.Write(nw.Ino, 0, make1(100, 4))
	d, err := Diff(v, "base", "")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[uint64]Change{}
	for _, c := range d.Changes {
		kinds[c.Ino] = c
	}
	if c := kinds[keep.Ino]; c.Kind != Modified || len(c.Data) != 1 || c.Data[0] != (volume.Extent{Off: 8192, Len: 4096}) {
		t.Fatalf("keep: %+v", c)
	}
	if c, ok := kinds[gone.Ino]; !ok || !(c.Kind == Deleted || c.Reused) {
		t.Fatalf("gone: %+v", c)
	}
	if c := kinds[nw.Ino]; c.Kind != Created || len(c.Data) != 1 {
		t.Fatalf("new: %+v", c)
	}
	if c := kinds[volume.RootIno]; !c.Dirents {
		t.Fatalf("root: %+v", c)
	}
	if _, err := Create(v, "later"); err != nil {
		t.Fatal(err)
	}
	if _, err := Diff(v, "later", "base"); err == nil {
		t.Fatal("diff backwards accepted")
	}
	in, err := Show(v, "base")
	if err != nil || in.Unique != 4096+8192 {
		t.Fatalf("unique of base: %+v %v", in, err)
	}
	freed, err := Delete(v, "base")
	if err != nil || freed != 4096+8192 {
		t.Fatalf("delete: %d %v", freed, err)
	}
	if err := Reclaim(s); err != nil {
		t.Fatal(err)
	}
	if r, err := v.Check(); err != nil || !r.OK() {
		t.Fatalf("check: %+v %v", r, err)
	}
	sv, err := View(v, "later")
	if err != nil || !sv.ReadOnly() || sv.Snapshot() != "later" {
		t.Fatal("view")
	}
}

func make1(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i) ^ seed | 1
	}
	return b
}

// At the limit Create asks the reclaimers to give up a snapshot before it
// fails; a removed reclaimer is not asked.
func TestReclaimerAtTheLimit(t *testing.T) {
	_, v, _ := newVol(t, 4<<20)
	for i := 0; i < MaxPerVolume; i++ {
		if _, err := Create(v, fmt.Sprintf("s%03d", i)); err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
	}
	calls := 0
	decline := AddReclaimer(func(*volume.Volume) bool { calls++; return false })
	defer decline()
	if _, err := Create(v, "declined"); !errors.Is(err, ErrLimit) || calls != 1 {
		t.Fatalf("with a declining reclaimer: %v (%d calls)", err, calls)
	}
	remove := AddReclaimer(func(w *volume.Volume) bool {
		if w != v {
			return false
		}
		_, err := Delete(w, "s000")
		return err == nil
	})
	if _, err := Create(v, "reclaimed"); err != nil {
		t.Fatalf("with a reclaimer: %v", err)
	}
	if _, err := Show(v, "s000"); !errors.Is(err, ErrNotFound) || len(v.Snapshots()) != MaxPerVolume {
		t.Errorf("s000: %v; %d snapshots", err, len(v.Snapshots()))
	}
	remove()
	if _, err := Create(v, "again"); !errors.Is(err, ErrLimit) {
		t.Errorf("after remove: %v", err)
	}
}
