package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"tapelab/node"
	"tapelab/vtl"
)

func init() { commands = append(commands, vtlCommand()) }

// jsonFlag lets listings take --json after the command as well as before
// it; jsonBefore carries a global --json into the leaf's own flag, which
// would otherwise shadow it.
var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print results as JSON"}

func jsonBefore(c *cli.Context) error {
	for _, p := range c.Lineage()[1:] {
		if p.Bool("json") {
			return c.Set("json", "true")
		}
	}
	return nil
}

func init() {
	// Every command that declares jsonFlag gets jsonBefore.
	var walk func(cs []*cli.Command)
	walk = func(cs []*cli.Command) {
		for _, c := range cs {
			for _, f := range c.Flags {
				if f == jsonFlag && c.Before == nil {
					c.Before = jsonBefore
				}
			}
			walk(c.Subcommands)
		}
	}
	walk(commands)
}

func vtlCommand() *cli.Command {
	return &cli.Command{
		Name:  "vtl",
		Usage: "virtual tape library: libraries, drives, changers and cartridges",
		Subcommands: []*cli.Command{
			{
				Name:  "library",
				Usage: "create, list, show and delete tape libraries",
				Subcommands: []*cli.Command{
					{
						Name:      "create",
						Usage:     "create a library (a changer, drives, storage and mail slots)",
						ArgsUsage: "NAME",
						Flags: []cli.Flag{
							&cli.IntFlag{Name: "drives", Value: 2, Usage: "number of tape drives"},
							&cli.IntFlag{Name: "slots", Value: 20, Usage: "number of storage slots"},
							&cli.IntFlag{Name: "mail-slots", Value: 2, Usage: "number of import/export (mail) slots"},
							&cli.StringFlag{Name: "drive-model", Value: "IBM ULT3580-TD8", Usage: `drive model: "VENDOR PRODUCT" or a tape configuration name ("HP LTO-6")`},
							&cli.StringFlag{Name: "changer-vendor", Value: "IBM"},
							&cli.StringFlag{Name: "changer-product", Value: "03584L32"},
						},
						Action: func(c *cli.Context) error {
							if err := needArgs(c, 1, "tapelab vtl library create NAME [--drives N --slots N --mail-slots N --drive-model M]"); err != nil {
								return err
							}
							spec := vtl.LibrarySpec{Name: c.Args().First(), Drives: c.Int("drives"), Slots: c.Int("slots"), MailSlots: c.Int("mail-slots"),
								DriveModel: c.String("drive-model"), ChangerVendor: c.String("changer-vendor"), ChangerProduct: c.String("changer-product")}
							var info vtl.LibraryInfo
							return call(c, "vtl.library.create", spec, &info, func(w io.Writer) {
								fmt.Fprintf(w, "Library %s created: changer %s, drives %s, %d slots, %d mail slots.\n",
									info.Name, info.Changer, strings.Join(info.Drives, " "), info.Slots, info.MailSlots)
							})
						},
					},
					{
						Name:  "list",
						Usage: "list libraries",
						Flags: []cli.Flag{jsonFlag},
						Action: func(c *cli.Context) error {
							var ls []vtl.LibraryInfo
							return call(c, "vtl.library.list", nil, &ls, func(w io.Writer) {
								fmt.Fprintln(w, "Library\tChanger\tDrives\tSlots\tMail Slots\tCartridges\tDrive Model")
								for _, l := range ls {
									fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", l.Name, l.Changer, strings.Join(l.Drives, ","), l.Slots, l.MailSlots, l.Cartridges, l.DriveModel)
								}
							})
						},
					},
					{
						Name:      "show",
						Usage:     "show a library's elements and their contents",
						ArgsUsage: "NAME",
						Flags:     []cli.Flag{jsonFlag},
						Action: func(c *cli.Context) error {
							if err := needArgs(c, 1, "tapelab vtl library show NAME"); err != nil {
								return err
							}
							var d node.LibraryDetail
							return call(c, "vtl.library.show", node.LibraryArgs{Name: c.Args().First()}, &d, func(w io.Writer) {
								fmt.Fprintf(w, "Library:\t%s\nChanger:\t%s (%s %s, %s)\nDrive model:\t%s\n\n", d.Info.Name, d.Changer.Name,
									d.Changer.Vendor, d.Changer.Product, d.Changer.SN, d.Info.DriveModel)
								fmt.Fprintln(w, "Element\tAddress\tFull\tBarcode\tSource\tDrive")
								for _, e := range d.Elements {
									src := ""
									if e.SourceValid {
										src = strconv.Itoa(int(e.Source))
									}
									fmt.Fprintf(w, "%s %d\t%d\t%v\t%s\t%s\t%s\n", e.Type, e.Index, e.Address, e.Full, e.Barcode, src, e.Drive)
								}
							})
						},
					},
					{
						Name:      "delete",
						Usage:     "delete a library (its cartridges go to the vault)",
						ArgsUsage: "NAME",
						Action: func(c *cli.Context) error {
							if err := needArgs(c, 1, "tapelab vtl library delete NAME"); err != nil {
								return err
							}
							return call(c, "vtl.library.delete", node.LibraryArgs{Name: c.Args().First()}, nil, func(w io.Writer) {
								fmt.Fprintf(w, "Library %s deleted.\n", c.Args().First())
							})
						},
					},
				},
			},
			vtlTapeCommand(),
			{
				Name:      "reservations",
				Usage:     "show or set the tape.reservations option (scsi, persistent, off)",
				ArgsUsage: "[scsi|persistent|off]",
				Action: func(c *cli.Context) error {
					var mode string
					return call(c, "vtl.reservations", node.ReservationArgs{Mode: c.Args().First()}, &mode, func(w io.Writer) {
						fmt.Fprintf(w, "tape.reservations %s\n", mode)
					})
				},
			},
		},
	}
}

