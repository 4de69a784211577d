package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"tapelab/node"
	"tapelab/vtl"
)

func init() { commands = append(commands, storageCommand()) }

// storageCommand is ONTAP's `storage tape` family (seed 001's table of commands).
func storageCommand() *cli.Command {
	devFlag := &cli.StringFlag{Name: "device", Usage: "tape drive or media changer (alias, device name or SN[...])"}
	simple := func(name, call_, done string) *cli.Command {
		return &cli.Command{
			Name: name, Usage: done + " a tape drive", Flags: []cli.Flag{&cli.StringFlag{Name: "device", Required: true}},
			Action: func(c *cli.Context) error {
				return call(c, call_, node.DeviceArgs{Device: c.String("device")}, nil, func(w io.Writer) {
					fmt.Fprintf(w, "Tape drive %s: %s.\n", c.String("device"), strings.ToLower(done))
				})
			},
		}
	}
	return &cli.Command{
		Name:  "storage",
		Usage: "ONTAP-style storage views",
		Subcommands: []*cli.Command{{
			Name:  "tape",
			Usage: "tape drives and media changers (storage tape ...)",
			Subcommands: []*cli.Command{
				{
					Name: "show", Usage: "all tape drives and media changers", Flags: []cli.Flag{jsonFlag,
						&cli.BoolFlag{Name: "device-names", Usage: "list each drive's tape devices (rewind type and density)"}},
					Action: func(c *cli.Context) error {
						if c.Bool("device-names") {
							var ds []vtl.DriveInfo
							return call(c, "storage.tape.show-tape-drive", node.DeviceArgs{}, &ds, func(w io.Writer) {
								for _, d := range ds {
									fmt.Fprintf(w, "Tape drive (%s)  %s\n", d.SN, d.Description)
									for _, n := range d.DeviceNames {
										kind := map[vtl.RewindMode]string{vtl.Rewind: "rewind device", vtl.NoRewind: "no rewind device",
											vtl.UnloadReload: "unload/reload device"}[n.Rewind]
										fmt.Fprintf(w, "%s -\t%s,\tformat is: %s\n", n.Name, kind, n.Description)
									}
								}
							})
						}
						var rows []node.TapeDeviceRow
						return call(c, "storage.tape.show", nil, &rows, func(w io.Writer) {
							fmt.Fprintln(w, "Device ID\tDevice Type\tDescription\tSerial Number\tLibrary\tStatus")
							for _, r := range rows {
								st := "online"
								if !r.Online {
									st = "offline"
								}
								fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Type, r.Description, r.SN, r.Library, st)
							}
						})
					},
				},
				{
					Name: "show-tape-drive", Usage: "tape drives in detail", Flags: []cli.Flag{devFlag, jsonFlag},
					Action: func(c *cli.Context) error {
						var ds []vtl.DriveInfo
						return call(c, "storage.tape.show-tape-drive", node.DeviceArgs{Device: c.String("device")}, &ds, func(w io.Writer) {
							for i, d := range ds {
								if i > 0 {
									fmt.Fprintln(w)
								}
								driveDetail(w, d)
							}
						})
					},
				},
				{
					Name: "show-media-changer", Usage: "media changers", Flags: []cli.Flag{devFlag, jsonFlag},
					Action: func(c *cli.Context) error {
						var cs []vtl.ChangerInfo
						return call(c, "storage.tape.show-media-changer", node.DeviceArgs{Device: c.String("device")}, &cs, func(w io.Writer) {
							fmt.Fprintln(w, "Media Changer\tDescription\tSerial Number\tLibrary\tDrives\tSlots\tMail Slots")
							for _, m := range cs {
								fmt.Fprintf(w, "%s\t%s %s\t%s\t%s\t%d\t%d\t%d\n", m.Name, m.Vendor, m.Product, m.SN, m.Library,
									m.Elements.DriveCount, m.Elements.StorageCount, m.Elements.IECount)
							}
						})
					},
				},
				{
					Name: "show-errors", Usage: "error counters of tape drives", Flags: []cli.Flag{devFlag, jsonFlag},
					Action: func(c *cli.Context) error {
						var rows []node.DriveErrorsRow
						return call(c, "storage.tape.show-errors", node.DeviceArgs{Device: c.String("device")}, &rows, func(w io.Writer) {
							fmt.Fprintln(w, "Device ID\tSerial Number\tRead Errors\tWrite Errors\tMedium Errors\tLast Error")
							for _, r := range rows {
								fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\n", r.Name, r.Serial, r.Errors.ReadErrors, r.Errors.WriteErrors, r.Errors.MediumErrors, r.Errors.LastError)
							}
						})
					},
				},
				{
					Name: "show-supported-status", Usage: "qualified and supported tape drives", Flags: []cli.Flag{jsonFlag},
					Action: func(c *cli.Context) error {
						var rows []vtl.SupportedDrive
						return call(c, "storage.tape.show-supported-status", nil, &rows, func(w io.Writer) {
							fmt.Fprintln(w, "Tape Drive\tIs Supported\tSupport Status")
							for _, r := range rows {
								fmt.Fprintf(w, "%s\t%v\t%s\n", r.Name, r.Supported, r.Status)
							}
						})
					},
				},
				{
					Name:  "alias",
					Usage: "tape aliases (st<N>, mc<N>) mapped to serial numbers",
					Subcommands: []*cli.Command{
						{
							Name: "set", Usage: "set an alias", Flags: []cli.Flag{
								&cli.StringFlag{Name: "name", Required: true, Usage: "st<N> or mc<N>"},
								&cli.StringFlag{Name: "mapping", Required: true, Usage: "SN[serial] or SN[serial]L<lun>"},
							},
							Action: func(c *cli.Context) error {
								return call(c, "storage.tape.alias.set", node.AliasArgs{Name: c.String("name"), Mapping: c.String("mapping")}, nil, func(w io.Writer) {
									fmt.Fprintf(w, "Alias %s set to %s.\n", c.String("name"), c.String("mapping"))
								})
							},
						},
						{
							Name: "clear", Usage: "clear one alias (--name) or all of a scope (--clear-scope tape|media-changer|all)", Flags: []cli.Flag{
								&cli.StringFlag{Name: "name"},
								&cli.StringFlag{Name: "clear-scope"},
							},
							Action: func(c *cli.Context) error {
								if (c.String("name") == "") == (c.String("clear-scope") == "") {
									return fmt.Errorf("give --name or --clear-scope")
								}
								return call(c, "storage.tape.alias.clear", node.AliasArgs{Name: c.String("name"), Scope: c.String("clear-scope")}, nil, func(w io.Writer) {
									fmt.Fprintln(w, "Aliases cleared.")
								})
							},
						},
						{
							Name: "show", Usage: "show aliases", Flags: []cli.Flag{jsonFlag},
							Action: func(c *cli.Context) error {
								var as []vtl.Alias
								return call(c, "storage.tape.alias.show", nil, &as, func(w io.Writer) {
									fmt.Fprintln(w, "Alias\tMapping\tType")
									for _, a := range as {
										fmt.Fprintf(w, "%s\t%s\t%s\n", a.Name, a.Mapping, a.Kind)
									}
								})
							},
						},
					},
				},
				{
					Name: "position", Usage: "modify the tape drive cartridge position", Flags: []cli.Flag{
						&cli.StringFlag{Name: "device", Required: true},
						&cli.StringFlag{Name: "operation", Required: true, Usage: "weof, fsf, bsf, fsr, bsr, rewind, erase, eom"},
						&cli.IntFlag{Name: "count", Value: 1},
					},
					Action: func(c *cli.Context) error {
						var p vtl.Position
						args := node.PositionArgs{Device: c.String("device"), Operation: c.String("operation"), Count: c.Int("count")}
						return call(c, "storage.tape.position", args, &p, func(w io.Writer) {
							fmt.Fprintf(w, "Tape drive %s: file %d, block %d (block %d of the file)%s.\n", args.Device, p.File, p.Block, p.BlockInFile, posFlags(p))
						})
					},
				},
				simple("reset", "storage.tape.reset", "Reset"),
				simple("offline", "storage.tape.offline", "Offline"),
				simple("online", "storage.tape.online", "Online"),
			},
		}},
	}
}

