// Package format reads and writes the 4.4BSD "new" dump image format
// (c_magic NFS_MAGIC 60012) exactly as Linux dump 0.4b47 writes it, so that
// Linux restore reads our images and we read Linux dump's.
//
// On-tape layout (every record is 1024 bytes, TP_BSIZE):
//
//	TS_TAPE   volume header (c_volume 1, c_flags DR_NEWHEADER|DR_NEWINODEFMT)
//	TS_CLRI   + map records: bitmap of the inodes in use at dump time
//	TS_BITS   + map records: bitmap of the inodes on this dump
//	TS_INODE  directories, ascending inode order, root (inode 2) first,
//	          data = 4.4BSD directory entries in 512-byte chunks
//	TS_INODE  other inodes, ascending inode order; c_addr[i] = 1 when 1 KiB
//	          block i of the header's window has a data record, 0 for a hole;
//	          files longer than 512 blocks continue in TS_ADDR headers
//	  TS_INODE with DR_EXTATTRIBUTES / c_extattributes EXT_XATTR after an
//	          inode: its extended attributes and POSIX ACLs as an ext2 EA
//	          block (little-endian, ACLs in the ext2 on-disk form), <= 4 KiB
//	TS_END    repeated to pad the image to a multiple of ntrec records
//
// Header (union u_spcl): c_type@0 c_date@4 c_ddate@8 c_volume@12 c_tapea@16
// c_inumber@20 c_magic@24 c_checksum@28, dinode@32 (mode@32 nlink@34
// uid16@36 gid16@38 size@40 atime@48 mtime@56 ctime@64 rdev@72 flags@132
// blocks@136 gen@140 uid@144 gid@148), c_count@160 c_addr[512]@164
// c_label@676 c_level@692 c_filesys@696 c_dev@760 c_host@824 c_flags@888
// c_firstrec@892 c_ntrec@896 c_extattributes@900. The 256 32-bit words of a
// header sum to 84446. Integers are in the writer's byte order; the reader
// detects it from c_magic.
//
// The reader also accepts big-endian images and the old (Solaris/ONTAP)
// flavour without DR_NEWINODEFMT: 16-bit ids (or 0xFFFF and the Solaris
// 32-bit ids at 148/152) and 4.3BSD directory entries {ino, reclen,
// u16 namlen}. The writer can produce both flavours (VolumeInfo.BigEndian,
// VolumeInfo.OldFormat). Damaged input fails with errors wrapping
// ErrBadMagic, ErrBadChecksum, ErrTruncated, ErrNotVolume1 or ErrFormat.
//
// Byte offsets of headers (Writer.Offset, Entry.Offset) are what file
// history reports as FhInfo; Reader.Reposition continues reading at such an
// offset for direct access recovery.
package format
