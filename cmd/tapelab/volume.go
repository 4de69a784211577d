package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"tapelab/admin"
	"tapelab/node"
	"tapelab/snapshot"
	"tapelab/volume"
)

func init() {
	commands = append(commands, volumeCommand(), snapshotCommand())
}

func volumeCommand() *cli.Command {
	pathArg := func(c *cli.Context) (string, error) {
		if c.NArg() != 1 {
			return "", fmt.Errorf("usage: tapelab volume %s /SVM/VOLUME", c.Command.Name)
		}
		return c.Args().First(), nil
	}
	setState := func(state string) cli.ActionFunc {
		return func(c *cli.Context) error {
			p, err := pathArg(c)
			if err != nil {
				return err
			}
			var info volume.Info
			return call(c, "volume.state", node.StateArgs{Path: p, State: state}, &info, func(w io.Writer) {
				fmt.Fprintf(w, "Volume %s is now %s.\n", p, info.State)
			})
		}
	}
	return &cli.Command{
		Name:  "volume",
		Usage: "create, inspect, mount and check volumes (/SVM/VOLUME)",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create a volume",
				ArgsUsage: "/SVM/VOLUME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "size", Value: "1g", Usage: "volume size (k, m, g, t suffixes)"},
					&cli.StringFlag{Name: "type", Value: "RW", Usage: "RW or DP (read-only to clients)"},
					&cli.Uint64Flag{Name: "inode-limit", Usage: "maximum number of inodes (default: one per 32 KiB)"},
				},
				Action: func(c *cli.Context) error {
					p, err := pathArg(c)
					if err != nil {
						return err
					}
					size, err := parseSize(c.String("size"))
					if err != nil {
						return err
					}
					var info volume.Info
					return call(c, "volume.create", node.CreateVolumeArgs{Path: p, Size: size, Type: c.String("type"), InodeLimit: c.Uint64("inode-limit")}, &info, func(w io.Writer) {
						fmt.Fprintf(w, "Volume %s created: %s, type %s, %d inodes.\n", p, human(info.Size), info.Type, info.InodeLimit)
					})
				},
			},
			{
				Name:  "list",
				Usage: "list volumes (like ONTAP's volume show)",
				Action: func(c *cli.Context) error {
					var vs []volume.Info
					return call(c, "volume.list", nil, &vs, func(w io.Writer) { volumeTable(w, vs) })
				},
			},
			{
				Name:      "show",
				Usage:     "show one volume in detail",
				ArgsUsage: "/SVM/VOLUME",
				Action: func(c *cli.Context) error {
					p, err := pathArg(c)
					if err != nil {
						return err
					}
					var v volume.Info
					return call(c, "volume.show", node.VolumeArgs{Path: p}, &v, func(w io.Writer) { volumeDetail(w, v) })
				},
			},
			{
				Name:      "modify",
				Usage:     "change size, inode limit or type",
				ArgsUsage: "/SVM/VOLUME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "size"},
					&cli.Uint64Flag{Name: "inode-limit"},
					&cli.StringFlag{Name: "type", Usage: "RW or DP"},
				},
				Action: func(c *cli.Context) error {
					p, err := pathArg(c)
					if err != nil {
						return err
					}
					args := node.ModifyVolumeArgs{Path: p, InodeLimit: c.Uint64("inode-limit"), Type: c.String("type")}
					if c.IsSet("size") {
						if args.Size, err = parseSize(c.String("size")); err != nil {
							return err
						}
					}
					var v volume.Info
					return call(c, "volume.modify", args, &v, func(w io.Writer) { volumeDetail(w, v) })
				},
			},
			{Name: "online", Usage: "bring a volume online", ArgsUsage: "/SVM/VOLUME", Action: setState(string(volume.StateOnline))},
			{Name: "offline", Usage: "take a volume offline (no access)", ArgsUsage: "/SVM/VOLUME", Action: setState(string(volume.StateOffline))},
			{Name: "restrict", Usage: "restrict a volume (restore engines only)", ArgsUsage: "/SVM/VOLUME", Action: setState(string(volume.StateRestricted))},
			{
				Name:      "delete",
				Usage:     "delete a volume and its snapshots",
				ArgsUsage: "/SVM/VOLUME",
				Action: func(c *cli.Context) error {
					p, err := pathArg(c)
					if err != nil {
						return err
					}
					return call(c, "volume.delete", node.VolumeArgs{Path: p}, nil, func(w io.Writer) {
						fmt.Fprintf(w, "Volume %s deleted.\n", p)
					})
				},
			},
			{
				Name:      "check",
				Usage:     "verify inode, directory, link-count, block and accounting consistency",
				ArgsUsage: "/SVM/VOLUME",
				Action: func(c *cli.Context) error {
					p, err := pathArg(c)
					if err != nil {
						return err
					}
					var r volume.Report
					if err := call(c, "volume.check", node.VolumeArgs{Path: p}, &r, func(w io.Writer) { checkReport(w, p, r) }); err != nil {
						return err
					}
					if !r.OK() {
						return cli.Exit("", 2)
					}
					return nil
				},
			},
			{
				Name:      "mount",
				Usage:     "mount the volume through FUSE (snapshots under .snapshot/); runs until Ctrl-C or unmount",
				ArgsUsage: "/SVM/VOLUME MOUNTPOINT",
				Action:    mountAction,
			},
			{
				Name:      "unmount",
				Usage:     "unmount a tapelab mount (by mount point or volume path)",
				ArgsUsage: "MOUNTPOINT|/SVM/VOLUME",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("usage: tapelab volume unmount MOUNTPOINT|/SVM/VOLUME")
					}
					t := c.Args().First()
					args := node.MountArgs{Mountpoint: t}
					if _, _, _, err := volume.ParsePath(t); err == nil {
						if st, err := os.Stat(t); err != nil || !st.IsDir() {
							args = node.MountArgs{Path: t}
						}
					}
					var out []node.MountInfo
					return call(c, "volume.unmount", args, &out, func(w io.Writer) {
						for _, m := range out {
							fmt.Fprintf(w, "Unmounted %s from %s.\n", m.Volume, m.Mountpoint)
						}
					})
				},
			},
			{
				Name:  "mounts",
				Usage: "list the node's FUSE mounts",
				Action: func(c *cli.Context) error {
					var out []node.MountInfo
					return call(c, "volume.mounts", nil, &out, func(w io.Writer) {
						fmt.Fprintln(w, "Volume\tMount point")
						for _, m := range out {
							fmt.Fprintf(w, "%s\t%s\n", m.Volume, m.Mountpoint)
						}
					})
				},
			},
		},
	}
}

