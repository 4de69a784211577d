package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Kind says what an Entry is.
type Kind int

const (
	KindClri  Kind = iota // TS_CLRI: inodes in use at dump time
	KindBits              // TS_BITS: inodes on this dump
	KindInode             // TS_INODE: a file, directory, symlink or special file
	KindXattr             // an EXT_XATTR record following an inode
	KindEnd               // TS_END: end of the image
)

func (k Kind) String() string {
	return [...]string{"clri", "bits", "inode", "xattr", "end"}[k]
}

// Entry is one logical item of an image.
type Entry struct {
	Kind   Kind
	Header Header // the item's first header
	Offset int64  // byte offset of that header in the image
	Map    []byte // KindClri, KindBits: the bitmap
	Xattrs []Xattr
	// XattrErr is set when an EA record could not be decoded (the entry is
	// still returned so a restore can report it and go on).
	XattrErr error
}

// Ino is the entry's inode number.
func (e *Entry) Ino() uint32 { return e.Header.Inumber }

// Reader reads a dump image record by record. It accepts little- and
// big-endian images, the new (Linux/4.4BSD) and the old (Solaris/ONTAP)
// inode and directory formats.
type Reader struct {
	r        io.Reader
	bo       binary.ByteOrder
	old      bool
	vol      Header
	pos      int64 // byte offset in the image of the next unread byte
	consumed int64 // bytes read from the underlying reader(s)
	buf      []byte
	bufOff   int
	exact    bool // read exactly what is needed (DAR): no read-ahead

	la    *Header // a header already read but not yet returned
	laOff int64

	// the inode whose data is pending
	cur     *Header
	curOff  int64
	curDone bool
}

const readBuf = 256 << 10

// NewReader reads the volume header (TS_TAPE) and returns a reader
// positioned after it. Errors wrap ErrBadMagic, ErrBadChecksum,
// ErrTruncated or ErrNotVolume1.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{r: r}
	rec, err := rd.record()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, ErrTruncated) {
			return nil, fmt.Errorf("%w: no volume header", ErrTruncated)
		}
		return nil, err
	}
	bo, err := DetectOrder(rec)
	if err != nil {
		return nil, fmt.Errorf("reading volume header: %w", err)
	}
	rd.bo = bo
	flags := bo.Uint32(rec[888:])
	rd.old = flags&DRNewInodeFmt == 0 && bo.Uint32(rec[24:]) == NFSMagic
	if err := rd.vol.Unmarshal(rec, bo, rd.old); err != nil {
		return nil, fmt.Errorf("reading volume header: %w", err)
	}
	if rd.vol.Type != TSTape {
		return nil, fmt.Errorf("%w: first record is type %d, not a volume header", ErrFormat, rd.vol.Type)
	}
	if rd.vol.Volume != 1 {
		return nil, fmt.Errorf("%w (this is volume %d)", ErrNotVolume1, rd.vol.Volume)
	}
	if rd.vol.Flags&DRCompressed != 0 {
		return nil, ErrCompressed
	}
	return rd, nil
}

// Volume is the TS_TAPE header.
func (r *Reader) Volume() *Header { return &r.vol }

// ByteOrder is the image's byte order.
func (r *Reader) ByteOrder() binary.ByteOrder { return r.bo }

// OldFormat reports an image without DR_NEWINODEFMT (Solaris/ONTAP style).
func (r *Reader) OldFormat() bool { return r.old }

// Consumed is the number of bytes read from the underlying stream(s).
func (r *Reader) Consumed() int64 { return r.consumed }

// Pos is the image offset of the next unread record.
func (r *Reader) Pos() int64 { return r.pos }

// Reposition makes the reader continue at image offset off, reading from
// stream (which must deliver the image from off on, as after a DAR seek).
// Buffered data is dropped. With exact set, the reader never reads ahead of
// the records it needs, so a stream limited to a byte range is not
// over-read.
func (r *Reader) Reposition(stream io.Reader, off int64, exact bool) {
	r.r = stream
	r.pos = off
	r.buf = r.buf[:0]
	r.bufOff = 0
	r.exact = exact
	r.la = nil
	r.cur = nil
}

