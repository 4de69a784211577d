package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// VolumeInfo is what every header of an image repeats.
type VolumeInfo struct {
	Date    time.Time // c_date, the time of this dump
	DDate   time.Time // c_ddate, the base dump's time (zero for level 0)
	Level   int
	Label   string // c_label, 15 bytes max ("none" when empty)
	Filesys string
	Dev     string
	Host    string
	// Ntrec is the number of records per tape block (blocking factor, 1-1024,
	// default 10 as Linux dump). The image is padded with TS_END records to a
	// multiple of Ntrec records.
	Ntrec int
	// BigEndian writes every header field in big-endian order.
	BigEndian bool
	// OldFormat writes the Solaris/ONTAP flavour: c_flags DR_NEWHEADER only,
	// Solaris dinode (32-bit ids at 148/152), 4.3BSD directory entries.
	OldFormat bool
}

// Extent is a range of a file that holds data; everything else is a hole.
type Extent struct {
	Off, Len int64
}

// Writer writes one dump image. Calls must follow the order restore
// requires: NewWriter (TS_TAPE), WriteMap(TSClri), WriteMap(TSBits),
// directories in ascending inode order, then other inodes in ascending
// inode order, each optionally followed by WriteXattrs, then Close.
type Writer struct {
	w     io.Writer
	bo    binary.ByteOrder
	info  VolumeInfo
	tmpl  Header
	rec   uint32 // index of the next record
	buf   []byte
	maxNo uint32
	err   error
	n     int64
}

const writeBuf = 256 << 10

// NewWriter starts an image on w and writes the TS_TAPE volume header.
func NewWriter(w io.Writer, info VolumeInfo) (*Writer, error) {
	if info.Ntrec == 0 {
		info.Ntrec = 10
	}
	if info.Ntrec < 1 || info.Ntrec > 1024 {
		return nil, fmt.Errorf("dump: blocking factor %d out of range", info.Ntrec)
	}
	if info.Label == "" {
		info.Label = "none"
	}
	wr := &Writer{w: w, info: info, buf: make([]byte, 0, writeBuf)}
	wr.bo = binary.LittleEndian
	if info.BigEndian {
		wr.bo = binary.BigEndian
	}
	wr.tmpl = Header{
		Date:    uint32(info.Date.Unix()),
		Volume:  1,
		Label:   info.Label,
		Level:   int32(info.Level),
		Filesys: info.Filesys,
		Dev:     info.Dev,
		Host:    info.Host,
		Ntrec:   int32(info.Ntrec),
	}
	if !info.DDate.IsZero() {
		wr.tmpl.DDate = uint32(info.DDate.Unix())
	}
	h := wr.header(TSTape, 0)
	h.Flags = DRNewHeader | wr.inodeFmtFlag()
	wr.putHeader(h)
	return wr, wr.err
}

func (w *Writer) inodeFmtFlag() int32 {
	if w.info.OldFormat {
		return 0
	}
	return DRNewInodeFmt
}

func (w *Writer) header(typ int32, ino uint32) *Header {
	h := w.tmpl
	h.Type = typ
	h.Inumber = ino
	h.Flags = w.inodeFmtFlag()
	return &h
}

// Offset is the byte offset of the next record in the image (the position
// a file history FhInfo records for the next inode).
func (w *Writer) Offset() int64 { return int64(w.rec) * TPBSize }

// Written is the number of bytes handed to the underlying writer so far.
func (w *Writer) Written() int64 { return w.n }

// ByteOrder is the order headers are written in.
func (w *Writer) ByteOrder() binary.ByteOrder { return w.bo }

func (w *Writer) flush() {
	if w.err != nil || len(w.buf) == 0 {
		w.buf = w.buf[:0]
		return
	}
	n, err := w.w.Write(w.buf)
	w.n += int64(n)
	if err == nil && n != len(w.buf) {
		err = io.ErrShortWrite
	}
	w.err = err
	w.buf = w.buf[:0]
}

// reserve returns space for n records at the end of the buffer.
func (w *Writer) reserve(n int) []byte {
	if len(w.buf)+n*TPBSize > cap(w.buf) {
		w.flush()
		if n*TPBSize > cap(w.buf) {
			w.buf = make([]byte, 0, n*TPBSize)
		}
	}
	l := len(w.buf)
	w.buf = w.buf[:l+n*TPBSize]
	w.rec += uint32(n)
	return w.buf[l:]
}

