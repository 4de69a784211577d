package dump

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// recordSink records every Write it gets as one record and fails from
// the failAt-th write on (0: never).
type recordSink struct {
	recs   [][]byte
	failAt int
}

var errSinkFull = errors.New("sink full")

func (s *recordSink) Write(p []byte) (int, error) {
	if s.failAt > 0 && len(s.recs)+1 >= s.failAt {
		return 0, errSinkFull
	}
	s.recs = append(s.recs, bytes.Clone(p))
	return len(p), nil
}

func TestWriteBehindKeepsRecords(t *testing.T) {
	sink := &recordSink{}
	wb := newWriteBehind(sink, 3)
	var want [][]byte
	buf := make([]byte, 0, 4096)
	for i := range 100 {
		// the caller reuses its buffer at once, as the format writer does
		buf = append(buf[:0], fmt.Sprintf("record %d %s", i, bytes.Repeat([]byte{'x'}, i*17))...)
		want = append(want, bytes.Clone(buf))
		if n, err := wb.Write(buf); n != len(buf) || err != nil {
			t.Fatalf("Write %d = %d, %v", i, n, err)
		}
	}
	if err := wb.Close(); err != nil {
		t.Fatal(err)
	}
	if len(sink.recs) != len(want) {
		t.Fatalf("%d records written, want %d", len(sink.recs), len(want))
	}
	for i := range want {
		if !bytes.Equal(sink.recs[i], want[i]) {
			t.Fatalf("record %d = %q, want %q", i, sink.recs[i], want[i])
		}
	}
	if err := wb.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestWriteBehindReportsTheFirstError(t *testing.T) {
	sink := &recordSink{failAt: 5}
	wb := newWriteBehind(sink, 2)
	var werr error
	for i := 0; i < 50 && werr == nil; i++ {
		_, werr = wb.Write([]byte{byte(i)})
	}
	cerr := wb.Close()
	if !errors.Is(cerr, errSinkFull) {
		t.Fatalf("Close = %v, want %v", cerr, errSinkFull)
	}
	if werr != nil && !errors.Is(werr, errSinkFull) {
		t.Fatalf("Write = %v, want %v", werr, errSinkFull)
	}
	// nothing after the failed write reached the sink
	if len(sink.recs) != 4 {
		t.Fatalf("%d records written, want the 4 before the failure", len(sink.recs))
	}
	for i, r := range sink.recs {
		if len(r) != 1 || r[0] != byte(i) {
			t.Fatalf("record %d = %v", i, r)
		}
	}
}
