package dump_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tapelab/engines"
	"tapelab/engines/dump"
	"tapelab/engines/dump/format"
	"tapelab/engines/dump/internal/gentree"
	"tapelab/internal/manifest"
	"tapelab/internal/testpeer"
	"tapelab/snapshot"
	"tapelab/volume"
)

func envOf(kv ...string) []engines.Env {
	var out []engines.Env
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, engines.Env{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func (l *lab) backup(t testing.TB, rec *recorder, kv ...string) ([]byte, *engines.BackupResult) {
	t.Helper()
	if l.ctimePath {
		l.dropBaseSnapshots(t)
	}
	var buf bytes.Buffer
	req := &engines.BackupRequest{Env: envOf(kv...), Stream: &buf}
	if rec != nil {
		req.History, req.Log, req.Progress = rec, rec, rec
	}
	res, err := l.eng.Backup(context.Background(), req)
	if err != nil {
		t.Fatalf("backup %v: %v", kv, err)
	}
	if res.Bytes != int64(buf.Len()) {
		t.Fatalf("result says %d bytes, stream has %d", res.Bytes, buf.Len())
	}
	return buf.Bytes(), res
}

func (l *lab) recover(t testing.TB, img []byte, names []engines.NameEntry, kv ...string) (*engines.RecoverResult, error) {
	t.Helper()
	rec := newRecorder()
	return l.eng.Recover(context.Background(), &engines.RecoverRequest{Env: envOf(kv...), Names: names,
		Stream: bytes.NewReader(img), Log: rec, Progress: rec})
}

func retEnv(res *engines.BackupResult, name string) string {
	v, _ := engines.Lookup(res.Env, name)
	return v
}

// Volume -> our dump -> Linux restore -> the same tree; and our restore of
// the same image into another volume -> the same tree.
func TestVolumeBackupRestore(t *testing.T) {
	l := newLab(t)
	src := shmDir(t)
	if err := gentree.Build(src, gentree.Options{Seed: 3}); err != nil {
		t.Fatal(err)
	}
	_, w := l.volume(t, "vol1", 64<<20)
	copyToVolume(t, src, w)
	rec := newRecorder()
	img, res := l.backup(t, rec, "FILESYSTEM", "/vs1/vol1", "LEVEL", "0", "HIST", "Y")
	if retEnv(res, "PATHNAME_SEPARATOR") != "/" || retEnv(res, "NDMP_VERSION") != "4" || retEnv(res, "ACL_START") == "" {
		t.Errorf("returned env %v", res.Env)
	}
	if got := strings.Join(rec.phases, ","); got != "I,II,III,IIIa,IIIb,IV,V" {
		t.Errorf("phases %s", got)
	}
	if rec.bytes != int64(len(img)) {
		t.Errorf("progress reported %d bytes of %d", rec.bytes, len(img))
	}
	if len(rec.nodes) < 30 || len(rec.dirs) < 30 {
		t.Errorf("file history: %d nodes %d dir entries", len(rec.nodes), len(rec.dirs))
	}
	// the automatic snapshot is unlocked and kept as the base of the next
	// incremental (UPDATE=Y), recorded in the dump history
	v, _ := l.store.Volume("vs1", "vol1")
	if snaps, _ := snapshot.List(v); len(snaps) != 1 || snaps[0].Name != "snapshot_for_backup.0" || len(snaps[0].Holders) != 0 {
		t.Errorf("snapshots after the backup: %v", snaps)
	}
	if recs, _ := l.eng.History().Records("/vs1/vol1"); len(recs) != 1 || !recs[0].Kept || recs[0].Snapshot != "snapshot_for_backup.0" {
		t.Errorf("dump history %+v", recs)
	}
	want := manifestOf(t, src, true)
	if restore, ok := findRestore(t); ok {
		work := shmDir(t)
		p := filepath.Join(work, "img")
		os.WriteFile(p, img, 0o644)
		rr := filepath.Join(work, "rr")
		os.Mkdir(rr, 0o755)
		if out, err := run(t, rr, restore, "-r", "-f", p); err != nil {
			t.Fatalf("restore -r: %v\n%s", err, out)
		}
		if d := manifest.Diff(manifestOf(t, rr, true), want); d != "" {
			t.Errorf("Linux restore of our volume backup differs:\n%s", d)
		}
	}
	// our restore into a new volume
	_, w2 := l.volume(t, "vol2", 64<<20)
	rres, err := l.recover(t, img, nil, "FILESYSTEM", "/vs1/vol2")
	if err != nil {
		t.Fatal(err)
	}
	if rres.BytesRead != int64(len(img)) || rres.Files < 30 {
		t.Errorf("recover result %+v", rres)
	}
	out := shmDir(t)
	copyFromVolume(t, w2, "", out)
	if d := manifest.Diff(manifestOf(t, out, true), want); d != "" {
		t.Errorf("our restore into a volume differs:\n%s", d)
	}
	// event log
	b, _ := os.ReadFile(filepath.Join(l.data, "backup"))
	for _, ev := range []string{" Start (level 0, NDMP)", " Snapshot (snapshot_for_backup.0", " Phase-change (IV)", " Tape_open (ndmp)", " End (", "rst "} {
		if !strings.Contains(string(b), ev) {
			t.Errorf("event log lacks %q:\n%s", ev, b)
		}
	}
}

func findRestore(t testing.TB) (string, bool) {
	p := testpeer.Program(t, "restore", "/usr/sbin/restore", "/sbin/restore")
	return p, p != ""
}

// Linux dump images restored by the engine into a volume: level 0, then
// level 1 (deletions, renames, reused inodes).
func TestRecoverLinuxChainIntoVolume(t *testing.T) {
	l := newLab(t)
	_, w := l.volume(t, "dst", 16<<20)
	for i, lv := range []string{"level0", "level1"} {
		if _, err := l.recover(t, readFixture(t, lv+".dump"), nil, "FILESYSTEM", "/vs1/dst/restored"); err != nil {
			t.Fatalf("%s: %v", lv, err)
		}
		out := shmDir(t)
		copyFromVolume(t, w, "restored", out)
		got := manifestOf(t, out, false)
		wantRows, _ := manifest.File(fixturePath("expect-" + lv + ".tsv"))
		if d := manifest.Diff(got, wantRows); d != "" {
			t.Errorf("step %d (%s) differs:\n%s", i, lv, d)
		}
	}
}

// Seed 001's increment chain: levels 0, 2, 3, 1, 4 and their bases, with
// the incrementals from snapshot diffs and by the ctime fallback.
func TestIncrementChain(t *testing.T) { forBothPaths(t, testIncrementChain) }

func testIncrementChain(t *testing.T, l *lab) {
	_, w := l.volume(t, "vol1", 16<<20)
	mk := func(name string) {
		if _, err := w.Create(volume.RootIno, name, 0o644, volume.Owner{}); err != nil {
			t.Fatal(err)
		}
	}
	type step struct {
		level    int
		base     int // expected base level, -1 none
		file     string
		expected []string // files expected on this dump
	}
	steps := []step{
		{0, -1, "a", []string{"a"}},
		{2, 0, "b", []string{"b"}},
		{3, 2, "c", []string{"c"}},
		{1, 0, "d", []string{"b", "c", "d"}},
		{4, 1, "e", []string{"e"}},
	}
	var dates []uint32
	for i, s := range steps {
		l.clk.advance(10 * time.Second)
		mk(s.file)
		l.clk.advance(10 * time.Second)
		img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", strconv.Itoa(s.level))
		rd, err := format.NewReader(bytes.NewReader(img))
		if err != nil {
			t.Fatal(err)
		}
		dates = append(dates, rd.Volume().Date)
		wantBase := uint32(0)
		if s.base >= 0 {
			for j := i - 1; j >= 0; j-- {
				if steps[j].level == s.base {
					wantBase = dates[j]
					break
				}
			}
		}
		if rd.Volume().DDate != wantBase {
			t.Errorf("step %d level %d: base date %d, want %d (level %d)", i, s.level, rd.Volume().DDate, wantBase, s.base)
		}
		got := namesOnImage(t, img)
		if strings.Join(got, ",") != strings.Join(s.expected, ",") {
			t.Errorf("step %d level %d: files %v, want %v", i, s.level, got, s.expected)
		}
	}
	// UPDATE=N leaves the history alone
	before, _ := l.eng.History().Records("/vs1/vol1")
	l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "LEVEL", "1", "UPDATE", "N")
	after, _ := l.eng.History().Records("/vs1/vol1")
	if len(before) != len(after) || before[1] != after[1] {
		t.Errorf("UPDATE=N changed the history: %v -> %v", before, after)
	}
}

// namesOnImage lists the regular files dumped (sorted names from the root dir).
func namesOnImage(t testing.TB, img []byte) []string {
	rd, err := format.NewReader(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	names := map[uint32]string{}
	var out []string
	for {
		e, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind == format.KindEnd {
			break
		}
		if e.Kind != format.KindInode {
			continue
		}
		if e.Header.Inode.Mode&format.IFMT == format.IFDIR {
			ents, _ := rd.ReadDir()
			for _, d := range ents {
				names[d.Ino] = d.Name
			}
			continue
		}
		out = append(out, names[e.Ino()])
	}
	return out
}

func TestBaseDateTokens(t *testing.T) {
	l := newLab(t)
	_, w := l.volume(t, "vol1", 16<<20)
	w.Create(volume.RootIno, "a", 0o644, volume.Owner{})
	l.clk.advance(5 * time.Second)
	img0, res0 := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "BASE_DATE", "0")
	tok := retEnv(res0, "DUMP_DATE")
	n, err := strconv.ParseUint(tok, 10, 64)
	if err != nil || n>>32 != 0 {
		t.Fatalf("DUMP_DATE %q after a level 0", tok)
	}
	rd0, _ := format.NewReader(bytes.NewReader(img0))
	if uint32(n) != rd0.Volume().Date {
		t.Errorf("DUMP_DATE time %d, image date %d", uint32(n), rd0.Volume().Date)
	}
	l.clk.advance(5 * time.Second)
	w.Create(volume.RootIno, "b", 0o644, volume.Owner{})
	l.clk.advance(5 * time.Second)
	img1, res1 := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "BASE_DATE", tok)
	n1, _ := strconv.ParseUint(retEnv(res1, "DUMP_DATE"), 10, 64)
	rd1, _ := format.NewReader(bytes.NewReader(img1))
	if n1>>32 != 1 || rd1.Volume().Level != 1 || rd1.Volume().DDate != uint32(n) {
		t.Errorf("level-1 token %d, level %d, ddate %d", n1, rd1.Volume().Level, rd1.Volume().DDate)
	}
	if got := namesOnImage(t, img1); strings.Join(got, ",") != "b" {
		t.Errorf("incremental by BASE_DATE dumped %v", got)
	}
	// the token's snapshot was kept: the incremental came from the diff;
	// both tokens' snapshots stay (a level 1 does not supersede a level 0)
	if d, c := l.eng.IncrementalCounts(); d != 1 || c != 0 {
		t.Errorf("BASE_DATE incremental: %d from the diff, %d by ctime", d, c)
	}
	v, _ := l.store.Volume("vs1", "vol1")
	if snaps, _ := snapshot.List(v); len(snaps) != 2 {
		t.Errorf("snapshots after two BASE_DATE dumps: %v", snaps)
	}
	// a differential: the level 0 token again, its snapshot kept
	l.clk.advance(5 * time.Second)
	w.Create(volume.RootIno, "c", 0o644, volume.Owner{})
	l.clk.advance(5 * time.Second)
	img2, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "BASE_DATE", tok)
	if got := namesOnImage(t, img2); strings.Join(got, ",") != "b,c" {
		t.Errorf("differential by BASE_DATE dumped %v", got)
	}
	if d, c := l.eng.IncrementalCounts(); d != 2 || c != 0 {
		t.Errorf("BASE_DATE differential: %d from the diff, %d by ctime", d, c)
	}
	// LEVEL/UPDATE history untouched by BASE_DATE dumps
	if recs, _ := l.eng.History().Records("/vs1/vol1"); len(recs) != 0 {
		t.Errorf("BASE_DATE dumps updated the LEVEL history: %+v", recs)
	}
}

