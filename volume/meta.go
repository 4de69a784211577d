package volume

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"
	"syscall"

	"github.com/dgraph-io/badger/v4"
)

// File type bits (as syscall.S_IF*, spelled out so the package builds the
// same everywhere).
const (
	sIFMT   = 0o170000
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFREG  = 0o100000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
)

const maxLinks = 65000

// readTxn runs fn in a read transaction after checking the view may be used.
func (w *View) readTxn(fn func(txn *badger.Txn) error) error {
	if err := w.access(false); err != nil {
		return err
	}
	db, err := w.vol.store.acquire()
	if err != nil {
		return err
	}
	defer w.vol.store.release()
	return db.View(fn)
}

// update runs fn as one mutation of the live epoch.
func (w *View) update(fn func(t *wtx) error) error {
	if err := w.access(true); err != nil {
		return err
	}
	w.vol.mu.Lock()
	defer w.vol.mu.Unlock()
	return w.vol.mutate(fn)
}

func validName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return errno(syscall.EINVAL, "invalid name %q", name)
	case len(name) > MaxNameLen:
		return errno(syscall.ENAMETOOLONG, "name of %d bytes", len(name))
	case strings.ContainsAny(name, "/\x00"):
		return errno(syscall.EINVAL, "name %q contains '/' or NUL", name)
	}
	return nil
}

func (w *View) inodeIn(txn *badger.Txn, ino uint64) (inode, error) {
	n, ok, err := getInodeAt(txn, w.vol.id, ino, w.epoch)
	if err != nil {
		return n, err
	}
	if !ok {
		return n, errno(syscall.ENOENT, "volume %s: inode %d", w.vol.name, ino)
	}
	return n, nil
}

func (w *View) getAttr(ino uint64) (a Attr, err error) {
	err = w.readTxn(func(txn *badger.Txn) error {
		n, err := w.inodeIn(txn, ino)
		a = n.attr(ino)
		return err
	})
	return a, err
}

func (w *View) lookup(parent uint64, name string) (a Attr, err error) {
	err = w.readTxn(func(txn *badger.Txn) error {
		ino, _, ok, err := getDirentAt(txn, w.vol.id, parent, name, w.epoch)
		if err != nil {
			return err
		}
		if !ok {
			p, err := w.inodeIn(txn, parent)
			if err != nil {
				return err
			}
			if p.Mode&sIFMT != sIFDIR {
				return errno(syscall.ENOTDIR, "inode %d", parent)
			}
			return errno(syscall.ENOENT, "%q in directory %d", name, parent)
		}
		n, err := w.inodeIn(txn, ino)
		a = n.attr(ino)
		return err
	})
	return a, err
}

func (w *View) resolve(p string) (Attr, error) {
	a, err := w.getAttr(RootIno)
	for _, c := range strings.Split(p, "/") {
		if err != nil {
			return a, err
		}
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			var par uint64
			if par, err = w.parent(a.Ino); err == nil {
				a, err = w.getAttr(par)
			}
			continue
		}
		a, err = w.lookup(a.Ino, c)
	}
	if err != nil {
		return a, fmt.Errorf("path %q: %w", p, err)
	}
	return a, nil
}

func (w *View) parent(dir uint64) (uint64, error) {
	a := uint64(0)
	err := w.readTxn(func(txn *badger.Txn) error {
		n, err := w.inodeIn(txn, dir)
		if err != nil {
			return err
		}
		if n.Mode&sIFMT != sIFDIR {
			return errno(syscall.ENOTDIR, "inode %d", dir)
		}
		a = n.Parent
		return nil
	})
	return a, err
}

func (w *View) readlink(ino uint64) (s string, err error) {
	err = w.readTxn(func(txn *badger.Txn) error {
		n, err := w.inodeIn(txn, ino)
		if err != nil {
			return err
		}
		if n.Mode&sIFMT != sIFLNK {
			return errno(syscall.EINVAL, "inode %d is not a symlink", ino)
		}
		s = n.Target
		return nil
	})
	return s, err
}

// dirOf loads directory ino for a mutation.
func (t *wtx) dirOf(ino uint64) (inode, error) { return dirOfIn(t, ino) }

func dirOfIn(r recs, ino uint64) (inode, error) {
	n, err := r.inode(ino)
	if err == nil && n.Mode&sIFMT != sIFDIR {
		err = errno(syscall.ENOTDIR, "inode %d", ino)
	}
	return n, err
}

