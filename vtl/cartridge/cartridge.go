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
	indexHeaderSize = 32
	entrySize       = 32
	indexMagic      = "VTLIDX02"
	dataMagic       = "VTLDAT02"
	formatVersion   = 3
	// dataStart is where the first payload of a new (version 3) cartridge
	// starts in the data file, recorded in its header; the space between
	// the 32-byte header and dataStart is a hole. 1 MiB alignment lets the
	// page cache hold records of power-of-two sizes up to 1 MiB in folios
	// of the record's size (a folio must be naturally aligned in the
	// file): with the 4096-byte header of version 2, 64 KiB records were
	// cached in 4 KiB pages and writing, syncing and reading them cost
	// about 1.5x the CPU time of the same records at aligned offsets.
	dataStart = 1 << 20
	// v2DataStart is the payload start of version 2 cartridges, which are
	// still read and appended to.
	v2DataStart = 4096
	// maxDataStart bounds the payload start a header may claim.
	maxDataStart = 64 << 20
	// tailCheck is how many of the last index entries Open verifies against
	// their payload CRC (the ones a crash could have left ahead of their data).
	tailCheck = 8
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
	Offset int64 // offset of the payload in the data file
	ULen   uint32
	SLen   uint32
	CRC    uint32 // CRC-32C of the stored payload
	Type   byte
	Flags  byte
}

func (e Entry) end() int64 { return e.Offset + int64(e.SLen) }

// Cartridge is an open cartridge. It is not safe for concurrent use.
type Cartridge struct {
	dir       string
	meta      Meta
	idx, data *os.File
	// imap maps the index file (MAP_SHARED): appending an entry is a
	// memory store, not a syscall, and like a write(2) it is in the page
	// cache the moment it is made, so a killed process loses nothing.
	// The file is grown in steps while open and cut to its entries on
	// Close (and by Open after a crash).
	imap      []byte
	version   uint32 // format version of the data file (2 or 3)
	start     int64  // offset of the first payload in the data file
	entries   []Entry
	filemarks []uint64 // object numbers of filemarks, ascending
	used      int64    // sum of stored payload bytes
	ebuf      [entrySize]byte
	scratch   []byte
	enc       []byte
	// written is the data offset up to which writeback has been started
	// (see writeBehind).
	written int64
	// Recovered reports what Open repaired.
	Recovered RecoveryReport
}

// RecoveryReport says what Open repaired.
type RecoveryReport struct {
	DroppedEntries int   // index entries that were torn, damaged or ahead of their data
	TruncatedBytes int64 // data bytes beyond the last indexed record
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
	if err := os.WriteFile(filepath.Join(dir, IndexFile), fileHeader(indexMagic, 0), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, DataFile), fileHeader(dataMagic, dataStart), 0o644); err != nil {
		return err
	}
	// The rest of the header up to dataStart is a hole.
	if err := os.Truncate(filepath.Join(dir, DataFile), dataStart); err != nil {
		return err
	}
	return WriteMeta(dir, m)
}

// fileHeader is a 32-byte file header; start is the payload start (data
// file) or 0 (index).
func fileHeader(magic string, start int64) []byte {
	b := make([]byte, 32)
	copy(b, magic)
	binary.BigEndian.PutUint32(b[8:], formatVersion)
	binary.BigEndian.PutUint64(b[12:], uint64(start))
	binary.BigEndian.PutUint32(b[28:], crc(b[:28]))
	return b
}

// parseFileHeader checks a file header and returns its format version and
// payload start (for a version 2 data file: 4096).
func parseFileHeader(b []byte, magic string) (version uint32, start int64, err error) {
	if len(b) < 32 || string(b[:8]) != magic || binary.BigEndian.Uint32(b[28:]) != crc(b[:28]) {
		return 0, 0, fmt.Errorf("%w: bad %s header", ErrCorrupt, magic)
	}
	switch version = binary.BigEndian.Uint32(b[8:]); version {
	case 2:
		start = v2DataStart
	case 3:
		start = int64(binary.BigEndian.Uint64(b[12:]))
	default:
		return 0, 0, fmt.Errorf("%w: unsupported version %d", ErrCorrupt, version)
	}
	if magic == dataMagic && (start < v2DataStart || start > maxDataStart || start%4096 != 0) {
		return 0, 0, fmt.Errorf("%w: bad payload start %d", ErrCorrupt, start)
	}
	return version, start, nil
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
	if err := c.mapIndex(c.indexEnd()); err != nil {
		c.idx.Close()
		c.data.Close()
		return nil, fmt.Errorf("cartridge %s: map index: %w", m.Barcode, err)
	}
	c.written = c.end()
	return c, nil
}

// indexStep is how much the mapped index file grows at a time (32768
// entries).
const indexStep = 1 << 20

