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