func (w *View) mknod(parent uint64, name string, mode uint32, rdev uint64, target string, o Owner) (a Attr, err error) {
	if err := validName(name); err != nil {
		return a, err
	}
	switch mode & sIFMT {
	case sIFREG, sIFDIR, sIFLNK, sIFIFO, sIFCHR, sIFBLK, sIFSOCK:
	case 0:
		mode |= sIFREG
	default:
		return a, errno(syscall.EINVAL, "mknod %q: file type %o", name, mode&sIFMT)
	}
	if mode&sIFMT == sIFLNK && (len(target) == 0 || len(target) > MaxSymlinkLen) {
		return a, errno(syscall.ENAMETOOLONG, "symlink target of %d bytes", len(target))
	}
	if mode&sIFMT != sIFCHR && mode&sIFMT != sIFBLK {
		rdev = 0
	}
	err = w.update(func(t *wtx) error {
		ino, _, n, err := mknodIn(t, parent, name, mode, rdev, target, o)
		a = n.attr(ino)
		return err
	})
	return a, err
}

func (w *View) link(ino, newParent uint64, newName string) (a Attr, err error) {
	if err := validName(newName); err != nil {
		return a, err
	}
	err = w.update(func(t *wtx) error {
		n, err := linkIn(t, ino, newParent, newName)
		a = n.attr(ino)
		return err
	})
	return a, err
}

// dirEmpty reports whether directory ino has no entries at epoch e.
func dirEmpty(txn *badger.Txn, id uint32, ino, e uint64) bool {
	empty := true
	forDirents(txn, id, ino, "", e, func(string, uint64, uint32) bool {
		empty = false
		return false
	})
	return empty
}

// forDirents calls fn for each entry of dir visible at e with a name after `after`.
func forDirents(txn *badger.Txn, id uint32, dir uint64, after string, e uint64, fn func(name string, ino uint64, mode uint32) bool) error {
	pfx := u64(kID(pDirent, id), dir)
	it := txn.NewIterator(iterOpts(pfx))
	defer it.Close()
	start := append(append(append([]byte{}, pfx...), after...), 1)
	if after == "" {
		start = pfx
	}
	for item := seekLive(it, start); item != nil; {
		k := item.Key()
		if len(k) < len(pfx)+10 {
			return errBadRecord
		}
		name := string(k[len(pfx) : len(k)-9])
		recPfx := pfxDirent(id, dir, name)
		if item, ok := seekAt(it, recPfx, e); ok {
			raw, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			ino, mode, err := decodeDirent(raw)
			if err != nil {
				return err
			}
			if !fn(name, ino, mode) {
				return nil
			}
		}
		item = seekLive(it, withEpoch(recPfx, 0)) // the next name
	}
	return nil
}

// callbackBatch is how many entries ReadDir and Inodes collect per read
// transaction. The callback runs outside the transaction and the store
// lock, so it may call back into the view (GetAttr per entry, ...).
const callbackBatch = 1024

func (w *View) readDir(ino uint64, after string, fn func(DirEntry) bool) error {
	for {
		batch := make([]DirEntry, 0, 64)
		err := w.readTxn(func(txn *badger.Txn) error {
			n, err := w.inodeIn(txn, ino)
			if err != nil {
				return err
			}
			if n.Mode&sIFMT != sIFDIR {
				return errno(syscall.ENOTDIR, "inode %d", ino)
			}
			return forDirents(txn, w.vol.id, ino, after, w.epoch, func(name string, ino uint64, mode uint32) bool {
				batch = append(batch, DirEntry{Name: name, Ino: ino, Mode: mode})
				return len(batch) < callbackBatch
			})
		})
		if err != nil {
			return err
		}
		for _, e := range batch {
			if !fn(e) {
				return nil
			}
		}
		if len(batch) < callbackBatch {
			return nil
		}
		after = batch[len(batch)-1].Name
	}
}

// unlinkInode drops one link of inode ino (a name of it is gone).
func (t *wtx) unlinkInode(ino uint64) error {
	n, err := t.inode(ino)
	if err != nil {
		return err
	}
	if n.Mode&sIFMT == sIFDIR || n.Nlink <= 1 {
		return t.dropInode(ino, &n)
	}
	n.Nlink--
	n.Ctime = t.now
	return t.setInode(ino, &n)
}

