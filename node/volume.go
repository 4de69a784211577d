package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"

	"tapelab/admin"
	"tapelab/fs"
	"tapelab/snapshot"
	"tapelab/volume"
)

func init() { registerArea("volume", registerVolume) }

// VolumeArgs name a volume (and optionally more) by NDMP path /SVM/VOL.
type VolumeArgs struct {
	Path string `json:"path"`
}

// CreateVolumeArgs are the arguments of volume.create.
type CreateVolumeArgs struct {
	Path       string `json:"path"`
	Size       int64  `json:"size"`
	Type       string `json:"type,omitempty"`
	InodeLimit uint64 `json:"inode_limit,omitempty"`
}

// ModifyVolumeArgs are the arguments of volume.modify; zero values are unchanged.
type ModifyVolumeArgs struct {
	Path       string `json:"path"`
	Size       int64  `json:"size,omitempty"`
	InodeLimit uint64 `json:"inode_limit,omitempty"`
	Type       string `json:"type,omitempty"`
}

// StateArgs are the arguments of volume.state.
type StateArgs struct {
	Path  string `json:"path"`
	State string `json:"state"`
}

// MountArgs are the arguments of volume.mount and volume.unmount (Target is
// a mount point or a volume path).
type MountArgs struct {
	Path       string `json:"path,omitempty"`
	Mountpoint string `json:"mountpoint,omitempty"`
}

// MountInfo describes one FUSE mount the node holds.
type MountInfo struct {
	Volume     string `json:"volume"`
	Mountpoint string `json:"mountpoint"`
}

// SnapshotArgs name a snapshot of a volume.
type SnapshotArgs struct {
	Path string `json:"path"`
	Name string `json:"name"`
}

// DiffArgs are the arguments of snapshot.diff (To "" = active file system).
type DiffArgs struct {
	Path string `json:"path"`
	From string `json:"from"`
	To   string `json:"to,omitempty"`
}

// DeleteSnapshotResult is what snapshot.delete returns.
type DeleteSnapshotResult struct {
	Name  string `json:"name"`
	Freed int64  `json:"freed_bytes"`
}

// Volumes returns the node's volume store.
func (n *Node) Volumes() *volume.Store { return n.Area("volume").(*volumeArea).store }

type volumeArea struct {
	store *volume.Store

	mu     sync.Mutex
	mounts map[string]*fs.MountPoint // by absolute mount point
	vols   map[string]string         // mount point -> /SVM/VOL
	idle   chan struct{}             // closed and replaced when the last mount goes
}

func registerVolume(n *Node, m *admin.Mux) error {
	st, err := volume.Open(filepath.Join(n.Dir, "db"), volume.Options{})
	if err != nil {
		return fmt.Errorf("volume store: %w", err)
	}
	a := &volumeArea{store: st, mounts: map[string]*fs.MountPoint{}, vols: map[string]string{}, idle: make(chan struct{})}
	n.SetArea("volume", a)
	n.OnClose(func() error {
		a.unmountAll()
		return st.Close()
	})

	handle(m, "volume.create", func(ctx context.Context, in CreateVolumeArgs) (any, error) {
		svm, name, rel, err := volume.ParsePath(in.Path)
		if err != nil {
			return nil, err
		}
		if rel != "" && rel != "/" {
			return nil, fmt.Errorf("volume path %q names a directory inside a volume; give /SVM/VOLUME", in.Path)
		}
		v, err := st.CreateVolume(volume.Spec{SVM: svm, Name: name, Size: in.Size, Type: volume.Type(in.Type), InodeLimit: in.InodeLimit})
		if err != nil {
			return nil, err
		}
		return v.Info(), nil
	})
	handle(m, "volume.list", func(ctx context.Context, _ struct{}) (any, error) {
		vs := st.Volumes()
		sort.Slice(vs, func(i, j int) bool {
			if vs[i].SVM != vs[j].SVM {
				return vs[i].SVM < vs[j].SVM
			}
			return vs[i].Name < vs[j].Name
		})
		return vs, nil
	})
	handle(m, "volume.show", func(ctx context.Context, in VolumeArgs) (any, error) {
		v, err := a.volume(in.Path)
		if err != nil {
			return nil, err
		}
		return v.Info(), nil
	})
	handle(m, "volume.modify", func(ctx context.Context, in ModifyVolumeArgs) (any, error) {
		v, err := a.volume(in.Path)
		if err != nil {
			return nil, err
		}
		var mod volume.Modify
		if in.Size != 0 {
			mod.Size = &in.Size
		}
		if in.InodeLimit != 0 {
			mod.InodeLimit = &in.InodeLimit
		}
		if in.Type != "" {
			t := volume.Type(in.Type)
			mod.Type = &t
		}
		if err := v.Modify(mod); err != nil {
			return nil, err
		}
		return v.Info(), nil
	})
	handle(m, "volume.state", func(ctx context.Context, in StateArgs) (any, error) {
		v, err := a.volume(in.Path)
		if err != nil {
			return nil, err
		}
		st := volume.State(in.State)
		if st != volume.StateOnline && a.mountedVolume(in.Path) != "" {
			return nil, fmt.Errorf("volume %s is mounted at %s: unmount it first", in.Path, a.mountedVolume(in.Path))
		}
		if err := v.SetState(st); err != nil {
			return nil, err
		}
		return v.Info(), nil
	})
	handle(m, "volume.delete", func(ctx context.Context, in VolumeArgs) (any, error) {
		svm, name, _, err := volume.ParsePath(in.Path)
		if err != nil {
			return nil, err
		}
		if mp := a.mountedVolume(in.Path); mp != "" {
			return nil, fmt.Errorf("volume %s is mounted at %s: unmount it first", in.Path, mp)
		}
		return nil, st.DeleteVolume(svm, name)
	})
	handle(m, "volume.check", func(ctx context.Context, in VolumeArgs) (any, error) {
		v, err := a.volume(in.Path)
		if err != nil {
			return nil, err
		}
		return v.Check()
	})
	handle(m, "volume.mount", func(ctx context.Context, in MountArgs) (any, error) {
		return a.mount(in.Path, in.Mountpoint)
	})
	handle(m, "volume.unmount", func(ctx context.Context, in MountArgs) (any, error) {
		return a.unmount(in)
	})
	handle(m, "volume.mounts", func(ctx context.Context, _ struct{}) (any, error) {
		return a.list(), nil
	})

	handle(m, "snapshot.create", func(ctx context.Context, in SnapshotArgs) (any, error) {
		v, err := a.volume(in.Path)
		if err != nil {
			return nil, err
		}
		return snapshot.Create(v, in.Name)
	})
	handle(m, "snapshot.list", func(ctx context.Context, in VolumeArgs) (any, error) {
		v, err := a.volume(in.Path)
		if err != nil {
			return nil, err
		}
		return snapshot.List(v)
	})
	handle(m, "snapshot.show", func(ctx context.Context, in SnapshotArgs) (any, error) {
		v, err := a.volume(in.Path)
		if err != nil {
			return nil, err
		}
		return snapshot.Show(v, in.Name)
	})
	handle(m, "snapshot.delete", func(ctx context.Context, in SnapshotArgs) (any, error) {
		v, err := a.volume(in.Path)
		if err != nil {
			return nil, err
		}
		freed, err := snapshot.Delete(v, in.Name)
		if err != nil {
			return nil, err
		}
		return DeleteSnapshotResult{Name: in.Name, Freed: freed}, nil
	})
	handle(m, "snapshot.diff", func(ctx context.Context, in DiffArgs) (any, error) {
		v, err := a.volume(in.Path)
		if err != nil {
			return nil, err
		}
		return snapshot.Diff(v, in.From, in.To)
	})
	return nil
}

