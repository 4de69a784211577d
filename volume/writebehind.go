package volume

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// writeBehindBytes is how much committed block data starts an
// asynchronous writeback of the value log.
const writeBehindBytes = 8 << 20

// writeBehind starts kernel writeback of Badger's value-log files while
// data is being committed. Badger msyncs a whole value-log file (64 MiB)
// when it rotates to the next one (in the background with our patch,
// third_party/badger/TAPELAB.md), and Sync does the same for the current
// one. Until then the pages just sit dirty (the kernel's background
// writeback starts at 10 % of RAM), so the disk would idle while commits
// go on and then take 64 MiB at once: the memtable flush waiting for that
// rotation, or the final Sync, would pay for it (measured before the
// patch, when rotation stalled every commit: ~65 ms each, ~1 s per GiB).
// sync_file_range(WRITE) queues the dirty pages for I/O and returns, so
// the disk works while commits go on and the msync finds the pages
// already clean. It changes no durability promise: Sync still msyncs and
// fsyncs as before.
type writeBehind struct {
	dir     string
	pending atomic.Int64
	kick    chan struct{}
	wg      sync.WaitGroup
}

func startWriteBehind(dir string) *writeBehind {
	w := &writeBehind{dir: dir, kick: make(chan struct{}, 1)}
	w.wg.Add(1)
	go w.run()
	return w
}

// add records n bytes of committed block data.
func (w *writeBehind) add(n int64) {
	if n <= 0 || w.pending.Add(n) < writeBehindBytes {
		return
	}
	w.pending.Store(0)
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// stop ends the goroutine; it must be called once.
func (w *writeBehind) stop() {
	close(w.kick)
	w.wg.Wait()
}

func (w *writeBehind) run() {
	defer w.wg.Done()
	for range w.kick {
		// The two newest files: the one being written and the one just
		// rotated out (its msync may still be ahead).
		for _, name := range newestVlogs(w.dir, 2) {
			f, err := os.Open(filepath.Join(w.dir, name))
			if err != nil {
				continue // deleted by value-log GC meanwhile
			}
			unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
			f.Close()
		}
	}
}

func newestVlogs(dir string, n int) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".vlog") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // fixed-width numbers: lexical = numeric order
	if len(names) > n {
		names = names[len(names)-n:]
	}
	return names
}
