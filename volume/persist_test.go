package volume

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	v := must[*Volume](t)(s.CreateVolume(Spec{SVM: "vs1", Name: "v", Size: 8 << 20, Type: TypeRW}))
	w := must[*View](t)(v.Active())
	f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{UID: 5}))
	must[int](t)(w.Write(f.Ino, 100, pattern(50000, 3)))
	must[struct{}](t)(struct{}{}, w.SetXattr(f.Ino, "user.k", []byte("v"), 0))
	must[SnapshotInfo](t)(v.CreateSnapshot("snap1"))
	must[int](t)(w.Write(f.Ino, 0, []byte("changed")))
	before := dumpView(t, w)
	snapBefore := dumpView(t, must[*View](t)(v.SnapshotView("snap1")))
	info := v.Info()
	must[struct{}](t)(struct{}{}, s.Close())
	if _, err := w.GetAttr(f.Ino); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}

	s2 := newStore(t, dir)
	defer s2.Close()
	v2 := must[*Volume](t)(s2.Volume("vs1", "v"))
	w2 := must[*View](t)(v2.Active())
	if got := dumpView(t, w2); !reflect.DeepEqual(got, before) {
		t.Fatal("active file system differs after reopen")
	}
	if got := dumpView(t, must[*View](t)(v2.SnapshotView("snap1"))); !reflect.DeepEqual(got, snapBefore) {
		t.Fatal("snapshot differs after reopen")
	}
	if i := v2.Info(); i != info {
		t.Fatalf("info differs:\n%+v\n%+v", i, info)
	}
	checkClean(t, v2)
	// GC keeps everything readable.
	must[struct{}](t)(struct{}{}, s2.GC())
	if got := dumpView(t, w2); !reflect.DeepEqual(got, before) {
		t.Fatal("active file system differs after GC")
	}
}