func (w *Writer) putHeader(h *Header) {
	h.Tapea = w.rec
	rec := w.reserve(1)
	h.Marshal(rec, w.bo, w.info.OldFormat)
}

func (w *Writer) putData(p []byte) {
	rec := w.reserve(1)
	n := copy(rec, p)
	clear(rec[n:])
}

// WriteMap writes a TS_CLRI (inodes in use) or TS_BITS (inodes on this
// dump) header and its bitmap. maxino is the highest inode number + 1;
// bitmap bit n-1 stands for inode n (see SetBit).
func (w *Writer) WriteMap(typ int32, maxino uint32, bitmap []byte) error {
	if typ != TSClri && typ != TSBits {
		return fmt.Errorf("dump: WriteMap of type %d", typ)
	}
	size := MapSize(maxino)
	if len(bitmap) > size {
		return fmt.Errorf("dump: bitmap of %d bytes for maxino %d", len(bitmap), maxino)
	}
	if maxino > w.maxNo {
		w.maxNo = maxino
	}
	ino := maxino - 1
	if typ == TSBits {
		ino = RootIno
	}
	h := w.header(typ, ino)
	h.Inode.Size = uint64(size)
	h.Count = int32(size / TPBSize)
	for i := 0; i < int(h.Count) && i < TPNIndir; i++ {
		h.Addr[i] = 1
	}
	w.putHeader(h)
	for off := 0; off < size; off += TPBSize {
		if off < len(bitmap) {
			w.putData(bitmap[off:min(off+TPBSize, len(bitmap))])
		} else {
			w.putData(nil)
		}
	}
	return w.err
}

// MapSize is the length of an inode bitmap for maxino: whole records.
func MapSize(maxino uint32) int {
	n := (int(maxino) + 7) / 8
	return (n + TPBSize - 1) / TPBSize * TPBSize
}

// SetBit marks inode ino in a bitmap.
func SetBit(bitmap []byte, ino uint32) { bitmap[(ino-1)/8] |= 1 << ((ino - 1) % 8) }

// TestBit reports whether inode ino is marked in a bitmap.
func TestBit(bitmap []byte, ino uint32) bool {
	if ino == 0 || int((ino-1)/8) >= len(bitmap) {
		return false
	}
	return bitmap[(ino-1)/8]&(1<<((ino-1)%8)) != 0
}

// writeInode writes headers and data records for ino. nblk is the number
// of 1 KiB blocks; present reports whether block i has a data record; fill
// copies the data of the blocks [first, first+n) (all present) into dst.
func (w *Writer) writeInode(h *Header, nblk int64, present func(i int64) bool, fill func(dst []byte, first int64) error) error {
	if nblk == 0 {
		w.putHeader(h)
		return w.err
	}
	typ := h.Type
	for base := int64(0); base < nblk; base += TPNIndir {
		n := min(nblk-base, TPNIndir)
		hh := *h
		hh.Type = typ
		hh.Count = int32(n)
		for i := int64(0); i < n; i++ {
			if present(base + i) {
				hh.Addr[i] = 1
			}
		}
		w.putHeader(&hh)
		typ = TSAddr
		// data records, in runs of consecutive present blocks
		for i := int64(0); i < n; {
			if hh.Addr[i] == 0 {
				i++
				continue
			}
			j := i
			for j < n && hh.Addr[j] != 0 {
				j++
			}
			for k := i; k < j; {
				run := min(j-k, int64(writeBuf/TPBSize))
				dst := w.reserve(int(run))
				if err := fill(dst, base+k); err != nil {
					return err
				}
				k += run
			}
			i = j
		}
		if w.err != nil {
			return w.err
		}
	}
	return w.err
}

func blocksOf(size uint64) int64 { return int64((size + TPBSize - 1) / TPBSize) }