func TestBackupOptionsAndErrors(t *testing.T) {
	l := newLab(t)
	v, w := l.volume(t, "vol1", 16<<20)
	d, _ := w.Mkdir(volume.RootIno, "keep", 0o755, volume.Owner{})
	w.Create(d.Ino, "x.tmp", 0o644, volume.Owner{})
	w.Create(d.Ino, "x.txt", 0o644, volume.Owner{})
	w.Create(volume.RootIno, "core", 0o644, volume.Owner{})
	s2, _ := w.Mkdir(volume.RootIno, "other", 0o755, volume.Owner{})
	w.Create(s2.Ino, "y", 0o644, volume.Owner{})
	// EXCLUDE: exact names and a trailing/leading asterisk
	img, _ := l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "EXCLUDE", "core,*.tmp")
	if got := strings.Join(namesOnImage(t, img), ","); got != "x.txt,y" {
		t.Errorf("EXCLUDE dumped %s", got)
	}
	for _, bad := range []string{"a*b", "***x", "*a*b*"} {
		var buf bytes.Buffer
		_, err := l.eng.Backup(context.Background(), &engines.BackupRequest{Env: envOf("FILESYSTEM", "/vs1/vol1", "EXCLUDE", bad), Stream: &buf})
		if !errors.Is(err, dump.ErrBadEnv) {
			t.Errorf("EXCLUDE=%q: %v", bad, err)
		}
	}
	if ex, err := dump.ParseExclude(`a\,b,c`); err != nil || !ex.Match("a,b") || !ex.Match("c") || ex.Match("a") {
		t.Errorf("escaped comma: %v", err)
	}
	// subtree dump
	img, _ = l.backup(t, nil, "FILESYSTEM", "/vs1/vol1/keep")
	if got := strings.Join(namesOnImage(t, img), ","); got != "x.tmp,x.txt" {
		t.Errorf("subtree dumped %s", got)
	}
	// multiple subtrees
	img, _ = l.backup(t, nil, "FILESYSTEM", "/vs1/vol1", "MULTI_SUBTREE_NAMES", "keep\nother\n/vs1/vol1\x00", "DMP_NAME", "two")
	if got := strings.Join(namesOnImage(t, img), ","); got != "x.tmp,x.txt,y" {
		t.Errorf("multi-subtree dumped %s", got)
	}
	// named snapshot: locked during the backup, kept after
	if _, err := snapshot.Create(v, "snap1"); err != nil {
		t.Fatal(err)
	}
	w.Create(volume.RootIno, "after-snap", 0o644, volume.Owner{})
	img, _ = l.backup(t, nil, "FILESYSTEM", "/vs1/vol1/.snapshot/snap1")
	for _, n := range namesOnImage(t, img) {
		if n == "after-snap" {
			t.Error("named snapshot backup contains a later file")
		}
	}
	if _, err := snapshot.Show(v, "snap1"); err != nil {
		t.Errorf("named snapshot deleted: %v", err)
	}
	// missing snapshot
	var buf bytes.Buffer
	_, err := l.eng.Backup(context.Background(), &engines.BackupRequest{Env: envOf("FILESYSTEM", "/vs1/vol1/.snapshot/nope"), Stream: &buf})
	if !errors.Is(err, dump.ErrLockSnapshot) || !strings.Contains(err.Error(), "Unable to lock a snapshot needed by dump") {
		t.Errorf("missing snapshot: %v", err)
	}
	// bad level, bad path
	for _, env := range [][]string{{"FILESYSTEM", "/vs1/vol1", "LEVEL", "32"}, {"FILESYSTEM", "/vs1/nope"}, {"LEVEL", "0"}} {
		if _, err := l.eng.Backup(context.Background(), &engines.BackupRequest{Env: envOf(env...), Stream: &buf}); err == nil {
			t.Errorf("%v: no error", env)
		}
	}
	// aborted backup: no snapshot left behind (the ones kept are the bases
	// of the paths dumped above, and snap1)
	before, _ := snapshot.List(v)
	_, err = l.eng.Backup(context.Background(), &engines.BackupRequest{Env: envOf("FILESYSTEM", "/vs1/vol1"), Stream: failWriter{}})
	if err == nil {
		t.Error("backup to a failing stream succeeded")
	}
	snaps, _ := snapshot.List(v)
	if fmt.Sprint(snaps) != fmt.Sprint(before) {
		t.Errorf("snapshots after an aborted backup: %v, before it: %v", snaps, before)
	}
	b, _ := os.ReadFile(filepath.Join(l.data, "backup"))
	if !strings.Contains(string(b), " Abort (") {
		t.Errorf("no Abort event:\n%s", b)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("Media error on tape write") }

