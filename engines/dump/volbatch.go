package dump

import (
	"errors"
	"path"
	"strings"

	"tapelab/volume"
)

// Batched restores. A full restore into a volume creates every file of the
// image, writes its data and sets its attributes and xattrs: one volume
// transaction each, ~5 per small file. With batching on, VolumeTarget
// queues these in a volume.Batch and applies them in transactions of a
// few MiB (several whole files where they fit). Calls that read the volume or change its names in
// other ways (Lstat of a path with queued changes, Mkdir, Remove, Rename,
// Free) apply the queue first, so every call sees the effects of the
// calls before it, as without batching.
//
// A queued operation that fails is reported later, by Failures, with the
// path of the file it was for: the restorer logs it as it would have
// logged the call's error (and stops at ENOSPC, as then).

// DeferredError is a queued operation of a batching target that failed
// when the queue was applied.
type DeferredError struct {
	Path string
	// Op is "create" (creating the file or writing its data: the file is
	// incomplete), "link", "attr" or "xattr".
	Op   string
	Name string // the xattr, for Op "xattr"
	Err  error
}

// queue bounds: apply the queue once this much data or this many
// operations wait (the volume splits it into transactions of its own
// bounds).
var (
	batchQueueData = 16 << 20
	batchQueueOps  = 8192
)

// queued is what VolumeTarget remembers of a queued operation.
type queued struct {
	path string
	op   string
	name string
	file int // index in pendFiles; -1 for an existing inode
}

type pendFile struct {
	path   string
	ref    volume.Ref
	create int // the create's operation index
	failed bool
}

// Sync applies the queue and makes everything the restore wrote durable
// (Volume.Sync: the store's value log and write-ahead log are fsynced).
func (t *VolumeTarget) Sync() error {
	t.flushAll()
	return t.V.Volume().Sync()
}

// SetBatching turns batching on or off (off applies the queue first).
func (t *VolumeTarget) SetBatching(on bool) error {
	if !on {
		err := t.Flush()
		t.batch = nil
		return err
	}
	if t.batch == nil {
		t.batch = t.V.NewBatch()
		t.pendPath = map[string]int{}
		t.dirty = map[string]bool{}
	}
	return nil
}

// Failures returns (and forgets) the queued operations that failed so far.
func (t *VolumeTarget) Failures() []DeferredError {
	f := t.failures
	t.failures = nil
	return f
}

// flight is a queue being applied in the background while the next one
// fills: the restore reads and parses the image while the volume commits.
type flight struct {
	batch *volume.Batch
	done  chan struct{}
	res   []volume.BatchResult
	err   error
	queue []queued
	files []pendFile
	paths map[string]int
	dirty map[string]bool
	bufs  [][]byte
}

// detach moves the queue into a flight and starts an empty one.
func (t *VolumeTarget) detach() *flight {
	f := &flight{batch: t.batch, done: make(chan struct{}), queue: t.queue, files: t.pendFiles,
		paths: t.pendPath, dirty: t.dirty, bufs: t.bufs}
	t.batch = t.V.NewBatch()
	t.queue, t.pendFiles, t.bufs = nil, nil, nil
	t.pendPath, t.dirty = map[string]int{}, map[string]bool{}
	return f
}

// apply commits a detached queue (nothing of it once the restore stopped:
// the calls after the failure would not have been made).
func (t *VolumeTarget) apply(f *flight, stopped error) {
	defer close(f.done)
	if stopped != nil {
		f.res, f.err = make([]volume.BatchResult, len(f.queue)), stopped
		for i := range f.res {
			f.res[i].Err = volume.ErrNotApplied
		}
		return
	}
	f.res, f.err = f.batch.Commit()
}

// land takes the outcome of an applied queue: the inode numbers of new
// files, the failures, the write buffers back.
func (t *VolumeTarget) land(f *flight) {
	for _, b := range f.bufs {
		b := b[:0]
		bufPool.Put(&b)
	}
	if f.err != nil && t.stopped == nil {
		t.stopped = f.err
	}
	for i, q := range f.queue {
		r := f.res[i]
		var pf *pendFile
		if q.file >= 0 {
			pf = &f.files[q.file]
		}
		if r.Err == nil {
			if pf != nil && i == pf.create {
				t.remember(pf.path, r.Ino)
			}
			continue
		}
		if pf != nil && pf.failed {
			continue // the file's first failure was reported
		}
		if pf != nil && q.op == "create" {
			pf.failed = true
		}
		if errors.Is(r.Err, volume.ErrNotApplied) && f.err != nil {
			continue // the failure that stopped the queue is reported
		}
		t.failures = append(t.failures, DeferredError{Path: q.path, Op: q.op, Name: q.name, Err: r.Err})
	}
}

// wait lands the queue in flight, if any.
func (t *VolumeTarget) wait() {
	if f := t.flying; f != nil {
		<-f.done
		t.flying = nil
		t.land(f)
	}
}

