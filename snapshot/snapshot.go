package snapshot

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"tapelab/volume"
)

// registry is the in-memory per-volume state of this package: the lock
// holders of each snapshot and the auto-backup counter. Locks are not
// persisted (a restarted node has no running backups).
type registry struct {
	mu   sync.Mutex
	vols map[*volume.Volume]*volState
}

type volState struct {
	mu      sync.Mutex           // serializes Create/Delete/Lock on one volume
	holders map[string][]*holder // snapshot name -> holds
	auto    int                  // next N of snapshot_for_backup.N
}

type holder struct{ name string }

var reg = registry{vols: map[*volume.Volume]*volState{}}

func stateOf(v *volume.Volume) *volState {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	st := reg.vols[v]
	if st == nil {
		st = &volState{holders: map[string][]*holder{}}
		reg.vols[v] = st
	}
	return st
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,254}$`)

func validateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use 1-255 letters, digits, '_', '-', '.', starting with a letter, digit or '_'", ErrBadName, name)
	}
	return nil
}

func volName(v *volume.Volume) string { return v.SVM() + ":" + v.Name() }

func create(v *volume.Volume, name string) (Info, error) {
	if err := validateName(name); err != nil {
		return Info{}, fmt.Errorf("%s: %w", MsgCreateFailed, err)
	}
	for {
		in, err := createOnce(v, name)
		if !errors.Is(err, ErrLimit) || !reclaim(v) {
			return in, err
		}
	}
}

// createOnce creates the snapshot unless the volume is at the limit.
func createOnce(v *volume.Volume, name string) (Info, error) {
	st := stateOf(v)
	st.mu.Lock()
	defer st.mu.Unlock()
	if n := len(v.Snapshots()); n >= MaxPerVolume {
		return Info{}, fmt.Errorf("%s: %w: %s (volume %s has %d)", MsgCreateFailed, ErrLimit, causeLimit, volName(v), n)
	}
	si, err := v.CreateSnapshot(name)
	if errors.Is(err, volume.ErrSnapshotExists) {
		return Info{}, fmt.Errorf("%s: %w: %q in volume %s", MsgCreateFailed, ErrExists, name, volName(v))
	}
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", MsgCreateFailed, err)
	}
	return Info{SVM: v.SVM(), Volume: v.Name(), Name: si.Name, Created: si.Created, Epoch: si.Epoch}, nil
}

// reclaimers are the registered Reclaimers (AddReclaimer).
var reclaimers struct {
	mu   sync.Mutex
	next int
	fns  map[int]Reclaimer
}

// reclaim asks the reclaimers, in registration order, to give up one
// snapshot of v; it reports whether one did. It runs without the volume's
// lock: a reclaimer deletes through Delete.
func reclaim(v *volume.Volume) bool {
	reclaimers.mu.Lock()
	ids := make([]int, 0, len(reclaimers.fns))
	for id := range reclaimers.fns {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	fns := make([]Reclaimer, len(ids))
	for i, id := range ids {
		fns[i] = reclaimers.fns[id]
	}
	reclaimers.mu.Unlock()
	for _, r := range fns {
		if r(v) {
			return true
		}
	}
	return false
}

func addReclaimer(r Reclaimer) func() {
	reclaimers.mu.Lock()
	defer reclaimers.mu.Unlock()
	if reclaimers.fns == nil {
		reclaimers.fns = map[int]Reclaimer{}
	}
	id := reclaimers.next
	reclaimers.next++
	reclaimers.fns[id] = r
	var once sync.Once
	return func() {
		once.Do(func() {
			reclaimers.mu.Lock()
			delete(reclaimers.fns, id)
			reclaimers.mu.Unlock()
		})
	}
}

func autoBackupName(v *volume.Volume) string {
	st := stateOf(v)
	st.mu.Lock()
	defer st.mu.Unlock()
	used := map[string]bool{}
	for _, s := range v.Snapshots() {
		used[s.Name] = true
	}
	for {
		name := AutoBackupPrefix + strconv.Itoa(st.auto)
		st.auto++
		if !used[name] {
			return name
		}
	}
}

func holderNames(hs []*holder) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.name
	}
	return out
}

func del(v *volume.Volume, name string) (int64, error) {
	st := stateOf(v)
	st.mu.Lock()
	defer st.mu.Unlock()
	if hs := st.holders[name]; len(hs) > 0 {
		return 0, fmt.Errorf("%s: %w: snapshot %q of volume %s is in use by %s", MsgDeleteFailed, ErrLocked, name, volName(v), strings.Join(holderNames(hs), ", "))
	}
	freed, err := v.DeleteSnapshot(name)
	if errors.Is(err, volume.ErrNoSnapshot) {
		return 0, fmt.Errorf("%s: %w: %q in volume %s", MsgDeleteFailed, ErrNotFound, name, volName(v))
	}
	if err != nil {
		return freed, fmt.Errorf("%s: %w", MsgDeleteFailed, err)
	}
	return freed, nil
}

func infoOf(v *volume.Volume, st *volState, si volume.SnapshotInfo) (Info, error) {
	u, err := v.SnapshotUnique(si.Name)
	if err != nil {
		return Info{}, err
	}
	st.mu.Lock()
	hs := holderNames(st.holders[si.Name])
	st.mu.Unlock()
	return Info{SVM: v.SVM(), Volume: v.Name(), Name: si.Name, Created: si.Created, Epoch: si.Epoch, Unique: u, Holders: hs}, nil
}

func list(v *volume.Volume) ([]Info, error) {
	st := stateOf(v)
	var out []Info
	for _, si := range v.Snapshots() {
		in, err := infoOf(v, st, si)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

func find(v *volume.Volume, name string) (volume.SnapshotInfo, error) {
	for _, si := range v.Snapshots() {
		if si.Name == name {
			return si, nil
		}
	}
	return volume.SnapshotInfo{}, fmt.Errorf("%s: %w: %q in volume %s", MsgFindFailed, ErrNotFound, name, volName(v))
}

func show(v *volume.Volume, name string) (Info, error) {
	si, err := find(v, name)
	if err != nil {
		return Info{}, err
	}
	return infoOf(v, stateOf(v), si)
}

func lock(v *volume.Volume, name, who string) (func(), error) {
	st := stateOf(v)
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, err := find(v, name); err != nil {
		return nil, fmt.Errorf("%s: %w", MsgLockFailed, err)
	}
	h := &holder{name: who}
	st.holders[name] = append(st.holders[name], h)
	var once sync.Once
	return func() {
		once.Do(func() {
			st.mu.Lock()
			defer st.mu.Unlock()
			hs := st.holders[name]
			for i, x := range hs {
				if x == h {
					hs = append(hs[:i:i], hs[i+1:]...)
					break
				}
			}
			if len(hs) == 0 {
				delete(st.holders, name)
			} else {
				st.holders[name] = hs
			}
		})
	}, nil
}

func view(v *volume.Volume, name string) (*volume.View, error) {
	w, err := v.SnapshotView(name)
	if errors.Is(err, volume.ErrNoSnapshot) {
		return nil, fmt.Errorf("%s: %w: %q in volume %s", MsgFindFailed, ErrNotFound, name, volName(v))
	}
	return w, err
}

func diff(v *volume.Volume, from, to string) (*DiffResult, error) {
	a, err := view(v, from)
	if err != nil {
		return nil, err
	}
	var b *volume.View
	if to == "" {
		b, err = v.Active() // read-only on DP volumes, still comparable
	} else {
		b, err = view(v, to)
	}
	if err != nil {
		return nil, err
	}
	if to != "" {
		sa, _ := find(v, from)
		sb, _ := find(v, to)
		if sa.Epoch >= sb.Epoch {
			return nil, fmt.Errorf("diff: snapshot %q is not older than %q", from, to)
		}
	}
	chs, err := v.Changes(a, b)
	if err != nil {
		return nil, err
	}
	out := &DiffResult{From: from, To: to}
	for _, c := range chs {
		k := Modified
		switch {
		case c.Created:
			k = Created
		case c.Deleted:
			k = Deleted
		}
		out.Changes = append(out.Changes, Change{Ino: c.Ino, Kind: k, Reused: c.Created && c.Deleted, Attr: c.Attr, Dirents: c.Dirents, Xattrs: c.Xattrs, Data: c.Data})
	}
	sort.Slice(out.Changes, func(i, j int) bool { return out.Changes[i].Ino < out.Changes[j].Ino })
	return out, nil
}
