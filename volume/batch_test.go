package volume

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"syscall"
	"testing"
	"time"
)

// batchOp is one random operation of the batch tests, applied either
// through a Batch or through the View methods one call at a time.
type batchOp struct {
	kind   string // create mkdir symlink mknod link write setattr xattr
	slot   int    // the inode: index of the op that created it (-1: the root)
	parent int    // create*, link: the directory (a slot)
	name   string
	off    int64
	data   []byte
	in     SetAttrIn
	flags  uint32
	commit bool // commit the batch after this op
}

func randomBatchOps(r *rand.Rand, n int) []batchOp {
	var slots, dirs, files []int // ops that create inodes, directories, regular files
	pickFrom := func(l []int) int {
		if r.Intn(10) == 0 && len(slots) > 0 {
			return slots[r.Intn(len(slots))] // anything: wrong types too
		}
		if len(l) == 0 || r.Intn(6) == 0 {
			return -1
		}
		return l[r.Intn(len(l))]
	}
	ops := make([]batchOp, 0, n)
	for i := 0; i < n; i++ {
		op := batchOp{slot: pickFrom(files), parent: pickFrom(dirs), name: string(rune('a' + r.Intn(12))), commit: r.Intn(12) == 0}
		switch x := r.Intn(100); {
		case x < 22:
			op.kind = "create"
		case x < 30:
			op.kind = "mkdir"
		case x < 33:
			op.kind = "symlink"
		case x < 35:
			op.kind = "mknod"
		case x < 40:
			op.kind = "link"
		case x < 75:
			op.kind = "write"
			size := []int{0, 100, 4096, 5000, 70000, 1 << 20, 1<<20 + 4097, 3 << 20}[r.Intn(8)]
			op.off = []int64{0, 0, 0, 1, 4095, 4096, 12345, 1 << 20, 5 << 20}[r.Intn(9)]
			op.data = make([]byte, size)
			switch r.Intn(4) {
			case 0: // zeros: holes
			case 1: // data with zero blocks inside
				r.Read(op.data)
				for b := 4096; b+8192 <= len(op.data); b += 3 * 4096 {
					clear(op.data[b : b+8192])
				}
			default:
				r.Read(op.data)
			}
		case x < 90:
			op.kind = "setattr"
			op.in = SetAttrIn{Valid: SetMode | SetUID | SetAtime | SetMtime, Mode: uint32(r.Intn(0o7777)),
				UID: uint32(r.Intn(5)), Atime: time.Unix(int64(r.Intn(1e9)), 0), Mtime: time.Unix(int64(r.Intn(1e9)), 7)}
			if r.Intn(2) == 0 {
				op.in.Valid |= SetSize
				op.in.Size = uint64([]int{0, 1, 4096, 10000, 1 << 20, 6 << 20}[r.Intn(6)])
			}
		default:
			op.kind = "xattr"
			op.name = "user." + op.name
			op.data = []byte(fmt.Sprint(r.Intn(1000)))
			op.flags = []uint32{0, 0, XattrCreate, XattrReplace}[r.Intn(4)]
		}
		switch op.kind {
		case "create":
			files = append(files, i)
			slots = append(slots, i)
		case "mkdir":
			dirs = append(dirs, i)
			slots = append(slots, i)
		case "symlink", "mknod":
			slots = append(slots, i)
		}
		ops = append(ops, op)
	}
	ops[len(ops)-1].commit = true
	return ops
}

type opOutcome struct {
	ino   uint64
	n     int
	errno syscall.Errno
	other string // an error without an errno
}

func outcomeOf(ino uint64, n int, err error) opOutcome {
	o := opOutcome{ino: ino, n: n}
	if err == nil {
		return o
	}
	o.ino = 0
	var e syscall.Errno
	switch {
	case errors.Is(err, ErrNotApplied):
		o.other = "not applied"
	case errors.As(err, &e):
		o.errno = e
	default:
		o.other = err.Error()
	}
	return o
}

