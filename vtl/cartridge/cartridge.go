package cartridge

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/klauspost/compress/s2"
	"golang.org/x/sys/unix"
)

// File names inside a cartridge directory.
const (
	MetaFile  = "meta.json"
	IndexFile = "index"
	DataFile  = "data"
)

// Layout constants (see doc.go).
const (
	fileHeaderSize = 32
	entrySize      = 32
	recHeaderSize  = 40
	recMagic       = 0x56524543 // "VREC"
	indexMagic     = "VTLIDX01"
	dataMagic      = "VTLDAT01"
	formatVersion  = 1
	// flushEvery bounds how many index entries stay in memory only; the
	// data log is self-describing, so unflushed entries are rebuilt on open.
	flushEvery = 512
	// MaxRecord is the largest record the format stores.
	MaxRecord = 64 << 20
)

// Object types.
const (
	TypeData     byte = 1
	TypeFilemark byte = 2
)

// Record flags.
const (
	FlagS2 byte = 1 // payload compressed with S2 (klauspost/compress)
)

// Errors.
var (
	ErrCorrupt = errors.New("cartridge: corrupt")
	ErrBadData = errors.New("cartridge: record checksum mismatch")
	ErrRange   = errors.New("cartridge: object number out of range")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Counters are usage counters kept in meta.json.
type Counters struct {
	Loads        uint64 `json:"loads"`
	BytesWritten uint64 `json:"bytes_written"`
	BytesRead    uint64 `json:"bytes_read"`
	WriteErrors  uint64 `json:"write_errors"`
	ReadErrors   uint64 `json:"read_errors"`
}

// Meta is the cartridge's descriptive data (meta.json).
type Meta struct {
	Version        int       `json:"version"`
	Barcode        string    `json:"barcode"`
	MediaType      string    `json:"media_type"`
	Density        byte      `json:"density"`
	Capacity       int64     `json:"capacity"`
	EarlyWarning   int64     `json:"early_warning"` // bytes used at which early warning begins
	WORM           bool      `json:"worm,omitempty"`
	WriteProtected bool      `json:"write_protected,omitempty"`
	Created        time.Time `json:"created"`
	Counters       Counters  `json:"counters"`
}

// Entry is one object (record or filemark) of the index.
type Entry struct {
	Offset int64 // offset of the record header in the data file
	ULen   uint32
	SLen   uint32
	CRC    uint32 // CRC-32C of the stored payload
	Type   byte
	Flags  byte
}

func (e Entry) end() int64 { return e.Offset + recHeaderSize + int64(e.SLen) }

// Cartridge is an open cartridge. It is not safe for concurrent use.
type Cartridge struct {
	dir       string
	meta      Meta
	idx, data *os.File
	gen       uint64
	entries   []Entry
	filemarks []uint64 // object numbers of filemarks, ascending
	flushed   int      // entries persisted in the index file
	used      int64    // sum of stored payload bytes
	hdr       [recHeaderSize]byte
	scratch   []byte
	enc       []byte
	// Recovered reports what Open repaired (torn tail records dropped, index entries rebuilt).
	Recovered RecoveryReport
}

// RecoveryReport says what Open repaired.
type RecoveryReport struct {
	RebuiltEntries int   // records found in the data log beyond the index
	DroppedEntries int   // index entries that were invalid
	TruncatedBytes int64 // torn bytes cut from the end of the data log
}

// Create makes a new blank cartridge in dir (which must not hold one).
func Create(dir string, m Meta) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, MetaFile)); err == nil {
		return fmt.Errorf("cartridge %s: %w", dir, os.ErrExist)
	}
	m.Version = formatVersion
	for _, f := range []struct {
		name, magic string
	}{{IndexFile, indexMagic}, {DataFile, dataMagic}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), fileHeader(f.magic, 0), 0o644); err != nil {
			return err
		}
	}
	return WriteMeta(dir, m)
}

func fileHeader(magic string, gen uint64) []byte {
	b := make([]byte, fileHeaderSize)
	copy(b, magic)
	binary.BigEndian.PutUint32(b[8:], formatVersion)
	binary.BigEndian.PutUint64(b[16:], gen)
	binary.BigEndian.PutUint32(b[28:], crc(b[:28]))
	return b
}