// indexEnd is the index file length that holds exactly the entries.
func (c *Cartridge) indexEnd() int { return indexHeaderSize + len(c.entries)*entrySize }

// mapIndex makes the mapping hold at least need bytes, growing the file.
func (c *Cartridge) mapIndex(need int) error {
	if need <= len(c.imap) && c.imap != nil {
		return nil
	}
	size := (need/indexStep + 1) * indexStep
	if c.imap != nil {
		if err := unix.Munmap(c.imap); err != nil {
			return err
		}
		c.imap = nil
	}
	if err := c.idx.Truncate(int64(size)); err != nil {
		return err
	}
	m, err := unix.Mmap(int(c.idx.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	c.imap = m
	return nil
}

// putIndex stores encoded entries at object number i.
func (c *Cartridge) putIndex(i int, b []byte) error {
	pos := indexHeaderSize + i*entrySize
	if err := c.mapIndex(pos + len(b)); err != nil {
		return err
	}
	copy(c.imap[pos:], b)
	return nil
}

func (c *Cartridge) load() error {
	var h [32]byte
	if _, err := c.data.ReadAt(h[:], 0); err != nil {
		return fmt.Errorf("%w: data header: %v", ErrCorrupt, err)
	}
	var err error
	if c.version, c.start, err = parseFileHeader(h[:], dataMagic); err != nil {
		return err
	}
	dataSize, err := c.data.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if dataSize < c.start {
		return fmt.Errorf("%w: data file shorter than its header", ErrCorrupt)
	}
	ib, err := io.ReadAll(io.NewSectionReader(c.idx, 0, 1<<62))
	if err != nil {
		return err
	}
	if _, _, err := parseFileHeader(ib, indexMagic); err != nil {
		return err
	}
	next := c.start
	nent := (len(ib) - indexHeaderSize) / entrySize
	for i := 0; i < nent; i++ {
		e, ok := decodeEntry(ib[indexHeaderSize+i*entrySize:][:entrySize], uint64(i), c.start)
		if !ok || e.Offset != next || e.end() > dataSize {
			break
		}
		c.addEntry(e)
		next = e.end()
	}
	// A crash (of the machine, not just the process) can leave the last
	// entries ahead of their data: check their payloads.
	start := len(c.entries) - tailCheck
	if start < 0 {
		start = 0
	}
	for i := start; i < len(c.entries); i++ {
		e := c.entries[i]
		if e.Type != TypeData {
			continue
		}
		p := make([]byte, e.SLen)
		if _, err := c.data.ReadAt(p, e.Offset); err != nil || crc(p) != e.CRC {
			c.dropFrom(uint64(i))
			break
		}
	}
	// Entries past the good ones, except the zero tail a process killed
	// while the index was mapped leaves (never entries, nothing dropped).
	for i := len(c.entries); i < nent; i++ {
		if !allZero(ib[indexHeaderSize+i*entrySize:][:entrySize]) {
			c.Recovered.DroppedEntries++
		}
	}
	if len(ib) != indexHeaderSize+len(c.entries)*entrySize {
		if err := c.idx.Truncate(int64(indexHeaderSize + len(c.entries)*entrySize)); err != nil {
			return err
		}
	}
	if end := c.end(); end < dataSize {
		c.Recovered.TruncatedBytes = dataSize - end
		if err := c.data.Truncate(end); err != nil {
			return err
		}
	}
	return nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// decodeEntry checks and decodes index entry seq of a cartridge whose
// payloads start at start.
func decodeEntry(b []byte, seq uint64, start int64) (Entry, bool) {
	if binary.BigEndian.Uint32(b[28:]) != crc(b[:28]) || binary.BigEndian.Uint32(b[24:]) != uint32(seq) {
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
	switch {
	case e.Offset < start || e.SLen > MaxRecord || e.ULen > MaxRecord:
		return Entry{}, false
	case e.Type == TypeFilemark && (e.SLen != 0 || e.ULen != 0 || e.Flags != 0):
		return Entry{}, false
	case e.Type == TypeData && (e.ULen == 0 || e.Flags&^FlagS2 != 0 || (e.Flags == 0 && e.SLen != e.ULen)):
		return Entry{}, false
	case e.Type != TypeData && e.Type != TypeFilemark:
		return Entry{}, false
	}
	return e, true
}

func encodeEntry(b []byte, e Entry, seq uint64) {
	binary.BigEndian.PutUint64(b[0:], uint64(e.Offset))
	binary.BigEndian.PutUint32(b[8:], e.ULen)
	binary.BigEndian.PutUint32(b[12:], e.SLen)
	binary.BigEndian.PutUint32(b[16:], e.CRC)
	b[20], b[21], b[22], b[23] = e.Type, e.Flags, 0, 0
	binary.BigEndian.PutUint32(b[24:], uint32(seq))
	binary.BigEndian.PutUint32(b[28:], crc(b[:28]))
}

func (c *Cartridge) addEntry(e Entry) {
	if e.Type == TypeFilemark {
		c.filemarks = append(c.filemarks, uint64(len(c.entries)))
	}
	c.entries = append(c.entries, e)
	c.used += int64(e.SLen)
}

// dropFrom forgets objects i and after (in memory only).
func (c *Cartridge) dropFrom(i uint64) {
	for _, e := range c.entries[i:] {
		c.used -= int64(e.SLen)
	}
	c.entries = c.entries[:i]
	k := sort.Search(len(c.filemarks), func(k int) bool { return c.filemarks[k] >= i })
	c.filemarks = c.filemarks[:k]
}

// Meta returns the descriptive data.
func (c *Cartridge) Meta() Meta { return c.meta }

// SetMeta replaces the descriptive data and writes meta.json.
func (c *Cartridge) SetMeta(m Meta) error {
	m.Version = int(c.version)
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
	if _, err := c.data.ReadAt(stored, e.Offset); err != nil {
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

// Truncate discards objects i and after (a write in the middle of the
// tape). The index is cut first: a crash before the data log is cut leaves
// bytes that Open discards.
func (c *Cartridge) Truncate(i uint64) error {
	if i >= uint64(len(c.entries)) {
		return nil
	}
	clear(c.imap[indexHeaderSize+int(i)*entrySize : c.indexEnd()])
	if err := c.data.Truncate(c.entries[i].Offset); err != nil {
		return err
	}
	c.dropFrom(i)
	c.written = min(c.written, c.end())
	return nil
}

func (c *Cartridge) end() int64 {
	if len(c.entries) == 0 {
		return c.start
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
	// The payload first, then its index entry: a process killed between
	// the two leaves payload bytes that Open cuts off.
	if _, err := c.data.WriteAt(stored, e.Offset); err != nil {
		_ = c.data.Truncate(e.Offset)
		return 0, fmt.Errorf("cartridge: write: %w", err)
	}
	encodeEntry(c.ebuf[:], e, uint64(len(c.entries)))
	if err := c.putIndex(len(c.entries), c.ebuf[:]); err != nil {
		_ = c.data.Truncate(e.Offset)
		return 0, fmt.Errorf("cartridge: write index: %w", err)
	}
	c.addEntry(e)
	c.writeBehind()
	return len(stored), nil
}

// writeBehindBytes is how much appended data starts writeback of it.
const writeBehindBytes = 8 << 20

// writeBehind starts writeback of the data appended since the last call
// once there is writeBehindBytes of it: sync_file_range(WRITE) queues the
// dirty pages for I/O and returns without waiting, so the disk works while
// records keep coming (as a tape drive streams to the medium) and the fsync
// at the next filemark or Sync finds most pages already written instead of
// writing all of them at once (1 GiB in 64 KiB records: the filemark's
// fsync took ~350-550 ms without this, 5-60 ms with it). It changes no
// durability promise: only Sync makes data durable. An I/O error of this
// writeback is recorded by the kernel and reported by that fsync, so the
// result is not needed here.
func (c *Cartridge) writeBehind() {
	end := c.end()
	if end-c.written < writeBehindBytes {
		return
	}
	_ = unix.SyncFileRange(int(c.data.Fd()), c.written, end-c.written, unix.SYNC_FILE_RANGE_WRITE)
	c.written = end
}

// AppendFilemark appends a filemark at EOD.
func (c *Cartridge) AppendFilemark() error { return c.AppendFilemarks(1) }

// AppendFilemarks appends n filemarks at EOD with one index write.
func (c *Cartridge) AppendFilemarks(n int) error {
	if n <= 0 {
		return nil
	}
	off := c.end()
	buf := make([]byte, n*entrySize)
	for i := 0; i < n; i++ {
		encodeEntry(buf[i*entrySize:], Entry{Offset: off, Type: TypeFilemark}, uint64(len(c.entries)+i))
	}
	if err := c.putIndex(len(c.entries), buf); err != nil {
		return fmt.Errorf("cartridge: write index: %w", err)
	}
	for i := 0; i < n; i++ {
		c.addEntry(Entry{Offset: off, Type: TypeFilemark})
	}
	return nil
}

// Sync fsyncs the data log, then the index.
func (c *Cartridge) Sync() error {
	// Data before index: a durable entry then always has durable data.
	if err := c.data.Sync(); err != nil {
		return err
	}
	return unix.Msync(c.imap, unix.MS_SYNC)
}

// Close unmaps the index, cuts it to its entries and closes the files.
func (c *Cartridge) Close() error {
	var errs []error
	if c.imap != nil {
		errs = append(errs, unix.Munmap(c.imap))
		c.imap = nil
		errs = append(errs, c.idx.Truncate(int64(c.indexEnd())))
	}
	errs = append(errs, c.data.Close(), c.idx.Close())
	return errors.Join(errs...)
}