// applySingly applies ops with the View methods, one call each: the
// reference. After an ENOSPC failure the rest of that batch (up to the
// next commit point) is not applied, as a Batch stops there.
func applySingly(w *View, ops []batchOp, snapAt int) []opOutcome {
	out := make([]opOutcome, len(ops))
	errs := make([]error, len(ops))
	ino := func(slot int) (uint64, error) {
		if slot < 0 {
			return RootIno, nil
		}
		if errs[slot] != nil {
			return 0, errs[slot]
		}
		return out[slot].ino, nil
	}
	stopped := false
	batch := make([]int, len(ops)) // the batch each op belongs to
	nb := 0
	// a failure a Batch user knows when queueing (from an earlier batch,
	// or itself known when queued) takes precedence over a stop
	known := make([]bool, len(ops))
	early := func(slot int) bool {
		return slot >= 0 && errs[slot] != nil && (batch[slot] < nb || known[slot])
	}
	for i, op := range ops {
		batch[i] = nb
		if i == snapAt {
			if _, err := w.vol.CreateSnapshot("s1"); err != nil {
				panic(err)
			}
		}
		var err error
		var rino uint64
		n := 0
		isCreate := op.kind == "create" || op.kind == "mkdir" || op.kind == "symlink" || op.kind == "mknod"
		if early(op.slot) && !isCreate {
			err, known[i] = errs[op.slot], true
		} else if early(op.parent) && (isCreate || op.kind == "link") {
			err, known[i] = errs[op.parent], true
		} else if stopped {
			err = ErrNotApplied
		} else if target, terr := ino(op.slot); terr != nil && op.kind != "create" && op.kind != "mkdir" && op.kind != "symlink" && op.kind != "mknod" {
			err = terr
		} else {
			parent, perr := ino(op.parent)
			var a Attr
			switch op.kind {
			case "create", "mkdir", "symlink", "mknod", "link":
				if perr != nil {
					err = perr
					break
				}
				switch op.kind {
				case "create":
					a, err = w.Create(parent, op.name, 0o644, Owner{UID: 1})
				case "mkdir":
					a, err = w.Mkdir(parent, op.name, 0o755, Owner{})
				case "symlink":
					a, err = w.Symlink(parent, op.name, "target-"+op.name, Owner{})
				case "mknod":
					a, err = w.Mknod(parent, op.name, syscall.S_IFIFO|0o600, 0, Owner{})
				case "link":
					a, err = w.Link(target, parent, op.name)
				}
				rino = a.Ino
			case "write":
				n, err = w.Write(target, op.off, op.data)
			case "setattr":
				_, err = w.SetAttr(target, op.in)
			case "xattr":
				err = w.SetXattr(target, op.name, op.data, op.flags)
			}
			if isNoSpace(err) {
				stopped = true
			}
		}
		errs[i] = err
		out[i] = outcomeOf(rino, n, err)
		if op.commit {
			stopped = false
			nb++
		}
	}
	return out
}

// applyBatched applies the same ops through Batches committed at the
// commit points.
func applyBatched(t *testing.T, w *View, ops []batchOp, snapAt int) []opOutcome {
	out := make([]opOutcome, len(ops))
	errs := make([]error, len(ops))
	b := w.NewBatch()
	refs := map[int]Ref{}  // slot -> Ref in the open batch
	index := map[int]int{} // op -> index in the open batch
	var pending []int      // ops in the open batch
	ref := func(slot int) (Ref, error) {
		if slot < 0 {
			return InodeRef(RootIno), nil
		}
		if r, ok := refs[slot]; ok {
			return r, nil
		}
		if errs[slot] != nil {
			return Ref{}, errs[slot]
		}
		return InodeRef(out[slot].ino), nil
	}
	for i, op := range ops {
		if i == snapAt {
			if b.Len() != 0 {
				t.Fatal("snapshot point inside a batch")
			}
			if _, err := w.vol.CreateSnapshot("s1"); err != nil {
				t.Fatal(err)
			}
		}
		target, terr := ref(op.slot)
		parent, perr := ref(op.parent)
		isCreate := false
		var k int
		switch {
		case terr != nil && op.kind != "create" && op.kind != "mkdir" && op.kind != "symlink" && op.kind != "mknod":
			errs[i], out[i] = terr, outcomeOf(0, 0, terr)
			k = -1
		case perr != nil && (op.kind == "create" || op.kind == "mkdir" || op.kind == "symlink" || op.kind == "mknod" || op.kind == "link"):
			errs[i], out[i] = perr, outcomeOf(0, 0, perr)
			k = -1
		default:
			var r Ref
			switch op.kind {
			case "create":
				k, r = b.Create(parent, op.name, 0o644, Owner{UID: 1})
				isCreate = true
			case "mkdir":
				k, r = b.Mkdir(parent, op.name, 0o755, Owner{})
				isCreate = true
			case "symlink":
				k, r = b.Symlink(parent, op.name, "target-"+op.name, Owner{})
				isCreate = true
			case "mknod":
				k, r = b.Mknod(parent, op.name, syscall.S_IFIFO|0o600, 0, Owner{})
				isCreate = true
			case "link":
				k = b.Link(target, parent, op.name)
			case "write":
				k = b.Write(target, op.off, op.data)
			case "setattr":
				k = b.SetAttr(target, op.in)
			case "xattr":
				k = b.SetXattr(target, op.name, op.data, op.flags)
			}
			if isCreate {
				refs[i] = r
			}
		}
		if k >= 0 {
			index[i] = k
			pending = append(pending, i)
		}
		if op.commit {
			res, _ := b.Commit()
			if len(res) != len(pending) {
				t.Fatalf("%d results for %d ops", len(res), len(pending))
			}
			for _, j := range pending {
				r := res[index[j]]
				errs[j], out[j] = r.Err, outcomeOf(r.Ino, r.N, r.Err)
				if ops[j].kind == "setattr" || ops[j].kind == "xattr" || ops[j].kind == "write" {
					out[j].ino = 0
				}
			}
			clear(refs)
			clear(index)
			pending = pending[:0]
		}
	}
	return out
}

