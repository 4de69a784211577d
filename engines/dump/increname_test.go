package dump_test

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tapelab/engines/dump"
	"tapelab/internal/manifest"
	"tapelab/volume"
)

// pathFS applies path-based changes to a volume view.
type pathFS struct {
	t testing.TB
	w *volume.View
}

func (p pathFS) split(path string) (uint64, string) {
	p.t.Helper()
	dir, name := filepath.Split(path)
	ino := uint64(volume.RootIno)
	for _, c := range strings.Split(strings.Trim(dir, "/"), "/") {
		if c == "" {
			continue
		}
		a, err := p.w.Lookup(ino, c)
		if err != nil {
			p.t.Fatalf("%s: %v", path, err)
		}
		ino = a.Ino
	}
	return ino, name
}

func (p pathFS) ino(path string) uint64 {
	p.t.Helper()
	d, n := p.split(path)
	a, err := p.w.Lookup(d, n)
	if err != nil {
		p.t.Fatalf("%s: %v", path, err)
	}
	return a.Ino
}

func (p pathFS) mkdir(path string) {
	p.t.Helper()
	d, n := p.split(path)
	if _, err := p.w.Mkdir(d, n, 0o755, volume.Owner{}); err != nil {
		p.t.Fatalf("mkdir %s: %v", path, err)
	}
}

func (p pathFS) file(path, data string) {
	p.t.Helper()
	d, n := p.split(path)
	a, err := p.w.Create(d, n, 0o644, volume.Owner{})
	if err != nil {
		p.t.Fatalf("create %s: %v", path, err)
	}
	if _, err := p.w.Write(a.Ino, 0, []byte(data)); err != nil {
		p.t.Fatal(err)
	}
}

func (p pathFS) write(path, data string) {
	p.t.Helper()
	if _, err := p.w.Write(p.ino(path), 0, []byte(data)); err != nil {
		p.t.Fatalf("write %s: %v", path, err)
	}
}

func (p pathFS) link(old, path string) {
	p.t.Helper()
	d, n := p.split(path)
	if _, err := p.w.Link(p.ino(old), d, n); err != nil {
		p.t.Fatalf("link %s %s: %v", old, path, err)
	}
}

func (p pathFS) mv(old, path string) {
	p.t.Helper()
	od, on := p.split(old)
	nd, nn := p.split(path)
	if err := p.w.Rename(od, on, nd, nn, 0); err != nil {
		p.t.Fatalf("mv %s %s: %v", old, path, err)
	}
}

func (p pathFS) rm(path string) {
	p.t.Helper()
	d, n := p.split(path)
	if err := p.w.Unlink(d, n); err != nil {
		p.t.Fatalf("rm %s: %v", path, err)
	}
}

func (p pathFS) rmdir(path string) {
	p.t.Helper()
	d, n := p.split(path)
	if err := p.w.Rmdir(d, n); err != nil {
		p.t.Fatalf("rmdir %s: %v", path, err)
	}
}

