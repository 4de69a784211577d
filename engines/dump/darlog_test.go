package dump_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"tapelab/engines"
	"tapelab/engines/dump/internal/gentree"
)

// fileLog counts LOG_FILE reports per path.
type fileLog struct {
	mu    sync.Mutex
	files map[string]int
}

func (f *fileLog) Message(engines.LogLevel, string) {}
func (f *fileLog) File(path string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[path]++
}

// A direct access recovery reports each named file once, under its
// original path, also when restored under another name (ndmjob printed
// every DAR file twice: "OK: /f" from the file restore and from the DAR loop).
func TestDARReportsEachFileOnce(t *testing.T) {
	l := newLab(t)
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 9}); err != nil {
		t.Fatal(err)
	}
	_, w := l.volume(t, "vol1", 64<<20)
	copyToVolume(t, src, w)
	rec := newRecorder()
	img, _ := l.backup(t, rec, "FILESYSTEM", "/vs1/vol1", "HIST", "Y")
	toc := newRecorder()
	if _, err := l.eng.Recover(context.Background(), &engines.RecoverRequest{Env: envOf("LIST", "Y"),
		Stream: &seekStream{img: img}, History: toc}); err != nil {
		t.Fatal(err)
	}
	st, ok := toc.toc["/dir/nested/deep.txt"]
	if !ok {
		t.Fatal("no table of contents entry")
	}
	_, w2 := l.volume(t, "vol2", 16<<20)
	log := &fileLog{files: map[string]int{}}
	s := &seekStream{img: img}
	if _, err := l.eng.Recover(context.Background(), &engines.RecoverRequest{Env: envOf("FILESYSTEM", "/vs1/vol2", "DIRECT", "Y"),
		Names:  []engines.NameEntry{{OriginalPath: "/dir/nested/deep.txt", DestinationPath: "/vs1/vol2/renamed.txt", FhInfo: st.FhInfo}},
		Stream: s, Seek: s.seek, Log: log}); err != nil {
		t.Fatal(err)
	}
	if readVol(t, w2, "renamed.txt") != "deep file\n" {
		t.Fatal("DAR contents")
	}
	if len(log.files) != 1 || log.files["/dir/nested/deep.txt"] != 1 {
		t.Fatalf("LOG_FILE reports: %v", log.files)
	}
}

// ndmpStream is a seekStream that, like the NDMP DATA service, cannot seek
// again after an open-ended range (length 0): the mover streams to the end.
type ndmpStream struct {
	seekStream
	openEnded bool
	seeks     int
}

func (s *ndmpStream) seek(off, length uint64) error {
	if s.openEnded {
		return errors.New("cannot seek once the image is read sequentially")
	}
	s.openEnded = length == 0
	if off+length > uint64(len(s.img)) {
		// The mover would stop at the filemark (MOVER_PAUSED EOF).
		return fmt.Errorf("range %d+%d past the end of the %d-byte image", off, length, len(s.img))
	}
	s.seeks++
	return s.seekStream.seek(off, length)
}

// A DAR of several files, one of them much bigger than a window, through
// a stream that refuses to seek after an open-ended range: every file is
// read with bounded ranges and restored whole.
func TestDARSeveralFilesWithBoundedRanges(t *testing.T) {
	l := newLab(t)
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 11}); err != nil {
		t.Fatal(err)
	}
	_, w := l.volume(t, "vol1", 64<<20)
	copyToVolume(t, src, w)
	img, _ := l.backup(t, newRecorder(), "FILESYSTEM", "/vs1/vol1", "HIST", "Y")
	toc := newRecorder()
	if _, err := l.eng.Recover(context.Background(), &engines.RecoverRequest{Env: envOf("LIST", "Y"),
		Stream: &seekStream{img: img}, History: toc}); err != nil {
		t.Fatal(err)
	}
	_, w2 := l.volume(t, "vol2", 64<<20)
	var names []engines.NameEntry
	// every regular file: small, big, sparse, with xattrs, hard links,
	// and whichever is last in the image
	var files []string
	for p, st := range toc.toc {
		if st.Type == engines.FileReg && st.FhInfo != ^uint64(0) {
			files = append(files, p)
		}
	}
	sort.Strings(files)
	if len(files) < 10 {
		t.Fatalf("only %d regular files in the table of contents", len(files))
	}
	for _, f := range files {
		names = append(names, engines.NameEntry{OriginalPath: f, DestinationPath: "/vs1/vol2" + f, FhInfo: toc.toc[f].FhInfo})
	}
	s := &ndmpStream{seekStream: seekStream{img: img}}
	log := &fileLog{files: map[string]int{}}
	if _, err := l.eng.Recover(context.Background(), &engines.RecoverRequest{Env: envOf("FILESYSTEM", "/vs1/vol2", "DIRECT", "Y"),
		Names: names, Stream: s, Seek: s.seek, Log: log}); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if got := readVol(t, w2, f[1:]); got != string(want) {
			t.Errorf("%s: %d bytes restored, want %d", f, len(got), len(want))
		}
		if log.files[f] != 1 {
			t.Errorf("LOG_FILE %s: %d reports", f, log.files[f])
		}
	}
	if s.seeks < len(files)+2 {
		t.Errorf("%d seeks: the 700000-byte file should take several windows", s.seeks)
	}
}
