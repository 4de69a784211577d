// Package ndmp (tests/ndmp) holds the end-to-end tests of tapelab's NDMP server
// against real peers: Amanda's ndmjob (query, test-tape, test-mover, robot
// operations, backups through our DATA service), nmap's NDMP scripts and
// tshark's NDMP dissector, over a real VTL library in a temporary directory.
// testdata/ holds the LD_PRELOAD shims built with gcc in the tests.
package ndmp