func (w *View) remove(parent uint64, name string, dir bool) error {
	return w.update(func(t *wtx) error {
		p, err := t.dirOf(parent)
		if err != nil {
			return err
		}
		ino, mode, ok, err := t.dirent(parent, name)
		if err != nil {
			return err
		}
		if !ok {
			return errno(syscall.ENOENT, "%q in directory %d", name, parent)
		}
		isDir := mode&sIFMT == sIFDIR
		switch {
		case dir && !isDir:
			return errno(syscall.ENOTDIR, "rmdir %q", name)
		case !dir && isDir:
			return errno(syscall.EISDIR, "unlink %q", name)
		case dir && !dirEmpty(t.txn, t.v.id, ino, math.MaxUint64):
			return errno(syscall.ENOTEMPTY, "rmdir %q", name)
		}
		if err := t.setDirent(parent, name, 0, 0); err != nil {
			return err
		}
		if isDir {
			p.Nlink--
		}
		p.Mtime, p.Ctime = t.now, t.now
		if err := t.setInode(parent, &p); err != nil {
			return err
		}
		return t.unlinkInode(ino)
	})
}

func (w *View) rename(op uint64, on string, np uint64, nn string, flags uint32) error {
	if err := validName(on); err != nil {
		return err
	}
	if err := validName(nn); err != nil {
		return err
	}
	if flags&^(RenameNoReplace|RenameExchange) != 0 || flags == RenameNoReplace|RenameExchange {
		return errno(syscall.EINVAL, "rename flags %#x", flags)
	}
	return w.update(func(t *wtx) error {
		opd, err := t.dirOf(op)
		if err != nil {
			return err
		}
		if _, err := t.dirOf(np); err != nil {
			return err
		}
		src, smode, ok, err := t.dirent(op, on)
		if err != nil {
			return err
		}
		if !ok {
			return errno(syscall.ENOENT, "rename %q", on)
		}
		dst, dmode, dok, err := t.dirent(np, nn)
		if err != nil {
			return err
		}
		if op == np && on == nn {
			return nil
		}
		srcDir := smode&sIFMT == sIFDIR
		dstDir := dok && dmode&sIFMT == sIFDIR
		// A directory may not move into its own subtree.
		if srcDir && op != np {
			for d := np; d != RootIno; {
				if d == src {
					return errno(syscall.EINVAL, "rename %q into its own subtree", on)
				}
				n, err := t.dirOf(d)
				if err != nil {
					return err
				}
				d = n.Parent
			}
		}
		// Nor may the target be an ancestor of the source (Linux: ENOTEMPTY;
		// EINVAL for an exchange).
		if dstDir && dst != src {
			for d := op; ; {
				if d == dst {
					if flags == RenameExchange {
						return errno(syscall.EINVAL, "rename exchange with an ancestor %q", nn)
					}
					return errno(syscall.ENOTEMPTY, "rename onto ancestor %q", nn)
				}
				if d == RootIno {
					break
				}
				n, err := t.dirOf(d)
				if err != nil {
					return err
				}
				d = n.Parent
			}
		}
		if flags == RenameExchange {
			if !dok {
				return errno(syscall.ENOENT, "rename exchange %q", nn)
			}
			if dstDir && np != op {
				for d := op; d != RootIno; {
					if d == dst {
						return errno(syscall.EINVAL, "rename exchange %q into its own subtree", nn)
					}
					n, err := t.dirOf(d)
					if err != nil {
						return err
					}
					d = n.Parent
				}
			}
			if err := t.setDirent(op, on, dst, dmode); err != nil {
				return err
			}
			if err := t.setDirent(np, nn, src, smode); err != nil {
				return err
			}
			if err := t.moved(src, srcDir, op, np); err != nil {
				return err
			}
			if err := t.moved(dst, dstDir, np, op); err != nil {
				return err
			}
			return t.touchDirs(op, np)
		}
		if dok {
			if flags == RenameNoReplace {
				return errno(syscall.EEXIST, "rename onto %q", nn)
			}
			if dst == src {
				return nil // two links of one inode: nothing to do
			}
			switch {
			case srcDir && !dstDir:
				return errno(syscall.ENOTDIR, "rename directory onto %q", nn)
			case !srcDir && dstDir:
				return errno(syscall.EISDIR, "rename onto directory %q", nn)
			case dstDir && !dirEmpty(t.txn, t.v.id, dst, math.MaxUint64):
				return errno(syscall.ENOTEMPTY, "rename onto %q", nn)
			}
		}
		if err := t.setDirent(op, on, 0, 0); err != nil {
			return err
		}
		if err := t.setDirent(np, nn, src, smode); err != nil {
			return err
		}
		_ = opd
		if dok {
			if dstDir {
				pd, err := t.inode(np)
				if err != nil {
					return err
				}
				pd.Nlink--
				if err := t.setInode(np, &pd); err != nil {
					return err
				}
			}
			if err := t.unlinkInode(dst); err != nil {
				return err
			}
		}
		if err := t.moved(src, srcDir, op, np); err != nil {
			return err
		}
		return t.touchDirs(op, np)
	})
}

