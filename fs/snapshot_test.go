package fs_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"tapelab/fs"
	"tapelab/volume"
)

func TestSnapshotDir(t *testing.T) {
	_, vol := newVolume(t, 64<<20)
	mp := mountVolume(t, vol, &fs.Options{EntryTimeout: 10 * time.Millisecond, AttrTimeout: 10 * time.Millisecond})
	m := mp.Dir()
	os.WriteFile(filepath.Join(m, "f"), []byte("version 1"), 0o644)
	os.Mkdir(filepath.Join(m, "d"), 0o755)
	os.WriteFile(filepath.Join(m, "d", "g"), []byte("inside"), 0o644)
	os.Link(filepath.Join(m, "f"), filepath.Join(m, "d", "f-link"))
	// Read it once so the kernel has live pages cached.
	readFile(t, filepath.Join(m, "f"))
	sh(t, "sync")

	if _, err := vol.CreateSnapshot("s1"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(m, "f"), []byte("version 2, longer"), 0o644)
	os.Remove(filepath.Join(m, "d", "g"))

	s1 := filepath.Join(m, ".snapshot", "s1")
	if got := readFile(t, filepath.Join(s1, "f")); got != "version 1" {
		t.Errorf("snapshot f = %q", got)
	}
	if got := readFile(t, filepath.Join(s1, "d", "g")); got != "inside" {
		t.Errorf("snapshot d/g = %q", got)
	}
	if got := readFile(t, filepath.Join(m, "f")); got != "version 2, longer" {
		t.Errorf("live f = %q", got)
	}
	live, snap := stat(t, filepath.Join(m, "f")), stat(t, filepath.Join(s1, "f"))
	if live.Ino == snap.Ino || live.Ino != snap.Ino&(1<<56-1) {
		t.Errorf("live ino %#x, snapshot ino %#x: want distinct, same low bits", live.Ino, snap.Ino)
	}
	if l := stat(t, filepath.Join(s1, "d", "f-link")); l.Ino != snap.Ino || l.Nlink != 2 {
		t.Errorf("hard link in snapshot: ino %#x nlink %d (f %#x)", l.Ino, l.Nlink, snap.Ino)
	}

	// Read-only.
	for name, op := range map[string]func() error{
		"write":  func() error { return os.WriteFile(filepath.Join(s1, "f"), []byte("x"), 0o644) },
		"create": func() error { return os.WriteFile(filepath.Join(s1, "new"), []byte("x"), 0o644) },
		"mkdir":  func() error { return os.Mkdir(filepath.Join(s1, "nd"), 0o755) },
		"remove": func() error { return os.Remove(filepath.Join(s1, "f")) },
		"chmod":  func() error { return os.Chmod(filepath.Join(s1, "f"), 0o600) },
		"rename": func() error { return os.Rename(filepath.Join(s1, "f"), filepath.Join(s1, "f2")) },
		"xattr":  func() error { return syscall.Setxattr(filepath.Join(s1, "f"), "user.x", []byte("1"), 0) },
		"rmdir snapshot": func() error {
			return os.Remove(s1)
		},
		"mkdir in .snapshot": func() error { return os.Mkdir(filepath.Join(m, ".snapshot", "new"), 0o755) },
	} {
		if err := op(); !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s in snapshot: %v, want EROFS", name, err)
		}
	}
	if err := os.Mkdir(filepath.Join(m, ".snapshot"), 0o755); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("mkdir .snapshot: %v", err)
	}

	// Hidden from the root listing, reachable by name.
	ents, _ := os.ReadDir(m)
	for _, e := range ents {
		if e.Name() == ".snapshot" {
			t.Errorf(".snapshot listed in the root")
		}
	}

	// Created after mount: appears; deleted: disappears.
	if _, err := vol.CreateSnapshot("s2"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(m, ".snapshot", "s2", "f")); got != "version 2, longer" {
		t.Errorf("s2 f = %q", got)
	}
	names := func() []string {
		ents, err := os.ReadDir(filepath.Join(m, ".snapshot"))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	if got := names(); len(got) != 2 || got[0] != "s1" || got[1] != "s2" {
		t.Errorf(".snapshot lists %v", got)
	}
	if _, err := vol.DeleteSnapshot("s1"); err != nil {
		t.Fatal(err)
	}
	if got := names(); len(got) != 1 || got[0] != "s2" {
		t.Errorf(".snapshot lists %v after deleting s1", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := os.Stat(s1)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deleted snapshot still reachable: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkVolume(t, vol)
}

func TestMountStates(t *testing.T) {
	_, vol := newVolume(t, 16<<20)
	mp := mountVolume(t, vol, nil)
	os.WriteFile(filepath.Join(mp.Dir(), "f"), []byte("x"), 0o644)
	if err := mp.Unmount(); err != nil {
		t.Fatal(err)
	}

	// A live mount at the same place is refused.
	mp2 := mountVolume(t, vol, nil)
	if _, err := fs.Mount(vol, mp2.Dir(), nil); !errors.Is(err, fs.ErrMounted) {
		t.Errorf("second mount on a live mount point: %v", err)
	}
	mp2.Unmount()

	dp := volume.TypeDP
	if err := vol.Modify(volume.Modify{Type: &dp}); err != nil {
		t.Fatal(err)
	}
	ro := mountVolume(t, vol, nil)
	if got := readFile(t, filepath.Join(ro.Dir(), "f")); got != "x" {
		t.Errorf("DP read %q", got)
	}
	if err := os.WriteFile(filepath.Join(ro.Dir(), "g"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("write to DP volume: %v", err)
	}
	ro.Unmount()

	for _, st := range []volume.State{volume.StateRestricted, volume.StateOffline} {
		if err := vol.SetState(st); err != nil {
			t.Fatal(err)
		}
		if _, err := fs.Mount(vol, filepath.Join(t.TempDir(), "m"), nil); !errors.Is(err, fs.ErrNotOnline) {
			t.Errorf("mount of %s volume: %v", st, err)
		}
	}
}