// Incremental restores of renamed directories with hard links moving in
// and out of them (the case a random change set found: a link moved out
// of a directory renamed in the same incremental stayed in the renamed
// directory), with link counts changing, names deleted, a renamed
// directory's old name reused, directories swapped, nested and removed.
// Our restore of level 0 + level 1 (into a volume and into a local
// directory) and Linux restore -r must both give the source tree, with
// the incremental from the snapshot diff and by ctime.
func TestIncrementalRenamesAndLinks(t *testing.T) {
	restore, haveRestore := findRestore(t)
	type change struct {
		name          string
		before, after func(p pathFS)
	}
	// base: a directory with a hard-linked file (its other name at the
	// top), a plain file and a subdirectory
	base := func(p pathFS) {
		p.mkdir("d")
		p.file("d/f", "linked file")
		p.link("d/f", "g")
		p.file("d/plain", "plain")
		p.mkdir("d/sub")
		p.file("d/sub/x", "x")
	}
	cases := []change{
		{"link moved out of the renamed dir", base, func(p pathFS) {
			p.mv("d", "e")
			p.mv("e/f", "h")
		}},
		{"link moved out of the renamed dir and written", base, func(p pathFS) {
			p.mv("d", "e")
			p.mv("e/f", "h")
			p.write("h", "linked file, changed")
		}},
		{"link moved out before the dir is renamed", base, func(p pathFS) {
			p.mv("d/f", "h")
			p.mv("d", "e")
		}},
		{"link moved out of a renamed subdirectory", func(p pathFS) {
			base(p)
			p.file("d/sub/y", "y")
			p.link("d/sub/y", "d/y2")
		}, func(p pathFS) {
			p.mv("d/sub", "d/sub2")
			p.mv("d/sub2/y", "y")
		}},
		{"link moved into the renamed dir", base, func(p pathFS) {
			p.mv("d", "e")
			p.mv("g", "e/sub/g")
		}},
		{"only name moved into the renamed dir", func(p pathFS) {
			base(p)
			p.file("top", "top file")
		}, func(p pathFS) {
			p.mv("d", "e")
			p.mv("top", "e/top")
		}},
		{"links added and removed", base, func(p pathFS) {
			p.mv("d", "e")
			p.link("e/f", "e/f3")
			p.link("e/f", "e/sub/f4")
			p.rm("g")
		}},
		{"one name deleted", base, func(p pathFS) {
			p.mv("d", "e")
			p.rm("e/f")
		}},
		{"both names replaced", base, func(p pathFS) {
			p.mv("d", "e")
			p.link("e/f", "e/sub/n1")
			p.link("e/f", "n2")
			p.rm("e/f")
			p.rm("g")
		}},
		{"old name reused by a dir", base, func(p pathFS) {
			p.mv("d", "e")
			p.mkdir("d")
			p.mv("e/f", "d/f") // same path, another directory
			p.file("d/plain", "another plain")
		}},
		{"old name reused by a file", base, func(p pathFS) {
			p.mv("d", "e")
			p.mv("e/f", "d")
		}},
		{"dirs swapped", func(p pathFS) {
			base(p)
			p.mkdir("b")
			p.file("b/f", "b's f")
			p.link("d/f", "b/df")
			p.link("b/f", "d/bf")
		}, func(p pathFS) {
			p.mv("d", "tmp")
			p.mv("b", "d")
			p.mv("tmp", "b")
			p.mv("b/bf", "d/bf2")
		}},
		{"dir moved into its renamed child", base, func(p pathFS) {
			p.mv("d/sub", "s")
			p.mv("d", "s/d")
			p.mv("s/d/f", "s/f")
		}},
		{"renamed dir removed, survivors moved out", func(p pathFS) {
			base(p)
			p.link("d/sub/x", "k")
			p.file("d/sub/only", "only")
		}, func(p pathFS) {
			p.mv("d", "e")
			p.mv("e/sub/only", "only")
			p.mv("e/f", "f")
			p.rm("e/sub/x")
			p.rm("e/plain")
			p.rmdir("e/sub")
			p.rmdir("e")
		}},
		{"dir replaced by a file, file by a dir", func(p pathFS) {
			base(p)
			p.file("x", "x file")
		}, func(p pathFS) {
			p.mv("d", "e")
			p.file("d", "now a file")
			p.rm("x")
			p.mkdir("x")
			p.mv("e/f", "x/f")
		}},
		{"linked file written in unchanged dirs", func(p pathFS) {
			base(p)
			p.mkdir("u")
			p.mkdir("v")
			p.file("u/f", "u file")
			p.link("u/f", "v/f")
		}, func(p pathFS) {
			p.write("u/f", "u file, changed")
		}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			forBothPaths(t, func(t *testing.T, l *lab) {
				_, w := l.volume(t, "vol1", 16<<20)
				p := pathFS{t, w}
				c.before(p)
				l.clk.advance(10 * time.Second)
				img0, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "0")
				l.clk.advance(10 * time.Second)
				c.after(p)
				l.clk.advance(10 * time.Second)
				img1, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1")
				want := shmDir(t)
				copyFromVolume(t, w, "", want)
				wantM := manifestOf(t, want, true)

				// our restore into a volume (the engine's state)
				_, w2 := l.volume(t, "rest", 16<<20)
				for i, img := range [][]byte{img0, img1} {
					if _, err := l.recover(t, img, nil, "FILESYSTEM", "/vs1/rest"); err != nil {
						t.Fatalf("image %d: %v", i, err)
					}
				}
				got := shmDir(t)
				copyFromVolume(t, w2, "", got)
				if d := manifest.Diff(manifestOf(t, got, true), wantM); d != "" {
					t.Errorf("our restore into a volume differs from the source:\n%s", d)
				}
				// and into a local directory
				local := shmDir(t)
				state := &dump.RestoreState{}
				restoreImage(t, img0, local, dump.RestoreSpec{State: state})
				restoreImage(t, img1, local, dump.RestoreSpec{State: state})
				if _, err := os.Lstat(filepath.Join(local, ".dumprestore.tmp")); err == nil {
					t.Errorf("the holding directory is left behind")
				}
				if d := manifest.Diff(manifestOf(t, local, true), wantM); d != "" {
					t.Errorf("our restore into a directory differs from the source:\n%s", d)
				}
				if !haveRestore {
					return
				}
				work := shmDir(t)
				rr := filepath.Join(work, "rr")
				os.Mkdir(rr, 0o755)
				for i, img := range [][]byte{img0, img1} {
					f := filepath.Join(work, fmt.Sprintf("l%d.dump", i))
					os.WriteFile(f, img, 0o644)
					if out, err := run(t, rr, restore, "-r", "-f", f); err != nil {
						t.Fatalf("restore -r level %d: %v\n%s", i, err, out)
					}
				}
				if d := manifest.Diff(manifestOf(t, rr, true), wantM); d != "" {
					t.Errorf("Linux restore -r differs from the source:\n%s", d)
				}
			})
		})
	}
}