func posFlags(p vtl.Position) string {
	var f []string
	if p.BOT {
		f = append(f, "BOT")
	}
	if p.EOD {
		f = append(f, "EOD")
	}
	if p.EW {
		f = append(f, "early warning")
	}
	if len(f) == 0 {
		return ""
	}
	return ", " + strings.Join(f, ", ")
}

func driveDetail(w io.Writer, d vtl.DriveInfo) {
	fmt.Fprintf(w, "Device ID:\t%s\n", d.Name)
	fmt.Fprintf(w, "Description:\t%s\n", d.Description)
	fmt.Fprintf(w, "Vendor / Product / Revision:\t%s / %s / %s\n", d.Vendor, d.Product, d.Revision)
	fmt.Fprintf(w, "Serial Number:\t%s\n", d.SN)
	fmt.Fprintf(w, "Library:\t%s\n", d.Library)
	fmt.Fprintf(w, "Support Status:\t%s\n", d.Status)
	fmt.Fprintf(w, "Online:\t%v\n", d.Online)
	if d.Cartridge != "" {
		fmt.Fprintf(w, "Cartridge:\t%s (loaded: %v, file %d, block %d%s)\n", d.Cartridge, d.Loaded, d.Position.File, d.Position.Block, posFlags(d.Position))
	}
	if d.ReservedBy != "" {
		fmt.Fprintf(w, "Reserved by:\t%s\n", d.ReservedBy)
	}
	var names []string
	for _, n := range d.DeviceNames {
		names = append(names, n.Name)
	}
	fmt.Fprintf(w, "Device names:\t%s\n", strings.Join(names, " "))
	for _, n := range d.DeviceNames {
		if n.Rewind == vtl.Rewind {
			fmt.Fprintf(w, "  %c:\tdensity 0x%02x%s  %s\n", n.Suffix, n.Density, map[bool]string{true: ", compression"}[n.Compression], n.Description)
		}
	}
	for _, f := range d.Faults {
		fmt.Fprintf(w, "Fault:\t%s block=%d bytes=%d count=%d\n", f.Kind, f.Block, f.Bytes, f.Count)
	}
}
