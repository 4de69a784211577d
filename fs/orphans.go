package fs

import (
	"fmt"
	"sync"
	"syscall"

	"tapelab/volume"
)

// orphanDirName is a directory in the volume root, hidden from the mount,
// that keeps unlinked-but-open files alive. package volume frees an inode
// with its last link and has no open-file tracking, while POSIX lets a
// process keep reading and writing a file it has open after unlink (or
// after a rename replaced it). So when the last name of an open file goes,
// the file is renamed here instead, and unlinked for real on the last
// close. Leftovers of a crashed mount are removed by the next mount.
const orphanDirName = ".tapelab-unlinked"

type orphanDir struct {
	view *volume.View
	mu   sync.Mutex
	ino  uint64 // 0 until created
	seq  uint64
}

// init removes what a previous mount left in the orphan directory, and the
// directory itself, so the volume holds no trace of it while nothing is
// orphaned.
func (o *orphanDir) init(view *volume.View) error {
	o.view = view
	root := view.Root()
	a, err := view.Lookup(root, orphanDirName)
	if errno(err) == syscall.ENOENT {
		return nil
	}
	if err != nil {
		return err
	}
	var names []string
	if err := view.ReadDir(a.Ino, "", func(e volume.DirEntry) bool {
		names = append(names, e.Name)
		return true
	}); err != nil {
		return err
	}
	for _, n := range names {
		if err := view.Unlink(a.Ino, n); err != nil {
			return err
		}
	}
	return view.Rmdir(root, orphanDirName)
}

// adopt moves parent/name (an open file losing its last link) into the
// orphan directory and returns its new name there.
func (o *orphanDir) adopt(parent uint64, name string, ino uint64) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ino == 0 {
		a, err := o.view.Mkdir(o.view.Root(), orphanDirName, 0o700, volume.Owner{})
		if errno(err) == syscall.EEXIST {
			a, err = o.view.Lookup(o.view.Root(), orphanDirName)
		}
		if err != nil {
			return "", err
		}
		o.ino = a.Ino
	}
	o.seq++
	hidden := fmt.Sprintf("%d.%d", ino, o.seq)
	if err := o.view.Rename(parent, name, o.ino, hidden, volume.RenameNoReplace); err != nil {
		return "", err
	}
	return hidden, nil
}

// release unlinks an orphan for real (its last open handle closed).
func (o *orphanDir) release(hidden string) error {
	o.mu.Lock()
	dir := o.ino
	o.mu.Unlock()
	if dir == 0 {
		return nil
	}
	return o.view.Unlink(dir, hidden)
}
