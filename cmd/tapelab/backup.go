package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"tapelab/admin"
	"tapelab/dma"
	"tapelab/ndmp/wire"
	"tapelab/node"
)

func init() {
	commands = append(commands, backupCommand(), restoreCommand(), catalogCommand())
}

// ndmpFlags select the NDMP server: this node's (default) or a remote one.
var ndmpFlags = []cli.Flag{
	&cli.StringFlag{Name: "host", Usage: "NDMP server HOST:PORT (default: this node's server)"},
	&cli.StringFlag{Name: "user", Usage: "NDMP user for --host"},
	&cli.StringFlag{Name: "password", Usage: "NDMP password for --host", EnvVars: []string{"TAPELAB_NDMP_PASSWORD"}},
	&cli.BoolFlag{Name: "text", Usage: "plaintext authentication instead of MD5 challenge"},
	&cli.StringFlag{Name: "tape", Value: "nrst0a", Usage: "tape device name"},
	&cli.StringFlag{Name: "library", Usage: "load cartridges with this library's media changer (library name or changer device, e.g. lib1 or mc0) and span cartridges; the drive is the library's first"},
	&cli.UintFlag{Name: "record-size", Value: 64, Usage: "tape record size in KiB (4-256)"},
	&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
}

// endpoint returns the NDMP server to drive and the host name for the catalog.
func endpoint(ctx context.Context, c *cli.Context, cl admin.Caller) (dma.Server, string, error) {
	if h := c.String("host"); h != "" {
		return dma.Server{Addr: h, User: c.String("user"), Password: c.String("password"), Text: c.Bool("text")}, h, nil
	}
	var ep node.Endpoint
	if err := cl.Call(ctx, "ndmp.endpoint", nil, &ep); err != nil {
		return dma.Server{}, "", err
	}
	return dma.Server{Addr: ep.Addr, User: ep.User, Password: ep.Password, Text: c.Bool("text")}, "", nil
}

// library resolves --library into the changer and drives the DMA uses:
// through the node for this node's server, as a bare changer device name
// (first drive element, --tape) for a remote one.
func library(ctx context.Context, c *cli.Context, cl admin.Caller, host string) (*dma.Library, error) {
	name := c.String("library")
	if name == "" {
		return nil, nil
	}
	if host != "" {
		return &dma.Library{Changer: name}, nil
	}
	var lib dma.Library
	if err := cl.Call(ctx, "catalog.library", map[string]string{"name": name}, &lib); err != nil {
		return nil, fmt.Errorf("library %s: %w", name, err)
	}
	return &lib, nil
}