// handle registers a typed handler: args are decoded into A.
func handle[A any](m *admin.Mux, name string, fn func(ctx context.Context, in A) (any, error)) {
	m.Handle(name, func(ctx context.Context, raw json.RawMessage) (any, error) {
		var in A
		if err := admin.Decode(raw, &in); err != nil {
			return nil, err
		}
		return fn(ctx, in)
	})
}

func (a *volumeArea) volume(path string) (*volume.Volume, error) {
	svm, name, _, err := volume.ParsePath(path)
	if err != nil {
		return nil, err
	}
	return a.store.Volume(svm, name)
}

func (a *volumeArea) mountedVolume(path string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for mp, p := range a.vols {
		if p == path {
			return mp
		}
	}
	return ""
}

func (a *volumeArea) mount(path, mountpoint string) (MountInfo, error) {
	if mountpoint == "" {
		return MountInfo{}, errors.New("no mount point given")
	}
	mp, err := filepath.Abs(mountpoint)
	if err != nil {
		return MountInfo{}, err
	}
	v, err := a.volume(path)
	if err != nil {
		return MountInfo{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, busy := a.mounts[mp]; busy {
		return MountInfo{}, fmt.Errorf("%s: already a tapelab mount point", mp)
	}
	mnt, err := fs.Mount(v, mp, nil)
	if err != nil {
		return MountInfo{}, err
	}
	a.mounts[mp] = mnt
	a.vols[mp] = path
	return MountInfo{Volume: path, Mountpoint: mp}, nil
}

func (a *volumeArea) unmount(in MountArgs) ([]MountInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var targets []string
	if in.Mountpoint != "" {
		mp, err := filepath.Abs(in.Mountpoint)
		if err != nil {
			return nil, err
		}
		if _, ok := a.mounts[mp]; !ok {
			return nil, fmt.Errorf("%s: not mounted by this tapelab node", mp)
		}
		targets = append(targets, mp)
	} else {
		for mp, p := range a.vols {
			if p == in.Path {
				targets = append(targets, mp)
			}
		}
		if len(targets) == 0 {
			return nil, fmt.Errorf("volume %s is not mounted", in.Path)
		}
	}
	var out []MountInfo
	for _, mp := range targets {
		if err := a.mounts[mp].Unmount(); err != nil {
			return out, fmt.Errorf("unmount %s: %w", mp, err)
		}
		out = append(out, MountInfo{Volume: a.vols[mp], Mountpoint: mp})
		delete(a.mounts, mp)
		delete(a.vols, mp)
	}
	if len(a.mounts) == 0 {
		close(a.idle)
		a.idle = make(chan struct{})
	}
	return out, nil
}

func (a *volumeArea) list() []MountInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []MountInfo{}
	for mp, p := range a.vols {
		out = append(out, MountInfo{Volume: p, Mountpoint: mp})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mountpoint < out[j].Mountpoint })
	return out
}

func (a *volumeArea) unmountAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for mp, m := range a.mounts {
		_ = m.Unmount()
		delete(a.mounts, mp)
		delete(a.vols, mp)
	}
}

// MountsIdle returns a channel closed when the node's last mount goes away
// (a `volume mount` process exits then).
func (n *Node) MountsIdle() <-chan struct{} {
	a := n.Area("volume").(*volumeArea)
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.idle
}
