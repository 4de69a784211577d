package dump

import (
	"io"
	"sync"
)

// writeBehind passes each Write on to w from a goroutine of its own, so
// that a backup builds its next records (volume reads, headers, xattrs)
// while the previous ones are being written. The two halves each take
// about a core on a 1 GiB dump: writing the image into a fresh page cache
// or a socket costs as much as reading the volume and formatting it.
//
// Every Write reaches w whole, as one Write of the same bytes (record
// boundaries stay what the format writer made them). Write copies p into
// one of depth buffers and returns at once; an error of w is returned by
// the next Write or by Close, and what was queued after the failed write
// is dropped. Close must be called (it waits for the queue to drain).
type writeBehind struct {
	w     io.Writer
	queue chan []byte
	free  chan []byte
	done  chan struct{}

	mu     sync.Mutex
	err    error
	closed bool
}

func newWriteBehind(w io.Writer, depth int) *writeBehind {
	b := &writeBehind{w: w, queue: make(chan []byte, depth), free: make(chan []byte, depth), done: make(chan struct{})}
	for range depth {
		b.free <- nil
	}
	go b.run()
	return b
}

func (b *writeBehind) run() {
	defer close(b.done)
	for buf := range b.queue {
		if b.failed() == nil {
			n, err := b.w.Write(buf)
			if err == nil && n < len(buf) {
				err = io.ErrShortWrite
			}
			if err != nil {
				b.mu.Lock()
				b.err = err
				b.mu.Unlock()
			}
		}
		b.free <- buf
	}
}

func (b *writeBehind) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *writeBehind) Write(p []byte) (int, error) {
	if err := b.failed(); err != nil {
		return 0, err
	}
	buf := append((<-b.free)[:0], p...)
	b.queue <- buf
	return len(p), nil
}

// Close waits for the queued writes and returns the first error of w.
// Later calls return the same.
func (b *writeBehind) Close() error {
	b.mu.Lock()
	closed := b.closed
	b.closed = true
	b.mu.Unlock()
	if !closed {
		close(b.queue)
	}
	<-b.done
	return b.failed()
}
