package cartridge

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func payload(i, n int, compressible bool) []byte {
	b := make([]byte, n)
	x := uint32(i)*2654435761 + 7
	for k := range b {
		if compressible {
			b[k] = byte(i + k/512)
			continue
		}
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[k] = byte(x)
	}
	return b
}

func newCart(t testing.TB) (string, *Cartridge) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "TL0001L8")
	if err := Create(dir, Meta{Barcode: "TL0001L8", MediaType: "LTO-8", Capacity: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, c
}

// layout: 0..n-1 records, a filemark after every 4th record.
func fill(t testing.TB, c *Cartridge, n int) (want [][]byte) {
	t.Helper()
	for i := 0; i < n; i++ {
		p := payload(i, 100+i*37, i%3 == 0)
		if _, err := c.AppendRecord(p, i%2 == 0); err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
		if i%4 == 3 {
			if err := c.AppendFilemark(); err != nil {
				t.Fatal(err)
			}
			want = append(want, nil)
		}
	}
	return want
}

func check(t *testing.T, c *Cartridge, want [][]byte) {
	t.Helper()
	if c.Objects() != uint64(len(want)) {
		t.Fatalf("objects %d, want %d", c.Objects(), len(want))
	}
	buf := make([]byte, 1<<16)
	for i, w := range want {
		e, _ := c.Entry(uint64(i))
		if w == nil {
			if e.Type != TypeFilemark {
				t.Fatalf("object %d: type %d, want filemark", i, e.Type)
			}
			continue
		}
		n, l, err := c.Read(uint64(i), buf)
		if err != nil || n != len(w) || l != len(w) || !bytes.Equal(buf[:n], w) {
			t.Fatalf("object %d: n=%d l=%d err=%v", i, n, l, err)
		}
	}
}

func TestRoundTripAndReopen(t *testing.T) {
	dir, c := newCart(t)
	want := fill(t, c, 1500) // > flushEvery: part of the index is written, part rebuilt
	check(t, c, want)
	if c.Filemarks() != 375 || c.FileNumber(5) != 1 || c.FileNumber(4) != 0 {
		t.Fatalf("filemarks %d file(5) %d", c.Filemarks(), c.FileNumber(5))
	}
	// Short buffer: prefix of a compressed and of a stored record.
	small := make([]byte, 10)
	for _, i := range []uint64{0, 1} {
		n, l, err := c.Read(i, small)
		if err != nil || n != 10 || l != len(want[i]) || !bytes.Equal(small, want[i][:10]) {
			t.Fatalf("short read %d: %d %d %v", i, n, l, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.Recovered != (RecoveryReport{}) {
		t.Fatalf("clean reopen repaired something: %+v", c2.Recovered)
	}
	check(t, c2, want)
	// Overwrite in the middle truncates.
	if err := c2.Truncate(10); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.AppendRecord([]byte("new"), false); err != nil {
		t.Fatal(err)
	}
	want = append(want[:10:10], []byte("new"))
	check(t, c2, want)
	if c2.Filemarks() != 2 {
		t.Fatalf("filemarks after truncate %d", c2.Filemarks())
	}
	m := c2.Meta()
	m.Counters.Loads = 3
	if err := c2.SetMeta(m); err != nil {
		t.Fatal(err)
	}
	c2.Close()
	c3, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	check(t, c3, want)
	if c3.Meta().Counters.Loads != 3 || c3.Meta().Barcode != "TL0001L8" {
		t.Fatalf("meta %+v", c3.Meta())
	}
}

func TestTornTail(t *testing.T) {
	dir, c := newCart(t)
	want := fill(t, c, 20)
	c.Close()
	// A crash after a payload write but before its index entry, and a
	// torn index entry: both are cut off.
	df, _ := os.OpenFile(filepath.Join(dir, DataFile), os.O_RDWR|os.O_APPEND, 0)
	st, _ := df.Stat()
	good := st.Size()
	df.Write(payload(99, 1000, false))
	df.Close()
	xf, _ := os.OpenFile(filepath.Join(dir, IndexFile), os.O_RDWR|os.O_APPEND, 0)
	xf.Write([]byte{0, 0, 0, 0, 0, 0, 0x10})
	xf.Close()
	c3, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c3.Recovered.TruncatedBytes != 1000 {
		t.Fatalf("recovery %+v", c3.Recovered)
	}
	check(t, c3, want)
	if st, _ := os.Stat(filepath.Join(dir, DataFile)); st.Size() != good {
		t.Fatalf("data not truncated to %d: %d", good, st.Size())
	}
	// Appending after recovery continues at the right place.
	if _, err := c3.AppendRecord([]byte("after"), false); err != nil {
		t.Fatal(err)
	}
	c3.Close()
	c4, _ := Open(dir)
	defer c4.Close()
	check(t, c4, append(want, []byte("after")))
}

func TestIndexAheadOfData(t *testing.T) {
	dir, c := newCart(t)
	want := fill(t, c, 8)
	last, _ := c.Entry(c.Objects() - 2) // the last data record (a filemark follows)
	c.Close()
	// The index names a record whose payload never reached the data log
	// (e.g. a power loss between the two writes): it and what follows go.
	os.Truncate(filepath.Join(dir, DataFile), last.Offset+10)
	c2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	check(t, c2, want[:len(want)-2])
	if c2.Recovered.DroppedEntries != 2 {
		t.Fatalf("%+v", c2.Recovered)
	}
}

func TestTruncateCrashBetweenSteps(t *testing.T) {
	dir, c := newCart(t)
	want := fill(t, c, 8)
	c.Close()
	c, _ = Open(dir)
	// Crash after the index was cut but before the data log was: the old
	// tail must not come back, and new records go where the tail was.
	c.idx.Truncate(indexHeaderSize + 3*entrySize)
	c.data.Close()
	c.idx.Close()
	c2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	check(t, c2, want[:3])
	c2.AppendRecord([]byte("x"), false)
	c2.Close()
	c3, _ := Open(dir)
	defer c3.Close()
	check(t, c3, append(want[:3:3], []byte("x")))
}

func TestDamageIsAnErrorNotData(t *testing.T) {
	dir, c := newCart(t)
	want := fill(t, c, 30) // object 1 lies before the tail Open verifies
	c.Close()
	// Flip one payload byte of object 1 (stored uncompressed).
	c, _ = Open(dir)
	e, _ := c.Entry(1)
	c.Close()
	f, _ := os.OpenFile(filepath.Join(dir, DataFile), os.O_RDWR, 0)
	b := []byte{0}
	f.ReadAt(b, e.Offset+5)
	b[0] ^= 0xff
	f.WriteAt(b, e.Offset+5)
	f.Close()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	if _, _, err := c.Read(1, buf); !errors.Is(err, ErrBadData) {
		t.Fatalf("damaged record read: %v", err)
	}
	if n, _, err := c.Read(0, buf); err != nil || !bytes.Equal(buf[:n], want[0]) {
		t.Fatal("neighbour record damaged", err)
	}
}

// TestCrashMidWrite kills a child process that appends records in a loop
// and checks that the cartridge reads correctly up to the last complete record.
func TestCrashMidWrite(t *testing.T) {
	if os.Getenv("CARTRIDGE_CRASH_CHILD") != "" {
		return
	}
	dir, c := newCart(t)
	c.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CARTRIDGE_CRASH_CHILD="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the child has written a few MB, then kill it.
	for i := 0; ; i++ {
		st, err := os.Stat(filepath.Join(dir, DataFile))
		if err == nil && st.Size() > dataStart+4<<20 {
			break
		}
		if i > 6000 {
			cmd.Process.Kill()
			t.Fatal("child wrote nothing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	c2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.Objects() < 10 {
		t.Fatalf("only %d objects survived", c2.Objects())
	}
	buf := make([]byte, 1<<16)
	for i := uint64(0); i < c2.Objects(); i++ {
		n, _, err := c2.Read(i, buf)
		if err != nil || !bytes.Equal(buf[:n], payload(int(i), 4096+int(i%7)*1000, i%2 == 0)) {
			t.Fatalf("record %d after crash: n=%d err=%v", i, n, err)
		}
	}
	t.Logf("%d records survived; recovery %+v", c2.Objects(), c2.Recovered)
}

// TestMain runs the crash test's child writer when the parent re-executes
// the test binary with CARTRIDGE_CRASH_CHILD set; otherwise the tests.
func TestMain(m *testing.M) {
	if dir := os.Getenv("CARTRIDGE_CRASH_CHILD"); dir != "" {
		crashChild(dir) // never returns: killed, or exits
	}
	os.Exit(m.Run())
}

// crashChild appends records until it is killed.
func crashChild(dir string) {
	c, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		if _, err := c.AppendRecord(payload(i, 4096+(i%7)*1000, i%2 == 0), true); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if i > 1<<20 {
			os.Exit(3)
		}
	}
}

func TestAppendFilemarksWithoutClose(t *testing.T) {
	dir, c := newCart(t)
	c.AppendRecord([]byte("a"), false)
	if err := c.AppendFilemarks(3); err != nil {
		t.Fatal(err)
	}
	c.AppendRecord([]byte("b"), false)
	// No Close: every entry is already in the index file.
	c.data.Close()
	c.idx.Close()
	c2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	check(t, c2, [][]byte{[]byte("a"), nil, nil, nil, []byte("b")})
	// The zero tail of the mapped index is not counted as dropped entries.
	if c2.Recovered != (RecoveryReport{}) {
		t.Fatalf("recovery %+v", c2.Recovered)
	}
}

// TestVersion2 opens a cartridge in the version 2 layout (payloads from
// offset 4096), reads it, appends to it and reopens it: it keeps its layout.
func TestVersion2(t *testing.T) {
	dir, c := newCart(t)
	c.Close()
	header := func(magic string, size int) []byte {
		b := make([]byte, size)
		copy(b, magic)
		binary.BigEndian.PutUint32(b[8:], 2)
		binary.BigEndian.PutUint32(b[28:], crc(b[:28]))
		return b
	}
	data, idx := header(dataMagic, v2DataStart), header(indexMagic, indexHeaderSize)
	want := [][]byte{payload(0, 5000, false), []byte("two"), nil, payload(3, 8192, true)}
	for i, p := range want {
		e := Entry{Offset: int64(len(data)), Type: TypeFilemark}
		if p != nil {
			e = Entry{Offset: int64(len(data)), ULen: uint32(len(p)), SLen: uint32(len(p)), CRC: crc(p), Type: TypeData}
			data = append(data, p...)
		}
		var b [entrySize]byte
		encodeEntry(b[:], e, uint64(i))
		idx = append(idx, b[:]...)
	}
	os.WriteFile(filepath.Join(dir, DataFile), data, 0o644)
	os.WriteFile(filepath.Join(dir, IndexFile), idx, 0o644)
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Recovered != (RecoveryReport{}) {
		t.Fatalf("recovery %+v", c.Recovered)
	}
	check(t, c, want)
	want = append(want, []byte("appended"))
	if _, err := c.AppendRecord(want[len(want)-1], false); err != nil {
		t.Fatal(err)
	}
	if err := c.SetMeta(c.Meta()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	check(t, c, want)
	if c.version != 2 || c.start != v2DataStart || c.Meta().Version != 2 {
		t.Fatalf("version %d start %d meta version %d", c.version, c.start, c.Meta().Version)
	}
}

// TestDataStartAligned: a new cartridge's payloads start at dataStart, and
// the space before it is not written (a hole, where the file system has them).
func TestDataStartAligned(t *testing.T) {
	dir, c := newCart(t)
	defer c.Close()
	if _, err := c.AppendRecord(payload(1, 1<<16, false), false); err != nil {
		t.Fatal(err)
	}
	if e, _ := c.Entry(0); e.Offset != dataStart || c.start != dataStart || c.version != formatVersion {
		t.Fatalf("first payload at %d (start %d, version %d)", e.Offset, c.start, c.version)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(dir, DataFile), &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 >= dataStart {
		t.Logf("data file not sparse here: %d bytes allocated", st.Blocks*512)
	}
}

// TestWriteBehind: appending past writeBehindBytes starts writeback of what
// was appended, Truncate moves the mark back, and the data reads as written.
func TestWriteBehind(t *testing.T) {
	dir, c := newCart(t)
	var want [][]byte
	for i := 0; i < 140; i++ { // 8.75 MiB
		want = append(want, payload(i, 1<<16, false))
		if _, err := c.AppendRecord(want[i], false); err != nil {
			t.Fatal(err)
		}
	}
	if c.written != c.start+writeBehindBytes {
		t.Fatalf("writeback started up to %d, want %d", c.written, c.start+writeBehindBytes)
	}
	if err := c.Truncate(3); err != nil {
		t.Fatal(err)
	}
	if c.written != c.end() {
		t.Fatalf("after Truncate: writeback mark %d, end %d", c.written, c.end())
	}
	check(t, c, want[:3])
	c.Close()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.written != c.end() {
		t.Fatalf("after Open: writeback mark %d, end %d", c.written, c.end())
	}
	check(t, c, want[:3])
}
