package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"tapelab/admin"
	"tapelab/node"
)

// busyWait bounds how long a command waits for a data directory held by a
// process that is not (yet) serving the admin socket, e.g. another
// short-lived command.
const busyWait = 30 * time.Second

// withNode runs fn against the data directory's node: the running one over
// the admin socket, else an in-process node opened for fn's duration.
func withNode(c *cli.Context, fn func(ctx context.Context, call admin.Caller) error) error {
	dir := c.String("data")
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	deadline := time.Now().Add(busyWait)
	for {
		if cl, err := admin.Dial(dir); err == nil {
			defer cl.Close()
			return fn(ctx, cl)
		}
		n, err := node.Open(dir, node.Options{})
		if err == nil {
			defer n.Close()
			return fn(ctx, n.Mux())
		}
		if !errors.Is(err, node.ErrBusy) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call is withNode for one call whose result is printed by show.
func call(c *cli.Context, name string, args, result any, show func(w io.Writer)) error {
	return withNode(c, func(ctx context.Context, cl admin.Caller) error {
		if err := cl.Call(ctx, name, args, result); err != nil {
			return err
		}
		return output(c, result, show)
	})
}

// output prints v as JSON with --json, else through show (nil: nothing).
func output(c *cli.Context, v any, show func(w io.Writer)) error {
	if c.Bool("json") {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if show != nil {
		tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
		show(tw)
		return tw.Flush()
	}
	return nil
}

// runNode makes this process the node of the data directory for as long as
// fn runs (serve, mount), serving the admin socket meanwhile.
func runNode(c *cli.Context, fn func(ctx context.Context, n *node.Node) error) error {
	n, err := node.Open(c.String("data"), node.Options{Log: os.Stderr})
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.ServeAdmin(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return fn(ctx, n)
}

func needArgs(c *cli.Context, n int, usage string) error {
	if c.NArg() != n {
		return fmt.Errorf("usage: %s", usage)
	}
	return nil
}