// moved updates inode ino after it moved from directory from to to: ctime,
// and for directories the parent pointer and both parents' link counts.
func (t *wtx) moved(ino uint64, isDir bool, from, to uint64) error {
	n, err := t.inode(ino)
	if err != nil {
		return err
	}
	n.Ctime = t.now
	if isDir && from != to {
		n.Parent = to
		for _, d := range []struct {
			ino   uint64
			delta int
		}{{from, -1}, {to, +1}} {
			p, err := t.inode(d.ino)
			if err != nil {
				return err
			}
			p.Nlink = uint32(int(p.Nlink) + d.delta)
			if err := t.setInode(d.ino, &p); err != nil {
				return err
			}
		}
	}
	return t.setInode(ino, &n)
}

func (t *wtx) touchDirs(dirs ...uint64) error {
	for i, d := range dirs {
		if i > 0 && d == dirs[0] {
			continue
		}
		p, err := t.inode(d)
		if err != nil {
			return err
		}
		p.Mtime, p.Ctime = t.now, t.now
		if err := t.setInode(d, &p); err != nil {
			return err
		}
	}
	return nil
}

func (w *View) setAttr(ino uint64, in SetAttrIn) (a Attr, err error) {
	err = w.update(func(t *wtx) error {
		n, err := setAttrIn(t, ino, in)
		a = n.attr(ino)
		return err
	})
	if err != nil {
		return a, err
	}
	if in.Valid&SetSize != 0 {
		a, err = w.getAttr(ino) // blocks were freed after the first commit
	}
	return a, err
}

// ---- xattrs ----

func (w *View) getXattr(ino uint64, name string) (val []byte, err error) {
	err = w.readTxn(func(txn *badger.Txn) error {
		if _, err := w.inodeIn(txn, ino); err != nil {
			return err
		}
		v, ok, err := getAt(txn, pfxXattr(w.vol.id, ino, name), w.epoch)
		if err != nil {
			return err
		}
		if !ok {
			return errno(syscall.ENODATA, "xattr %q of inode %d", name, ino)
		}
		val = v
		return nil
	})
	return val, err
}

func validXattr(name string, size int) error {
	switch {
	case name == "" || strings.ContainsRune(name, 0):
		return errno(syscall.EINVAL, "xattr name %q", name)
	case len(name) > 255:
		return errno(syscall.ERANGE, "xattr name of %d bytes", len(name))
	case size > MaxXattrSize:
		return errno(syscall.E2BIG, "xattr value of %d bytes", size)
	}
	return nil
}

func (w *View) setXattr(ino uint64, name string, value []byte, flags uint32) error {
	if err := validXattr(name, len(value)); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	value = bytes.Clone(value)
	return w.update(func(t *wtx) error { return setXattrIn(t, ino, name, value, flags) })
}

func (w *View) listXattr(ino uint64) (names []string, err error) {
	err = w.readTxn(func(txn *badger.Txn) error {
		if _, err := w.inodeIn(txn, ino); err != nil {
			return err
		}
		names, err = listXattrAt(txn, w.vol.id, ino, w.epoch)
		sort.Strings(names)
		return err
	})
	return names, err
}