// dumpTree lists everything a view holds, times excluded (the store's
// clock is read once per transaction).
func dumpTree(t *testing.T, w *View) []string {
	var out []string
	var walk func(ino uint64, path string)
	walk = func(ino uint64, path string) {
		a := must[Attr](t)(w.GetAttr(ino))
		line := fmt.Sprintf("%s ino=%d gen=%d mode=%o uid=%d gid=%d nlink=%d size=%d blocks=%d rdev=%d",
			path, ino, a.Gen, a.Mode, a.UID, a.GID, a.Nlink, a.Size, a.Blocks, a.Rdev)
		if a.Atime.Unix() < 1e9+1 { // explicit times (SetAttr) are comparable
			line += fmt.Sprintf(" atime=%d", a.Atime.UnixNano())
		}
		xs := must[[]string](t)(w.ListXattr(ino))
		for _, x := range xs {
			line += fmt.Sprintf(" %s=%q", x, must[[]byte](t)(w.GetXattr(ino, x)))
		}
		switch a.Mode & sIFMT {
		case sIFREG:
			data := make([]byte, a.Size)
			must[int](t)(w.Read(ino, 0, data))
			line += fmt.Sprintf(" data=%x extents=%v", sha(data), must[[]Extent](t)(w.Extents(ino)))
		case sIFLNK:
			line += " -> " + must[string](t)(w.Readlink(ino))
		}
		out = append(out, line)
		if a.IsDir() {
			if err := w.ReadDir(ino, "", func(e DirEntry) bool {
				walk(e.Ino, path+"/"+e.Name)
				return true
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	walk(RootIno, "")
	return out
}

func sha(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d lines, want %d", what, len(got), len(want))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			t.Fatalf("%s: line %d:\n got %s\nwant %s", what, i, got[i], want[i])
		}
	}
}

// TestBatchMatchesSingleCalls applies the same random operations (creates
// of every kind, links, writes with holes and multi-chunk writes,
// truncations, attribute and xattr changes, with a snapshot in between
// and a volume small enough to run out of blocks and inodes) through
// Batches and through single View calls, and compares every outcome, the
// trees, the snapshot, the change lists, the accounting and the
// consistency check.
func TestBatchMatchesSingleCalls(t *testing.T) {
	seed := int64(11)
	if s := os.Getenv("TAPELAB_BATCH_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	noSpaceAll, newWrites := 0, int64(0)
	defer func() {
		if noSpaceAll == 0 && !t.Failed() {
			t.Errorf("no operation ran out of space: the test does not cover ENOSPC")
		}
		if newWrites == 0 && !t.Failed() {
			t.Errorf("no write into a new file took the batch's fast path")
		}
		t.Logf("%d writes into new files", newWrites)
	}()
	for round := 0; round < 4; round++ {
		seed := seed + int64(round)
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			ops := randomBatchOps(r, 400)
			snapAt := 150
			for snapAt < len(ops) && !ops[snapAt-1].commit {
				snapAt++
			}
			spec := Spec{SVM: "vs1", Size: 6 << 20, InodeLimit: 60}
			s := newStore(t, "")
			defer s.Close()
			spec.Name = "single"
			v1 := must[*Volume](t)(s.CreateVolume(spec))
			spec.Name = "batched"
			v2 := must[*Volume](t)(s.CreateVolume(spec))
			w1, w2 := must[*View](t)(v1.Active()), must[*View](t)(v2.Active())

			want := applySingly(w1, ops, snapAt)
			news := batchNewWrites.Load()
			got := applyBatched(t, w2, ops, snapAt)
			newWrites += batchNewWrites.Load() - news
			noSpace, applied := 0, 0
			for i := range ops {
				if got[i] != want[i] {
					for j := max(0, i-10); j <= i; j++ {
						t.Logf("%d %s slot=%d parent=%d commit=%v off=%d len=%d got=%+v want=%+v", j, ops[j].kind, ops[j].slot, ops[j].parent, ops[j].commit, ops[j].off, len(ops[j].data), got[j], want[j])
					}
					t.Fatalf("op %d (%s): batched %+v, single %+v", i, ops[i].kind, got[i], want[i])
				}
				if want[i].errno == syscall.ENOSPC {
					noSpace++
				}
				if want[i].errno == 0 && want[i].other == "" {
					applied++
				}
			}
			t.Logf("%d ops: %d applied, %d ENOSPC", len(ops), applied, noSpace)
			noSpaceAll += noSpace
			sameLines(t, "active", dumpTree(t, w2), dumpTree(t, w1))
			if snapAt < len(ops) {
				s1, s2 := must[*View](t)(v1.SnapshotView("s1")), must[*View](t)(v2.SnapshotView("s1"))
				sameLines(t, "snapshot", dumpTree(t, s2), dumpTree(t, s1))
				c1, c2 := must[[]InodeChange](t)(v1.Changes(s1, w1)), must[[]InodeChange](t)(v2.Changes(s2, w2))
				sameLines(t, "changes", changeLines(c2), changeLines(c1))
			}
			i1, i2 := v1.Info(), v2.Info()
			if i1.Used != i2.Used || i1.LiveUsed != i2.LiveUsed || i1.Inodes != i2.Inodes {
				t.Fatalf("accounting: batched used %d live %d inodes %d, single %d %d %d",
					i2.Used, i2.LiveUsed, i2.Inodes, i1.Used, i1.LiveUsed, i1.Inodes)
			}
			checkClean(t, v1)
			checkClean(t, v2)
			if snapAt < len(ops) {
				f1 := must[int64](t)(v1.DeleteSnapshot("s1"))
				f2 := must[int64](t)(v2.DeleteSnapshot("s1"))
				if f1 != f2 {
					t.Fatalf("snapshot deletion freed %d bytes batched, %d single", f2, f1)
				}
				checkClean(t, v2)
			}
		})
	}
}

func changeLines(cs []InodeChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%+v", c))
	}
	sort.Strings(out)
	return out
}

