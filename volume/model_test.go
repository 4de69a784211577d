package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAgainstKernelFS applies the same random operations to a volume and to
// a directory of the machine's own file system (the reference POSIX
// implementation), compares every error code, and compares both trees.
func TestAgainstKernelFS(t *testing.T) {
	_, v, w := newVolume(t, 64<<20)
	ref := t.TempDir()
	seed := int64(7)
	if s := os.Getenv("TAPELAB_MODEL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	r := rand.New(rand.NewSource(seed))
	errnoOf := func(err error) syscall.Errno {
		if err == nil {
			return 0
		}
		var e syscall.Errno
		if errors.As(err, &e) {
			return e
		}
		t.Fatalf("error without errno: %v", err)
		return 0
	}
	// resolve walks a path as the kernel would: our symlinks all dangle
	// ("target/..."), so following one in the middle of a path gives ENOENT.
	resolve := func(rel string) (Attr, error) {
		a := must[Attr](t)(w.GetAttr(RootIno))
		for _, c := range strings.Split(rel, "/") {
			if c == "" {
				continue
			}
			if a.Mode&sIFMT == sIFLNK {
				return a, syscall.ENOENT
			}
			var err error
			if a, err = w.Lookup(a.Ino, c); err != nil {
				return a, err
			}
		}
		return a, nil
	}
	parentOf := func(rel string) (uint64, string, error) {
		dir, name := filepath.Split(rel)
		a, err := resolve(dir)
		if err == nil && a.Mode&sIFMT == sIFLNK {
			return 0, name, syscall.ENOENT
		}
		if err == nil && !a.IsDir() {
			return 0, name, syscall.ENOTDIR
		}
		return a.Ino, name, err
	}
	for i := 0; i < 1500; i++ {
		paths := []string{}
		filepath.WalkDir(ref, func(p string, d fs.DirEntry, err error) error {
			if err == nil && p != ref {
				paths = append(paths, strings.TrimPrefix(p, ref+"/"))
			}
			return nil
		})
		pick := func() string {
			if len(paths) == 0 || r.Intn(4) == 0 {
				return fmt.Sprintf("n%d", r.Intn(6))
			}
			p := paths[r.Intn(len(paths))]
			if r.Intn(3) == 0 {
				return p + fmt.Sprintf("/n%d", r.Intn(6))
			}
			return p
		}
		p, q := pick(), pick()
		var errRef, errVol error
		op := r.Intn(11)
		pd, pn, perr := parentOf(p)
		switch op {
		case 0:
			errRef = unix.Mknod(filepath.Join(ref, p), unix.S_IFREG|0o644, 0)
			if perr == nil {
				_, errVol = w.Create(pd, pn, 0o644, Owner{})
			}
		case 1:
			errRef = unix.Mkdir(filepath.Join(ref, p), 0o755)
			if perr == nil {
				_, errVol = w.Mkdir(pd, pn, 0o755, Owner{})
			}
		case 2:
			errRef = unix.Unlink(filepath.Join(ref, p))
			if perr == nil {
				errVol = w.Unlink(pd, pn)
			}
		case 3:
			errRef = unix.Rmdir(filepath.Join(ref, p))
			if perr == nil {
				errVol = w.Rmdir(pd, pn)
			}
		case 4, 5:
			errRef = unix.Rename(filepath.Join(ref, p), filepath.Join(ref, q))
			qd, qn, qerr := parentOf(q)
			if perr == nil && qerr == nil {
				errVol = w.Rename(pd, pn, qd, qn, 0)
			} else if perr == nil {
				errVol = qerr
			}
		case 6:
			errRef = unix.Link(filepath.Join(ref, p), filepath.Join(ref, q))
			a, err := resolve(p)
			qd, qn, qerr := parentOf(q)
			switch {
			case err != nil:
				errVol = err
			case qerr != nil:
				errVol = qerr
			default:
				_, errVol = w.Link(a.Ino, qd, qn)
			}
		case 7:
			errRef = unix.Symlink("target/"+q, filepath.Join(ref, p))
			if perr == nil {
				_, errVol = w.Symlink(pd, pn, "target/"+q, Owner{})
			}
		case 8:
			size := int64(r.Intn(3 * BlockSize))
			errRef = unix.Truncate(filepath.Join(ref, p), size)
			a, err := resolve(p)
			if err != nil {
				errVol = err
			} else if a.Mode&sIFMT == sIFLNK {
				errVol = syscall.ENOENT // truncate(2) follows the dangling link
			} else {
				_, errVol = w.SetAttr(a.Ino, SetAttrIn{Valid: SetSize, Size: uint64(size)})
			}
		default:
			st, err := os.Lstat(filepath.Join(ref, p))
			if err != nil || !st.Mode().IsRegular() {
				continue
			}
			data := make([]byte, r.Intn(2*BlockSize))
			r.Read(data)
			off := int64(r.Intn(4 * BlockSize))
			f, err := os.OpenFile(filepath.Join(ref, p), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, errRef = f.WriteAt(data, off)
			f.Close()
			a := must[Attr](t)(resolve(p))
			_, errVol = w.Write(a.Ino, off, data)
		}
		if perr != nil && errVol == nil && op != 8 && op != 6 {
			errVol = perr
		}
		if er, ev := errnoOf(errRef), errnoOf(errVol); er != ev {
			t.Fatalf("op %d %d (%q, %q): kernel %v, volume %v (%v)", i, op, p, q, er, ev, errVol)
		}
		if i%100 == 99 {
			compareTrees(t, ref, w)
		}
	}
	compareTrees(t, ref, w)
	checkClean(t, v)
}

func compareTrees(t *testing.T, ref string, w *View) {
	t.Helper()
	var walk func(dir string, ino uint64)
	walk = func(dir string, ino uint64) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, e := range ents {
			want = append(want, e.Name())
		}
		sort.Strings(want)
		got := names(t, w, ino)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: entries %v, kernel %v", dir, got, want)
		}
		for _, n := range want {
			p := filepath.Join(dir, n)
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				t.Fatal(err)
			}
			a := must[Attr](t)(w.Lookup(ino, n))
			if a.Mode&sIFMT != st.Mode&sIFMT || a.Nlink != uint32(st.Nlink) || (a.Mode&sIFMT != sIFDIR && int64(a.Size) != st.Size) {
				t.Fatalf("%s: volume mode %o nlink %d size %d, kernel mode %o nlink %d size %d", p, a.Mode, a.Nlink, a.Size, st.Mode, st.Nlink, st.Size)
			}
			switch a.Mode & sIFMT {
			case sIFDIR:
				walk(p, a.Ino)
			case sIFREG:
				want, _ := os.ReadFile(p)
				equal(t, readAll(t, w, a.Ino), want)
			case sIFLNK:
				tg, _ := os.Readlink(p)
				if got := must[string](t)(w.Readlink(a.Ino)); got != tg {
					t.Fatalf("%s: link %q, kernel %q", p, got, tg)
				}
			}
		}
	}
	walk(ref, RootIno)
}
