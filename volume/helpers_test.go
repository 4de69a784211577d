package volume

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// fixedClock is a deterministic clock advancing 1 ms per call.
type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time {
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func newStore(t testing.TB, dir string) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	clk := &fixedClock{t: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	s, err := Open(dir, Options{Now: clk.now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func newVolume(t testing.TB, size int64) (*Store, *Volume, *View) {
	t.Helper()
	s := newStore(t, "")
	t.Cleanup(func() { s.Close() })
	v, err := s.CreateVolume(Spec{SVM: "vs1", Name: "vol1", Size: size})
	if err != nil {
		t.Fatalf("create volume: %v", err)
	}
	w, err := v.Active()
	if err != nil {
		t.Fatal(err)
	}
	return s, v, w
}

func must[T any](t testing.TB) func(T, error) T {
	return func(x T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
}

func wantErrno(t testing.TB, err error, e syscall.Errno) {
	t.Helper()
	if !errors.Is(err, e) {
		t.Fatalf("got error %v, want %v", err, e)
	}
}

func readAll(t testing.TB, w *View, ino uint64) []byte {
	t.Helper()
	a, err := w.GetAttr(ino)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, a.Size)
	n, err := w.Read(ino, 0, buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func checkClean(t testing.TB, v *Volume) Report {
	t.Helper()
	r, err := v.Check()
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if !r.OK() {
		t.Fatalf("check found problems: %q", r.Problems)
	}
	return r
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed + byte(i>>12)
		if b[i] == 0 {
			b[i] = 1
		}
	}
	return b
}

func equal(t testing.TB, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("data differs at byte %d (len got %d want %d)", i, len(got), len(want))
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// countKeys counts the stored keys of volume v with record prefix p.
func countKeys(t testing.TB, v *Volume, p byte) int {
	t.Helper()
	n := 0
	err := v.store.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: kID(p, v.id)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