// TestBatchNoSpaceMidBatch: a batch that runs out of blocks in the middle
// keeps everything before the failing write, applies nothing of it or
// after it, and leaves the accounting exact.
func TestBatchNoSpaceMidBatch(t *testing.T) {
	_, v, w := newVolume(t, 1<<20) // 256 blocks
	b := w.NewBatch()
	var files []Ref
	var writes []int
	for i := 0; i < 6; i++ {
		_, f := b.Create(InodeRef(RootIno), fmt.Sprintf("f%d", i), 0o644, Owner{})
		files = append(files, f)
		writes = append(writes, b.Write(f, 0, pattern(200<<10, byte(i)))) // 50 blocks
		b.SetXattr(f, "user.i", []byte{byte(i)}, 0)
	}
	res, err := b.Commit()
	wantErrno(t, err, syscall.ENOSPC)
	for i, k := range writes {
		switch {
		case i < 5:
			if res[k].Err != nil || res[k].N != 200<<10 {
				t.Fatalf("write %d: %+v", i, res[k])
			}
		case i == 5:
			wantErrno(t, res[k].Err, syscall.ENOSPC)
			if res[k].N != 0 {
				t.Fatalf("failed write reports %d bytes", res[k].N)
			}
			if !errors.Is(res[k+1].Err, ErrNotApplied) {
				t.Fatalf("xattr after the failure: %v", res[k+1].Err)
			}
		}
	}
	for i := 0; i < 6; i++ {
		a := must[Attr](t)(w.Lookup(RootIno, fmt.Sprintf("f%d", i)))
		if i < 5 {
			equal(t, readAll(t, w, a.Ino), pattern(200<<10, byte(i)))
			if x := must[[]byte](t)(w.GetXattr(a.Ino, "user.i")); !bytes.Equal(x, []byte{byte(i)}) {
				t.Fatalf("xattr of f%d: %q", i, x)
			}
		} else if a.Size != 0 || a.Blocks != 0 {
			t.Fatalf("f5 after a failed write: %+v", a)
		}
	}
	if got := v.Info().Used; got != 5*50*BlockSize {
		t.Fatalf("used %d, want %d", got, 5*50*BlockSize)
	}
	checkClean(t, v)
	// the batch is reusable and the space check still exact: the last
	// 6 blocks fit, the 7th does not
	f := must[Attr](t)(w.Lookup(RootIno, "f5"))
	k1 := b.Write(InodeRef(f.Ino), 0, pattern(6*BlockSize, 9))
	k2 := b.Write(InodeRef(f.Ino), 6*BlockSize, pattern(BlockSize, 9))
	res, err = b.Commit()
	wantErrno(t, err, syscall.ENOSPC)
	if res[k1].Err != nil {
		t.Fatal(res[k1].Err)
	}
	wantErrno(t, res[k2].Err, syscall.ENOSPC)
	checkClean(t, v)
}

