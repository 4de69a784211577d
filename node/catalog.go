package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/btree"

	"tapelab/admin"
	"tapelab/dma"
	"tapelab/vtl"
)

func init() { registerArea("backup", registerCatalog) }

// CatalogEntry is one backup image the DMA wrote: where it is and what it
// holds. The index (file history) is kept beside it, in its own file.
type CatalogEntry struct {
	ID        int       `json:"id"`
	Path      string    `json:"path"` // /SVM/VOL[/subtree] backed up
	Butype    string    `json:"butype"`
	Level     int       `json:"level"`
	Date      time.Time `json:"date"`
	DumpDate  string    `json:"dump_date,omitempty"` // returned DUMP_DATE token
	Snapshot  string    `json:"snapshot,omitempty"`
	Device    string    `json:"device"`
	Cartridge string    `json:"cartridge,omitempty"` // barcode of the first part, when known
	TapeFile  int       `json:"tape_file"`           // tape file of the first part
	// Parts are the cartridges the image is on, in order (one unless the
	// backup spanned cartridges). Entries written before parts existed get
	// one part from Cartridge and TapeFile when the catalog is read.
	Parts      []dma.Part `json:"parts,omitempty"`
	RecordSize uint32     `json:"record_size,omitempty"` // bytes per tape record; 0 = unknown (the default)
	Library    string     `json:"library,omitempty"`     // the library the DMA loaded cartridges with
	Bytes      uint64     `json:"bytes"`
	Files      int        `json:"files"`
	Host       string     `json:"host,omitempty"` // NDMP server; "" = this node
}

// normalize fills Parts from the single-cartridge fields of an older
// entry, and the single-cartridge fields from the first part.
func (e *CatalogEntry) normalize() {
	if len(e.Parts) == 0 {
		e.Parts = []dma.Part{{Cartridge: e.Cartridge, TapeFile: e.TapeFile, Bytes: e.Bytes}}
		return
	}
	e.Cartridge, e.TapeFile = e.Parts[0].Cartridge, e.Parts[0].TapeFile
}

// Cartridges lists the barcodes of the image's parts ("-" when unknown).
func (e CatalogEntry) Cartridges() []string {
	var out []string
	for _, p := range e.Parts {
		bc := p.Cartridge
		if bc == "" {
			bc = "-"
		}
		out = append(out, bc)
	}
	return out
}

// CatalogAddArgs are the arguments of catalog.add.
type CatalogAddArgs struct {
	Entry CatalogEntry     `json:"entry"`
	Index []dma.IndexEntry `json:"index"`
}

// CatalogGetArgs select one entry.
type CatalogGetArgs struct {
	ID        int  `json:"id"`
	WithIndex bool `json:"with_index,omitempty"`
}

// CatalogImage is one entry with its index.
type CatalogImage struct {
	Entry CatalogEntry     `json:"entry"`
	Index []dma.IndexEntry `json:"index,omitempty"`
}

// ErrNoImage means the catalog has no such backup.
var ErrNoImage = errors.New("no such backup in the catalog")

type catalog struct {
	dir     string
	mu      sync.Mutex
	entries []CatalogEntry
}