// WriteFile writes a regular file of in.Size bytes read from data. extents
// lists the ranges holding data (nil: the whole file); 1 KiB blocks that
// no extent touches are written as holes.
func (w *Writer) WriteFile(ino uint32, in Dinode, data io.ReaderAt, extents []Extent) error {
	h := w.header(TSInode, ino)
	h.Inode = in
	size := int64(in.Size)
	nblk := blocksOf(in.Size)
	var bits []bool
	if extents != nil {
		bits = make([]bool, nblk)
		for _, e := range extents {
			if e.Len <= 0 {
				continue
			}
			first := max(e.Off/TPBSize, 0)
			last := min((e.Off+e.Len-1)/TPBSize, nblk-1)
			for i := first; i <= last; i++ {
				bits[i] = true
			}
		}
	}
	present := func(i int64) bool { return bits == nil || bits[i] }
	fill := func(dst []byte, first int64) error {
		off := first * TPBSize
		want := min(int64(len(dst)), size-off)
		n, err := data.ReadAt(dst[:want], off)
		if int64(n) < want {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("dump: reading inode %d at %d: %w", ino, off+int64(n), err)
		}
		clear(dst[want:])
		return nil
	}
	return w.writeInode(h, nblk, present, fill)
}

// writeBytes writes an inode whose whole content is p (directories,
// symlinks).
func (w *Writer) writeBytes(h *Header, p []byte) error {
	fill := func(dst []byte, first int64) error {
		n := copy(dst, p[first*TPBSize:])
		clear(dst[n:])
		return nil
	}
	return w.writeInode(h, blocksOf(uint64(len(p))), func(int64) bool { return true }, fill)
}

// WriteDir writes a directory; entries must begin with "." and "..".
// in.Size is replaced by the converted directory's length.
func (w *Writer) WriteDir(ino uint32, in Dinode, entries []Dirent) error {
	var data []byte
	var err error
	if w.info.OldFormat {
		data, err = encodeOldDir(entries, w.bo)
	} else {
		data, err = EncodeDir(entries, w.bo)
	}
	if err != nil {
		return err
	}
	h := w.header(TSInode, ino)
	h.Inode = in
	h.Inode.Size = uint64(len(data))
	return w.writeBytes(h, data)
}

// WriteSymlink writes a symbolic link; in.Size is set to len(target).
func (w *Writer) WriteSymlink(ino uint32, in Dinode, target string) error {
	h := w.header(TSInode, ino)
	h.Inode = in
	h.Inode.Size = uint64(len(target))
	return w.writeBytes(h, []byte(target))
}

// WriteSpecial writes a device node, FIFO or socket (header only; the
// device number is in in.Rdev).
func (w *Writer) WriteSpecial(ino uint32, in Dinode) error {
	h := w.header(TSInode, ino)
	h.Inode = in
	h.Inode.Size = 0
	w.putHeader(h)
	return w.err
}

// WriteXattrs writes the EXT_XATTR record(s) that follow an inode, in Linux
// dump's form. It returns the names of attributes that could not be stored.
func (w *Writer) WriteXattrs(ino uint32, in Dinode, attrs []Xattr) ([]string, error) {
	if len(attrs) == 0 {
		return nil, nil
	}
	blobs, skipped := EncodeXattrs(attrs)
	for _, b := range blobs {
		h := w.header(TSInode, ino)
		h.Inode = in
		h.Inode.Size = uint64(len(b))
		h.Flags |= DRExtAttributes
		h.ExtAttr = ExtXattr
		if err := w.writeBytes(h, b); err != nil {
			return skipped, err
		}
	}
	return skipped, w.err
}

// Close writes the TS_END trailer, padded to a multiple of Ntrec records,
// and flushes. It does not close the underlying writer.
func (w *Writer) Close() error {
	ino := w.maxNo
	if ino > 0 {
		ino--
	}
	pad := w.info.Ntrec - int(w.rec)%w.info.Ntrec
	for i := 0; i < pad; i++ {
		w.putHeader(w.header(TSEnd, ino))
	}
	w.flush()
	return w.err
}

// encodeOldDir writes 4.3BSD directory entries {u32 ino; u16 reclen; u16
// namlen; name NUL-padded to 4} in 512-byte chunks.
func encodeOldDir(entries []Dirent, bo binary.ByteOrder) ([]byte, error) {
	data, err := EncodeDir(entries, bo)
	if err != nil {
		return nil, err
	}
	// Same layout except bytes 6-7: rewrite type+namlen as a u16 namlen.
	for chunk := 0; chunk < len(data); chunk += DirBlkSize {
		for off := chunk; off < chunk+DirBlkSize; {
			reclen := int(bo.Uint16(data[off+4:]))
			namlen := data[off+7]
			bo.PutUint16(data[off+6:], uint16(namlen))
			off += reclen
		}
	}
	return data, nil
}
