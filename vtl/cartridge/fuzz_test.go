package cartridge

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpenDamaged damages a known-good cartridge (bytes overwritten in the
// index and the data log, either file cut short) and checks that opening
// and reading it never panics and never returns data that differs from
// what was written: damage is an error or a shorter tape, never wrong data.
func FuzzOpenDamaged(f *testing.F) {
	f.Add(uint32(0), []byte{}, uint32(0), []byte{}, uint32(0), uint32(0))
	f.Add(uint32(40), []byte{0xff}, uint32(100), []byte{1, 2, 3}, uint32(0), uint32(0))
	f.Add(uint32(0), []byte{}, uint32(0), []byte{}, uint32(1000), uint32(70))
	f.Add(uint32(10), []byte{0, 0, 0, 0}, uint32(33), []byte{0x56, 0x52, 0x45, 0x43}, uint32(5), uint32(0))
	base := f.TempDir()
	src := filepath.Join(base, "src")
	if err := Create(src, Meta{Barcode: "FZ0001L8", Capacity: 1 << 30}); err != nil {
		f.Fatal(err)
	}
	c, err := Open(src)
	if err != nil {
		f.Fatal(err)
	}
	var want [][]byte
	for i := 0; i < 12; i++ {
		p := payload(i, 50+i*20, i%2 == 0)
		c.AppendRecord(p, i%3 == 0)
		want = append(want, p)
		if i%5 == 4 {
			c.AppendFilemark()
			want = append(want, nil)
		}
	}
	c.Close()
	idx0, _ := os.ReadFile(filepath.Join(src, IndexFile))
	// The data file's meaningful bytes: its 32-byte header and the payloads
	// from dataStart on (what lies between is a hole nothing reads).
	dataFile, _ := os.ReadFile(filepath.Join(src, DataFile))
	data0 := append(dataFile[:32:32], dataFile[dataStart:]...)
	meta0, _ := os.ReadFile(filepath.Join(src, MetaFile))
	n := 0
	f.Fuzz(func(t *testing.T, idxOff uint32, idxPatch []byte, dataOff uint32, dataPatch []byte, cutData, cutIdx uint32) {
		n++
		dir := filepath.Join(base, "case")
		os.RemoveAll(dir)
		os.MkdirAll(dir, 0o755)
		idx := patch(idx0, idxOff, idxPatch, cutIdx)
		data := patch(data0, dataOff, dataPatch, cutData)
		os.WriteFile(filepath.Join(dir, IndexFile), idx, 0o644)
		writeData(filepath.Join(dir, DataFile), data)
		os.WriteFile(filepath.Join(dir, MetaFile), meta0, 0o644)
		c, err := Open(dir)
		if err != nil {
			return
		}
		defer c.Close()
		if c.Objects() > uint64(len(want)) {
			t.Fatalf("%d objects from a tape of %d", c.Objects(), len(want))
		}
		buf := make([]byte, 4096)
		for i := uint64(0); i < c.Objects(); i++ {
			e, _ := c.Entry(i)
			if e.Type == TypeFilemark {
				if want[i] != nil {
					t.Fatalf("object %d: filemark where a record was written", i)
				}
				continue
			}
			n, l, err := c.Read(i, buf)
			if err != nil {
				continue
			}
			if want[i] == nil || l != len(want[i]) || !bytes.Equal(buf[:n], want[i]) {
				t.Fatalf("object %d: wrong data returned (len %d)", i, l)
			}
		}
	})
}

func patch(src []byte, off uint32, p []byte, cut uint32) []byte {
	b := append([]byte(nil), src...)
	if len(b) > 0 {
		o := int(off % uint32(len(b)))
		copy(b[o:], p)
	}
	if cut > 0 && len(b) > 0 {
		b = b[:len(b)-int(cut%uint32(len(b)))]
	}
	return b
}

// writeData writes the meaningful bytes of a data file back in place: the
// header, then the rest from dataStart on (a file of at most 32 bytes is
// written as it is).
func writeData(name string, b []byte) {
	if len(b) <= 32 {
		os.WriteFile(name, b, 0o644)
		return
	}
	os.WriteFile(name, b[:32], 0o644)
	f, _ := os.OpenFile(name, os.O_RDWR, 0)
	f.WriteAt(b[32:], dataStart)
	f.Close()
}
