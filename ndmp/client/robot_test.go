package client

import (
	"encoding/binary"
	"testing"
)

// elementStatus builds READ ELEMENT STATUS data: one page of storage
// elements with volume tags.
func elementStatus(addrs []uint16, tags []string) []byte {
	const dlen = 52
	var page []byte
	for i, a := range addrs {
		d := make([]byte, dlen)
		binary.BigEndian.PutUint16(d[0:], a)
		if tags[i] != "" {
			d[2] = 1
			copy(d[12:44], []byte(tags[i]+"                                "))
		}
		page = append(page, d...)
	}
	hdr := []byte{2, 0x80, 0, dlen, 0, byte(len(page) >> 16), byte(len(page) >> 8), byte(len(page))}
	body := append(hdr, page...)
	out := []byte{0, byte(addrs[0] >> 8), byte(addrs[0]), 0, byte(len(addrs)), 0, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	out = append(out[:8:8], body...)
	out[5], out[6], out[7] = byte(len(body)>>16), byte(len(body)>>8), byte(len(body))
	return out
}

func TestParseElementStatus(t *testing.T) {
	els, err := ParseElementStatus(elementStatus([]uint16{1024, 1025}, []string{"TL0001L8", ""}))
	if err != nil {
		t.Fatal(err)
	}
	if len(els) != 2 || els[0].Type != "slot" || !els[0].Full || els[0].VolTag != "TL0001L8" || els[1].Full || els[1].Addr != 1025 {
		t.Fatalf("%+v", els)
	}
}

func FuzzParseElementStatus(f *testing.F) {
	f.Add(elementStatus([]uint16{1024, 1025}, []string{"TL0001L8", ""}))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 8, 4, 0, 0, 12, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, d []byte) {
		els, _ := ParseElementStatus(d)
		if len(els) > len(d)/12 {
			t.Fatalf("%d elements from %d bytes", len(els), len(d))
		}
	})
}