func (w *View) removeXattr(ino uint64, name string) error {
	return w.update(func(t *wtx) error {
		n, err := t.inode(ino)
		if err != nil {
			return err
		}
		_, exists, err := getAt(t.txn, pfxXattr(t.v.id, ino, name), math.MaxUint64)
		if err != nil {
			return err
		}
		if !exists {
			return errno(syscall.ENODATA, "xattr %q of inode %d", name, ino)
		}
		if err := t.setXattrRec(ino, name, nil); err != nil {
			return err
		}
		n.Ctime = t.now
		return t.setInode(ino, &n)
	})
}

// ---- whole-view queries ----

func (w *View) statfs() (Statfs, error) {
	if err := w.access(false); err != nil {
		return Statfs{}, err
	}
	i := w.vol.info()
	cap := uint64(i.Size / BlockSize)
	used := uint64(i.Used / BlockSize)
	free := cap - min(cap, used)
	return Statfs{Bsize: BlockSize, Blocks: cap, Bfree: free, Bavail: free,
		Files: i.InodeLimit, Ffree: i.InodesFree, NameLen: MaxNameLen}, nil
}

func (w *View) inodes(from uint64, fn func(Attr) bool) error {
	for {
		batch := make([]Attr, 0, 64)
		err := w.inodesBatch(from, func(a Attr) bool {
			batch = append(batch, a)
			return len(batch) < callbackBatch
		})
		if err != nil {
			return err
		}
		for _, a := range batch {
			if !fn(a) {
				return nil
			}
		}
		if len(batch) < callbackBatch || batch[len(batch)-1].Ino == math.MaxUint64 {
			return nil
		}
		from = batch[len(batch)-1].Ino + 1
	}
}

func (w *View) inodesBatch(from uint64, fn func(Attr) bool) error {
	return w.readTxn(func(txn *badger.Txn) error {
		pfx := kID(pInode, w.vol.id)
		it := txn.NewIterator(iterOpts(pfx))
		defer it.Close()
		for item := seekLive(it, u64(append([]byte{}, pfx...), from)); item != nil; {
			k := item.Key()
			if len(k) != 21 {
				return errBadRecord
			}
			ino := binary.BigEndian.Uint64(k[5:13])
			if item, ok := seekAt(it, pfxInode(w.vol.id, ino), w.epoch); ok {
				raw, err := item.ValueCopy(nil)
				if err != nil {
					return err
				}
				n, err := decodeInode(raw)
				if err != nil {
					return fmt.Errorf("inode %d: %w", ino, err)
				}
				if !fn(n.attr(ino)) {
					return nil
				}
			}
			if ino == math.MaxUint64 {
				return nil
			}
			item = seekLive(it, pfxInode(w.vol.id, ino+1))
		}
		return nil
	})
}

// recs reads and writes the live records of one mutation. *wtx reads
// through its own transaction; a Batch's bread reads its pending writes and
// the committed state (batch.go). The mutations both apply are written
// once, below, against this interface.
type recs interface {
	tx() *wtx
	inode(ino uint64) (inode, error)
	dirOf(ino uint64) (inode, error)
	setInode(ino uint64, n *inode) error
	direntExists(parent uint64, name string) (bool, error)
	setDirent(parent uint64, name string, ino uint64, mode uint32) error
	xattrExists(ino uint64, name string) (bool, error)
	setXattrRec(ino uint64, name string, val []byte) error
}

func (t *wtx) tx() *wtx { return t }

func (t *wtx) direntExists(parent uint64, name string) (bool, error) {
	_, _, ok, err := t.dirent(parent, name)
	return ok, err
}

func (t *wtx) xattrExists(ino uint64, name string) (bool, error) {
	_, ok, err := getAt(t.txn, pfxXattr(t.v.id, ino, name), math.MaxUint64)
	return ok, err
}