func parseFileHeader(b []byte, magic string) (gen uint64, err error) {
	if len(b) < fileHeaderSize || string(b[:8]) != magic || binary.BigEndian.Uint32(b[28:]) != crc(b[:28]) {
		return 0, fmt.Errorf("%w: bad %s header", ErrCorrupt, magic)
	}
	if v := binary.BigEndian.Uint32(b[8:]); v != formatVersion {
		return 0, fmt.Errorf("%w: unsupported version %d", ErrCorrupt, v)
	}
	return binary.BigEndian.Uint64(b[16:]), nil
}

// WriteMeta writes meta.json atomically (temporary file + rename).
func WriteMeta(dir string, m Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, MetaFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, MetaFile))
}

// ReadMeta reads meta.json.
func ReadMeta(dir string) (Meta, error) {
	var m Meta
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrCorrupt, MetaFile, err)
	}
	return m, nil
}

// Open opens the cartridge in dir, checks the index against the data log and
// repairs what a crash can leave behind: index entries never flushed are
// rebuilt from the self-describing data log, and a torn record at the end
// is cut off.
func Open(dir string) (*Cartridge, error) {
	m, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}
	c := &Cartridge{dir: dir, meta: m}
	if c.idx, err = os.OpenFile(filepath.Join(dir, IndexFile), os.O_RDWR, 0); err != nil {
		return nil, err
	}
	if c.data, err = os.OpenFile(filepath.Join(dir, DataFile), os.O_RDWR, 0); err != nil {
		c.idx.Close()
		return nil, err
	}
	if err := c.load(); err != nil {
		c.idx.Close()
		c.data.Close()
		return nil, fmt.Errorf("cartridge %s: %w", m.Barcode, err)
	}
	return c, nil
}

func (c *Cartridge) load() error {
	var h [fileHeaderSize]byte
	if _, err := c.data.ReadAt(h[:], 0); err != nil {
		return fmt.Errorf("%w: data header: %v", ErrCorrupt, err)
	}
	if _, err := parseFileHeader(h[:], dataMagic); err != nil {
		return err
	}
	dataSize, err := c.data.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	ib, err := io.ReadAll(io.NewSectionReader(c.idx, 0, 1<<62))
	if err != nil {
		return err
	}
	gen, err := parseFileHeader(ib, indexMagic)
	if err != nil {
		// The index header is damaged: rebuild everything from the data log.
		gen = 0
		ib = fileHeader(indexMagic, 0)
		if _, err := c.idx.WriteAt(ib, 0); err != nil {
			return err
		}
		c.Recovered.DroppedEntries = -1
	}
	c.gen = gen
	next := int64(fileHeaderSize)
	nent := (len(ib) - fileHeaderSize) / entrySize
	for i := 0; i < nent; i++ {
		b := ib[fileHeaderSize+i*entrySize:][:entrySize]
		e, ok := decodeEntry(b)
		if !ok || e.Offset != next || e.end() > dataSize || (e.Type == TypeFilemark && (e.SLen != 0 || e.ULen != 0)) {
			if c.Recovered.DroppedEntries >= 0 {
				c.Recovered.DroppedEntries += nent - i
			}
			break
		}
		c.addEntry(e)
		next = e.end()
	}
	c.flushed = len(c.entries)
	// Rebuild entries the index never got (the data log is authoritative
	// beyond the index), accepting only intact records of this generation.
	for next < dataSize {
		e, ok := c.scanRecord(next, dataSize)
		if !ok {
			break
		}
		c.addEntry(e)
		c.Recovered.RebuiltEntries++
		next = e.end()
	}
	if next < dataSize {
		c.Recovered.TruncatedBytes = dataSize - next
		if err := c.data.Truncate(next); err != nil {
			return err
		}
	}
	if err := c.idx.Truncate(int64(fileHeaderSize + c.flushed*entrySize)); err != nil {
		return err
	}
	return c.flush()
}