func envValue(env []wire.PVal, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "back up a volume or subtree with the dump engine over NDMP to a tape",
		ArgsUsage: "/SVM/VOLUME[/path]",
		Flags: append([]cli.Flag{
			&cli.IntFlag{Name: "level", Usage: "dump level 0-31"},
			&cli.StringFlag{Name: "snapshot", Usage: "back up this snapshot (default: a snapshot_for_backup.N made for the backup)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "EXCLUDE pattern (repeatable)"},
			&cli.BoolFlag{Name: "no-update", Usage: "UPDATE=N: do not record the backup in the dump history"},
			&cli.StringSliceFlag{Name: "env", Usage: "extra NDMP environment NAME=VALUE (repeatable)"},
		}, ndmpFlags...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("usage: tapelab backup /SVM/VOLUME[/path] [--level N] [--tape nrst0a]")
			}
			src := strings.TrimRight(c.Args().First(), "/")
			if lv := c.Int("level"); lv < 0 || lv > 31 {
				return fmt.Errorf("invalid dump level %d: use 0-31", lv)
			}
			fs := src
			if s := c.String("snapshot"); s != "" {
				svmVol := strings.SplitN(strings.TrimPrefix(src, "/"), "/", 3)
				if len(svmVol) < 2 {
					return fmt.Errorf("invalid path %s: use /SVM/VOLUME[/path]", src)
				}
				fs = "/" + svmVol[0] + "/" + svmVol[1] + "/.snapshot/" + s
				if len(svmVol) == 3 {
					fs += "/" + svmVol[2]
				}
			}
			env := []wire.PVal{
				{Name: "FILESYSTEM", Value: fs},
				{Name: "LEVEL", Value: strconv.Itoa(c.Int("level"))},
				{Name: "HIST", Value: "Y"},
				{Name: "DIRECT", Value: "Y"},
				{Name: "UPDATE", Value: yesNo(!c.Bool("no-update"))},
				{Name: "TYPE", Value: "dump"},
			}
			if ex := c.StringSlice("exclude"); len(ex) > 0 {
				env = append(env, wire.PVal{Name: "EXCLUDE", Value: strings.Join(ex, ",")})
			}
			for _, kv := range c.StringSlice("env") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--env %q: use NAME=VALUE", kv)
				}
				env = append(env, wire.PVal{Name: k, Value: v})
			}
			return withNode(c, func(ctx context.Context, cl admin.Caller) error {
				srv, host, err := endpoint(ctx, c, cl)
				if err != nil {
					return err
				}
				lib, err := library(ctx, c, cl, host)
				if err != nil {
					return err
				}
				target := c.String("tape")
				if lib != nil {
					target = "library " + c.String("library")
				}
				pr := newProgress(fmt.Sprintf("backup %s level %d -> %s", src, c.Int("level"), target), c.Bool("quiet") || c.Bool("json"))
				job := dma.Job{Data: srv, Device: c.String("tape"), Library: lib, Butype: "dump", Env: env, RecordSize: uint32(c.Uint("record-size")) << 10, Observer: pr.observer()}
				res, err := dma.Backup(ctx, job)
				if err != nil {
					return err
				}
				entry := node.CatalogEntry{
					Path: src, Butype: "dump", Level: c.Int("level"), Date: time.Now(), DumpDate: envValue(res.Env, "DUMP_DATE"),
					Snapshot: c.String("snapshot"), Device: res.Device, TapeFile: res.FileNumber, Bytes: res.Bytes, Host: host,
					Parts: res.Parts, RecordSize: res.RecordSize, Library: c.String("library"),
				}
				if host == "" && len(entry.Parts) == 1 && entry.Parts[0].Cartridge == "" {
					_ = cl.Call(ctx, "catalog.cartridge", map[string]string{"device": res.Device}, &entry.Parts[0].Cartridge)
				}
				if err := cl.Call(ctx, "catalog.add", node.CatalogAddArgs{Entry: entry, Index: res.Index}, &entry); err != nil {
					return fmt.Errorf("backup written but not cataloged: %w", err)
				}
				out := struct {
					Backup node.CatalogEntry `json:"backup"`
					Result *dma.BackupResult `json:"result"`
				}{entry, res}
				return output(c, out, func(w io.Writer) { backupSummary(w, entry, res) })
			})
		},
	}
}

