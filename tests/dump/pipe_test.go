package dump

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"tapelab/engines"
	"tapelab/engines/dump"
	"tapelab/internal/testpeer"
	"tapelab/volume"
)

type sink struct {
	mu    sync.Mutex
	nodes int
	dirs  int
	lines []string
}

func (s *sink) AddFile(string, engines.FileStat) error { return nil }
func (s *sink) AddDir(string, uint64, uint64) error {
	s.mu.Lock()
	s.dirs++
	s.mu.Unlock()
	return nil
}
func (s *sink) AddNode(engines.FileStat) error {
	s.mu.Lock()
	s.nodes++
	s.mu.Unlock()
	return nil
}
func (s *sink) Message(_ engines.LogLevel, text string) {
	s.mu.Lock()
	s.lines = append(s.lines, text)
	s.mu.Unlock()
}
func (s *sink) File(string, error) {}

func env(kv ...string) []engines.Env {
	var out []engines.Env
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, engines.Env{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// files lists path -> content of a view (regular files) and symlinks.
func files(t *testing.T, w *volume.View) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(ino uint64, p string)
	walk = func(ino uint64, p string) {
		w.ReadDir(ino, "", func(e volume.DirEntry) bool {
			cp := strings.TrimPrefix(p+"/"+e.Name, "/")
			a, _ := w.GetAttr(e.Ino)
			switch {
			case a.IsDir():
				out[cp+"/"] = "dir"
				walk(e.Ino, cp)
			case a.IsRegular():
				buf := make([]byte, a.Size)
				n, _ := w.Read(e.Ino, 0, buf)
				out[cp] = string(buf[:n])
			default:
				t, _ := w.Readlink(e.Ino)
				out[cp] = "-> " + t
			}
			return true
		})
	}
	walk(volume.RootIno, "")
	return out
}

// A backup piped straight into a recover (the NDMP LOCAL case), level 0
// then level 1, reproduces the source volume.
func TestBackupPipedIntoRecover(t *testing.T) {
	var mu sync.Mutex
	clk := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); clk = clk.Add(time.Millisecond); return clk }
	advance := func() { mu.Lock(); clk = clk.Add(2 * time.Second); mu.Unlock() }
	store, err := volume.Open(t.TempDir(), volume.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	eng := dump.New(store, dump.WithDataDir(t.TempDir()), dump.WithClock(now))
	v1, _ := store.CreateVolume(volume.Spec{SVM: "svm1", Name: "src", Size: 64 << 20})
	store.CreateVolume(volume.Spec{SVM: "svm1", Name: "dst", Size: 64 << 20})
	w, _ := v1.Active()
	d, _ := w.Mkdir(volume.RootIno, "docs", 0o755, volume.Owner{UID: 1000, GID: 1000})
	for i, name := range []string{"a.txt", "b.txt", "c.bin"} {
		f, _ := w.Create(d.Ino, name, 0o644, volume.Owner{})
		w.Write(f.Ino, int64(i)<<20, bytes.Repeat([]byte(name), 1000))
	}
	w.Symlink(volume.RootIno, "link", "docs/a.txt", volume.Owner{})
	pipe := func(level string) {
		r, pw := io.Pipe()
		hist := &sink{}
		var berr error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, berr = eng.Backup(context.Background(), &engines.BackupRequest{
				Env: env("FILESYSTEM", "/svm1/src", "LEVEL", level, "HIST", "Y"), Stream: pw, History: hist, Log: hist})
			pw.CloseWithError(berr)
		}()
		res, err := eng.Recover(context.Background(), &engines.RecoverRequest{
			Env: env("FILESYSTEM", "/svm1/dst"), Stream: r, Log: &sink{}})
		io.Copy(io.Discard, r)
		wg.Wait()
		if berr != nil || err != nil {
			t.Fatalf("level %s: backup %v, recover %v", level, berr, err)
		}
		if res.Files == 0 || hist.nodes == 0 || hist.dirs == 0 {
			t.Errorf("level %s: %d files recovered, history %d nodes %d dir entries", level, res.Files, hist.nodes, hist.dirs)
		}
	}
	pipe("0")
	advance() // dump dates have 1 s resolution
	w.Unlink(d.Ino, "b.txt")
	w.Rename(d.Ino, "a.txt", volume.RootIno, "a-moved.txt", 0)
	f, _ := w.Create(d.Ino, "new.txt", 0o600, volume.Owner{})
	w.Write(f.Ino, 0, []byte("level one"))
	advance()
	pipe("1")
	v2, _ := store.Volume("svm1", "dst")
	w2, _ := v2.Active()
	got, want := files(t, w2), files(t, w)
	var gk, wk []string
	for k := range got {
		gk = append(gk, k+"="+got[k][:min(len(got[k]), 20)])
	}
	for k := range want {
		wk = append(wk, k+"="+want[k][:min(len(want[k]), 20)])
	}
	sort.Strings(gk)
	sort.Strings(wk)
	if strings.Join(gk, "\n") != strings.Join(wk, "\n") {
		t.Errorf("restored volume:\n%s\nwant:\n%s", strings.Join(gk, "\n"), strings.Join(wk, "\n"))
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("%s differs", k)
		}
	}
}

// A Linux dump fixture restored through the Engine contract, and our
// backup of the result read by Linux restore -t.
func TestFixtureThroughEngineAndBack(t *testing.T) {
	restore := testpeer.Program(t, "restore", "/usr/sbin/restore", "/sbin/restore")
	img, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "dump", "level0.dump"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := volume.Open(t.TempDir(), volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	eng := dump.New(store, dump.WithDataDir(t.TempDir()))
	store.CreateVolume(volume.Spec{SVM: "svm1", Name: "v", Size: 32 << 20})
	if _, err := eng.Recover(context.Background(), &engines.RecoverRequest{Env: env("FILESYSTEM", "/svm1/v"), Stream: bytes.NewReader(img)}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := eng.Backup(context.Background(), &engines.BackupRequest{Env: env("FILESYSTEM", "/svm1/v"), Stream: &out}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "img")
	os.WriteFile(p, out.Bytes(), 0o644)
	listing, err := exec.Command(restore, "-t", "-f", p).CombinedOutput()
	if err != nil {
		t.Fatalf("restore -t: %v\n%s", err, listing)
	}
	toc, _ := os.ReadFile(filepath.Join("..", "..", "fixtures", "dump", "level0.toc"))
	names := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if f := strings.SplitN(strings.TrimSpace(l), "\t", 2); len(f) == 2 {
				out = append(out, f[1])
			}
		}
		sort.Strings(out)
		return out
	}
	if g, w := names(string(listing)), names(string(toc)); strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("restore -t of our re-dump:\n%s\nwant (fixture toc):\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}