func (c *Cartridge) scanRecord(off, size int64) (Entry, bool) {
	var h [recHeaderSize]byte
	if off+recHeaderSize > size {
		return Entry{}, false
	}
	if _, err := c.data.ReadAt(h[:], off); err != nil {
		return Entry{}, false
	}
	if binary.BigEndian.Uint32(h[0:]) != recMagic || binary.BigEndian.Uint32(h[36:]) != crc(h[:36]) {
		return Entry{}, false
	}
	e := Entry{Offset: off, Type: h[4], Flags: h[5], ULen: binary.BigEndian.Uint32(h[8:]),
		SLen: binary.BigEndian.Uint32(h[12:]), CRC: binary.BigEndian.Uint32(h[32:])}
	seq := binary.BigEndian.Uint64(h[16:])
	gen := binary.BigEndian.Uint64(h[24:])
	if seq != uint64(len(c.entries)) || gen != c.gen || e.end() > size || e.SLen > MaxRecord || e.ULen > MaxRecord {
		return Entry{}, false
	}
	switch e.Type {
	case TypeFilemark:
		if e.SLen != 0 || e.ULen != 0 {
			return Entry{}, false
		}
	case TypeData:
		p := make([]byte, e.SLen)
		if _, err := c.data.ReadAt(p, off+recHeaderSize); err != nil || crc(p) != e.CRC {
			return Entry{}, false
		}
	default:
		return Entry{}, false
	}
	return e, true
}

func decodeEntry(b []byte) (Entry, bool) {
	if binary.BigEndian.Uint32(b[28:]) != crc(b[:28]) {
		return Entry{}, false
	}
	e := Entry{
		Offset: int64(binary.BigEndian.Uint64(b[0:])),
		ULen:   binary.BigEndian.Uint32(b[8:]),
		SLen:   binary.BigEndian.Uint32(b[12:]),
		CRC:    binary.BigEndian.Uint32(b[16:]),
		Type:   b[20],
		Flags:  b[21],
	}
	if (e.Type != TypeData && e.Type != TypeFilemark) || e.SLen > MaxRecord || e.ULen > MaxRecord || e.Offset < 0 {
		return Entry{}, false
	}
	return e, true
}

func encodeEntry(b []byte, e Entry) {
	binary.BigEndian.PutUint64(b[0:], uint64(e.Offset))
	binary.BigEndian.PutUint32(b[8:], e.ULen)
	binary.BigEndian.PutUint32(b[12:], e.SLen)
	binary.BigEndian.PutUint32(b[16:], e.CRC)
	b[20], b[21] = e.Type, e.Flags
	b[22], b[23] = 0, 0
	binary.BigEndian.PutUint32(b[24:], 0)
	binary.BigEndian.PutUint32(b[28:], crc(b[:28]))
}

func (c *Cartridge) addEntry(e Entry) {
	if e.Type == TypeFilemark {
		c.filemarks = append(c.filemarks, uint64(len(c.entries)))
	}
	c.entries = append(c.entries, e)
	c.used += int64(e.SLen)
}

// flush persists index entries not yet in the index file.
func (c *Cartridge) flush() error {
	if c.flushed >= len(c.entries) {
		return nil
	}
	b := make([]byte, (len(c.entries)-c.flushed)*entrySize)
	for i, e := range c.entries[c.flushed:] {
		encodeEntry(b[i*entrySize:], e)
	}
	if _, err := c.idx.WriteAt(b, int64(fileHeaderSize+c.flushed*entrySize)); err != nil {
		return err
	}
	c.flushed = len(c.entries)
	return nil
}

// Meta returns the descriptive data.
func (c *Cartridge) Meta() Meta { return c.meta }

// SetMeta replaces the descriptive data and writes meta.json.
func (c *Cartridge) SetMeta(m Meta) error {
	m.Version = formatVersion
	c.meta = m
	return WriteMeta(c.dir, m)
}

// Dir is the cartridge directory.
func (c *Cartridge) Dir() string { return c.dir }

// Objects is the number of objects (records and filemarks): the EOD position.
func (c *Cartridge) Objects() uint64 { return uint64(len(c.entries)) }

