package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"tapelab/node"
)

// `tapelab vtl tape export-file` and `import-file` move one tape file
// between a cartridge and a plain file (node/vtl_transfer.go): an image of
// ours for Linux `restore -f`, or a Linux `dump -f` image onto a cartridge.
// They are added to the `vtl tape` command built in vtl.go, whose init runs
// first (files initialise in name order).
func init() {
	for _, c := range commands {
		if c.Name != "vtl" {
			continue
		}
		for _, sub := range c.Subcommands {
			if sub.Name == "tape" {
				sub.Subcommands = append(sub.Subcommands, exportFileCommand(), importFileCommand())
				return
			}
		}
	}
	panic("vtl_transfer.go: no `vtl tape` command to extend")
}

func showTransfer(verb string) func(r *node.TapeFileResult) func(w io.Writer) {
	return func(r *node.TapeFileResult) func(w io.Writer) {
		return func(w io.Writer) {
			fmt.Fprintf(w, "%s tape file %d of %s (drive %s): %d records, %s (%d bytes)\n", verb, r.File, r.Barcode, r.Drive, r.Records, human(r.Bytes), r.Bytes)
			if !r.Terminated {
				fmt.Fprintln(w, "warning: end of data reached before a filemark: the image is not terminated")
			}
		}
	}
}

func exportFileCommand() *cli.Command {
	return &cli.Command{
		Name:      "export-file",
		Usage:     "copy tape file N of a cartridge (its records, up to the filemark) into a plain file",
		ArgsUsage: "BARCODE --file N --out PATH",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "file", Usage: "tape file number, counted from 0"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output file (created or truncated)"},
			jsonFlag,
		},
		Before: jsonBefore,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("usage: tapelab vtl tape export-file BARCODE --file N --out PATH")
			}
			out, err := filepath.Abs(c.String("out"))
			if err != nil {
				return err
			}
			var r node.TapeFileResult
			return call(c, "vtl.tape.export-file", node.TapeFileArgs{Barcode: c.Args().First(), File: c.Int("file"), Path: out}, &r, showTransfer("Exported")(&r))
		},
	}
}

func importFileCommand() *cli.Command {
	return &cli.Command{
		Name:      "import-file",
		Usage:     "append a plain image file to a cartridge as records followed by a filemark",
		ArgsUsage: "BARCODE --in PATH [--record-size 64k]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "in", Required: true, Usage: "image file to write"},
			&cli.StringFlag{Name: "record-size", Value: "64k", Usage: "bytes per tape record, 4k-256k (k suffix)"},
			jsonFlag,
		},
		Before: jsonBefore,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("usage: tapelab vtl tape import-file BARCODE --in PATH [--record-size 64k]")
			}
			in, err := filepath.Abs(c.String("in"))
			if err != nil {
				return err
			}
			rs, err := parseSize(c.String("record-size"))
			if err != nil {
				return err
			}
			var r node.TapeFileResult
			return call(c, "vtl.tape.import-file", node.TapeFileArgs{Barcode: c.Args().First(), Path: in, RecordSize: int(rs)}, &r, showTransfer("Imported")(&r))
		},
	}
}