func TestForeignAndCorruptDirectory(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(foreign, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrNotStore) {
		t.Fatalf("foreign dir: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("foreign dir was modified: %d entries", len(ents))
	}
	// a corrupt store: garbage MANIFEST
	dir2 := t.TempDir()
	s := newStore(t, dir2)
	must[*Volume](t)(s.CreateVolume(Spec{SVM: "vs1", Name: "v", Size: 4 << 20}))
	s.Close()
	if err := os.WriteFile(filepath.Join(dir2, "MANIFEST"), []byte("garbage garbage garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := listing(t, dir2)
	_, err := Open(dir2, Options{})
	if err == nil {
		t.Fatal("corrupt store opened")
	}
	t.Logf("corrupt store: %v", err)
	if after := listing(t, dir2); !reflect.DeepEqual(before, after) {
		t.Errorf("corrupt store was modified:\n%v\n%v", before, after)
	}
	// another program's Badger database
	dir3 := t.TempDir()
	db, err := badger.Open(badger.DefaultOptions(dir3).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("their key"), []byte("x")) })
	db.Close()
	if _, err := Open(dir3, Options{}); !errors.Is(err, ErrNotStore) {
		t.Fatalf("foreign badger db: %v", err)
	}
	// a file where the directory should be
	if _, err := Open(foreign, Options{}); err == nil {
		t.Fatal("opened a file as a store")
	}
}

// TestCrash runs a child process (this test binary) that writes, syncs and
// is then SIGKILLed; everything synced must be there and consistent.
func TestCrash(t *testing.T) {
	if dir := os.Getenv("TAPELAB_VOLUME_CRASH_DIR"); dir != "" {
		if os.Getenv("TAPELAB_VOLUME_CRASH_VLOG") != "" {
			valueLogFileSize = 1 << 20
		}
		crashChild(dir)
		return
	}
	// Kill the child at several moments of its unsynced churn (which
	// deletes, truncates and creates/deletes snapshots), with value-log
	// files of 64 MiB (no rotation) and of 1 MiB (a rotation every few
	// writes: the child dies with rotated files not yet synced or
	// truncated, see third_party/badger/TAPELAB.md).
	type crashRun struct {
		delay time.Duration
		vlog  string
	}
	var runs []crashRun
	for _, vlog := range []string{"", "1MiB"} {
		for _, delay := range []time.Duration{0, 3 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond} {
			runs = append(runs, crashRun{delay, vlog})
		}
	}
	for _, run := range runs {
		delay := run.delay
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.count=1")
		cmd.Env = append(os.Environ(), "TAPELAB_VOLUME_CRASH_DIR="+dir, "TAPELAB_VOLUME_CRASH_VLOG="+run.vlog)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		// The child prints "synced N" after each synced round and keeps writing.
		buf := make([]byte, 64)
		got := ""
		for !strings.Contains(got, "synced 3\n") {
			n, err := out.Read(buf)
			if err != nil {
				t.Fatalf("child: %v (output %q)", err, got)
			}
			got += string(buf[:n])
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		cmd.Wait()
		s := newStore(t, dir)
		v := must[*Volume](t)(s.Volume("vs1", "crash"))
		w := must[*View](t)(v.Active())
		for i := 0; i < 3; i++ {
			a := must[Attr](t)(w.Lookup(RootIno, "f"+strconv.Itoa(i)))
			equal(t, readAll(t, w, a.Ino), pattern(300<<10, byte(i)))
		}
		sv := must[*View](t)(v.SnapshotView("s1"))
		a := must[Attr](t)(sv.Lookup(RootIno, "f1"))
		equal(t, readAll(t, sv, a.Ino), pattern(300<<10, 1))
		checkClean(t, v)
		s.Close()
	}
}

func crashChild(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		panic(err)
	}
	v, err := s.CreateVolume(Spec{SVM: "vs1", Name: "crash", Size: 64 << 20})
	if err != nil {
		panic(err)
	}
	w, _ := v.Active()
	for i := 0; ; i++ {
		a, err := w.Create(RootIno, "f"+strconv.Itoa(i), 0o644, Owner{})
		if err != nil {
			panic(err)
		}
		if _, err := w.Write(a.Ino, 0, pattern(300<<10, byte(i))); err != nil {
			panic(err)
		}
		if i == 1 {
			if _, err := v.CreateSnapshot("s1"); err != nil {
				panic(err)
			}
		}
		if i > 3 { // unsynced churn after the synced rounds
			w.Unlink(RootIno, "f"+strconv.Itoa(i-1))
			w.SetAttr(a.Ino, SetAttrIn{Valid: SetSize, Size: 1000})
			switch i % 4 {
			case 0:
				v.CreateSnapshot("c" + strconv.Itoa(i))
			case 2:
				v.DeleteSnapshot("c" + strconv.Itoa(i-2))
			}
		}
		if err := w.Fsync(a.Ino); err != nil {
			panic(err)
		}
		if i < 3 {
			os.Stdout.WriteString("synced " + strconv.Itoa(i+1) + "\n")
		}
		if i > 2 {
			time.Sleep(time.Millisecond)
		}
		if i > 3000 { // the parent is gone: stop
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

// listing maps file names of dir to their sizes and contents' hash.
func listing(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = fmt.Sprintf("%d:%x", len(b), sha256.Sum256(b))
	}
	return out
}

// TestResumeInterruptedDeletes: a snapshot deletion and a file's block
// freeing that a crash interrupted are finished at the next Open.
func TestResumeInterruptedDeletes(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	v := must[*Volume](t)(s.CreateVolume(Spec{SVM: "vs1", Name: "v", Size: 16 << 20}))
	w := must[*View](t)(v.Active())
	f := must[Attr](t)(w.Create(RootIno, "f", 0o644, Owner{}))
	must[int](t)(w.Write(f.Ino, 0, pattern(256<<10, 1)))
	si := must[SnapshotInfo](t)(v.CreateSnapshot("s"))
	must[int](t)(w.Write(f.Ino, 0, pattern(256<<10, 2)))
	g := must[Attr](t)(w.Create(RootIno, "g", 0o644, Owner{}))
	must[int](t)(w.Write(g.Ino, 0, pattern(128<<10, 3)))
	// Simulate the crash points: the snapshot record says "deleting", and
	// g was truncated to 0 with its blocks not yet freed (orphan record).
	err := s.db.Update(func(txn *badger.Txn) error {
		rec, _ := json.Marshal(snapRec{SnapshotInfo: si, Deleting: true})
		if err := txn.Set(kSnap(v.id, si.Epoch), rec); err != nil {
			return err
		}
		gi, _, err := getInodeAt(txn, v.id, g.Ino, math.MaxUint64)
		if err != nil {
			return err
		}
		gi.Size = 0
		if err := txn.Set(withEpoch(pfxInode(v.id, g.Ino), v.ctr.Epoch), gi.encode()); err != nil {
			return err
		}
		return txn.Set(kOrphan(v.id, g.Ino), orphanRec(0, gi.Gen, false))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := newStore(t, dir)
	defer s2.Close()
	v2 := must[*Volume](t)(s2.Volume("vs1", "v"))
	if n := len(v2.Snapshots()); n != 0 {
		t.Fatalf("%d snapshots after resumed delete", n)
	}
	r := checkClean(t, v2)
	if r.StoredBlocks != 64 || r.LiveBlocks != 64 {
		t.Fatalf("after resume: %+v", r)
	}
	w2 := must[*View](t)(v2.Active())
	equal(t, readAll(t, w2, f.Ino), pattern(256<<10, 2))
	if a := must[Attr](t)(w2.GetAttr(g.Ino)); a.Size != 0 || a.Blocks != 0 {
		t.Fatalf("g: %+v", a)
	}
}

// TestValueLogRotation writes through many value-log rotations (1 MiB
// files), reading earlier files while their rotated value-log files are
// finished in the background, then runs GC, syncs, reopens and reads
// everything back.
func TestValueLogRotation(t *testing.T) {
	defer func(n int64) { valueLogFileSize = n }(valueLogFileSize)
	valueLogFileSize = 1 << 20
	dir := t.TempDir()
	s := newStore(t, dir)
	v := must[*Volume](t)(s.CreateVolume(Spec{SVM: "vs1", Name: "rot", Size: 64 << 20}))
	w := must[*View](t)(v.Active())
	const files = 40
	inos := make([]uint64, files)
	for i := range files {
		a := must[Attr](t)(w.Create(RootIno, "f"+strconv.Itoa(i), 0o644, Owner{}))
		inos[i] = a.Ino
		must[int](t)(w.Write(a.Ino, 0, pattern(300<<10, byte(i))))
		if i%7 == 6 {
			must[SnapshotInfo](t)(v.CreateSnapshot("s" + strconv.Itoa(i)))
		}
		for j := 0; j <= i; j += 5 {
			equal(t, readAll(t, w, inos[j]), pattern(300<<10, byte(j)))
		}
	}
	// free most of it and let the value-log GC rewrite rotated files
	for i := range files {
		if i%3 != 0 {
			if err := w.Unlink(RootIno, "f"+strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, sn := range v.Snapshots() {
		if _, err := v.DeleteSnapshot(sn.Name); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.GC(); err != nil {
		t.Fatal(err)
	}
	if err := v.Sync(); err != nil {
		t.Fatal(err)
	}
	vlogs, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if len(vlogs) < 2 {
		t.Fatalf("%d value-log files: the test did not rotate", len(vlogs))
	}
	s.Close()
	s = newStore(t, dir)
	defer s.Close()
	v = must[*Volume](t)(s.Volume("vs1", "rot"))
	w = must[*View](t)(v.Active())
	for i := 0; i < files; i += 3 {
		a := must[Attr](t)(w.Lookup(RootIno, "f"+strconv.Itoa(i)))
		equal(t, readAll(t, w, a.Ino), pattern(300<<10, byte(i)))
	}
	checkClean(t, v)
}
