package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"tapelab/node"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:  "serve",
		Usage: "run a node on the data directory until interrupted (admin API, NDMP, mounts)",
		Action: func(c *cli.Context) error {
			return runNode(c, func(ctx context.Context, n *node.Node) error {
				fmt.Printf("tapelab node serving %s (admin socket %s/tapelab.sock)\n", n.Dir, n.Dir)
				<-ctx.Done()
				return nil
			})
		},
	})
}
