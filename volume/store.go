package volume

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/google/uuid"
)

// Store is one open tapelab store: one Badger database holding all volumes.
type Store struct {
	// mu is held shared by every operation and exclusively by GC and Close,
	// which swap or close the database.
	mu     sync.RWMutex
	db     *badger.DB
	dir    string
	opts   Options
	closed bool

	vmu  sync.Mutex
	vols map[string]*Volume // "svm\x00name"

	wb *writeBehind
}

// volMeta is a volume's static, JSON-encoded record.
type volMeta struct {
	ID         uint32    `json:"id"`
	SVM        string    `json:"svm"`
	Name       string    `json:"name"`
	UUID       string    `json:"uuid"`
	Type       Type      `json:"type"`
	State      State     `json:"state"`
	Size       int64     `json:"size"`
	InodeLimit uint64    `json:"inode_limit"`
	Created    time.Time `json:"created"`
}

type badgerLogger struct{ f func(string, ...any) }

func (l badgerLogger) Errorf(f string, a ...any)   { l.f("badger: error: "+f, a...) }
func (l badgerLogger) Warningf(f string, a ...any) { l.f("badger: warning: "+f, a...) }
func (l badgerLogger) Infof(string, ...any)        {}
func (l badgerLogger) Debugf(string, ...any)       {}

// valueLogFileSize is the size at which Badger starts a new value-log
// file (a variable so that tests can make it rotate every MiB).
var valueLogFileSize int64 = 64 << 20

func (s *Store) badgerOptions() badger.Options {
	logf := s.opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return badger.DefaultOptions(s.dir).
		WithValueThreshold(1 << 10). // blocks in the value log, metadata inline in the LSM
		WithCompression(options.None).
		WithBlockCacheSize(0). // no compression: the block cache buys nothing (notes §3)
		WithValueLogFileSize(valueLogFileSize).
		WithMemTableSize(32 << 20).
		WithSyncWrites(s.opts.SyncWrites).
		WithCompactL0OnClose(true).
		WithNumVersionsToKeep(1).   // our versions live in keys
		WithDetectConflicts(false). // writers of a volume are serialized by its lock; volumes have disjoint keys
		WithMetricsEnabled(false).
		WithLogger(badgerLogger{logf})
}

func openStore(dir string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{dir: dir, opts: opts, vols: map[string]*Volume{}}
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("volume store %s: %w", dir, err)
		}
	case err != nil:
		return nil, fmt.Errorf("volume store %s: %w", dir, err)
	case len(ents) > 0:
		// Refuse directories that are not Badger databases before Badger
		// writes anything into them.
		have := map[string]bool{}
		for _, e := range ents {
			have[e.Name()] = true
		}
		if !have["MANIFEST"] || !have["KEYREGISTRY"] {
			return nil, fmt.Errorf("%s: %w (directory is not empty and holds no database)", dir, ErrNotStore)
		}
	}
	db, err := badger.Open(s.badgerOptions())
	if err != nil {
		return nil, fmt.Errorf("volume store %s: cannot open database (corrupt or in use?): %w", dir, err)
	}
	s.db = db
	if err := s.checkFormat(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadVolumes(); err != nil {
		db.Close()
		return nil, err
	}
	for _, v := range s.vols {
		if err := v.resumeDeletes(); err != nil {
			db.Close()
			return nil, fmt.Errorf("volume store %s: volume %s: finishing interrupted deletes: %w", dir, v.name, err)
		}
	}
	s.wb = startWriteBehind(dir)
	return s, nil
}

func (s *Store) checkFormat() error {
	return s.db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get(magicKey)
		if err == nil {
			v, _ := it.ValueCopy(nil)
			if string(v) != formatVersion {
				return fmt.Errorf("%s: %w (format %q, want %q)", s.dir, ErrNotStore, v, formatVersion)
			}
			return nil
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("volume store %s: %w", s.dir, err)
		}
		iter := txn.NewIterator(badger.IteratorOptions{})
		iter.Rewind()
		empty := !iter.Valid()
		iter.Close()
		if !empty {
			return fmt.Errorf("%s: %w (a database without the tapelab format record)", s.dir, ErrNotStore)
		}
		return txn.Set(magicKey, []byte(formatVersion))
	})
}

