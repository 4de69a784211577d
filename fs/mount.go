package fs

import (
	"bufio"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"tapelab/volume"
)

// Options tune a mount. The zero value is the production setting.
type Options struct {
	// AttrTimeout and EntryTimeout are the kernel cache lifetimes of
	// attributes and names in the active file system (default 1s; this
	// mount is the only writer, but engines may restore into a mounted
	// volume behind its back, so the cache must not be kept forever).
	AttrTimeout  time.Duration
	EntryTimeout time.Duration
	// SnapshotTimeout is the cache lifetime inside .snapshot/NAME
	// (immutable; default 1h).
	SnapshotTimeout time.Duration
	// ShowSnapshotDir lists ".snapshot" in readdir of the root. By default
	// it is hidden (reachable by name only), so find, du, rsync and tar of
	// the mount do not descend into every snapshot.
	ShowSnapshotDir bool
	// SingleUser drops allow_other (only the mounting user may enter).
	SingleUser bool
	// Debug logs every FUSE request and reply to Logger.
	Debug bool
	// Logger receives go-fuse diagnostics; nil discards them.
	Logger *log.Logger
}

// MountPoint is one mounted volume.
type MountPoint struct {
	vol        *volume.Volume
	view       *volume.View
	mountpoint string
	opts       Options
	server     *fuse.Server
	root       *node
	snaps      *snapRegistry
	orphans    orphanDir

	unmountOnce sync.Once
	unmountErr  error
}

// snapshotDirName is the name of the synthetic directory of snapshots
// (ONTAP's name), reachable in the root of the mount.
const snapshotDirName = ".snapshot"

// Mount mounts the active file system of vol at mountpoint: read-write for
// RW volumes, read-only for DP volumes; offline and restricted volumes are
// refused (ErrNotOnline). The mount point is created if missing; a stale
// mount left there by a killed process ("transport endpoint is not
// connected") is detached first (fusermount3 -uz). The call returns once
// the kernel has completed the FUSE handshake.
func Mount(vol *volume.Volume, mountpoint string, opts *Options) (*MountPoint, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.AttrTimeout == 0 {
		o.AttrTimeout = time.Second
	}
	if o.EntryTimeout == 0 {
		o.EntryTimeout = time.Second
	}
	if o.SnapshotTimeout == 0 {
		o.SnapshotTimeout = time.Hour
	}
	info := vol.Info()
	if info.State != volume.StateOnline {
		return nil, fmt.Errorf("mount %s:%s: %w (state %s)", info.SVM, info.Name, ErrNotOnline, info.State)
	}
	view, err := vol.Active()
	if err != nil {
		return nil, fmt.Errorf("mount %s:%s: %w", info.SVM, info.Name, err)
	}
	abs, err := filepath.Abs(mountpoint)
	if err != nil {
		return nil, err
	}
	if err := PrepareMountpoint(abs); err != nil {
		return nil, err
	}

	m := &MountPoint{vol: vol, view: view, mountpoint: abs, opts: o}
	m.snaps = newSnapRegistry(vol)
	if !view.ReadOnly() {
		if err := m.orphans.init(view); err != nil {
			return nil, fmt.Errorf("mount %s:%s: orphan directory: %w", info.SVM, info.Name, err)
		}
	}
	m.root = &node{m: m, view: view, ino: view.Root()}

	attrTO, entryTO, negTO := o.AttrTimeout, o.EntryTimeout, o.EntryTimeout
	fo := &gofs.Options{
		AttrTimeout:     &attrTO,
		EntryTimeout:    &entryTO,
		NegativeTimeout: &negTO,
		NullPermissions: true, // mode 0 files exist; don't invent 0644
		RootStableAttr:  &gofs.StableAttr{Ino: view.Root(), Gen: 1},
		Logger:          o.Logger,
		MountOptions:    mountOptions(info, view.ReadOnly(), o),
	}
	rawFS := gofs.NewNodeFS(m.root, fo)
	server, err := fuse.NewServer(killprivFS{rawFS}, abs, &fo.MountOptions)
	if err != nil {
		return nil, fmt.Errorf("mount %s:%s at %s: %w", info.SVM, info.Name, abs, err)
	}
	go server.Serve()
	if err := server.WaitMount(); err != nil {
		_ = server.Unmount()
		return nil, fmt.Errorf("mount %s:%s at %s: %w", info.SVM, info.Name, abs, err)
	}
	m.server = server
	// The kernel starts every FUSE mount with a 128 KiB readahead window
	// (INIT can only lower it), so sequential reads arrive as 128 KiB READs,
	// each a volume read transaction. Raise it to MaxWrite.
	if err := SetReadahead(abs, fuse.MAX_KERNEL_WRITE); err != nil && o.Logger != nil {
		o.Logger.Printf("readahead of %s: %v", abs, err)
	}
	return m, nil
}

