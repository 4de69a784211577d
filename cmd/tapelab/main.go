// Command tapelab is the single binary of the tape-backup lab: volumes,
// snapshots, FUSE mounts, the virtual tape library, the NDMP server and
// the backup engines. Every command is a thin client of the node's admin
// API (see package node): it talks to a running `tapelab serve` over
// DATA/tapelab.sock, or opens the data directory itself when none runs.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// commands are added by the area files (volume.go, vtl.go, ndmp.go, ...)
// in their init funcs, so each area keeps its CLI in one file.
var commands []*cli.Command

func newApp() *cli.App {
	return &cli.App{
		Name:  "tapelab",
		Usage: "a tape-backup lab: CoW volumes, a virtual tape library, dump and NDMP",
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "data",
				Usage:   "data directory owned by one tapelab node",
				Value:   "./tapelab-data",
				EnvVars: []string{"TAPELAB_DATA"},
			},
			&cli.BoolFlag{Name: "json", Usage: "print results as JSON"},
		},
		Commands:       commands,
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

func main() {
	app := newApp()
	if err := app.Run(interspersed(app, os.Args)); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