// TestBatchInodeLimit: creates beyond the inode limit fail with ENOSPC and
// stop the batch; the creates before it are kept.
func TestBatchInodeLimit(t *testing.T) {
	s := newStore(t, "")
	defer s.Close()
	v := must[*Volume](t)(s.CreateVolume(Spec{SVM: "vs1", Name: "v", Size: 4 << 20, InodeLimit: 5}))
	w := must[*View](t)(v.Active())
	b := w.NewBatch()
	var ks []int
	for i := 0; i < 6; i++ {
		k, _ := b.Create(InodeRef(RootIno), fmt.Sprint(i), 0o644, Owner{})
		ks = append(ks, k)
	}
	res, err := b.Commit()
	wantErrno(t, err, syscall.ENOSPC)
	for i, k := range ks {
		switch {
		case i < 4 && res[k].Err != nil:
			t.Fatalf("create %d: %v", i, res[k].Err)
		case i == 4:
			wantErrno(t, res[k].Err, syscall.ENOSPC)
		case i == 5 && !errors.Is(res[k].Err, ErrNotApplied):
			t.Fatalf("create 5: %v", res[k].Err)
		}
	}
	if n := v.Info().Inodes; n != 5 {
		t.Fatalf("%d inodes", n)
	}
	checkClean(t, v)
}

// TestBatchPerOpErrors: failures other than ENOSPC fail their operation
// alone (nothing of it applied) and the rest of the batch goes on; ops on
// an inode whose create failed fail with the create's error.
func TestBatchPerOpErrors(t *testing.T) {
	_, v, w := newVolume(t, 16<<20)
	must[Attr](t)(w.Create(RootIno, "exists", 0o644, Owner{}))
	b := w.NewBatch()
	_, a := b.Create(InodeRef(RootIno), "a", 0o644, Owner{})
	ka := b.Write(a, 0, pattern(10000, 1))
	kx, x := b.Create(InodeRef(RootIno), "exists", 0o644, Owner{})
	kxw := b.Write(x, 0, pattern(10, 2))
	kbad := b.SetXattr(a, "user.missing", []byte("v"), XattrReplace)
	kname, _ := b.Create(InodeRef(RootIno), "bad/name", 0o644, Owner{})
	kl := b.Link(a, InodeRef(RootIno), "a2")
	ks := b.SetAttr(a, SetAttrIn{Valid: SetMode, Mode: 0o600})
	res, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if res[ka].Err != nil || res[ka].N != 10000 || res[kl].Err != nil || res[ks].Err != nil {
		t.Fatalf("results: %+v", res)
	}
	wantErrno(t, res[kx].Err, syscall.EEXIST)
	wantErrno(t, res[kxw].Err, syscall.EEXIST)
	wantErrno(t, res[kbad].Err, syscall.ENODATA)
	wantErrno(t, res[kname].Err, syscall.EINVAL)
	at := must[Attr](t)(w.Lookup(RootIno, "a2"))
	if at.Nlink != 2 || at.Mode&0o7777 != 0o600 || at.Size != 10000 {
		t.Fatalf("a2: %+v", at)
	}
	equal(t, readAll(t, w, at.Ino), pattern(10000, 1))
	checkClean(t, v)
}
