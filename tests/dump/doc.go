// Package dump holds end-to-end tests of the dump engine driven only
// through the engines.Engine contract, the way the NDMP DATA service
// drives it: a backup streams into an io.Pipe while a recover reads the
// other end into another volume (a LOCAL data connection), and images
// move between our engine and Linux dump/restore.
package dump
