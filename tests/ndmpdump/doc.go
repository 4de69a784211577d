// Package ndmpdump (tests/ndmpdump) holds end-to-end tests where real
// software we did not write meets tapelab's node running as `tapelab serve`:
//
//   - Amanda's ndmjob as the DMA driving our NDMP server with butype dump:
//     backup of a volume filled through a FUSE mount, table of contents,
//     extraction of everything into another volume, direct access recovery
//     of named files with ndmjob's index (fh_info), and ndmjob's DATA
//     conformance suite (-o test-data); MD5 and text authentication with
//     users made by `tapelab ndmp user add` / `generate-password`.
//   - Linux restore (dump 0.4b47) on images taken off our cartridges with
//     `tapelab vtl tape export-file`, and a Linux dump image put onto a
//     cartridge with `tapelab vtl tape import-file` restored over NDMP by
//     our DMA without a catalog.
//
// Trees are compared with a manifest walk (type, mode, owner, size, mtime,
// contents, symlink targets, device numbers, hard-link groups, xattrs), the
// same columns as fixtures/dump/expect-*.tsv. testdata/ holds nothing: the
// Linux dump image is fixtures/dump/level0.dump.
package ndmpdump
