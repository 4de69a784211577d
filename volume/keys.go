package volume

import (
	"encoding/binary"
	"hash/crc32"
)

// Key layout (see doc.go). All integers big-endian; ^e is the bitwise NOT
// of an epoch so that newer versions of a record sort first.
const (
	pMagic   = 0x00 // "\x00tapelab" -> format version
	pVolName = 'n'  // n | svm | 0 | name             -> vol id u32
	pVolMeta = 'v'  // v | id                         -> JSON volMeta
	pCtr     = 'c'  // c | id                         -> counters (binary)
	pSnap    = 's'  // s | id | epoch                 -> JSON SnapshotInfo
	pInode   = 'I'  // I | id | ino | ^e              -> inode record
	pDirent  = 'D'  // D | id | parent | name 0 | ^e  -> child ino u64 | type u32
	pXattr   = 'X'  // X | id | ino | name 0 | ^e     -> value
	pBlock   = 'B'  // B | id | ino | blk | ^e        -> block data (trailing zeros trimmed)
	pDead    = 'L'  // L | id | death | versionKey    -> 1 byte: 1 = held a data block
	pHist    = 'H'  // H | id | birth | ino | kind [name | blk] -> "" or end blk u64
	pFree    = 'F'  // F | id | ino                   -> last generation u64
	pOrphan  = 'O'  // O | id | ino                   -> first block to free u64
)

// metaTomb marks a tombstone version (UserMeta): the record is absent
// (deleted, or a hole for blocks) from its birth epoch on.
const metaTomb byte = 1

// metaSum marks a data block version whose UserMeta bits 2-7 hold six bits
// of the CRC-32C of its stored bytes. Two versions with different bits
// differ, which a snapshot diff learns from the LSM alone (blockDiffers),
// without reading either block from the value log; equal bits (1 in 64
// for different blocks) still compare the bytes. Blocks written before it
// existed lack the bit and are always compared.
const metaSum byte = 2

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// writeBlockSums is false only in tests that make blocks as stores
// written before metaSum existed hold them.
var writeBlockSums = true

// blockMeta is the UserMeta of a stored (non-hole) data block version.
func blockMeta(val []byte) byte {
	return metaSum | byte(crc32.Checksum(val, castagnoli))<<2
}

var magicKey = []byte("\x00tapelab")

const formatVersion = "tapelab-volume-store 1"

func kVolName(svm, name string) []byte {
	k := make([]byte, 0, 2+len(svm)+len(name))
	k = append(k, pVolName)
	k = append(k, svm...)
	k = append(k, 0)
	return append(k, name...)
}

func kID(p byte, id uint32) []byte {
	k := make([]byte, 5, 32)
	k[0] = p
	binary.BigEndian.PutUint32(k[1:], id)
	return k
}

func u64(k []byte, x uint64) []byte { return binary.BigEndian.AppendUint64(k, x) }

func kSnap(id uint32, epoch uint64) []byte { return u64(kID(pSnap, id), epoch) }

// Record prefixes (without the ^epoch suffix).
func pfxInode(id uint32, ino uint64) []byte { return u64(kID(pInode, id), ino) }
func pfxBlock(id uint32, ino, blk uint64) []byte {
	return u64(u64(kID(pBlock, id), ino), blk)
}
func pfxDirent(id uint32, parent uint64, name string) []byte {
	k := u64(kID(pDirent, id), parent)
	k = append(k, name...)
	return append(k, 0)
}
func pfxXattr(id uint32, ino uint64, name string) []byte {
	k := u64(kID(pXattr, id), ino)
	k = append(k, name...)
	return append(k, 0)
}

// withEpoch appends ^e to a record prefix (in a new slice).
func withEpoch(prefix []byte, e uint64) []byte {
	k := make([]byte, len(prefix), len(prefix)+8)
	copy(k, prefix)
	return u64(k, ^e)
}

// birthOf returns the birth epoch of a version key.
func birthOf(key []byte) uint64 { return ^binary.BigEndian.Uint64(key[len(key)-8:]) }

func kDead(id uint32, death uint64, verKey []byte) []byte {
	k := u64(kID(pDead, id), death)
	return append(k, verKey...)
}

// History kinds.
const (
	hInode  = 'I'
	hDirent = 'D'
	hXattr  = 'X'
	hBlock  = 'B'
)

func kHist(id uint32, birth, ino uint64, kind byte, sub []byte) []byte {
	k := u64(u64(kID(pHist, id), birth), ino)
	k = append(k, kind)
	return append(k, sub...)
}

func kFree(id uint32, ino uint64) []byte   { return u64(kID(pFree, id), ino) }
func kOrphan(id uint32, ino uint64) []byte { return u64(kID(pOrphan, id), ino) }