// mountAction asks a running node to mount; with none running, this
// process becomes the node and holds the mount until Ctrl-C, SIGTERM or a
// `volume unmount` from another shell.
func mountAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return fmt.Errorf("usage: tapelab volume mount /SVM/VOLUME MOUNTPOINT")
	}
	args := node.MountArgs{Path: c.Args().Get(0), Mountpoint: c.Args().Get(1)}
	if cl, err := admin.Dial(c.String("data")); err == nil {
		defer cl.Close()
		var mi node.MountInfo
		if err := cl.Call(c.Context, "volume.mount", args, &mi); err != nil {
			return err
		}
		return output(c, mi, func(w io.Writer) {
			fmt.Fprintf(w, "Mounted %s at %s (held by the running node).\n", mi.Volume, mi.Mountpoint)
		})
	}
	return runNode(c, func(ctx context.Context, n *node.Node) error {
		var mi node.MountInfo
		if err := n.Mux().Call(ctx, "volume.mount", args, &mi); err != nil {
			return err
		}
		idle := n.MountsIdle()
		if err := output(c, mi, func(w io.Writer) {
			fmt.Fprintf(w, "Mounted %s at %s. Ctrl-C or `tapelab volume unmount %s` to unmount.\n", mi.Volume, mi.Mountpoint, mi.Mountpoint)
		}); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case <-idle:
		}
		return nil // Close unmounts what is left
	})
}

