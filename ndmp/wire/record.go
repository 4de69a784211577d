package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// lastFragment is the high bit of an RPC record mark (RFC 5531 section 11).
const lastFragment = 0x80000000

// MaxRecord bounds one reassembled record. The largest legitimate NDMP
// message is a TAPE_WRITE/READ of one 256 KiB record (or a file history
// batch); 4 MiB leaves room and stops a peer from making us allocate
// gigabytes.
const MaxRecord = 4 << 20

// ErrRecordTooLarge is returned for a record (or a fragment) over the limit.
var ErrRecordTooLarge = errors.New("ndmp: record exceeds size limit")

// RecordReader reassembles RPC-record-marked records (possibly many
// fragments) from a byte stream.
type RecordReader struct {
	r   io.Reader
	max int
	buf []byte
}

// NewRecordReader reads records of at most max bytes (0 = MaxRecord).
func NewRecordReader(r io.Reader, max int) *RecordReader {
	if max <= 0 {
		max = MaxRecord
	}
	return &RecordReader{r: r, max: max}
}

// Next returns the next record. The slice is valid until the next call.
// io.EOF means a clean end between records; io.ErrUnexpectedEOF a cut.
func (rr *RecordReader) Next() ([]byte, error) {
	rr.buf = rr.buf[:0]
	var mark [4]byte
	for first := true; ; first = false {
		if _, err := io.ReadFull(rr.r, mark[:]); err != nil {
			if err == io.EOF && !first {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		m := binary.BigEndian.Uint32(mark[:])
		n := int(m &^ lastFragment)
		if len(rr.buf)+n > rr.max {
			return nil, fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, len(rr.buf)+n)
		}
		start := len(rr.buf)
		if cap(rr.buf) < start+n {
			nb := make([]byte, start, start+n)
			copy(nb, rr.buf)
			rr.buf = nb
		}
		rr.buf = rr.buf[:start+n]
		if _, err := io.ReadFull(rr.r, rr.buf[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if m&lastFragment != 0 {
			return rr.buf, nil
		}
	}
}

// AppendRecord appends rec to dst as record-marked fragments of at most
// frag bytes each (frag <= 0: one fragment).
func AppendRecord(dst, rec []byte, frag int) []byte {
	if frag <= 0 || frag > lastFragment-1 {
		frag = lastFragment - 1
	}
	for {
		n := len(rec)
		last := true
		if n > frag {
			n, last = frag, false
		}
		m := uint32(n)
		if last {
			m |= lastFragment
		}
		dst = binary.BigEndian.AppendUint32(dst, m)
		dst = append(dst, rec[:n]...)
		rec = rec[n:]
		if last {
			return dst
		}
	}
}