// Used is the number of payload bytes stored (after compression).
func (c *Cartridge) Used() int64 { return c.used }

// Filemarks is the number of filemarks.
func (c *Cartridge) Filemarks() uint64 { return uint64(len(c.filemarks)) }

// Entry returns object i.
func (c *Cartridge) Entry(i uint64) (Entry, error) {
	if i >= uint64(len(c.entries)) {
		return Entry{}, ErrRange
	}
	return c.entries[i], nil
}

// FileNumber is the number of filemarks before object i (O(log n)).
func (c *Cartridge) FileNumber(i uint64) uint64 {
	return uint64(sort.Search(len(c.filemarks), func(k int) bool { return c.filemarks[k] >= i }))
}

// FilemarkAt returns the object number of the k-th filemark (0-based).
func (c *Cartridge) FilemarkAt(k uint64) (uint64, bool) {
	if k >= uint64(len(c.filemarks)) {
		return 0, false
	}
	return c.filemarks[k], true
}

// Read reads data record i into buf. It returns the bytes copied and the
// record's full (uncompressed) length; a record longer than buf fills buf.
// The stored payload is checked against its CRC before anything is
// returned, so damaged data is an error, never returned as data.
func (c *Cartridge) Read(i uint64, buf []byte) (n int, length int, err error) {
	if i >= uint64(len(c.entries)) {
		return 0, 0, ErrRange
	}
	e := c.entries[i]
	if e.Type != TypeData {
		return 0, 0, fmt.Errorf("cartridge: object %d is not a data record", i)
	}
	length = int(e.ULen)
	var stored []byte
	direct := e.Flags&FlagS2 == 0 && len(buf) >= int(e.SLen)
	if direct {
		stored = buf[:e.SLen]
	} else {
		if cap(c.scratch) < int(e.SLen) {
			c.scratch = make([]byte, e.SLen)
		}
		stored = c.scratch[:e.SLen]
	}
	if _, err := c.data.ReadAt(stored, e.Offset+recHeaderSize); err != nil {
		return 0, length, fmt.Errorf("%w: object %d: %v", ErrBadData, i, err)
	}
	if crc(stored) != e.CRC {
		return 0, length, fmt.Errorf("%w: object %d", ErrBadData, i)
	}
	if direct {
		return length, length, nil
	}
	plain := stored
	if e.Flags&FlagS2 != 0 {
		if l, err := s2.DecodedLen(stored); err != nil || l != length {
			return 0, length, fmt.Errorf("%w: object %d: bad compressed length", ErrBadData, i)
		}
		if len(buf) >= length {
			plain, err = s2.Decode(buf[:length], stored)
		} else {
			c.enc = growTo(c.enc, length)
			plain, err = s2.Decode(c.enc[:length], stored)
		}
		if err != nil || len(plain) != length {
			return 0, length, fmt.Errorf("%w: object %d: decompress: %v", ErrBadData, i, err)
		}
	}
	n = copy(buf, plain)
	return n, length, nil
}

