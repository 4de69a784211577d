package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirLinksAndSkips(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "lost+found"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "b.txt"), []byte("x"), 0o644))
	must(os.Link(filepath.Join(dir, "b.txt"), filepath.Join(dir, "a.txt")))
	must(os.Link(filepath.Join(dir, "b.txt"), filepath.Join(dir, "sub", "c.txt")))
	must(os.Symlink("a.txt", filepath.Join(dir, "l")))

	col := func(rows []string, path string, i int) string {
		for _, r := range rows {
			c := strings.Split(r, "\t")
			if c[0] == path {
				return c[i]
			}
		}
		t.Fatalf("%s not in %q", path, rows)
		return ""
	}
	rows, err := Dir(dir, Options{NamedLinks: true})
	must(err)
	for _, p := range []string{"a.txt", "b.txt", "sub/c.txt"} {
		if g := col(rows, p, 8); g != "h:a.txt" {
			t.Errorf("%s: group %q", p, g)
		}
	}
	if k := col(rows, "l", 1); k != "l" || col(rows, "l", 7) != "a.txt" {
		t.Errorf("symlink row wrong: %q", rows)
	}
	for _, r := range rows {
		if strings.HasPrefix(r, "lost+found") {
			t.Errorf("lost+found not skipped: %q", r)
		}
	}
	// Below sub/ the file's other names are outside: no group.
	rows, err = Dir(filepath.Join(dir, "sub"), Options{NamedLinks: true})
	must(err)
	if g := col(rows, "c.txt", 8); g != "-" {
		t.Errorf("lone link in subtree: group %q", g)
	}
	// Fixture style: every multi-link file is "h".
	rows, err = Dir(dir, Options{Skip: []string{"sub"}})
	must(err)
	if g := col(rows, "a.txt", 8); g != "h" {
		t.Errorf("fixture style group %q", g)
	}
	if d := Diff(rows, rows); d != "" {
		t.Errorf("Diff of equal manifests: %q", d)
	}
}