// Flush applies the queued operations (and waits for those in flight).
// Their failures go to Failures; the error is the one that stopped the
// queue (ENOSPC, the volume gone), also reported there.
func (t *VolumeTarget) Flush() error {
	t.wait()
	if t.batch == nil || t.batch.Len() == 0 {
		return t.stopped
	}
	f := t.detach()
	t.apply(f, t.stopped)
	t.land(f)
	return t.stopped
}

// flushBehind starts applying the queue in the background (after the
// previous one landed) and returns: the restore goes on reading the image.
func (t *VolumeTarget) flushBehind() {
	t.wait()
	if t.batch.Len() == 0 {
		return
	}
	if t.stopped != nil {
		t.Flush() // drops the queue
		return
	}
	f := t.detach()
	t.flying = f
	go t.apply(f, nil)
}

// concerns reports whether the queue, or the one in flight, changes p.
func (t *VolumeTarget) concerns(p string) (queued, flying bool) {
	if _, ok := t.pendPath[p]; ok || t.dirty[p] {
		queued = true
	}
	if f := t.flying; f != nil {
		if _, ok := f.paths[p]; ok || f.dirty[p] {
			flying = true
		}
	}
	return queued, flying
}

// settle applies what is queued or in flight if it concerns p or a
// directory above it; reads and synchronous changes of p call it first.
func (t *VolumeTarget) settle(p string) {
	if t.batch == nil || (t.batch.Len() == 0 && t.flying == nil) {
		return
	}
	for q := p; ; q = path.Dir(q) {
		queued, flying := t.concerns(q)
		if queued {
			t.Flush()
			return
		}
		if flying {
			t.wait()
		}
		if q == "." || q == "/" || q == "" || !strings.Contains(q, "/") {
			return
		}
	}
}

// flushAll applies the queue before a change the queue does not model.
func (t *VolumeTarget) flushAll() {
	if t.batch != nil {
		t.Flush()
	}
}

func (t *VolumeTarget) batching() bool { return t.batch != nil }

// maybeFlush starts applying the queue once it is large enough.
func (t *VolumeTarget) maybeFlush() {
	if t.batch.DataBytes() >= batchQueueData || t.batch.Len() >= batchQueueOps {
		t.flushBehind()
	}
}

// ref returns how the queue names p: a file created in the queue, or an
// existing inode.
func (t *VolumeTarget) ref(p string) (volume.Ref, int, error) {
	if i, ok := t.pendPath[p]; ok {
		return t.pendFiles[i].ref, i, nil
	}
	if _, flying := t.concerns(p); flying {
		t.wait() // created or linked in flight: its inode number is needed
	}
	ino, err := t.resolve(p)
	if err != nil && t.dirty[p] {
		// a name a queued link makes
		t.Flush()
		ino, err = t.resolve(p)
	}
	return volume.InodeRef(ino), -1, err
}

// add records operation k of the batch (every operation is added, so k
// is also its index in t.queue).
func (t *VolumeTarget) add(k int, q queued) {
	if k != len(t.queue) {
		panic("dump: batch queue out of step")
	}
	t.queue = append(t.queue, q)
}

// queueCreate queues the creation of p (which does not exist) by mk.
func (t *VolumeTarget) queueCreate(p string, mk func(parent volume.Ref, name string) (int, volume.Ref)) (int, error) {
	t.settle(path.Dir(p))
	dir, name, err := t.parent(p)
	if err != nil {
		return 0, err
	}
	k, ref := mk(volume.InodeRef(dir), name)
	f := len(t.pendFiles)
	t.pendFiles = append(t.pendFiles, pendFile{path: p, ref: ref, create: k})
	t.pendPath[p] = f
	t.add(k, queued{path: p, op: "create", file: f})
	return f, nil
}

// batchFile is a new file's writer in a batch: its data goes into the
// queue in 1 MiB writes.
type batchFile struct {
	t    *VolumeTarget
	file int
	coalescer
}

func (f *batchFile) queueBuf() {
	if len(f.buf) == 0 {
		return
	}
	t := f.t
	pf := t.pendFiles[f.file]
	k := t.batch.Write(pf.ref, f.off, f.buf)
	t.add(k, queued{path: pf.path, op: "create", file: f.file})
	t.bufs = append(t.bufs, f.buf)
	f.buf = nil
}

func (f *batchFile) WriteAt(p []byte, off int64) (int, error) {
	f.add(p, off, func() error { f.queueBuf(); return nil })
	return len(p), nil
}

func (f *batchFile) Truncate(size int64) error {
	f.queueBuf()
	t := f.t
	pf := t.pendFiles[f.file]
	k := t.batch.SetAttr(pf.ref, volume.SetAttrIn{Valid: volume.SetSize, Size: uint64(size)})
	t.add(k, queued{path: pf.path, op: "create", file: f.file})
	return nil
}

func (f *batchFile) Close() error {
	f.queueBuf()
	f.release()
	f.t.maybeFlush()
	return nil
}
