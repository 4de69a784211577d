// Package ndmp (tests/ndmp) holds the end-to-end tests of tapelab's NDMP server
// against real peers: Amanda's ndmjob (query, test-tape, test-mover, robot
// operations, backups through our DATA service), nmap's NDMP scripts and
// tshark's NDMP dissector, over a real VTL library in a temporary directory.
// The LD_PRELOAD shims built with gcc in the tests live in
// internal/testpeer/shims (gmalloc0.c: Debian ndmjob's zero-length
// TAPE_WRITE; skip_tbwr.c: two client bugs in its test-tape, see the file);
// testdata/ holds wrap_tar and ndmjob.conf for ndmjob's reference daemon in
// the benchmarks. Tests that need port 10000
// (Wireshark's NDMP dissector, nmap) run the server's extra listener and
// the peers in a private network namespace (netns_test.go).
//
// Benchmarks (bench_test.go) compare our mover with ndmjob's daemon, see
// the comment there; TAPELAB_BENCH_SIZE scales them.
package ndmp