// SetReadahead sets the kernel readahead window of the file system mounted
// at dir (its backing device info, /sys/class/bdi/MAJOR:MINOR/read_ahead_kb;
// root only).
func SetReadahead(dir string, bytes int) error {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return err
	}
	p := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	return os.WriteFile(p, []byte(strconv.Itoa(bytes/1024)), 0o644)
}

// mountOptions are the FUSE options of a volume mount; see doc.go for why
// each one is there.
func mountOptions(info volume.Info, readOnly bool, o Options) fuse.MountOptions {
	mo := fuse.MountOptions{
		FsName:       "tapelab:" + info.SVM + ":" + info.Name,
		Name:         "tapelab",
		MaxWrite:     fuse.MAX_KERNEL_WRITE, // 1 MiB: 8x fewer WRITEs, one volume txn each
		MaxReadAhead: fuse.MAX_KERNEL_WRITE,
		AllowOther:   !o.SingleUser,
		Options:      []string{"default_permissions"},
		EnableAcl:    true,
		// Writeback cache: the kernel batches small writes into 1 MiB
		// WRITEs. KILLPRIV_V2: no GETXATTR(security.capability) round trip
		// per write(2); we clear suid/sgid ourselves (killprivFS).
		// SETXATTR_EXT: tells us when setting an ACL must clear sgid.
		ExtraCapabilities: fuse.CAP_WRITEBACK_CACHE | fuse.CAP_HANDLE_KILLPRIV_V2 | fuse.CAP_SETXATTR_EXT,
		// Nothing we serve is backed by a kernel file, so neither kernel
		// passthrough nor splice (go-fuse splices only fd-backed results, and
		// a 1 MiB reply plus header overflows the 1 MiB pipe anyway, logging
		// an error per READ).
		DisabledCapabilities: fuse.CAP_PASSTHROUGH,
		DisableSplice:        true,
		Debug:                o.Debug,
		Logger:               o.Logger,
	}
	if readOnly {
		mo.Options = append(mo.Options, "ro")
		// A read-only mount never dirties pages.
		mo.ExtraCapabilities &^= fuse.CAP_WRITEBACK_CACHE
	}
	return mo
}

// Dir returns the absolute path of the mount point.
func (m *MountPoint) Dir() string { return m.mountpoint }

// View returns the view the mount serves (the volume's active file system).
func (m *MountPoint) View() *volume.View { return m.view }

// Unmount detaches the file system (lazily if it is busy) and stops
// serving. It is safe to call more than once.
func (m *MountPoint) Unmount() error {
	m.unmountOnce.Do(func() {
		err := m.server.Unmount()
		if err != nil {
			// Busy (a shell cd'ed into it, an open file): detach lazily so
			// the kernel drops it when the last user goes.
			if lerr := lazyUnmount(m.mountpoint); lerr != nil {
				m.unmountErr = fmt.Errorf("unmount %s: %v; lazy: %w", m.mountpoint, err, lerr)
				return
			}
		}
		m.server.Wait()
	})
	return m.unmountErr
}

// Wait blocks until the file system is unmounted (by Unmount, fusermount3
// -u or umount).
func (m *MountPoint) Wait() { m.server.Wait() }