func yesNo(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

func rate(bytes uint64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return human(int64(float64(bytes)/d.Seconds())) + "/s"
}

func backupSummary(w io.Writer, e node.CatalogEntry, r *dma.BackupResult) {
	fmt.Fprintf(w, "Backup ID:\t%d\n", e.ID)
	fmt.Fprintf(w, "Path:\t%s (level %d)\n", e.Path, e.Level)
	fmt.Fprintf(w, "Tape:\t%s, cartridge %s, tape file %d\n", e.Device, orDash(e.Cartridge), e.TapeFile)
	if len(e.Parts) > 1 {
		fmt.Fprintf(w, "Spans:\t%d cartridges: %s\n", len(e.Parts), dma.DescribeParts(e.Parts))
	}
	fmt.Fprintf(w, "Bytes:\t%s in %d records\n", human(int64(e.Bytes)), r.Records)
	fmt.Fprintf(w, "Files indexed:\t%d\n", e.Files)
	fmt.Fprintf(w, "DUMP_DATE:\t%s\n", orDash(e.DumpDate))
	fmt.Fprintf(w, "Duration:\t%s (%s)\n", r.Duration.Round(time.Millisecond), rate(e.Bytes, r.Duration))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore a cataloged backup (with its incremental chain) or single files (direct access) into a volume",
		ArgsUsage: "BACKUP-ID [FILE...]",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "to", Required: true, Usage: "destination /SVM/VOLUME[/path]"},
			&cli.BoolFlag{Name: "single", Usage: "restore only this image, not the chain of backups it builds on"},
			&cli.BoolFlag{Name: "no-dar", Usage: "read the image sequentially even for single files"},
		}, ndmpFlags...),
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return fmt.Errorf("usage: tapelab restore BACKUP-ID --to /SVM/VOLUME[/path] [FILE...]")
			}
			id, err := strconv.Atoi(c.Args().First())
			if err != nil {
				return fmt.Errorf("backup ID %q: not a number (see tapelab catalog list)", c.Args().First())
			}
			files := c.Args().Slice()[1:]
			to := strings.TrimRight(c.String("to"), "/")
			return withNode(c, func(ctx context.Context, cl admin.Caller) error {
				srv, host, err := endpoint(ctx, c, cl)
				if err != nil {
					return err
				}
				var entries []node.CatalogEntry
				if err := cl.Call(ctx, "catalog.list", nil, &entries); err != nil {
					return err
				}
				chain, err := node.Chain(entries, id)
				if err != nil {
					return err
				}
				if c.Bool("single") || len(files) > 0 {
					chain = chain[len(chain)-1:]
				}
				var results []*dma.RecoverResult
				for _, e := range chain {
					res, err := restoreImage(ctx, c, cl, srv, host, e, to, files)
					if err != nil {
						return fmt.Errorf("restore of backup %d (level %d, tape file %d): %w", e.ID, e.Level, e.TapeFile, err)
					}
					results = append(results, res)
				}
				return output(c, results, func(w io.Writer) {
					fmt.Fprintln(w, "Backup\tLevel\tTape file\tBytes read\tFiles\tFailed\tDuration")
					for i, r := range results {
						recovered := "all" // a whole-image restore logs no per-file status
						if len(files) > 0 {
							recovered = strconv.Itoa(len(r.Recovered))
						}
						fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%s\t%d\t%s\n", chain[i].ID, chain[i].Level, chain[i].TapeFile, human(int64(r.BytesRead)), recovered, len(r.Failed), r.Duration.Round(time.Millisecond))
					}
					for _, r := range results {
						for _, f := range r.Failed {
							fmt.Fprintf(w, "failed: %s\n", f)
						}
					}
				})
			})
		},
	}
}

