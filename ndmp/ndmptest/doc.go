// Package ndmptest holds helpers for tests of NDMP servers and clients:
// LabEngine, a backup type whose image is a known byte pattern (so a
// recover can check every byte) with file history and log messages. It is
// linked only into tests; production engines are engines/dump and
// engines/smtape.
package ndmptest
