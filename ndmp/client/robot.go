package client

import (
	"encoding/binary"
	"fmt"
	"strings"

	"tapelab/ndmp/wire"
)

// Element is one medium changer element as READ ELEMENT STATUS reports it.
type Element struct {
	Type        string `json:"type"` // arm, slot, mailslot, drive
	Addr        uint16 `json:"addr"`
	Full        bool   `json:"full"`
	VolTag      string `json:"voltag,omitempty"` // barcode
	Source      uint16 `json:"source,omitempty"`
	SourceValid bool   `json:"source_valid,omitempty"`
}

var elementTypes = map[byte]string{1: "arm", 2: "slot", 3: "mailslot", 4: "drive"}

// SCSIError is a CDB that ended with a non-GOOD status.
type SCSIError struct {
	Status    byte
	Key       byte
	ASC, ASCQ byte
}

func (e *SCSIError) Error() string {
	return fmt.Sprintf("SCSI status %#x, sense key %#x, ASC/ASCQ %02x/%02x", e.Status, e.Key, e.ASC, e.ASCQ)
}

func checkCDB(r *wire.ExecuteCDBReply, err error) (*wire.ExecuteCDBReply, error) {
	if err != nil {
		return r, err
	}
	if r.Status != 0 {
		se := &SCSIError{Status: r.Status}
		if s := r.ExtSense; len(s) >= 14 {
			se.Key, se.ASC, se.ASCQ = s[2]&0x0f, s[12], s[13]
		}
		return r, se
	}
	return r, nil
}

// ReadElementStatus reads every element of the open changer (SCSI_OPEN
// first), with volume tags.
func (c *Client) ReadElementStatus() ([]Element, error) {
	const alloc = 64 << 10
	cdb := []byte{0xB8, 0x10, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0}
	cdb[7], cdb[8], cdb[9] = byte(alloc>>16), byte(alloc>>8&0xff), byte(alloc&0xff)
	r, err := checkCDB(c.SCSIExecuteCDB(cdb, nil, alloc))
	if err != nil {
		return nil, fmt.Errorf("READ ELEMENT STATUS: %w", err)
	}
	return ParseElementStatus(r.Datain)
}

// ParseElementStatus decodes READ ELEMENT STATUS data (SMC-3 6.10).
func ParseElementStatus(d []byte) ([]Element, error) {
	if len(d) < 8 {
		return nil, fmt.Errorf("element status: %d bytes", len(d))
	}
	total := int(d[5])<<16 | int(d[6])<<8 | int(d[7])
	d = d[8:]
	if total < len(d) {
		d = d[:total]
	}
	var out []Element
	for len(d) >= 8 {
		typ, flags := d[0], d[1]
		dlen := int(binary.BigEndian.Uint16(d[2:4]))
		plen := int(d[5])<<16 | int(d[6])<<8 | int(d[7])
		page := d[8:]
		if plen > len(page) {
			plen = len(page)
		}
		page, d = page[:plen], page[plen:]
		if dlen < 12 {
			return out, fmt.Errorf("element status: descriptor length %d", dlen)
		}
		for len(page) >= dlen {
			desc := page[:dlen]
			page = page[dlen:]
			e := Element{Type: elementTypes[typ], Addr: binary.BigEndian.Uint16(desc[0:2]), Full: desc[2]&1 != 0}
			e.SourceValid = desc[9]&0x80 != 0
			e.Source = binary.BigEndian.Uint16(desc[10:12])
			if flags&0x80 != 0 && dlen >= 12+32 {
				e.VolTag = strings.TrimRight(string(desc[12:44]), " \x00")
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// MoveMedium moves a cartridge between two element addresses with the
// transport (arm) at transport.
func (c *Client) MoveMedium(transport, src, dst uint16) error {
	cdb := []byte{0xA5, 0, byte(transport >> 8), byte(transport), byte(src >> 8), byte(src), byte(dst >> 8), byte(dst), 0, 0, 0, 0}
	if _, err := checkCDB(c.SCSIExecuteCDB(cdb, nil, 0)); err != nil {
		return fmt.Errorf("MOVE MEDIUM %d -> %d: %w", src, dst, err)
	}
	return nil
}

// Transport returns the address of the changer's first arm.
func Transport(els []Element) uint16 {
	for _, e := range els {
		if e.Type == "arm" {
			return e.Addr
		}
	}
	return 0
}
