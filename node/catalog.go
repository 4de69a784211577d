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

	"tapelab/admin"
	"tapelab/dma"
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
	Cartridge string    `json:"cartridge,omitempty"` // barcode, when known
	TapeFile  int       `json:"tape_file"`
	Bytes     uint64    `json:"bytes"`
	Files     int       `json:"files"`
	Host      string    `json:"host,omitempty"` // NDMP server; "" = this node
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
	return nil
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

// Lookup finds files of an index by path (exact or below a directory).
func Lookup(index []dma.IndexEntry, p string) []dma.IndexEntry {
	p = "/" + strings.Trim(p, "/")
	var out []dma.IndexEntry
	for _, e := range index {
		if e.Path == p || strings.HasPrefix(e.Path, p+"/") {
			out = append(out, e)
		}
	}
	return out
}

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
