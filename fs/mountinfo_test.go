package fs

import (
	"fmt"
	"strings"
	"testing"
)

// escapeMountinfo is the kernel's mangling of paths in /proc/*/mountinfo
// (seq_path with " \t\n\\"): each such byte becomes a 3-digit octal escape.
func escapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(" \t\n\\", s[i]) >= 0 {
			fmt.Fprintf(&b, `\%03o`, s[i])
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestUnescapeMountinfo(t *testing.T) {
	for _, s := range []string{"/tmp/mnt", "/tmp/with space/and\ttab", `/back\slash`, "/new\nline", ""} {
		if got := unescapeMountinfo(escapeMountinfo(s)); got != s {
			t.Errorf("round trip %q -> %q -> %q", s, escapeMountinfo(s), got)
		}
	}
	if got := unescapeMountinfo(`/a\040b\9`); got != `/a b\9` {
		t.Errorf("partial escape: %q", got)
	}
}

func FuzzUnescapeMountinfo(f *testing.F) {
	f.Add("/tmp/mnt")
	f.Add(`/tmp/a\040b`)
	f.Add(`\134\`)
	f.Fuzz(func(t *testing.T, s string) {
		if got := unescapeMountinfo(escapeMountinfo(s)); got != s {
			t.Fatalf("round trip %q: %q", s, got)
		}
		_ = unescapeMountinfo(s) // arbitrary input must not panic
	})
}
