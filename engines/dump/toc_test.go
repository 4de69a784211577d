package dump_test

import (
	"bytes"
	"context"
	"testing"

	"tapelab/engines"
	"tapelab/engines/dump/internal/gentree"
)

// A table-of-contents request (DATA_START_RECOVER_FILEHIST: History set)
// lists the image without LIST=Y and without a destination, as ndmjob -t
// sends it (env HIST and TYPE only), and writes nothing even when a
// FILESYSTEM is given.
func TestTableOfContentsWithoutListOrDestination(t *testing.T) {
	l := newLab(t)
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 7}); err != nil {
		t.Fatal(err)
	}
	_, w := l.volume(t, "vol1", 64<<20)
	copyToVolume(t, src, w)
	img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1")
	rec := newRecorder()
	if _, err := l.eng.Recover(context.Background(), &engines.RecoverRequest{Env: envOf("HIST", "y", "TYPE", "dump"),
		Stream: bytes.NewReader(img), History: rec}); err != nil {
		t.Fatal(err)
	}
	if st, ok := rec.toc["/dir/nested/deep.txt"]; !ok || st.FhInfo == ^uint64(0) || st.Type != engines.FileReg {
		t.Fatalf("table of contents entry %+v %v (%d entries)", st, ok, len(rec.toc))
	}
	_, w2 := l.volume(t, "vol2", 16<<20)
	if _, err := l.eng.Recover(context.Background(), &engines.RecoverRequest{Env: envOf("FILESYSTEM", "/vs1/vol2"),
		Stream: bytes.NewReader(img), History: newRecorder()}); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Resolve("dir/nested/deep.txt"); err == nil {
		t.Fatal("a table of contents request restored files")
	}
}