func (s *Store) loadVolumes() error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pVolMeta}, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			raw, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			var m volMeta
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("volume store %s: volume record %x: %w", s.dir, it.Item().Key(), errBadRecord)
			}
			v := &Volume{store: s, id: m.ID, svm: m.SVM, name: m.Name, meta: m}
			ci, err := txn.Get(kID(pCtr, m.ID))
			if err != nil {
				return fmt.Errorf("volume %s:%s: counters: %w", m.SVM, m.Name, err)
			}
			cb, _ := ci.ValueCopy(nil)
			if v.ctr, err = decodeCounters(cb); err != nil {
				return fmt.Errorf("volume %s:%s: counters: %w", m.SVM, m.Name, err)
			}
			if err := v.loadSnapshots(txn); err != nil {
				return err
			}
			s.vols[m.SVM+"\x00"+m.Name] = v
		}
		return nil
	})
}

func (s *Store) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.wb != nil {
		s.wb.stop()
	}
	return s.db.Close()
}

// acquire takes the shared store lock for one operation. Lock order: a
// volume's writer lock (v.mu) before the store lock, never the store lock
// twice in one goroutine (GC waiting for the exclusive lock would block the
// second read lock).
func (s *Store) acquire() (*badger.DB, error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	return s.db, nil
}

func (s *Store) release() { s.mu.RUnlock() }

func (s *Store) sync() error {
	db, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release()
	return db.Sync()
}

var (
	volNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,202}$`)
	svmNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,46}$`)
)

// ValidateVolumeName checks a volume name: letters, digits and '_',
// starting with a letter or '_', at most 203 characters (ONTAP's rules).
func ValidateVolumeName(name string) error {
	if !volNameRE.MatchString(name) {
		return fmt.Errorf("invalid volume name %q: use letters, digits and '_', start with a letter or '_', at most 203 characters: %w", name, ErrInvalid)
	}
	return nil
}

// ValidateSVMName checks a storage VM name: letters, digits, '_', '.', '-',
// not starting with '.' or '-', at most 47 characters.
func ValidateSVMName(name string) error {
	if !svmNameRE.MatchString(name) {
		return fmt.Errorf("invalid SVM name %q: use letters, digits, '_', '.', '-', start with a letter, digit or '_', at most 47 characters: %w", name, ErrInvalid)
	}
	return nil
}

func (s *Store) createVolume(spec Spec) (*Volume, error) {
	if err := ValidateSVMName(spec.SVM); err != nil {
		return nil, err
	}
	if err := ValidateVolumeName(spec.Name); err != nil {
		return nil, err
	}
	if spec.Size < MinSize || spec.Size > MaxSize {
		return nil, fmt.Errorf("invalid size %d for volume %s: must be between %d (1 MiB) and %d (100 TiB) bytes: %w", spec.Size, spec.Name, MinSize, MaxSize, ErrInvalid)
	}
	size := (spec.Size + BlockSize - 1) / BlockSize * BlockSize
	typ := spec.Type
	if typ == "" {
		typ = TypeRW
	}
	if typ != TypeRW && typ != TypeDP {
		return nil, fmt.Errorf("invalid volume type %q (want RW or DP): %w", spec.Type, ErrInvalid)
	}
	limit := spec.InodeLimit
	if limit == 0 {
		limit = max(uint64(size/32768), 256)
	}
	if limit < 1 || limit > 1<<31 {
		return nil, fmt.Errorf("invalid inode limit %d: %w", spec.InodeLimit, ErrInvalid)
	}
	db, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer s.release()
	s.vmu.Lock()
	defer s.vmu.Unlock()
	if _, ok := s.vols[spec.SVM+"\x00"+spec.Name]; ok {
		return nil, fmt.Errorf("volume %s in SVM %s: %w", spec.Name, spec.SVM, ErrVolumeExists)
	}
	now := s.opts.Now()
	m := volMeta{SVM: spec.SVM, Name: spec.Name, UUID: uuid.NewString(), Type: typ,
		State: StateOnline, Size: size, InodeLimit: limit, Created: now.UTC()}
	v := &Volume{store: s, svm: spec.SVM, name: spec.Name,
		ctr: counters{Epoch: 1, NextIno: RootIno + 1, Inodes: 1}}
	err = db.Update(func(txn *badger.Txn) error {
		// Volume ids come from a persistent sequence so a deleted volume's
		// id (and its leftover keys, if any) is never reused.
		id := uint32(1)
		if it, err := txn.Get([]byte("\x00nextvol")); err == nil {
			b, _ := it.ValueCopy(nil)
			if len(b) == 4 {
				id = binary.BigEndian.Uint32(b)
			}
		}
		if err := txn.Set([]byte("\x00nextvol"), binary.BigEndian.AppendUint32(nil, id+1)); err != nil {
			return err
		}
		m.ID = id
		v.id = id
		v.meta = m
		mb, _ := json.Marshal(m)
		if err := txn.Set(kVolName(m.SVM, m.Name), binary.BigEndian.AppendUint32(nil, id)); err != nil {
			return err
		}
		if err := txn.Set(kID(pVolMeta, id), mb); err != nil {
			return err
		}
		ns := now.UnixNano()
		root := inode{Mode: sIFDIR | 0o755, Nlink: 2, Atime: ns, Mtime: ns, Ctime: ns, Crtime: ns, Gen: 1, Parent: RootIno}
		if err := txn.Set(withEpoch(pfxInode(id, RootIno), 1), root.encode()); err != nil {
			return err
		}
		return txn.Set(kID(pCtr, id), v.ctr.encode())
	})
	if err != nil {
		return nil, fmt.Errorf("create volume %s: %w", spec.Name, err)
	}
	s.vols[m.SVM+"\x00"+m.Name] = v
	return v, nil
}