func registerCatalog(n *Node, m *admin.Mux) error {
	c := &catalog{dir: filepath.Join(n.Dir, "catalog")}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, "catalog.json")); err == nil {
		if err := json.Unmarshal(b, &c.entries); err != nil {
			return fmt.Errorf("backup catalog %s: %w", filepath.Join(c.dir, "catalog.json"), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for i := range c.entries {
		c.entries[i].normalize()
	}
	n.SetArea("backup", c)
	handle(m, "catalog.add", func(ctx context.Context, in CatalogAddArgs) (any, error) { return c.add(in) })
	handle(m, "catalog.list", func(ctx context.Context, _ struct{}) (any, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return append([]CatalogEntry{}, c.entries...), nil
	})
	handle(m, "catalog.get", func(ctx context.Context, in CatalogGetArgs) (any, error) { return c.get(in) })
	// catalog.cartridge names the cartridge loaded in a tape device, so the
	// catalog can say which barcode holds an image.
	handle(m, "catalog.cartridge", func(ctx context.Context, in struct {
		Device string `json:"device"`
	}) (any, error) {
		d, _, err := n.VTL().ParseDeviceName(in.Device)
		if err != nil {
			return "", err
		}
		ci, ok := d.Cartridge()
		if !ok {
			return "", nil
		}
		return ci.Barcode, nil
	})
	// catalog.library resolves a library name or changer device (lib1,
	// mc0) into what the DMA needs: the changer's device name and the
	// library's drives with their element addresses and tape devices.
	handle(m, "catalog.library", func(ctx context.Context, in struct {
		Name string `json:"name"`
	}) (any, error) {
		return resolveLibrary(n.VTL(), in.Name)
	})
	return nil
}

// resolveLibrary maps a library or changer name to a dma.Library: drive
// elements in address order, each with its no-rewind "a" device (nrst0a).
func resolveLibrary(inv *vtl.Inventory, name string) (dma.Library, error) {
	ch, err := inv.Changer(name)
	if err != nil {
		return dma.Library{}, err
	}
	info := ch.Info()
	lib := dma.Library{Changer: info.Name}
	for _, e := range ch.Status(vtl.ElementDrive) {
		if e.Type != vtl.ElementDrive || e.Drive == "" {
			continue
		}
		d, err := inv.Drive(e.Drive)
		if err != nil {
			return lib, err
		}
		dev := ""
		for _, dn := range d.Info().DeviceNames {
			if dn.Rewind == vtl.NoRewind && (dev == "" || dn.Suffix == 'a') {
				dev = dn.Name
			}
		}
		if dev == "" {
			dev = "nr" + e.Drive + "a"
		}
		lib.Drives = append(lib.Drives, dma.LibraryDrive{Address: e.Address, Device: dev})
	}
	sort.Slice(lib.Drives, func(i, j int) bool { return lib.Drives[i].Address < lib.Drives[j].Address })
	if len(lib.Drives) == 0 {
		return lib, fmt.Errorf("library %s (media changer %s) has no tape drive", info.Library, info.Name)
	}
	return lib, nil
}

func (c *catalog) add(in CatalogAddArgs) (CatalogEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := in.Entry
	e.ID = 1
	if len(c.entries) > 0 {
		e.ID = c.entries[len(c.entries)-1].ID + 1
	}
	e.Files = len(in.Index)
	e.normalize()
	idx, err := json.Marshal(in.Index)
	if err != nil {
		return e, err
	}
	if err := writeAtomic(filepath.Join(c.dir, fmt.Sprintf("%d.index.json", e.ID)), idx); err != nil {
		return e, err
	}
	entries := append(append([]CatalogEntry{}, c.entries...), e)
	b, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return e, err
	}
	if err := writeAtomic(filepath.Join(c.dir, "catalog.json"), b); err != nil {
		return e, err
	}
	c.entries = entries
	return e, nil
}

func (c *catalog) get(in CatalogGetArgs) (CatalogImage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.ID != in.ID {
			continue
		}
		img := CatalogImage{Entry: e}
		if in.WithIndex {
			b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("%d.index.json", e.ID)))
			if err != nil {
				return img, fmt.Errorf("index of backup %d: %w", e.ID, err)
			}
			if err := json.Unmarshal(b, &img.Index); err != nil {
				return img, fmt.Errorf("index of backup %d: %w", e.ID, err)
			}
		}
		return img, nil
	}
	return CatalogImage{}, fmt.Errorf("%w: %d", ErrNoImage, in.ID)
}

// Chain returns the images a restore of image id needs, in the order to
// restore them: the level-0 base first, then each incremental up to id.
// An incremental at level L builds on the latest earlier image of the same
// path and host with a lower level (seed 001's increment chains).
func Chain(entries []CatalogEntry, id int) ([]CatalogEntry, error) {
	byID := map[int]CatalogEntry{}
	for _, e := range entries {
		byID[e.ID] = e
	}
	cur, ok := byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrNoImage, id)
	}
	chain := []CatalogEntry{cur}
	for cur.Level > 0 {
		var base *CatalogEntry
		for i := range entries {
			e := entries[i]
			if e.Path == cur.Path && e.Host == cur.Host && e.Butype == cur.Butype && e.Level < cur.Level && e.ID < cur.ID {
				if base == nil || e.ID > base.ID {
					base = &entries[i]
				}
			}
		}
		if base == nil {
			return nil, fmt.Errorf("backup %d (level %d of %s) has no lower-level base in the catalog", cur.ID, cur.Level, cur.Path)
		}
		cur = *base
		chain = append(chain, cur)
	}
	sort.Slice(chain, func(i, j int) bool { return chain[i].ID < chain[j].ID })
	return chain, nil
}

// Index is a backup's file index ordered by path, for the lookups a
// restore of named files makes (one per name; indexes of large volumes
// hold millions of entries, in whatever order the DMA recorded them).
type Index struct {
	t *btree.BTreeG[dma.IndexEntry]
}

// NewIndex orders entries by path.
func NewIndex(entries []dma.IndexEntry) *Index {
	t := btree.NewG(32, func(a, b dma.IndexEntry) bool { return a.Path < b.Path })
	for _, e := range entries {
		t.ReplaceOrInsert(e)
	}
	return &Index{t: t}
}

// Lookup returns the entry at path p and, for a directory, everything
// below it, in path order.
func (x *Index) Lookup(p string) []dma.IndexEntry {
	p = "/" + strings.Trim(p, "/")
	var out []dma.IndexEntry
	x.t.AscendGreaterOrEqual(dma.IndexEntry{Path: p}, func(e dma.IndexEntry) bool {
		switch {
		case e.Path == p, strings.HasPrefix(e.Path, p+"/"):
			out = append(out, e)
			return true
		case e.Path == p+"/" || strings.HasPrefix(e.Path, p) && e.Path[len(p)] < '/':
			// Siblings such as "/a b" and "/a-b" sort between "/a" and
			// "/a/...": skip them, the subtree follows.
			return true
		}
		return false
	})
	return out
}

// Lookup finds files of an index by path (exact or below a directory).
func Lookup(index []dma.IndexEntry, p string) []dma.IndexEntry { return NewIndex(index).Lookup(p) }

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