func vtlTapeCommand() *cli.Command {
	one := func(usage string) func(c *cli.Context) (string, error) {
		return func(c *cli.Context) (string, error) {
			if c.NArg() != 1 {
				return "", fmt.Errorf("usage: tapelab vtl tape %s %s", c.Command.Name, usage)
			}
			return c.Args().First(), nil
		}
	}
	barcode := one("BARCODE")
	showCart := func(c *cli.Context, name string, args any) error {
		var info vtl.CartridgeInfo
		return call(c, name, args, &info, func(w io.Writer) { cartridgeDetail(w, info) })
	}
	return &cli.Command{
		Name:  "tape",
		Usage: "virtual tape cartridges",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create a blank cartridge (in a library slot, or in the vault)",
				ArgsUsage: "BARCODE",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "library", Usage: "library to put it in (default: the vault)"},
					&cli.IntFlag{Name: "slot", Usage: "storage slot (default: first free)"},
					&cli.StringFlag{Name: "media", Usage: "LTO-1 .. LTO-9 (default: from the barcode suffix, else LTO-8)"},
					&cli.StringFlag{Name: "capacity", Usage: "capacity overriding the media type's (k, m, g, t suffixes)"},
					&cli.BoolFlag{Name: "worm", Usage: "write-once media"},
				},
				Action: func(c *cli.Context) error {
					bc, err := barcode(c)
					if err != nil {
						return err
					}
					spec := vtl.CartridgeSpec{Barcode: bc, MediaType: c.String("media"), WORM: c.Bool("worm"), Library: c.String("library"), Slot: c.Int("slot")}
					if c.IsSet("capacity") {
						if spec.Capacity, err = parseSize(c.String("capacity")); err != nil {
							return err
						}
					}
					return showCart(c, "vtl.tape.create", spec)
				},
			},
			{
				Name:  "list",
				Usage: "list cartridges and where they are",
				Flags: []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error {
					var cs []vtl.CartridgeInfo
					return call(c, "vtl.tape.list", nil, &cs, func(w io.Writer) {
						fmt.Fprintln(w, "Barcode\tMedia\tCapacity\tUsed\tFiles\tWP\tWORM\tLocation")
						for _, x := range cs {
							fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%v\t%v\t%s\n", x.Barcode, x.MediaType, human(x.Capacity), human(x.Used), x.Filemarks, x.WriteProtected, x.WORM, x.Location)
						}
					})
				},
			},
			{Name: "show", Usage: "show a cartridge", ArgsUsage: "BARCODE", Flags: []cli.Flag{jsonFlag}, Action: func(c *cli.Context) error {
				bc, err := barcode(c)
				if err != nil {
					return err
				}
				return showCart(c, "vtl.tape.show", node.TapeArgs{Barcode: bc})
			}},
			{Name: "delete", Usage: "delete a cartridge (not while in a drive)", ArgsUsage: "BARCODE", Action: func(c *cli.Context) error {
				bc, err := barcode(c)
				if err != nil {
					return err
				}
				return call(c, "vtl.tape.delete", node.TapeArgs{Barcode: bc}, nil, func(w io.Writer) { fmt.Fprintf(w, "Cartridge %s deleted.\n", bc) })
			}},
			{
				Name: "import", Usage: "put a vault cartridge into a library's mail slot", ArgsUsage: "BARCODE",
				Flags: []cli.Flag{&cli.StringFlag{Name: "library", Required: true}},
				Action: func(c *cli.Context) error {
					bc, err := barcode(c)
					if err != nil {
						return err
					}
					var loc vtl.Location
					return call(c, "vtl.tape.import", node.TapeArgs{Barcode: bc, Library: c.String("library")}, &loc, func(w io.Writer) {
						fmt.Fprintf(w, "Cartridge %s is in %s.\n", bc, locString(loc))
					})
				},
			},
			{Name: "export", Usage: "take a cartridge out of its library into the vault", ArgsUsage: "BARCODE", Action: func(c *cli.Context) error {
				bc, err := barcode(c)
				if err != nil {
					return err
				}
				return call(c, "vtl.tape.export", node.TapeArgs{Barcode: bc}, nil, func(w io.Writer) { fmt.Fprintf(w, "Cartridge %s exported to the vault.\n", bc) })
			}},
			{
				Name: "move", Usage: "move a cartridge to a slot, mail slot or drive of its library", ArgsUsage: "BARCODE",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "to", Value: "slot", Usage: "slot, mailslot or drive"},
					&cli.IntFlag{Name: "index", Usage: "1-based element number (default: first free)"},
				},
				Action: func(c *cli.Context) error {
					bc, err := barcode(c)
					if err != nil {
						return err
					}
					var loc vtl.Location
					return call(c, "vtl.tape.move", node.TapeArgs{Barcode: bc, To: c.String("to"), Index: c.Int("index")}, &loc, func(w io.Writer) {
						fmt.Fprintf(w, "Cartridge %s is in %s.\n", bc, locString(loc))
					})
				},
			},
			{
				Name: "load", Usage: "load a cartridge into a drive", ArgsUsage: "BARCODE",
				Flags: []cli.Flag{&cli.StringFlag{Name: "drive", Required: true, Usage: "drive alias, device name or SN[...]"}},
				Action: func(c *cli.Context) error {
					bc, err := barcode(c)
					if err != nil {
						return err
					}
					return showCart(c, "vtl.tape.load", node.TapeArgs{Barcode: bc, Drive: c.String("drive")})
				},
			},
			{
				Name: "unload", Usage: "unload a drive; its cartridge returns to its slot", ArgsUsage: "DRIVE",
				Action: func(c *cli.Context) error {
					d, err := one("DRIVE")(c)
					if err != nil {
						return err
					}
					var loc vtl.Location
					return call(c, "vtl.tape.unload", node.TapeArgs{Drive: d}, &loc, func(w io.Writer) {
						fmt.Fprintf(w, "Drive %s unloaded; cartridge in %s.\n", d, locString(loc))
					})
				},
			},
			{
				Name: "write-protect", Usage: "set or clear a cartridge's write-protect switch", ArgsUsage: "BARCODE on|off",
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 || (c.Args().Get(1) != "on" && c.Args().Get(1) != "off") {
						return fmt.Errorf("usage: tapelab vtl tape write-protect BARCODE on|off")
					}
					return showCart(c, "vtl.tape.write-protect", node.TapeArgs{Barcode: c.Args().First(), On: c.Args().Get(1) == "on"})
				},
			},
			{
				Name:      "inject-fault",
				Usage:     "inject a fault into a cartridge or drive (or clear its faults)",
				ArgsUsage: "BARCODE|DRIVE",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "kind", Usage: "read-error, write-error, write-fail, early-eom, write-protect, worm, offline"},
					&cli.Uint64Flag{Name: "block", Usage: "block (logical object number) for read-error / write-error"},
					&cli.StringFlag{Name: "bytes", Usage: "capacity for early-eom (k, m, g suffixes)"},
					&cli.IntFlag{Name: "count", Usage: "fire this many times (default: always)"},
					&cli.BoolFlag{Name: "clear", Usage: "remove every fault of the target"},
				},
				Action: func(c *cli.Context) error {
					target, err := one("BARCODE|DRIVE --kind KIND [--block N] [--bytes N] [--count N] | --clear")(c)
					if err != nil {
						return err
					}
					args := node.FaultArgs{Target: target, Clear: c.Bool("clear"),
						Fault: vtl.Fault{Kind: vtl.FaultKind(c.String("kind")), Block: c.Uint64("block"), Count: c.Int("count")}}
					if !args.Clear && c.String("kind") == "" {
						return fmt.Errorf("give --kind or --clear")
					}
					if c.IsSet("bytes") {
						if args.Fault.Bytes, err = parseSize(c.String("bytes")); err != nil {
							return err
						}
					}
					return call(c, "vtl.tape.inject-fault", args, nil, func(w io.Writer) {
						if args.Clear {
							fmt.Fprintf(w, "Faults of %s cleared.\n", target)
						} else {
							fmt.Fprintf(w, "Fault %s injected into %s.\n", args.Fault.Kind, target)
						}
					})
				},
			},
		},
	}
}

