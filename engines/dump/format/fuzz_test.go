package format

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// FuzzReader feeds arbitrary bytes to the reader: it must return an error
// or a well-formed entry sequence, never panic or loop.
func FuzzReader(f *testing.F) {
	img, _ := buildImage(f, VolumeInfo{Date: time.Unix(1704164645, 0)})
	f.Add(img[:40*TPBSize])
	be, _ := buildImage(f, VolumeInfo{Date: time.Unix(1704164645, 0), BigEndian: true, OldFormat: true})
	f.Add(be[:30*TPBSize])
	f.Add(fixture(f, "level1.dump")[:20*TPBSize])
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 0; i < 10000; i++ {
			e, err := r.Next()
			if err != nil || e.Kind == KindEnd {
				return
			}
			switch e.Kind {
			case KindInode:
				if e.Header.Inode.Mode&IFMT == IFDIR {
					_, _ = r.ReadDir()
				} else {
					_ = r.ReadData(func(off int64, p []byte) error {
						if off < 0 || off+int64(len(p)) > int64(e.Header.Inode.Size) {
							t.Fatalf("data outside the file: %d+%d > %d", off, len(p), e.Header.Inode.Size)
						}
						return nil
					})
				}
			}
		}
	})
}

// FuzzDecodeDir and FuzzDecodeXattrs cover the payload parsers directly.
func FuzzDecodeDir(f *testing.F) {
	d, _ := EncodeDir([]Dirent{{2, DTDir, "."}, {2, DTDir, ".."}, {3, DTReg, "a"}}, binary.LittleEndian)
	f.Add(d, false)
	f.Add(d, true)
	f.Fuzz(func(t *testing.T, data []byte, old bool) {
		ents, err := DecodeDir(data, binary.LittleEndian, old)
		if err == nil {
			for _, e := range ents {
				if len(e.Name) == 0 || len(e.Name) > 0xffff {
					t.Fatal("bad name")
				}
			}
		}
	})
}

func FuzzDecodeXattrs(f *testing.F) {
	blobs, _ := EncodeXattrs([]Xattr{{Name: "user.a", Value: []byte("b")}, {Name: ACLAccess, Value: aclXattr(f)}})
	f.Add(blobs[0])
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := DecodeXattrs(data)
		if err == nil {
			b, skipped := EncodeXattrs(x)
			if len(skipped) == 0 && len(x) > 0 && len(b) == 0 {
				t.Fatal("re-encoding lost attributes")
			}
		}
	})
}