// restoreImage recovers one image: everything into to, or the named files
// (by direct access with the catalog's fh_info unless --no-dar).
func restoreImage(ctx context.Context, c *cli.Context, cl admin.Caller, srv dma.Server, host string, e node.CatalogEntry, to string, files []string) (*dma.RecoverResult, error) {
	parts := e.Parts
	if len(parts) == 0 { // an entry from an older catalog, read remotely
		parts = []dma.Part{{Cartridge: e.Cartridge, TapeFile: e.TapeFile}}
	}
	lib, err := library(ctx, c, cl, host)
	if err != nil {
		return nil, err
	}
	if lib == nil {
		if len(parts) > 1 {
			hint := "--library LIBRARY"
			if e.Library != "" {
				hint = "--library " + e.Library
			}
			return nil, fmt.Errorf("backup %d spans %d cartridges, %s: restore it with %s so the DMA can load each in turn", e.ID, len(parts), dma.DescribeParts(parts), hint)
		}
		if parts[0].Cartridge != "" && e.Host == "" {
			var loaded string
			if err := cl.Call(ctx, "catalog.cartridge", map[string]string{"device": c.String("tape")}, &loaded); err == nil && loaded != parts[0].Cartridge {
				return nil, fmt.Errorf("backup %d is on cartridge %s (tape file %d) but %s holds %q: load it first (tapelab vtl tape load %s --drive ...) or restore with --library", e.ID, parts[0].Cartridge, parts[0].TapeFile, c.String("tape"), loaded, parts[0].Cartridge)
			}
		}
	}
	env := []wire.PVal{{Name: "FILESYSTEM", Value: to}, {Name: "TYPE", Value: "dump"}}
	var names []wire.Name
	if len(files) > 0 {
		var img node.CatalogImage
		if err := cl.Call(ctx, "catalog.get", node.CatalogGetArgs{ID: e.ID, WithIndex: true}, &img); err != nil {
			return nil, err
		}
		dar := !c.Bool("no-dar")
		dirs := false
		index := node.NewIndex(img.Index)
		for _, f := range files {
			rel := "/" + strings.Trim(f, "/")
			hits := index.Lookup(rel)
			if len(hits) == 0 {
				return nil, fmt.Errorf("%s is not in backup %d", rel, e.ID)
			}
			var fh uint64 = ^uint64(0)
			var ino uint64
			for _, h := range hits {
				if h.Path == rel {
					fh, ino = h.FhInfo, h.Node
					dirs = dirs || h.Dir
				}
			}
			if !dar {
				fh = ^uint64(0)
			}
			names = append(names, wire.Name{OriginalPath: rel, DestinationPath: to + rel, Node: ino, FhInfo: fh})
		}
		env = append(env, wire.PVal{Name: "DIRECT", Value: yesNo(dar)})
		if dirs && dar {
			env = append(env, wire.PVal{Name: "ENHANCED_DAR_ENABLED", Value: "Y"})
		}
	}
	pr := newProgress(fmt.Sprintf("restore backup %d (level %d) -> %s", e.ID, e.Level, to), c.Bool("quiet") || c.Bool("json"))
	rs := uint32(c.Uint("record-size")) << 10
	if e.RecordSize != 0 && !c.IsSet("record-size") {
		rs = e.RecordSize // the image's records: read them as written
	}
	job := dma.Job{Data: srv, Device: c.String("tape"), Library: lib, Butype: e.Butype, Env: env, RecordSize: rs, Observer: pr.observer()}
	return dma.RecoverImage(ctx, job, parts, names)
}

func catalogCommand() *cli.Command {
	return &cli.Command{
		Name:  "catalog",
		Usage: "the DMA's catalog of backups: which image is on which cartridge and tape file",
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "list cataloged backups",
				Action: func(c *cli.Context) error {
					var es []node.CatalogEntry
					return call(c, "catalog.list", nil, &es, func(w io.Writer) {
						fmt.Fprintln(w, "ID\tPath\tLevel\tDate\tCartridge\tTape file\tSize\tFiles\tDUMP_DATE")
						for _, e := range es {
							fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%d\t%s\t%d\t%s\n", e.ID, e.Path, e.Level, e.Date.Format("2006-01-02 15:04:05"), strings.Join(e.Cartridges(), ","), e.TapeFile, human(int64(e.Bytes)), e.Files, orDash(e.DumpDate))
						}
						fmt.Fprintf(w, "%d backups.\n", len(es))
					})
				},
			},
			{
				Name: "show", Usage: "show one backup and its file index", ArgsUsage: "BACKUP-ID",
				Action: func(c *cli.Context) error {
					id, err := strconv.Atoi(c.Args().First())
					if err != nil {
						return fmt.Errorf("usage: tapelab catalog show BACKUP-ID")
					}
					var img node.CatalogImage
					return call(c, "catalog.get", node.CatalogGetArgs{ID: id, WithIndex: true}, &img, func(w io.Writer) {
						e := img.Entry
						fmt.Fprintf(w, "Backup %d: %s level %d, %s, cartridge %s tape file %d\n", e.ID, e.Path, e.Level, e.Date.Format(time.RFC1123), orDash(e.Cartridge), e.TapeFile)
						fmt.Fprintln(w, "Part\tCartridge\tSlot\tTape file\tImage bytes")
						for i, p := range e.Parts {
							fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%d-%d\n", i+1, orDash(p.Cartridge), p.Slot, p.TapeFile, p.Offset, p.Offset+p.Bytes)
						}
						fmt.Fprintln(w, "Path\tInode\tSize\tfh_info")
						for _, f := range img.Index {
							fmt.Fprintf(w, "%s\t%d\t%d\t%d\n", f.Path, f.Node, f.Size, f.FhInfo)
						}
					})
				},
			},
		},
	}
}