// SetExact switches read-ahead off (true) or on.
func (r *Reader) SetExact(exact bool) { r.exact = exact }

// record returns the next 1 KiB record (valid until the next call).
func (r *Reader) record() ([]byte, error) {
	if r.bufOff+TPBSize > len(r.buf) {
		rest := copy(r.buf[:cap(r.buf)], r.buf[r.bufOff:])
		if cap(r.buf) < readBuf {
			nb := make([]byte, rest, readBuf)
			copy(nb, r.buf[r.bufOff:])
			r.buf = nb
		} else {
			r.buf = r.buf[:rest]
		}
		r.bufOff = 0
		want := TPBSize
		if !r.exact {
			want = cap(r.buf)
		}
		for len(r.buf) < TPBSize {
			n, err := r.r.Read(r.buf[len(r.buf):want])
			r.buf = r.buf[:len(r.buf)+n]
			r.consumed += int64(n)
			if err != nil {
				if len(r.buf) >= TPBSize {
					break
				}
				if errors.Is(err, io.EOF) {
					if len(r.buf) == 0 {
						return nil, io.EOF
					}
					return nil, fmt.Errorf("%w: partial record at offset %d", ErrTruncated, r.pos)
				}
				return nil, err
			}
		}
	}
	rec := r.buf[r.bufOff : r.bufOff+TPBSize]
	r.bufOff += TPBSize
	r.pos += TPBSize
	return rec, nil
}

// header reads and checks the next header.
func (r *Reader) header() (*Header, int64, error) {
	if r.la != nil {
		h, off := r.la, r.laOff
		r.la = nil
		return h, off, nil
	}
	off := r.pos
	rec, err := r.record()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, off, fmt.Errorf("%w: image ends at offset %d without an end record", ErrTruncated, off)
		}
		return nil, off, err
	}
	h := new(Header)
	if err := h.Unmarshal(rec, r.bo, r.old); err != nil {
		return nil, off, fmt.Errorf("header at offset %d (record %d): %w", off, off/TPBSize, err)
	}
	if h.Date != r.vol.Date {
		return nil, off, fmt.Errorf("%w: header at offset %d belongs to another dump (date %d, expected %d)", ErrFormat, off, h.Date, r.vol.Date)
	}
	if h.Type == TSTape {
		return nil, off, fmt.Errorf("%w: volume header at offset %d (multi-volume images are not supported in one stream)", ErrFormat, off)
	}
	return h, off, nil
}

// Next returns the next entry. Unread data of the previous inode is
// skipped. After KindEnd, Next returns io.EOF.
func (r *Reader) Next() (*Entry, error) {
	if r.cur != nil && !r.curDone {
		if err := r.ReadData(func(int64, []byte) error { return nil }); err != nil {
			return nil, err
		}
	}
	r.cur = nil
	h, off, err := r.header()
	if err != nil {
		return nil, err
	}
	e := &Entry{Header: *h, Offset: off}
	switch h.Type {
	case TSEnd:
		e.Kind = KindEnd
		return e, nil
	case TSClri, TSBits:
		e.Kind = KindClri
		if h.Type == TSBits {
			e.Kind = KindBits
		}
		if h.Count > 1<<20 {
			return nil, fmt.Errorf("%w: inode map of %d records", ErrFormat, h.Count)
		}
		for i := int32(0); i < h.Count; i++ {
			rec, err := r.record()
			if err != nil {
				return nil, r.eofErr(err, "inode map")
			}
			e.Map = append(e.Map, rec...)
		}
		return e, nil
	case TSAddr:
		return nil, fmt.Errorf("%w: continuation header for inode %d at offset %d without an inode header", ErrFormat, h.Inumber, off)
	}
	if h.IsXattr() {
		e.Kind = KindXattr
		if h.ExtAttr != ExtXattr {
			// unknown extended attribute kind (e.g. Mac resource fork): skip
			r.cur, r.curOff, r.curDone = h, off, false
			e.XattrErr = fmt.Errorf("%w: unsupported extended attribute kind %d", ErrFormat, h.ExtAttr)
			return e, nil
		}
		if h.Inode.Size > 1<<20 {
			return nil, fmt.Errorf("%w: EA record of %d bytes", ErrFormat, h.Inode.Size)
		}
		r.cur, r.curOff, r.curDone = h, off, false
		blob, err := r.ReadAll(1 << 20)
		if err != nil {
			return nil, err
		}
		e.Xattrs, e.XattrErr = DecodeXattrs(blob)
		return e, nil
	}
	if h.Inode.Mode&IFMT == IFSHAD {
		// Solaris ACL shadow inode: not understood, skipped like ufsrestore's
		// foreign readers do.
		r.cur, r.curOff, r.curDone = h, off, false
		e.Kind = KindXattr
		e.XattrErr = fmt.Errorf("%w: Solaris ACL shadow inode skipped", ErrFormat)
		return e, nil
	}
	e.Kind = KindInode
	r.cur, r.curOff, r.curDone = h, off, false
	return e, nil
}

