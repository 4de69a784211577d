package volume

import (
	"strings"
	"testing"
)

// FuzzParsePath: ParsePath never panics; what it accepts has valid names
// and a clean relative path, and re-joining the parts parses to the same.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/vs1/vol1", "/vs1/vol1/a/b", "/vs1/vol1/../x", "vs1/vol1", "//", "/a/b/./c//d/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		svm, vol, rel, err := ParsePath(p)
		if err != nil {
			return
		}
		if ValidateSVMName(svm) != nil || ValidateVolumeName(vol) != nil {
			t.Fatalf("accepted invalid names %q %q", svm, vol)
		}
		if strings.HasPrefix(rel, "/") || strings.Contains(rel, "//") || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			t.Fatalf("unclean rel %q", rel)
		}
		joined := "/" + svm + "/" + vol
		if rel != "" {
			joined += "/" + rel
		}
		s2, v2, r2, err := ParsePath(joined)
		if err != nil || s2 != svm || v2 != vol || r2 != rel {
			t.Fatalf("re-parse of %q: %q %q %q %v", joined, s2, v2, r2, err)
		}
	})
}