func (s *Store) volume(svm, name string) (*Volume, error) {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	v, ok := s.vols[svm+"\x00"+name]
	if !ok {
		return nil, fmt.Errorf("volume %q in SVM %q: %w", name, svm, ErrNoVolume)
	}
	return v, nil
}

func (s *Store) volumes() []Info {
	s.vmu.Lock()
	vs := make([]*Volume, 0, len(s.vols))
	for _, v := range s.vols {
		vs = append(vs, v)
	}
	s.vmu.Unlock()
	out := make([]Info, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.info())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].SVM != out[j].SVM {
			return out[i].SVM < out[j].SVM
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func (s *Store) deleteVolume(svm, name string) error {
	v, err := s.volume(svm, name)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	db, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release()
	v.rmu.RLock()
	st := v.meta.State
	v.rmu.RUnlock()
	if st != StateOffline {
		return fmt.Errorf("delete volume %s: %w (it is %s)", name, ErrVolumeNotOffline, st)
	}
	if err := db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(kVolName(svm, name)); err != nil {
			return err
		}
		if err := txn.Delete(kID(pVolMeta, v.id)); err != nil {
			return err
		}
		return txn.Delete(kID(pCtr, v.id))
	}); err != nil {
		return fmt.Errorf("delete volume %s: %w", name, err)
	}
	v.rmu.Lock()
	v.deleted = true
	v.rmu.Unlock()
	s.vmu.Lock()
	delete(s.vols, svm+"\x00"+name)
	s.vmu.Unlock()
	var prefixes [][]byte
	for _, p := range []byte{pSnap, pInode, pDirent, pXattr, pBlock, pDead, pHist, pFree, pOrphan} {
		prefixes = append(prefixes, kID(p, v.id))
	}
	if err := db.DropPrefix(prefixes...); err != nil {
		return fmt.Errorf("delete volume %s: dropping its data: %w", name, err)
	}
	return nil
}

// gc closes and reopens the database so that L0 is compacted on close
// (discard statistics exist only after compaction), flattens the LSM, then
// runs value-log GC until it finds nothing to rewrite (recipe from
// shared/notes/fuse-badger.md §3).
func (s *Store) gc() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("gc: close: %w", err)
	}
	db, err := badger.Open(s.badgerOptions())
	if err != nil {
		s.closed = true
		return fmt.Errorf("gc: reopen: %w", err)
	}
	s.db = db
	if err := db.Flatten(1); err != nil {
		return fmt.Errorf("gc: flatten: %w", err)
	}
	for i := 0; i < 1000; i++ {
		if err := db.RunValueLogGC(0.1); err != nil {
			break
		}
	}
	return nil
}

func (s *Store) diskUsage() (int64, error) {
	var total int64
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += fi.Size()
		}
		return nil
	})
	return total, err
}

func parsePath(p string) (string, string, string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", "", "", fmt.Errorf("path %q: must start with /SVM/VOLUME: %w", p, ErrInvalid)
	}
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", "", "", fmt.Errorf("path %q: want /SVM/VOLUME[/path]: %w", p, ErrInvalid)
	}
	if err := ValidateSVMName(parts[0]); err != nil {
		return "", "", "", fmt.Errorf("path %q: %w", p, err)
	}
	if err := ValidateVolumeName(parts[1]); err != nil {
		return "", "", "", fmt.Errorf("path %q: %w", p, err)
	}
	rel := ""
	if len(parts) == 3 {
		rel = strings.TrimPrefix(path.Clean("/"+parts[2]), "/")
	}
	return parts[0], parts[1], rel, nil
}

// storeTxns runs single transactions under the shared store lock.
type storeTxns struct{ s *Store }

func (st storeTxns) Update(fn func(txn *badger.Txn) error) error {
	db, err := st.s.acquire()
	if err != nil {
		return err
	}
	defer st.s.release()
	return db.Update(fn)
}