// Random change sets over a chain of levels 0-3, each restored on top of
// the last by us (into a volume) and by Linux restore -r, and compared
// with the source after every level: the restore state carried from one
// incremental to the next must hold too. With a small inode limit the
// volume reuses inode numbers (of files and directories alike) between
// the levels.
func TestRandomIncrementalChain(t *testing.T) {
	restore, haveRestore := findRestore(t)
	for _, run1 := range []struct {
		seed  int64
		limit uint64
	}{{1, 0}, {2, 0}, {30, 24}, {1056, 18}} { // 30 and 1056 reuse a directory's number for a file
		seed := run1.seed
		t.Run(fmt.Sprintf("seed%d-inodes%d", seed, run1.limit), func(t *testing.T) {
			forBothPaths(t, func(t *testing.T, l *lab) {
				rng := rand.New(rand.NewSource(seed))
				v, err := l.store.CreateVolume(volume.Spec{SVM: "vs1", Name: "vol1", Size: 64 << 20, InodeLimit: run1.limit})
				if err != nil {
					t.Fatal(err)
				}
				w, err := v.Active()
				if err != nil {
					t.Fatal(err)
				}
				_, w2 := l.volume(t, "rest", 64<<20)
				work := shmDir(t)
				rr := filepath.Join(work, "rr")
				os.Mkdir(rr, 0o755)
				reused := 0
				for level := 0; level <= 3; level++ {
					randomChanges(t, w, rng, map[bool]int{true: 60, false: 25}[level == 0])
					l.clk.advance(10 * time.Second)
					img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", fmt.Sprint(level))
					l.clk.advance(10 * time.Second)
					reused += reusedInodes(t, w)
					want := shmDir(t)
					copyFromVolume(t, w, "", want)
					wantM := manifestOf(t, want, true)
					if _, err := l.recover(t, img, nil, "FILESYSTEM", "/vs1/rest"); err != nil {
						t.Fatalf("level %d: %v", level, err)
					}
					got := shmDir(t)
					copyFromVolume(t, w2, "", got)
					if d := manifest.Diff(manifestOf(t, got, true), wantM); d != "" {
						t.Errorf("our restore of levels 0-%d differs from the source:\n%s", level, d)
					}
					if !haveRestore {
						continue
					}
					f := filepath.Join(work, fmt.Sprintf("l%d.dump", level))
					os.WriteFile(f, img, 0o644)
					if out, err := run(t, rr, restore, "-r", "-f", f); err != nil {
						t.Fatalf("restore -r level %d: %v\n%s", level, err, out)
					}
					if d := manifest.Diff(manifestOf(t, rr, true), wantM); d != "" {
						t.Errorf("Linux restore -r of levels 0-%d differs from the source:\n%s", level, d)
					}
				}
				if run1.limit != 0 && reused == 0 {
					t.Errorf("no inode number was reused")
				}
			})
		})
	}
}

// reusedInodes counts the inodes of the tree whose number was used before.
func reusedInodes(t testing.TB, w *volume.View) int {
	t.Helper()
	n := 0
	var walk func(dir uint64)
	walk = func(dir uint64) {
		w.ReadDir(dir, "", func(e volume.DirEntry) bool {
			a, err := w.Lookup(dir, e.Name)
			if err != nil {
				t.Fatal(err)
			}
			if a.Gen > 1 {
				n++
			}
			if e.Mode == syscall.S_IFDIR {
				walk(e.Ino)
			}
			return true
		})
	}
	walk(volume.RootIno)
	return n
}