func growTo(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// Truncate discards objects i and after (a write in the middle of the tape).
func (c *Cartridge) Truncate(i uint64) error {
	if i >= uint64(len(c.entries)) {
		return nil
	}
	// A new generation first: records of the old tail left in the data log
	// by a crash between the steps below are then never rebuilt.
	c.gen++
	if _, err := c.idx.WriteAt(fileHeader(indexMagic, c.gen), 0); err != nil {
		return err
	}
	if int(i) < c.flushed {
		c.flushed = int(i)
	}
	if err := c.idx.Truncate(int64(fileHeaderSize + c.flushed*entrySize)); err != nil {
		return err
	}
	off := c.entries[i].Offset
	if err := c.data.Truncate(off); err != nil {
		return err
	}
	for _, e := range c.entries[i:] {
		c.used -= int64(e.SLen)
	}
	c.entries = c.entries[:i]
	k := sort.Search(len(c.filemarks), func(k int) bool { return c.filemarks[k] >= i })
	c.filemarks = c.filemarks[:k]
	return nil
}

func (c *Cartridge) end() int64 {
	if len(c.entries) == 0 {
		return fileHeaderSize
	}
	return c.entries[len(c.entries)-1].end()
}

// AppendRecord appends a data record at EOD. With compress, the payload is
// stored S2-compressed when that makes it smaller. It returns the stored size.
func (c *Cartridge) AppendRecord(p []byte, compress bool) (int, error) {
	if len(p) == 0 || len(p) > MaxRecord {
		return 0, fmt.Errorf("cartridge: record length %d out of range", len(p))
	}
	stored, flags := p, byte(0)
	if compress {
		c.enc = growTo(c.enc, s2.MaxEncodedLen(len(p)))
		if z := s2.Encode(c.enc, p); len(z) < len(p) {
			stored, flags = z, FlagS2
		}
	}
	e := Entry{Offset: c.end(), ULen: uint32(len(p)), SLen: uint32(len(stored)), CRC: crc(stored), Type: TypeData, Flags: flags}
	if err := c.appendObject(e, stored); err != nil {
		return 0, err
	}
	return len(stored), nil
}

// AppendFilemark appends a filemark at EOD.
func (c *Cartridge) AppendFilemark() error {
	return c.appendObject(Entry{Offset: c.end(), Type: TypeFilemark}, nil)
}

// AppendFilemarks appends n filemarks at EOD with one write.
func (c *Cartridge) AppendFilemarks(n int) error {
	if n <= 0 {
		return nil
	}
	off := c.end()
	buf := make([]byte, 0, n*recHeaderSize)
	var es []Entry
	for i := 0; i < n; i++ {
		e := Entry{Offset: off + int64(i*recHeaderSize), Type: TypeFilemark}
		c.fillHeader(e, uint64(len(c.entries)+i))
		buf = append(buf, c.hdr[:]...)
		es = append(es, e)
	}
	if _, err := c.data.WriteAt(buf, off); err != nil {
		_ = c.data.Truncate(off)
		return fmt.Errorf("cartridge: write: %w", err)
	}
	for _, e := range es {
		c.addEntry(e)
	}
	if len(c.entries)-c.flushed >= flushEvery {
		return c.flush()
	}
	return nil
}

func (c *Cartridge) fillHeader(e Entry, seq uint64) {
	h := c.hdr[:]
	binary.BigEndian.PutUint32(h[0:], recMagic)
	h[4], h[5], h[6], h[7] = e.Type, e.Flags, 0, 0
	binary.BigEndian.PutUint32(h[8:], e.ULen)
	binary.BigEndian.PutUint32(h[12:], e.SLen)
	binary.BigEndian.PutUint64(h[16:], seq)
	binary.BigEndian.PutUint64(h[24:], c.gen)
	binary.BigEndian.PutUint32(h[32:], e.CRC)
	binary.BigEndian.PutUint32(h[36:], crc(h[:36]))
}

func (c *Cartridge) appendObject(e Entry, payload []byte) error {
	c.fillHeader(e, uint64(len(c.entries)))
	h := c.hdr[:]
	iov := [][]byte{h}
	if len(payload) > 0 {
		iov = append(iov, payload)
	}
	want := recHeaderSize + len(payload)
	n, err := unix.Pwritev(int(c.data.Fd()), iov, e.Offset)
	if err == nil && n != want {
		err = io.ErrShortWrite
	}
	if err != nil {
		// Leave no partial record behind.
		_ = c.data.Truncate(e.Offset)
		return fmt.Errorf("cartridge: write: %w", err)
	}
	c.addEntry(e)
	if len(c.entries)-c.flushed >= flushEvery {
		return c.flush()
	}
	return nil
}

// Sync flushes the index and fsyncs both files and meta.json's directory.
func (c *Cartridge) Sync() error {
	if err := c.flush(); err != nil {
		return err
	}
	if err := c.data.Sync(); err != nil {
		return err
	}
	return c.idx.Sync()
}

// Close flushes the index and closes the files.
func (c *Cartridge) Close() error {
	err := c.flush()
	if e := c.data.Close(); err == nil {
		err = e
	}
	if e := c.idx.Close(); err == nil {
		err = e
	}
	return err
}