func (r *Reader) eofErr(err error, what string) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: image ends inside %s at offset %d", ErrTruncated, what, r.pos)
	}
	return err
}

// ReadData streams the current inode's data to fn in file order: off is the
// file offset of p; holes are not delivered (fn is not called for them);
// data past the inode size is dropped. p is only valid during the call.
// Calling it again after the data was read is a no-op.
func (r *Reader) ReadData(fn func(off int64, p []byte) error) error {
	if r.cur == nil || r.curDone {
		return nil
	}
	h := r.cur
	size := int64(h.Inode.Size)
	ino := h.Inumber
	var blk int64 // block index of the first entry of the current window
	for {
		for i := 0; i < int(h.Count); i++ {
			if h.Addr[i] == 0 {
				continue
			}
			rec, err := r.record()
			if err != nil {
				r.curDone = true
				return r.eofErr(err, fmt.Sprintf("inode %d", ino))
			}
			off := (blk + int64(i)) * TPBSize
			if off >= size {
				continue
			}
			n := min(int64(TPBSize), size-off)
			if err := fn(off, rec[:n]); err != nil {
				r.curDone = true
				return err
			}
		}
		blk += int64(h.Count)
		// a continuation header follows?
		next, noff, err := r.header()
		if err != nil {
			if errors.Is(err, ErrTruncated) && r.exact {
				// DAR read of a byte range that ends with this inode
				r.curDone = true
				return nil
			}
			r.curDone = true
			return err
		}
		if next.Type == TSAddr && next.Inumber == ino {
			h = next
			continue
		}
		r.la, r.laOff = next, noff
		r.curDone = true
		return nil
	}
}

// ReadAll returns the current inode's data with holes as zeros; an inode
// larger than limit fails.
func (r *Reader) ReadAll(limit int64) ([]byte, error) {
	if r.cur == nil {
		return nil, nil
	}
	size := int64(r.cur.Inode.Size)
	if size > limit {
		return nil, fmt.Errorf("%w: inode %d of %d bytes exceeds %d", ErrFormat, r.cur.Inumber, size, limit)
	}
	out := make([]byte, 0, min(size, 64<<10))
	err := r.ReadData(func(off int64, p []byte) error {
		if end := int(off) + len(p); end > len(out) {
			if end > cap(out) {
				out = append(out[:cap(out)], make([]byte, max(end, 2*cap(out))-cap(out))...)
			}
			out = out[:end]
		}
		copy(out[off:], p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if int64(len(out)) < size {
		out = append(out, make([]byte, size-int64(len(out)))...)
	}
	return out[:size], nil
}

// ReadDir reads the current inode as a directory.
func (r *Reader) ReadDir() ([]Dirent, error) {
	data, err := r.ReadAll(64 << 20)
	if err != nil {
		return nil, err
	}
	return DecodeDir(data, r.bo, r.old)
}
