package volume

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentUse: writers on several files, readers of the live view and
// of snapshots, and snapshot create/delete at the same time; the result is
// consistent and every snapshot shows a complete state.
func TestConcurrentUse(t *testing.T) {
	_, v, w := newVolume(t, 64<<20)
	const writers = 4
	var files [writers]uint64
	for i := range files {
		files[i] = must[Attr](t)(w.Create(RootIno, fmt.Sprintf("f%d", i), 0o644, Owner{})).Ino
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := 0; k < 40; k++ {
				// Each file always holds 64 KiB of one repeated byte value.
				if _, err := w.Write(files[i], 0, pattern64(byte(k+1))); err != nil {
					errs <- err
					return
				}
			}
		}(i)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; k < 20; k++ {
			name := fmt.Sprintf("s%d", k)
			if _, err := v.CreateSnapshot(name); err != nil {
				errs <- err
				return
			}
			sv, err := v.SnapshotView(name)
			if err != nil {
				errs <- err
				return
			}
			for _, f := range files {
				buf := make([]byte, 64<<10)
				n, err := sv.Read(f, 0, buf)
				if err != nil {
					errs <- err
					return
				}
				for j := 1; j < n; j++ {
					if buf[j] != buf[0] {
						errs <- fmt.Errorf("snapshot %s file %d: torn write at %d", name, f, j)
						return
					}
				}
			}
			if k%3 == 0 {
				if _, err := v.DeleteSnapshot(name); err != nil {
					errs <- err
					return
				}
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64<<10)
		for k := 0; k < 100; k++ {
			if _, err := w.Read(files[k%writers], 0, buf); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkClean(t, v)
}

func pattern64(b byte) []byte {
	p := make([]byte, 64<<10)
	for i := range p {
		p[i] = b
	}
	return p
}

// TestGCWhileBusy: GC (which takes the store exclusively) while writers,
// snapshot deletion and ReadDir/Inodes callbacks that call back into the
// view are running: no deadlock, nothing lost.
func TestGCWhileBusy(t *testing.T) {
	s, v, w := newVolume(t, 64<<20)
	d := must[Attr](t)(w.Mkdir(RootIno, "d", 0o755, Owner{}))
	for i := 0; i < 1500; i++ { // more than one ReadDir batch
		must[Attr](t)(w.Create(d.Ino, fmt.Sprintf("f%04d", i), 0o644, Owner{}))
	}
	f := must[Attr](t)(w.Create(RootIno, "data", 0o644, Owner{}))
	for k := 0; k < 10; k++ {
		must[SnapshotInfo](t)(v.CreateSnapshot(fmt.Sprintf("s%d", k)))
		must[int](t)(w.Write(f.Ino, 0, pattern(64<<10, byte(k))))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	wg.Add(3)
	go func() {
		defer wg.Done()
		for k := 0; k < 3; k++ {
			if err := s.GC(); err != nil {
				errs <- err
			}
		}
	}()
	go func() {
		defer wg.Done()
		for k := 0; k < 10; k++ {
			if _, err := v.DeleteSnapshot(fmt.Sprintf("s%d", k)); err != nil {
				errs <- err
			}
			if _, err := w.Write(f.Ino, 0, pattern(64<<10, byte(k+100))); err != nil {
				errs <- err
			}
		}
	}()
	go func() {
		defer wg.Done()
		for k := 0; k < 3; k++ {
			n, last := 0, ""
			err := w.ReadDir(d.Ino, "", func(e DirEntry) bool {
				if e.Name <= last {
					errs <- fmt.Errorf("readdir order: %q after %q", e.Name, last)
				}
				last = e.Name
				if _, err := w.GetAttr(e.Ino); err != nil {
					errs <- err
				}
				n++
				return true
			})
			if err != nil || n != 1500 {
				errs <- fmt.Errorf("readdir: %d entries, %v", n, err)
			}
			m := 0
			if err := w.Inodes(0, func(a Attr) bool { _, err := w.GetAttr(a.Ino); m++; return err == nil }); err != nil || m != 1503 {
				errs <- fmt.Errorf("inodes: %d, %v", m, err)
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	equal(t, readAll(t, w, f.Ino), pattern(64<<10, 109))
	checkClean(t, v)
}
