package cli_test

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tapelab/internal/testpeer"
)

type partJSON struct {
	Cartridge string `json:"cartridge"`
	Slot      int    `json:"slot"`
	TapeFile  int    `json:"tape_file"`
	Offset    uint64 `json:"offset"`
	Bytes     uint64 `json:"bytes"`
}

// TestBackupSpansLibraryCartridges is issue 5 as a user runs it: a library
// of 4 MB cartridges, a ~10 MB volume backed up with --library (the DMA
// loads the first cartridge and swaps cartridges through the changer at
// end of medium), the catalog listing every part, a restore with --library
// compared with diff -r, a single file by direct access from the last
// part, and a clear error when a spanned image is restored from one drive.
func TestBackupSpansLibraryCartridges(t *testing.T) {
	testpeer.FUSE(t)
	l := newLab(t)
	l.Serve()

	for _, v := range []string{"src", "copy", "one", "chain"} {
		l.Run("volume", "create", "/vs1/"+v, "--size", "64m")
	}
	mnt := func(vol string) string { return l.Mount("/vs1/" + vol) }
	src := mnt("src")
	// ~10 MB of incompressible data in a few directories.
	rnd := rand.New(rand.NewSource(5))
	sizes := []int{1 << 20, 1500000, 0, 7, 2 << 20, 900000, 1 << 20, 2500000, 65536, 1200000}
	for i, sz := range sizes {
		dir := filepath.Join(src, "d"+strconv.Itoa(i%3))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, sz)
		rnd.Read(b)
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}

	l.Run("vtl", "library", "create", "lib1", "--drives", "1", "--slots", "8")
	barcodes := []string{"LB0001L8", "LB0002L8", "LB0003L8", "LB0004L8", "LB0005L8", "LB0006L8"}
	for _, bc := range barcodes {
		l.Run("vtl", "tape", "create", bc, "--library", "lib1", "--capacity", "4m")
	}

	var b1 struct {
		Backup struct {
			ID        int
			Cartridge string
			TapeFile  int `json:"tape_file"`
			Parts     []partJSON
			Library   string
			Files     int
		}
	}
	l.JSON(&b1, "backup", "/vs1/src", "--level", "0", "--library", "lib1")
	parts := b1.Backup.Parts
	if len(parts) < 3 || b1.Backup.Cartridge != barcodes[0] || b1.Backup.TapeFile != 0 || b1.Backup.Library != "lib1" || b1.Backup.Files < len(sizes) {
		t.Fatalf("backup: %+v", b1.Backup)
	}
	var next uint64
	for i, p := range parts {
		if p.Cartridge != barcodes[i] || p.Slot != i+1 || p.TapeFile != 0 || p.Offset != next || p.Bytes == 0 {
			t.Fatalf("part %d: %+v (all: %+v)", i+1, p, parts)
		}
		next += p.Bytes
	}
	t.Logf("backup spans %d cartridges: %+v", len(parts), parts)

	// The catalog shows every part.
	out := l.Run("catalog", "show", "1")
	for _, p := range parts {
		if !strings.Contains(out, p.Cartridge) {
			t.Fatalf("catalog show lacks %s:\n%s", p.Cartridge, out)
		}
	}
	var list []struct {
		ID    int
		Parts []partJSON
	}
	l.JSON(&list, "catalog", "list")
	if len(list) != 1 || len(list[0].Parts) != len(parts) {
		t.Fatalf("catalog list: %+v", list)
	}

	// From one drive the restore refuses, naming the cartridges and the
	// option to use.
	_, errOut, err := l.Try("restore", "1", "--to", "/vs1/copy", "--tape", "nrst0a")
	if err == nil || !strings.Contains(errOut, "spans") || !strings.Contains(errOut, "--library lib1") || !strings.Contains(errOut, barcodes[1]) {
		t.Fatalf("restore without the library: %v\n%s", err, errOut)
	}

	// Through the library: the DMA loads part 1's cartridge (the last part's
	// is in the drive) and each next part at the end of the previous.
	out = l.Run("restore", "1", "--to", "/vs1/copy", "--library", "lib1")
	if !strings.Contains(out, "Bytes read") {
		t.Fatalf("restore output:\n%s", out)
	}
	cp := mnt("copy")
	if out, err := exec.Command("diff", "-r", "--no-dereference", src, cp).CombinedOutput(); err != nil {
		t.Fatalf("diff -r src copy: %v\n%s", err, out)
	}

	// Direct access to the file whose header is furthest into the image:
	// on the last part.
	var img struct {
		Index []struct {
			Path   string
			FhInfo uint64 `json:"fh_info"`
			Dir    bool
			Size   uint64
		}
	}
	l.JSON(&img, "catalog", "show", "1")
	var far string
	var farFh, farSize uint64
	for _, f := range img.Index {
		if !f.Dir && f.Size > 0 && f.FhInfo >= farFh {
			far, farFh, farSize = f.Path, f.FhInfo, f.Size
		}
	}
	if far == "" || farFh < parts[1].Offset {
		t.Fatalf("no file beyond the first part in the index: %s at %d (parts %+v)", far, farFh, parts)
	}
	l.Run("restore", "1", "--to", "/vs1/one", "--library", "lib1", far)
	one := mnt("one")
	got, err := os.ReadFile(filepath.Join(one, far))
	if err != nil || uint64(len(got)) != farSize {
		t.Fatalf("DAR restore of %s (fh_info %d): %d bytes, %v", far, farFh, len(got), err)
	}
	want, err := os.ReadFile(filepath.Join(src, far))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("DAR restore of %s differs from the source (%v)", far, err)
	}

	// A level 1 appends to the cartridge left in the drive (the last part's);
	// restoring it applies the spanned level 0 first, both via the library.
	if err := os.WriteFile(filepath.Join(src, "d1", "f1"), []byte("changed after level 0\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "d0", "f0")); err != nil {
		t.Fatal(err)
	}
	var b2 struct {
		Backup struct {
			ID    int
			Parts []partJSON
		}
	}
	l.JSON(&b2, "backup", "/vs1/src", "--level", "1", "--library", "lib1")
	// (Files changed in the level 0's second are in the level 1 too, so it
	// may span as well; it never continues on a cartridge the level 0
	// filled.)
	lastPart := parts[len(parts)-1]
	p2 := b2.Backup.Parts
	if len(p2) == 0 || p2[0].Cartridge != lastPart.Cartridge || p2[0].TapeFile != 1 {
		t.Fatalf("level 1: %+v (level 0 ended on %+v)", b2.Backup, lastPart)
	}
	for _, p := range p2[1:] {
		for _, full := range parts[:len(parts)-1] {
			if p.Cartridge == full.Cartridge {
				t.Fatalf("level 1 continued on %s, filled by the level 0: %+v", p.Cartridge, p2)
			}
		}
	}
	t.Logf("level 1 on %+v", p2)
	out = l.Run("restore", strconv.Itoa(b2.Backup.ID), "--to", "/vs1/chain", "--library", "lib1")
	if strings.Count(out, "\n") < 3 {
		t.Fatalf("chain restore output:\n%s", out)
	}
	chain := mnt("chain")
	if out, err := exec.Command("diff", "-r", "--no-dereference", src, chain).CombinedOutput(); err != nil {
		t.Fatalf("diff -r src chain: %v\n%s", err, out)
	}
	for _, v := range []string{"src", "copy", "one", "chain"} {
		if out := l.Run("volume", "check", "/vs1/"+v); !strings.Contains(out, "consistent") {
			t.Fatalf("check %s:\n%s", v, out)
		}
	}
}
