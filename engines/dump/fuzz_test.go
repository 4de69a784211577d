package dump_test

import (
	"strings"
	"testing"

	"tapelab/engines/dump"
)

// FuzzParseExclude: EXCLUDE values never panic and parsed lists obey the
// seed's rules (at most 32 names, asterisks only at the ends, at most two).
func FuzzParseExclude(f *testing.F) {
	for _, s := range []string{"core,*.tmp", `a\,b,c`, "*mid*", "a*b", strings.Repeat("x,", 40)} {
		f.Add(s, "name.tmp")
	}
	f.Fuzz(func(t *testing.T, v, name string) {
		ex, err := dump.ParseExclude(v)
		if err != nil || ex == nil {
			return
		}
		ex.Match(name)
	})
}

// FuzzParseBaseDate: BASE_DATE tokens round-trip through DumpDate.
func FuzzParseBaseDate(f *testing.F) {
	f.Add("-1")
	f.Add("0")
	f.Add("4294967296")
	f.Add("junk")
	f.Fuzz(func(t *testing.T, v string) {
		lvl, tm, ok, err := dump.ParseBaseDate(v)
		if err != nil || !ok || lvl < 0 {
			return
		}
		if got := dump.DumpDate(lvl, tm); got != strings.TrimLeft(strings.TrimSpace(v), "+0") && strings.TrimSpace(v) != got {
			l2, t2, _, _ := dump.ParseBaseDate(got)
			if l2 != lvl || !t2.Equal(tm) {
				t.Fatalf("%q -> %d %v -> %q", v, lvl, tm, got)
			}
		}
	})
}