// mknodIn creates name in parent (mode and rdev checked by the caller) and
// returns the new inode's number, generation and record.
func mknodIn(r recs, parent uint64, name string, mode uint32, rdev uint64, target string, o Owner) (uint64, uint64, inode, error) {
	t := r.tx()
	p, err := r.dirOf(parent)
	if err != nil {
		return 0, 0, inode{}, err
	}
	if ok, err := r.direntExists(parent, name); err != nil {
		return 0, 0, inode{}, err
	} else if ok {
		return 0, 0, inode{}, errno(syscall.EEXIST, "%q in directory %d", name, parent)
	}
	ino, gen, err := t.allocIno()
	if err != nil {
		return 0, 0, inode{}, err
	}
	n := inode{Mode: mode, UID: o.UID, GID: o.GID, Nlink: 1, Rdev: rdev, Gen: gen,
		Atime: t.now, Mtime: t.now, Ctime: t.now, Crtime: t.now}
	switch mode & sIFMT {
	case sIFDIR:
		n.Nlink, n.Parent = 2, parent
		if p.Nlink >= maxLinks {
			return 0, 0, inode{}, errno(syscall.EMLINK, "directory %d", parent)
		}
		p.Nlink++
	case sIFLNK:
		n.Target, n.Size = target, uint64(len(target))
	}
	if err := r.setInode(ino, &n); err != nil {
		return 0, 0, inode{}, err
	}
	if err := r.setDirent(parent, name, ino, mode); err != nil {
		return 0, 0, inode{}, err
	}
	p.Mtime, p.Ctime = t.now, t.now
	return ino, gen, n, r.setInode(parent, &p)
}

// linkIn adds the name newName in newParent for ino and returns ino's record.
func linkIn(r recs, ino, newParent uint64, newName string) (inode, error) {
	t := r.tx()
	n, err := r.inode(ino)
	if err != nil {
		return n, err
	}
	// Linux order: the new name is looked up before the source type is checked.
	p, err := r.dirOf(newParent)
	if err != nil {
		return n, err
	}
	if ok, err := r.direntExists(newParent, newName); err != nil {
		return n, err
	} else if ok {
		return n, errno(syscall.EEXIST, "%q in directory %d", newName, newParent)
	}
	if n.Mode&sIFMT == sIFDIR {
		return n, errno(syscall.EPERM, "hard link to directory %d", ino)
	}
	if n.Nlink >= maxLinks {
		return n, errno(syscall.EMLINK, "inode %d", ino)
	}
	n.Nlink++
	n.Ctime = t.now
	if err := r.setInode(ino, &n); err != nil {
		return n, err
	}
	if err := r.setDirent(newParent, newName, ino, n.Mode); err != nil {
		return n, err
	}
	p.Mtime, p.Ctime = t.now, t.now
	return n, r.setInode(newParent, &p)
}

// setAttrIn applies in to ino and returns its record (blocks freed by a
// truncation are freed after the commit: t.orphans).
func setAttrIn(r recs, ino uint64, in SetAttrIn) (inode, error) {
	t := r.tx()
	n, err := r.inode(ino)
	if err != nil {
		return n, err
	}
	if in.Valid&SetMode != 0 {
		n.Mode = n.Mode&sIFMT | in.Mode&07777
	}
	if in.Valid&SetUID != 0 {
		n.UID = in.UID
	}
	if in.Valid&SetGID != 0 {
		n.GID = in.GID
	}
	if in.Valid&SetSize != 0 {
		switch n.Mode & sIFMT {
		case sIFREG:
		case sIFDIR:
			return n, errno(syscall.EISDIR, "truncate inode %d", ino)
		default:
			return n, errno(syscall.EINVAL, "truncate inode %d", ino)
		}
		if err := t.truncate(ino, &n, in.Size); err != nil {
			return n, err
		}
		n.Mtime = t.now
	}
	if in.Valid&SetAtime != 0 {
		n.Atime = in.Atime.UnixNano()
	}
	if in.Valid&SetMtime != 0 {
		n.Mtime = in.Mtime.UnixNano()
	}
	n.Ctime = t.now
	if in.Valid&SetCtime != 0 {
		n.Ctime = in.Ctime.UnixNano()
	}
	return n, r.setInode(ino, &n)
}

// setXattrIn sets xattr name of ino (name and size checked by the caller).
func setXattrIn(r recs, ino uint64, name string, value []byte, flags uint32) error {
	t := r.tx()
	n, err := r.inode(ino)
	if err != nil {
		return err
	}
	exists, err := r.xattrExists(ino, name)
	if err != nil {
		return err
	}
	if flags&XattrCreate != 0 && exists {
		return errno(syscall.EEXIST, "xattr %q of inode %d", name, ino)
	}
	if flags&XattrReplace != 0 && !exists {
		return errno(syscall.ENODATA, "xattr %q of inode %d", name, ino)
	}
	if err := r.setXattrRec(ino, name, value); err != nil {
		return err
	}
	n.Ctime = t.now
	return r.setInode(ino, &n)
}
