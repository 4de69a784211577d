package volume

import "sync"

// Temporary: bodies being implemented. Everything returns errNotImplemented.

const (
	sIFMT  = 0o170000
	sIFDIR = 0o040000
	sIFREG = 0o100000
	sIFLNK = 0o120000
)

// Store is one open tapelab store (one Badger database).
type Store struct{ mu sync.RWMutex }

// Volume is one volume of a store.
type Volume struct {
	store     *Store
	svm, name string
}

// View is the active file system or a snapshot of a volume.
type View struct {
	vol      *Volume
	snap     string
	readOnly bool
}

func openStore(dir string, opts Options) (*Store, error)  { return nil, errNotImplemented }
func (s *Store) close() error                             { return errNotImplemented }
func (s *Store) createVolume(spec Spec) (*Volume, error)  { return nil, errNotImplemented }
func (s *Store) volume(svm, name string) (*Volume, error) { return nil, errNotImplemented }
func (s *Store) volumes() []Info                          { return nil }
func (s *Store) deleteVolume(svm, name string) error      { return errNotImplemented }
func (s *Store) gc() error                                { return errNotImplemented }
func (s *Store) diskUsage() (int64, error)                { return 0, errNotImplemented }
func (s *Store) sync() error                              { return errNotImplemented }
func parsePath(p string) (string, string, string, error)  { return "", "", "", errNotImplemented }
func (v *Volume) info() Info                              { return Info{} }
func (v *Volume) setState(State) error                    { return errNotImplemented }
func (v *Volume) modify(Modify) error                     { return errNotImplemented }
func (v *Volume) active(bool) (*View, error)              { return nil, errNotImplemented }
func (v *Volume) check() (Report, error)                  { return Report{}, errNotImplemented }
func (v *Volume) createSnapshot(string) (SnapshotInfo, error) {
	return SnapshotInfo{}, errNotImplemented
}
func (v *Volume) deleteSnapshot(string) (int64, error)      { return 0, errNotImplemented }
func (v *Volume) snapshots() []SnapshotInfo                 { return nil }
func (v *Volume) snapshotView(string) (*View, error)        { return nil, errNotImplemented }
func (v *Volume) snapshotUnique(string) (int64, error)      { return 0, errNotImplemented }
func (v *Volume) changes(a, b *View) ([]InodeChange, error) { return nil, errNotImplemented }
func (w *View) lookup(uint64, string) (Attr, error)         { return Attr{}, errNotImplemented }
func (w *View) getAttr(uint64) (Attr, error)                { return Attr{}, errNotImplemented }
func (w *View) setAttr(uint64, SetAttrIn) (Attr, error)     { return Attr{}, errNotImplemented }
func (w *View) resolve(string) (Attr, error)                { return Attr{}, errNotImplemented }
func (w *View) parent(uint64) (uint64, error)               { return 0, errNotImplemented }
func (w *View) mknod(uint64, string, uint32, uint64, string, Owner) (Attr, error) {
	return Attr{}, errNotImplemented
}
func (w *View) readlink(uint64) (string, error)                     { return "", errNotImplemented }
func (w *View) link(uint64, uint64, string) (Attr, error)           { return Attr{}, errNotImplemented }
func (w *View) remove(uint64, string, bool) error                   { return errNotImplemented }
func (w *View) rename(uint64, string, uint64, string, uint32) error { return errNotImplemented }
func (w *View) readDir(uint64, string, func(DirEntry) bool) error   { return errNotImplemented }
func (w *View) read(uint64, int64, []byte) (int, error)             { return 0, errNotImplemented }
func (w *View) write(uint64, int64, []byte) (int, error)            { return 0, errNotImplemented }
func (w *View) extents(uint64) ([]Extent, error)                    { return nil, errNotImplemented }
func (w *View) statfs() (Statfs, error)                             { return Statfs{}, errNotImplemented }
func (w *View) getXattr(uint64, string) ([]byte, error)             { return nil, errNotImplemented }
func (w *View) setXattr(uint64, string, []byte, uint32) error       { return errNotImplemented }
func (w *View) listXattr(uint64) ([]string, error)                  { return nil, errNotImplemented }
func (w *View) removeXattr(uint64, string) error                    { return errNotImplemented }
func (w *View) inodes(uint64, func(Attr) bool) error                { return errNotImplemented }
