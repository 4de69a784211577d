package dump_test

import (
	"context"
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
