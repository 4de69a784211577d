package dump_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"tapelab/engines/dump"
	"tapelab/engines/dump/format"
	"tapelab/engines/dump/internal/gentree"
	"tapelab/volume"
)

// unbatched hides VolumeTarget's batching, so ReadImage makes one volume
// call per change (the behaviour before batching).
type unbatched struct{ dump.Target }

func readInto(t *testing.T, img []byte, tgt dump.Target) (*dump.RestoreStats, error) {
	t.Helper()
	rd, err := format.NewReader(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	return dump.ReadImage(context.Background(), rd, tgt, dump.RestoreSpec{State: &dump.RestoreState{}})
}

// A batched restore into a volume gives the same tree (names, data,
// holes, attributes, xattrs, links, special files), the same counts and
// the same accounting as one volume call per change.
func TestRestoreBatchedMatchesUnbatched(t *testing.T) {
	for _, lim := range []struct{ data, ops int }{{16 << 20, 8192}, {256 << 10, 64}, {1, 1}} {
		t.Run(fmt.Sprintf("queue-%d-%d", lim.data, lim.ops), func(t *testing.T) {
			defer dump.SetBatchQueueLimits(lim.data, lim.ops)()
			restoreBatchedMatchesUnbatched(t)
		})
	}
}

func restoreBatchedMatchesUnbatched(t *testing.T) {
	l := newLab(t)
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 5, Bulk: 6 << 20}); err != nil {
		t.Fatal(err)
	}
	vs, ws := l.volume(t, "src", 64<<20)
	copyToVolume(t, src, ws)
	img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/src")

	v1, w1 := l.volume(t, "batched", 64<<20)
	v2, w2 := l.volume(t, "single", 64<<20)
	st1, err := readInto(t, img, dump.NewVolumeTarget(w1, volume.RootIno))
	if err != nil {
		t.Fatal(err)
	}
	st2, err := readInto(t, img, unbatched{dump.NewVolumeTarget(w2, volume.RootIno)})
	if err != nil {
		t.Fatal(err)
	}
	if st1.Files != st2.Files {
		t.Errorf("batched restore counted %d files, unbatched %d", st1.Files, st2.Files)
	}
	d0, d1, d2 := shmDir(t), shmDir(t), shmDir(t)
	copyFromVolume(t, ws, "", d0)
	copyFromVolume(t, w1, "", d1)
	copyFromVolume(t, w2, "", d2)
	m0, m1, m2 := manifestOf(t, d0, true), manifestOf(t, d1, true), manifestOf(t, d2, true)
	if strings.Join(m1, "\n") != strings.Join(m2, "\n") {
		t.Errorf("batched and unbatched restores differ:\n%s\n---\n%s", diffLines(m1, m2), "")
	}
	if strings.Join(m1, "\n") != strings.Join(m0, "\n") {
		t.Errorf("batched restore differs from the source:\n%s", diffLines(m1, m0))
	}
	i0, i1, i2 := vs.Info(), v1.Info(), v2.Info()
	if i1.Used != i2.Used || i1.Inodes != i2.Inodes || i1.Used != i0.Used {
		t.Errorf("accounting: batched used %d inodes %d, unbatched %d %d, source %d", i1.Used, i1.Inodes, i2.Used, i2.Inodes, i0.Used)
	}
	for _, v := range []*volume.Volume{v1, v2} {
		if r, err := v.Check(); err != nil || !r.OK() {
			t.Fatalf("check %s: %v %q", v.Name(), err, r.Problems)
		}
	}
}

// A batched restore into a volume too small for the data stops with
// ENOSPC ("restore stopped"), keeps what it restored before, and leaves a
// consistent volume with exact accounting.
func TestRestoreBatchedNoSpace(t *testing.T) {
	for _, lim := range []struct{ data, ops int }{{16 << 20, 8192}, {256 << 10, 64}} {
		t.Run(fmt.Sprintf("queue-%d-%d", lim.data, lim.ops), func(t *testing.T) {
			defer dump.SetBatchQueueLimits(lim.data, lim.ops)()
			restoreBatchedNoSpace(t)
		})
	}
}

func restoreBatchedNoSpace(t *testing.T) {
	l := newLab(t)
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 6, Bulk: 8 << 20}); err != nil {
		t.Fatal(err)
	}
	_, ws := l.volume(t, "src", 64<<20)
	copyToVolume(t, src, ws)
	img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/src")
	v, w := l.volume(t, "small", 4<<20)
	_, err := l.recover(t, img, nil, "FILESYSTEM", "/vs1/small", "FORCE", "Y")
	if err == nil || !strings.Contains(err.Error(), "restore stopped") || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("restore into a full volume: %v", err)
	}
	r, err := v.Check()
	if err != nil || !r.OK() {
		t.Fatalf("check: %v %q", err, r.Problems)
	}
	if used := v.Info().Used; used < 3<<20 {
		t.Errorf("only %d bytes restored before running out of space", used)
	}
	// every file restored before the stop matches its source (but the one
	// being written when the space ran out)
	read := func(w *volume.View, ino uint64, size uint64) []byte {
		buf := make([]byte, size)
		n, err := w.Read(ino, 0, buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	same, differ := 0, 0
	var walk func(dir uint64, p string)
	walk = func(dir uint64, p string) {
		w.ReadDir(dir, "", func(e volume.DirEntry) bool {
			q := p + "/" + e.Name
			a, _ := w.GetAttr(e.Ino)
			switch {
			case a.IsDir():
				walk(e.Ino, q)
			case a.IsRegular():
				sa, err := ws.Resolve(q[1:])
				if err != nil {
					t.Fatalf("%s: not in the source: %v", q, err)
				}
				if bytes.Equal(read(w, e.Ino, a.Size), read(ws, sa.Ino, sa.Size)) {
					same++
				} else {
					differ++
				}
			}
			return true
		})
	}
	walk(volume.RootIno, "")
	if same < 10 || differ > 1 {
		t.Errorf("%d files restored intact, %d differ from the source", same, differ)
	}
}

func diffLines(a, b []string) string {
	set := map[string]int{}
	for _, x := range a {
		set[x]++
	}
	for _, x := range b {
		set[x]--
	}
	var out []string
	for x, n := range set {
		switch {
		case n > 0:
			out = append(out, "+ "+x)
		case n < 0:
			out = append(out, "- "+x)
		}
		if len(out) > 20 {
			break
		}
	}
	return strings.Join(out, "\n")
}