// DAR: one small file from a multi-MB image reads < 1% of it.
func TestDAR(t *testing.T) {
	l := newLab(t)
	_, w := l.volume(t, "vol1", 64<<20)
	d, _ := w.Mkdir(volume.RootIno, "big", 0o755, volume.Owner{})
	blob := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for i := 0; i < 8; i++ {
		f, _ := w.Create(d.Ino, "f"+strconv.Itoa(i), 0o644, volume.Owner{})
		w.Write(f.Ino, 0, blob)
	}
	small, _ := w.Create(d.Ino, "small.txt", 0o640, volume.Owner{UID: 1000, GID: 1000})
	w.Write(small.Ino, 0, []byte("the one file we want\n"))
	w.SetXattr(small.Ino, "user.tag", []byte("dar"), 0)
	for i := 8; i < 12; i++ {
		f, _ := w.Create(d.Ino, "f"+strconv.Itoa(i), 0o644, volume.Owner{})
		w.Write(f.Ino, 0, blob)
	}
	rec := newRecorder()
	img, _ := l.backup(t, rec, "FILESYSTEM", "/vs1/vol1", "HIST", "Y")
	fh := rec.nodes[small.Ino].FhInfo
	if fh == 0 || fh == ^uint64(0) {
		t.Fatalf("no FhInfo for the small file: %+v", rec.nodes[small.Ino])
	}
	_, w2 := l.volume(t, "vol2", 16<<20)
	stream := &seekStream{img: img}
	rrec := newRecorder()
	res, err := l.eng.Recover(context.Background(), &engines.RecoverRequest{
		Env:    envOf("FILESYSTEM", "/vs1/vol2", "DIRECT", "Y"),
		Names:  []engines.NameEntry{{OriginalPath: "/big/small.txt", DestinationPath: "/vs1/vol2/out/small.txt", FhInfo: fh, Node: small.Ino}},
		Stream: stream, Seek: stream.seek, Log: rrec,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 1 || res.BytesRead*100 >= int64(len(img)) {
		t.Errorf("DAR read %d of %d bytes (%+v)", res.BytesRead, len(img), res)
	}
	a, err := w2.Resolve("out/small.txt")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, _ := w2.Read(a.Ino, 0, buf)
	if string(buf[:n]) != "the one file we want\n" || a.Mode&0o777 != 0o640 || a.UID != 1000 {
		t.Errorf("DAR file: %q %+v", buf[:n], a)
	}
	if v, _ := w2.GetXattr(a.Ino, "user.tag"); string(v) != "dar" {
		t.Errorf("DAR xattr %q", v)
	}
	if err, ok := rrec.files["/big/small.txt"]; !ok || err != nil {
		t.Errorf("LOG_FILE for the DAR: %v %v", ok, err)
	}
	// RECOVER_FULL_PATHS: the directories created along the path get their
	// permissions from the image
	w.SetAttr(d.Ino, volume.SetAttrIn{Valid: volume.SetMode | volume.SetUID, Mode: 0o750, UID: 1000})
	img2, _ := l.backup(t, rec, "FILESYSTEM", "/vs1/vol1", "HIST", "Y", "UPDATE", "N")
	stream = &seekStream{img: img2}
	_, err = l.eng.Recover(context.Background(), &engines.RecoverRequest{
		Env:    envOf("FILESYSTEM", "/vs1/vol2", "DIRECT", "Y", "ENHANCED_DAR_ENABLED", "Y", "RECOVER_FULL_PATHS", "Y"),
		Names:  []engines.NameEntry{{OriginalPath: "/big/small.txt", DestinationPath: "/vs1/vol2/full/big/small.txt", FhInfo: rec.nodes[small.Ino].FhInfo}},
		Stream: stream, Seek: stream.seek,
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := w2.Resolve("full/big"); err != nil || a.Mode&0o7777 != 0o750 || a.UID != 1000 {
		t.Errorf("RECOVER_FULL_PATHS directory: %+v %v", a, err)
	}
	if a, err := w2.Resolve("full"); err != nil || a.Mode&0o7777 == 0o750 {
		t.Errorf("a directory outside the original path got attributes: %+v %v", a, err)
	}
	stream = &seekStream{img: img2}
	_, err = l.eng.Recover(context.Background(), &engines.RecoverRequest{
		Env:    envOf("FILESYSTEM", "/vs1/vol2", "DIRECT", "Y", "ENHANCED_DAR_ENABLED", "Y", "RECOVER_FULL_PATHS", "Y"),
		Names:  []engines.NameEntry{{OriginalPath: "/big/small.txt", DestinationPath: "/vs1/vol2/elsewhere.txt", FhInfo: rec.nodes[small.Ino].FhInfo}},
		Stream: stream, Seek: stream.seek,
	})
	if !errors.Is(err, dump.ErrBadEnv) {
		t.Errorf("RECOVER_FULL_PATHS with a path not ending with the original: %v", err)
	}
	// record size checks
	if err := dump.CheckRecordSize(img[:1024], 10240, false); !errors.Is(err, dump.ErrRecordTooSmall) || err.Error() != "Tape record size is too small. Try a larger size." {
		t.Errorf("record size 10240: %v", err)
	}
	if err := dump.CheckRecordSize(img[:1024], 131072, true); err == nil || err.Error() != "Tape record size should be 65536 and not 131072" {
		t.Errorf("record size 131072: %v", err)
	}
	if err := dump.CheckRecordSize(img[:1024], 65536, true); err != nil {
		t.Error(err)
	}
	// a directory DAR without enhanced DAR fails with the seed message
	dfh := rec.nodes[d.Ino].FhInfo
	stream = &seekStream{img: img2}
	_, err = l.eng.Recover(context.Background(), &engines.RecoverRequest{
		Env:    envOf("FILESYSTEM", "/vs1/vol2", "DIRECT", "Y"),
		Names:  []engines.NameEntry{{OriginalPath: "/big", DestinationPath: "/vs1/vol2/bigdir", FhInfo: dfh}},
		Stream: stream, Seek: stream.seek,
	})
	if !errors.Is(err, dump.ErrNoFiles) || err.Error() != "No files were created" {
		t.Errorf("directory DAR without ENHANCED_DAR_ENABLED: %v", err)
	}
	stream = &seekStream{img: img2}
	res, err = l.eng.Recover(context.Background(), &engines.RecoverRequest{
		Env:    envOf("FILESYSTEM", "/vs1/vol2", "DIRECT", "Y", "ENHANCED_DAR_ENABLED", "Y"),
		Names:  []engines.NameEntry{{OriginalPath: "/big", DestinationPath: "/vs1/vol2/bigdir", FhInfo: dfh}},
		Stream: stream, Seek: stream.seek,
	})
	if err != nil || res.Files < 13 {
		t.Fatalf("enhanced directory DAR: %v %+v", err, res)
	}
	if _, err := w2.Resolve("bigdir/f11"); err != nil {
		t.Errorf("enhanced directory DAR: %v", err)
	}
}

// seekStream is an image the engine can seek in (as a mover would).
type seekStream struct {
	img []byte
	pos int
	end int
}

func (s *seekStream) seek(off, length uint64) error {
	s.pos = int(off)
	s.end = len(s.img)
	if length > 0 && int(off+length) < s.end {
		s.end = int(off + length)
	}
	return nil
}

func (s *seekStream) Read(p []byte) (int, error) {
	if s.end == 0 {
		s.end = len(s.img)
	}
	if s.pos >= s.end {
		return 0, ioEOF
	}
	n := copy(p, s.img[s.pos:s.end])
	s.pos += n
	return n, nil
}

// TestDirectoryDARStopsAfterItsFiles: an enhanced directory DAR reads the
// directories and then the files up to the directory's last inode, not
// the rest of the image (here 8 MiB of a later directory), and restores
// the directory whole: contents, a subdirectory, a hard link, xattrs.
func TestDirectoryDARStopsAfterItsFiles(t *testing.T) {
	l := newLab(t)
	_, w := l.volume(t, "vol1", 64<<20)
	want, _ := w.Mkdir(volume.RootIno, "want", 0o750, volume.Owner{UID: 7})
	sub, _ := w.Mkdir(want.Ino, "sub", 0o755, volume.Owner{})
	contents := map[string]string{}
	for i := 0; i < 5; i++ {
		dir, name := want.Ino, "w"+strconv.Itoa(i)
		if i%2 == 1 {
			dir, name = sub.Ino, "s"+strconv.Itoa(i)
		}
		f, _ := w.Create(dir, name, 0o644, volume.Owner{})
		body := strings.Repeat(name+" ", 3000*(i+1))
		w.Write(f.Ino, 0, []byte(body))
		if dir == sub.Ino {
			name = "sub/" + name
		}
		contents[name] = body
		if i == 0 {
			w.SetXattr(f.Ino, "user.tag", []byte("w0"), 0)
			w.Link(f.Ino, want.Ino, "w0-link")
			contents["w0-link"] = body
		}
	}
	rest, _ := w.Mkdir(volume.RootIno, "rest", 0o755, volume.Owner{})
	blob := bytes.Repeat([]byte("later data "), 1<<17)
	for i := 0; i < 6; i++ {
		f, _ := w.Create(rest.Ino, "r"+strconv.Itoa(i), 0o644, volume.Owner{})
		w.Write(f.Ino, 0, blob)
	}
	rec := newRecorder()
	img, _ := l.backup(t, rec, "FILESYSTEM", "/vs1/vol1", "HIST", "Y")
	_, w2 := l.volume(t, "vol2", 16<<20)
	stream := &seekStream{img: img}
	res, err := l.eng.Recover(context.Background(), &engines.RecoverRequest{
		Env:    envOf("FILESYSTEM", "/vs1/vol2", "DIRECT", "Y", "ENHANCED_DAR_ENABLED", "Y"),
		Names:  []engines.NameEntry{{OriginalPath: "/want", DestinationPath: "/vs1/vol2/got", FhInfo: rec.nodes[want.Ino].FhInfo, Node: want.Ino}},
		Stream: stream, Seek: stream.seek,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.BytesRead <= 0 || res.BytesRead > int64(len(img))/4 {
		t.Errorf("directory DAR read %d bytes of a %d-byte image; want well under a quarter (the rest is another directory)", res.BytesRead, len(img))
	}
	for name, body := range contents {
		a, err := w2.Resolve("got/" + name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		buf := make([]byte, a.Size)
		n, _ := w2.Read(a.Ino, 0, buf)
		if string(buf[:n]) != body {
			t.Errorf("%s: %d bytes restored, want %d", name, n, len(body))
		}
	}
	a, _ := w2.Resolve("got/w0")
	b, _ := w2.Resolve("got/w0-link")
	if a.Ino == 0 || a.Ino != b.Ino {
		t.Errorf("hard link not restored as one: %d %d", a.Ino, b.Ino)
	}
	if v, err := w2.GetXattr(a.Ino, "user.tag"); err != nil || string(v) != "w0" {
		t.Errorf("xattr: %q %v", v, err)
	}
	if d, err := w2.Resolve("got"); err != nil || d.Mode&0o7777 != 0o750 || d.UID != 7 {
		t.Errorf("directory attributes: %+v %v", d, err)
	}
	if _, err := w2.Resolve("rest"); err == nil {
		t.Error("a directory that was not selected was restored")
	}
}