// PrepareMountpoint makes dir usable as a mount point: it creates it when
// missing and detaches a dead FUSE mount (ENOTCONN, "transport endpoint is
// not connected", what a SIGKILLed server leaves behind). A live mount is
// refused with ErrMounted.
func PrepareMountpoint(dir string) error {
	mounted, err := isMountpoint(dir)
	if err != nil {
		return err
	}
	if mounted {
		// stat(2) of a mount root can be answered from the kernel's attribute
		// cache even when the server is gone; statfs(2) always asks it.
		var sfs syscall.Statfs_t
		err := syscall.Statfs(dir, &sfs)
		if err == nil {
			return fmt.Errorf("%s: %w", dir, ErrMounted)
		}
		if !errors.Is(err, syscall.ENOTCONN) && !errors.Is(err, syscall.ECONNABORTED) {
			return fmt.Errorf("%s: %w", dir, err)
		}
		if err := lazyUnmount(dir); err != nil {
			return fmt.Errorf("detach stale mount at %s: %w", dir, err)
		}
	}
	st, err := os.Stat(dir)
	switch {
	case err == nil:
		if !st.IsDir() {
			return fmt.Errorf("%s: %w", dir, ErrNotDir)
		}
		return nil
	case errors.Is(err, syscall.ENOTCONN):
		// A dead mount this namespace's mountinfo did not show (mounted
		// over, or racing): detach it too.
		if err := lazyUnmount(dir); err != nil {
			return fmt.Errorf("detach stale mount at %s: %w", dir, err)
		}
		return nil
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	default:
		return err
	}
}

// lazyUnmount detaches dir with fusermount3 -uz, falling back to
// umount2(MNT_DETACH) when fusermount3 is missing.
func lazyUnmount(dir string) error {
	if p, err := exec.LookPath("fusermount3"); err == nil {
		out, err := exec.Command(p, "-uz", dir).CombinedOutput()
		if err == nil {
			return nil
		}
		if uerr := syscall.Unmount(dir, syscall.MNT_DETACH); uerr == nil {
			return nil
		}
		return fmt.Errorf("fusermount3 -uz: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return syscall.Unmount(dir, syscall.MNT_DETACH)
}

// isMountpoint reports whether dir is the mount point of a mount in this
// mount namespace (from /proc/self/mountinfo).
func isMountpoint(dir string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == dir {
			return true, nil
		}
	}
	return false, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for space, ...) of
// /proc/self/mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			v := 0
			okOct := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					okOct = false
					break
				}
				v = v*8 + int(c-'0')
			}
			if okOct {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// killprivFS completes CAP_HANDLE_KILLPRIV_V2: with it the kernel no longer
// asks for security.capability before every write(2) (a GETXATTR round trip
// each), but leaves clearing suid/sgid to the server. go-fuse's node API
// does not pass the kill flags on, so they are caught here and turned into a
// SETATTR carrying FATTR_KILL_SUIDGID, which node.Setattr honours.
type killprivFS struct {
	fuse.RawFileSystem
}

func (k killprivFS) Write(cancel <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	n, st := k.RawFileSystem.Write(cancel, in, data)
	if st == fuse.OK && in.WriteFlags&fuse.WRITE_KILL_SUIDGID != 0 {
		k.kill(cancel, &in.InHeader, fuse.FATTR_KILL_SUIDGID)
	}
	return n, st
}

func (k killprivFS) Writev(cancel <-chan struct{}, in *fuse.WriteIn, data [][]byte) (uint32, fuse.Status) {
	n, st := k.RawFileSystem.Writev(cancel, in, data)
	if st == fuse.OK && in.WriteFlags&fuse.WRITE_KILL_SUIDGID != 0 {
		k.kill(cancel, &in.InHeader, fuse.FATTR_KILL_SUIDGID)
	}
	return n, st
}

func (k killprivFS) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	st := k.RawFileSystem.Open(cancel, in, out)
	if st == fuse.OK && in.Mode&fuse.OPEN_KILL_SUIDGID != 0 {
		k.kill(cancel, &in.InHeader, fuse.FATTR_KILL_SUIDGID)
	}
	return st
}

func (k killprivFS) SetXAttr(cancel <-chan struct{}, in *fuse.SetXAttrIn, attr string, data []byte) fuse.Status {
	st := k.RawFileSystem.SetXAttr(cancel, in, attr, data)
	if st == fuse.OK && attr == xattrACLAccess && in.SetXAttrFlags&fuse.SETXATTR_ACL_KILL_SGID != 0 {
		k.kill(cancel, &in.InHeader, fattrKillSGID)
	}
	return st
}

// fattrKillSGID is our private SETATTR valid bit (unused by the kernel's
// FATTR_* set) meaning "clear only S_ISGID", for the ACL case.
const fattrKillSGID = 1 << 30

func (k killprivFS) kill(cancel <-chan struct{}, h *fuse.InHeader, valid uint32) {
	in := &fuse.SetAttrIn{}
	in.InHeader = *h
	in.Valid = valid
	var out fuse.AttrOut
	k.RawFileSystem.SetAttr(cancel, in, &out)
}
