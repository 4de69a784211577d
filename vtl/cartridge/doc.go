// Package cartridge is the on-disk format of one virtual tape cartridge: a
// directory holding meta.json, a self-describing append-only data log and
// an index that makes every position O(1) (LOCATE, READ POSITION) or
// O(log n) (SPACE over filemarks, file numbers).
//
// # Files
//
//	meta.json  barcode, media type, density, capacity, early-warning point,
//	           WORM, write-protect switch, creation time, usage counters
//	           (loads, bytes read/written, errors); rewritten atomically
//	           (temp file + rename)
//	data       32-byte file header, then one record per object
//	index      32-byte file header, then one 32-byte entry per object
//
// File header (both files), big-endian:
//
//	0   8  magic "VTLDAT01" / "VTLIDX01"
//	8   4  format version (1)
//	16  8  generation (index only; see Truncate)
//	28  4  CRC-32C of bytes 0..27
//
// Data record: a 40-byte header followed by the stored payload.
//
//	0   4  magic "VREC"
//	4   1  type: 1 data record, 2 filemark (no payload)
//	5   1  flags: 1 = payload compressed with S2 (klauspost/compress)
//	8   4  uncompressed length
//	12  4  stored length
//	16  8  object number (sequence)
//	24  8  generation
//	32  4  CRC-32C of the stored payload
//	36  4  CRC-32C of header bytes 0..35
//
// Index entry:
//
//	0   8  offset of the record header in data
//	8   4  uncompressed length
//	12  4  stored length
//	16  4  CRC-32C of the stored payload
//	20  1  type
//	21  1  flags
//	28  4  CRC-32C of entry bytes 0..27
//
// # Crash safety
//
// A record is written with one pwritev (header + payload) at the end of
// the data log; its index entry is kept in memory and flushed every 512
// entries, at a filemark (the drive flushes its buffer there: index and
// data are fsync'ed), at Sync and at Close. Open trusts index entries only
// while they are intact and contiguous and lie within the data log; it then
// scans the data log beyond the last indexed record, accepting records
// whose header CRC, payload CRC, object number and generation are right,
// and cuts the log after the last good one. A process killed mid-write
// therefore leaves a cartridge that reads correctly up to the last complete
// record; a torn record is cut off, never returned. Reads check the
// payload CRC before returning data, so damage is ErrBadData, never data.
//
// Overwriting at object i (Truncate) first bumps the generation in the
// index header, then cuts the index and the data log: a crash between the
// steps cannot resurrect the old tail, because its records carry the old
// generation. Durability against power loss is only as good as the last
// filemark/Sync (fsync); a killed process loses nothing already written.
package cartridge
