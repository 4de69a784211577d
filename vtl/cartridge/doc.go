// Package cartridge is the on-disk format of one virtual tape cartridge: a
// directory holding meta.json, a data file of record payloads and an index
// file with one fixed-size entry per object, which makes every position
// O(1) (LOCATE, READ POSITION) or O(log n) (SPACE over filemarks, file
// numbers) - the layout mhVTL uses, with checksums that let a crash or
// damage be detected instead of misread.
//
// # Files
//
//	meta.json  barcode, media type, density, capacity, early-warning point,
//	           WORM, write-protect switch, creation time, usage counters
//	           (loads, bytes read/written, errors); rewritten atomically
//	           (temp file + rename)
//	data       a 32-byte header, a hole up to the payload start (1 MiB),
//	           then the stored payloads back to back
//	index      a 32-byte header, then one 32-byte entry per object
//
// File header (first 32 bytes of both files), big-endian:
//
//	0   8  magic "VTLDAT02" / "VTLIDX02" (unchanged since version 2)
//	8   4  format version (3)
//	12  8  data file: offset of the first payload (1 MiB); index: 0
//	28  4  CRC-32C of bytes 0..27
//
// The payload start is 1 MiB so that records of power-of-two sizes up to
// 1 MiB sit at offsets aligned to their size: the page cache can only hold
// a range in one large folio when it is naturally aligned in the file. With
// version 2's 4096-byte start, 64 KiB records went through the page cache
// in 4 KiB pages, which cost about 1.5x the CPU time of aligned writes,
// fsync and reads (measured on kernel 6.18/ext4: 1 GiB written, synced and
// read in 64 KiB records took ~1000 ms of CPU against ~650 ms for the
// same bytes in a plain file; ~700 ms with the aligned start).
//
// Version 2 cartridges (no payload start field; payloads from offset 4096)
// are still opened, read and appended to in their own layout. Version 3
// files are refused by earlier builds (unsupported version).
//
// Index entry i (at 32 + 32*i):
//
//	0   8  offset of the payload in data (a filemark: the offset it sits at)
//	8   4  uncompressed length (0 for a filemark)
//	12  4  stored length
//	16  4  CRC-32C of the stored payload
//	20  1  type: 1 data record, 2 filemark
//	21  1  flags: 1 = payload compressed with S2 (klauspost/compress)
//	24  4  object number i (low 32 bits)
//	28  4  CRC-32C of entry bytes 0..27
//
// Entries are contiguous: entry i+1's offset is entry i's offset plus its
// stored length, so the data file has no gaps and needs no headers.
//
// # Crash safety
//
// An append writes the payload at the end of the data file, then its index
// entry; a filemark is an index entry only. While a cartridge is open its
// index file is mapped (MAP_SHARED) and grown in 1 MiB steps of zeros, so
// an entry costs a memory store rather than a write(2) and is in the page
// cache as soon as it is made; Close cuts the file back to its entries, and
// a zero tail left by a killed process fails the entry check like any torn
// entry. Open accepts entries while
// they are intact (CRC, object number), contiguous and inside the data
// file, verifies the payload CRCs of the last 8 accepted entries (the only
// ones a crash could leave ahead of their data), and cuts both files after
// the last good object. A process killed mid-write therefore leaves a
// cartridge that reads correctly up to the last complete record; a torn
// record is cut off, never returned. Every read checks the payload CRC
// before returning data, so damage elsewhere is ErrBadData, never data.
//
// Overwriting at object i (Truncate) zeroes the index entries from i on first and the data file
// second: a crash in between leaves data bytes past the last entry, which
// Open discards. Durability against power loss is only as good as the last
// filemark or Sync (fsync of data, then msync of the index); a killed process loses
// nothing already written. Every 8 MiB appended, writeback of those bytes
// is started (sync_file_range WRITE, no waiting), so that fsync finds most
// of them already on disk; that promises nothing by itself.
package cartridge