func locString(l vtl.Location) string {
	if l.Library == "" {
		return "the vault"
	}
	if l.Element == vtl.ElementDrive {
		return fmt.Sprintf("library %s, drive %s (element %d)", l.Library, l.Drive, l.Address)
	}
	return fmt.Sprintf("library %s, %s %d (element %d)", l.Library, l.Element, l.Index, l.Address)
}

func cartridgeDetail(w io.Writer, x vtl.CartridgeInfo) {
	fmt.Fprintf(w, "Barcode:\t%s\n", x.Barcode)
	fmt.Fprintf(w, "Media type:\t%s\n", x.MediaType)
	fmt.Fprintf(w, "Capacity:\t%s (early warning at %s)\n", human(x.Capacity), human(x.EarlyWarning))
	fmt.Fprintf(w, "Used:\t%s (%s)\n", human(x.Used), percent(x.Used, x.Capacity))
	fmt.Fprintf(w, "Objects:\t%d (%d filemarks)\n", x.Objects, x.Filemarks)
	fmt.Fprintf(w, "Write protected:\t%v\n", x.WriteProtected)
	fmt.Fprintf(w, "WORM:\t%v\n", x.WORM)
	fmt.Fprintf(w, "Location:\t%s\n", locString(x.Location))
	fmt.Fprintf(w, "Loads:\t%d\n", x.Counters.Loads)
	fmt.Fprintf(w, "Bytes written/read:\t%s / %s\n", human(int64(x.Counters.BytesWritten)), human(int64(x.Counters.BytesRead)))
	fmt.Fprintf(w, "Write/read errors:\t%d / %d\n", x.Counters.WriteErrors, x.Counters.ReadErrors)
	for _, f := range x.Faults {
		fmt.Fprintf(w, "Fault:\t%s block=%d bytes=%d count=%d\n", f.Kind, f.Block, f.Bytes, f.Count)
	}
}