func volumeTable(w io.Writer, vs []volume.Info) {
	fmt.Fprintln(w, "Vserver\tVolume\tState\tType\tSize\tAvailable\tUsed%\tInodes\tSnapshots")
	fmt.Fprintln(w, "-------\t------\t-----\t----\t----\t---------\t-----\t------\t---------")
	for _, v := range vs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%d\n", v.SVM, v.Name, v.State, v.Type, human(v.Size), human(v.Available), percent(v.Used, v.Size), v.Inodes, v.InodeLimit, v.Snapshots)
	}
	if len(vs) == 0 {
		fmt.Fprintln(w, "(no volumes)")
	}
}

func volumeDetail(w io.Writer, v volume.Info) {
	rows := [][2]string{
		{"Vserver Name", v.SVM},
		{"Volume Name", v.Name},
		{"Volume UUID", v.UUID},
		{"Volume State", string(v.State)},
		{"Volume Type", string(v.Type)},
		{"Creation Time", v.Created.Format(time.RFC1123)},
		{"Volume Size", human(v.Size)},
		{"Available Size", human(v.Available)},
		{"Used Size", human(v.Used)},
		{"Used Percentage", percent(v.Used, v.Size)},
		{"Active File System Used", human(v.LiveUsed)},
		{"Snapshot Used", human(v.SnapUsed)},
		{"Files Used", fmt.Sprint(v.Inodes)},
		{"Total Files (for user-visible data)", fmt.Sprint(v.InodeLimit)},
		{"Files Free", fmt.Sprint(v.InodesFree)},
		{"Number of Snapshots", fmt.Sprint(v.Snapshots)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%s:\t%s\n", r[0], r[1])
	}
}

func checkReport(w io.Writer, path string, r volume.Report) {
	fmt.Fprintf(w, "Volume:\t%s\n", path)
	fmt.Fprintf(w, "Inodes:\t%d (%d directories)\n", r.Inodes, r.Directories)
	fmt.Fprintf(w, "Live blocks:\t%d\n", r.LiveBlocks)
	fmt.Fprintf(w, "Stored blocks:\t%d\n", r.StoredBlocks)
	fmt.Fprintf(w, "Snapshots:\t%d\n", r.Snapshots)
	if r.OK() {
		fmt.Fprintln(w, "Result:\tconsistent")
		return
	}
	fmt.Fprintf(w, "Result:\t%d problem(s)\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
}

func snapshotCommand() *cli.Command {
	two := func(c *cli.Context) (string, string, error) {
		if c.NArg() != 2 {
			return "", "", fmt.Errorf("usage: tapelab snapshot %s /SVM/VOLUME NAME", c.Command.Name)
		}
		return c.Args().Get(0), c.Args().Get(1), nil
	}
	return &cli.Command{
		Name:  "snapshot",
		Usage: "create, list, delete and compare snapshots (up to 255 per volume)",
		Subcommands: []*cli.Command{
			{
				Name: "create", ArgsUsage: "/SVM/VOLUME NAME", Usage: "create a snapshot (O(1))",
				Action: func(c *cli.Context) error {
					p, name, err := two(c)
					if err != nil {
						return err
					}
					var s snapshot.Info
					return call(c, "snapshot.create", node.SnapshotArgs{Path: p, Name: name}, &s, func(w io.Writer) {
						fmt.Fprintf(w, "Snapshot %s of %s created.\n", s.Name, p)
					})
				},
			},
			{
				Name: "list", ArgsUsage: "/SVM/VOLUME", Usage: "list snapshots (like ONTAP's snap list)",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("usage: tapelab snapshot list /SVM/VOLUME")
					}
					p := c.Args().First()
					var ss []snapshot.Info
					var v volume.Info
					return withNode(c, func(ctx context.Context, cl admin.Caller) error {
						if err := cl.Call(ctx, "snapshot.list", node.VolumeArgs{Path: p}, &ss); err != nil {
							return err
						}
						if err := cl.Call(ctx, "volume.show", node.VolumeArgs{Path: p}, &v); err != nil {
							return err
						}
						return output(c, ss, func(w io.Writer) { snapshotTable(w, v, ss) })
					})
				},
			},
			{
				Name: "show", ArgsUsage: "/SVM/VOLUME NAME", Usage: "show one snapshot",
				Action: func(c *cli.Context) error {
					p, name, err := two(c)
					if err != nil {
						return err
					}
					var s snapshot.Info
					return call(c, "snapshot.show", node.SnapshotArgs{Path: p, Name: name}, &s, func(w io.Writer) {
						fmt.Fprintf(w, "Vserver:\t%s\nVolume:\t%s\nSnapshot:\t%s\nCreation Time:\t%s\nUnique Size:\t%s\nLocked By:\t%v\n",
							s.SVM, s.Volume, s.Name, s.Created.Format(time.RFC1123), human(s.Unique), s.Holders)
					})
				},
			},
			{
				Name: "delete", ArgsUsage: "/SVM/VOLUME NAME", Usage: "delete a snapshot and reclaim what only it held",
				Action: func(c *cli.Context) error {
					p, name, err := two(c)
					if err != nil {
						return err
					}
					var r node.DeleteSnapshotResult
					return call(c, "snapshot.delete", node.SnapshotArgs{Path: p, Name: name}, &r, func(w io.Writer) {
						fmt.Fprintf(w, "Snapshot %s of %s deleted; %s freed.\n", name, p, human(r.Freed))
					})
				},
			},
			{
				Name: "diff", ArgsUsage: "/SVM/VOLUME FROM [TO]", Usage: "changed inodes and block ranges between two snapshots (TO omitted: the active file system)",
				Action: func(c *cli.Context) error {
					if c.NArg() < 2 || c.NArg() > 3 {
						return fmt.Errorf("usage: tapelab snapshot diff /SVM/VOLUME FROM [TO]")
					}
					args := node.DiffArgs{Path: c.Args().Get(0), From: c.Args().Get(1), To: c.Args().Get(2)}
					var d snapshot.DiffResult
					return call(c, "snapshot.diff", args, &d, func(w io.Writer) { diffTable(w, d) })
				},
			},
		},
	}
}

