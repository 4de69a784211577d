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
		Usage: "run a node on the data directory until interrupted: admin API, NDMP server, mounts",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ndmp", Value: node.DefaultNDMPAddr, Usage: "NDMP listen address (loopback by default; \"\" = none)"},
			&cli.StringFlag{Name: "ndmps", Usage: "ndmps (NDMP over TLS) listen address, e.g. 127.0.0.1:30000; a self-signed certificate is made in DATA/ndmp on first start"},
		},
		Action: func(c *cli.Context) error {
			return runNode(c, func(ctx context.Context, n *node.Node) error {
				var ls node.NDMPListenArgs
				if c.String("ndmp") != "" || c.String("ndmps") != "" {
					args := node.NDMPListenArgs{Addr: c.String("ndmp"), TLSAddr: c.String("ndmps")}
					if err := n.Mux().Call(ctx, "ndmp.listen", args, &ls); err != nil {
						return err
					}
				}
				fmt.Printf("tapelab node serving %s (admin socket %s/tapelab.sock)\n", n.Dir, n.Dir)
				if ls.Addr != "" {
					fmt.Printf("NDMP v4 on %s\n", ls.Addr)
				}
				if ls.TLSAddr != "" {
					fmt.Printf("ndmps on %s\n", ls.TLSAddr)
				}
				<-ctx.Done()
				return nil
			})
		},
	})
}