func snapshotTable(w io.Writer, v volume.Info, ss []snapshot.Info) {
	fmt.Fprintln(w, "Vserver\tVolume\tSnapshot\tCreated\tSize\tTotal%\tUsed%\tLocked by")
	fmt.Fprintln(w, "-------\t------\t--------\t-------\t----\t------\t-----\t---------")
	for _, s := range ss {
		holders := "-"
		if len(s.Holders) > 0 {
			holders = fmt.Sprint(s.Holders)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.SVM, s.Volume, s.Name, s.Created.Format("Jan 02 15:04:05"), human(s.Unique), percent(s.Unique, v.Size), percent(s.Unique, v.Used), holders)
	}
	fmt.Fprintf(w, "%d entries were displayed.\n", len(ss))
}

func diffTable(w io.Writer, d snapshot.DiffResult) {
	to := d.To
	if to == "" {
		to = "(active file system)"
	}
	fmt.Fprintf(w, "Changes from %s to %s: %d inode(s)\n", d.From, to, len(d.Changes))
	fmt.Fprintln(w, "Inode\tChange\tAttributes\tEntries\tXattrs\tChanged ranges")
	for _, ch := range d.Changes {
		var bytes int64
		for _, e := range ch.Data {
			bytes += e.Len
		}
		ranges := fmt.Sprintf("%d (%s)", len(ch.Data), human(bytes))
		fmt.Fprintf(w, "%d\t%s\t%v\t%v\t%v\t%s\n", ch.Ino, ch.Kind, ch.Attr, ch.Dirents, ch.Xattrs, ranges)
	}
}
