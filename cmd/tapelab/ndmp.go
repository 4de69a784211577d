package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"tapelab/admin"
	"tapelab/dma"
	"tapelab/ndmp"
	"tapelab/ndmp/client"
	"tapelab/ndmp/wire"
	"tapelab/node"
)

func init() { commands = append(commands, ndmpCommand(), tapeHelperCommand()) }

// dmaFlags select the NDMP server a DMA-side command talks to.
var dmaFlags = []cli.Flag{
	&cli.StringFlag{Name: "user", Usage: "NDMP user (default: this node's local DMA user)"},
	&cli.StringFlag{Name: "password", Usage: "NDMP password", EnvVars: []string{"TAPELAB_NDMP_PASSWORD"}},
	&cli.BoolFlag{Name: "text", Usage: "plaintext authentication instead of MD5 challenge"},
}

// dmaServer is HOST[:PORT] with the flags' credentials, or this node's
// server with its local DMA credentials.
func dmaServer(ctx context.Context, c *cli.Context, cl admin.Caller, host string) (dma.Server, error) {
	if host != "" {
		if _, _, err := net.SplitHostPort(host); err != nil {
			host = net.JoinHostPort(host, strconv.Itoa(wire.DefaultPort))
		}
		return dma.Server{Addr: host, User: c.String("user"), Password: c.String("password"), Text: c.Bool("text")}, nil
	}
	var ep node.Endpoint
	if err := cl.Call(ctx, "ndmp.endpoint", nil, &ep); err != nil {
		return dma.Server{}, err
	}
	s := dma.Server{Addr: ep.Addr, User: ep.User, Password: ep.Password, Text: c.Bool("text")}
	if c.String("user") != "" {
		s.User, s.Password = c.String("user"), c.String("password")
	}
	return s, nil
}

func sessionID(c *cli.Context) (int, error) {
	id, err := strconv.Atoi(c.Args().First())
	if err != nil || c.NArg() != 1 {
		return 0, fmt.Errorf("usage: %s ID", c.Command.HelpName)
	}
	return id, nil
}

func printSessions(w io.Writer, list []ndmp.SessionInfo) {
	fmt.Fprintln(w, "Session\tClient\tUser\tTape\tMover\tData\tBytes\tStarted")
	for _, s := range list {
		tape := s.TapeDevice
		if tape == "" {
			tape = "-"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s %s\t%d\t%s\n", s.ID, s.Remote, orDash(s.User), tape, s.MoverState, s.DataState, s.DataOperation,
			max(s.MoverBytes, s.DataBytes), s.Started.Format("2006-01-02 15:04:05"))
	}
}

// orDash is in backup.go.

func printProbe(w io.Writer, list []ndmp.SessionInfo) {
	for _, s := range list {
		fmt.Fprintf(w, "Session ID:\t%d\n", s.ID)
		fmt.Fprintf(w, "  Client address:\t%s\n", s.Remote)
		fmt.Fprintf(w, "  Server address:\t%s\n", s.Local)
		fmt.Fprintf(w, "  Session start time:\t%s\n", s.Started.Format("2006-01-02 15:04:05"))
		fmt.Fprintf(w, "  Authenticated:\t%v\n", s.Authenticated)
		fmt.Fprintf(w, "  User:\t%s\n", orDash(s.User))
		fmt.Fprintf(w, "  Requests:\t%d\n", s.Requests)
		fmt.Fprintf(w, "  Tape device:\t%s\n", orDash(s.TapeDevice))
		fmt.Fprintf(w, "  Tape open mode:\t%s\n", orDash(s.TapeMode))
		fmt.Fprintf(w, "  SCSI device:\t%s\n", orDash(s.SCSIDevice))
		fmt.Fprintf(w, "  Mover state:\t%s\n", s.MoverState)
		fmt.Fprintf(w, "  Mover mode:\t%s\n", s.MoverMode)
		fmt.Fprintf(w, "  Mover pause reason:\t%s\n", orDash(s.MoverPause))
		fmt.Fprintf(w, "  Mover halt reason:\t%s\n", orDash(s.MoverHalt))
		fmt.Fprintf(w, "  Mover record size:\t%d\n", s.RecordSize)
		fmt.Fprintf(w, "  Mover record number:\t%d\n", s.MoverRecord)
		fmt.Fprintf(w, "  Mover bytes moved:\t%d\n", s.MoverBytes)
		fmt.Fprintf(w, "  Data state:\t%s\n", s.DataState)
		fmt.Fprintf(w, "  Data operation:\t%s\n", s.DataOperation)
		fmt.Fprintf(w, "  Data backup type:\t%s\n", orDash(s.Butype))
		fmt.Fprintf(w, "  Data phase:\t%s\n", orDash(s.DataPhase))
		fmt.Fprintf(w, "  Data halt reason:\t%s\n", orDash(s.DataHalt))
		fmt.Fprintf(w, "  Data bytes processed:\t%d\n", s.DataBytes)
		fmt.Fprintf(w, "  Trace file:\t%s\n", orDash(s.Trace))
	}
}

func ndmpCommand() *cli.Command {
	simple := func(name, usage, callName string) *cli.Command {
		return &cli.Command{Name: name, Usage: usage, Action: func(c *cli.Context) error {
			return call(c, callName, nil, nil, nil)
		}}
	}
	var modifyFlags []cli.Flag
	for _, n := range ndmp.SettingNames {
		modifyFlags = append(modifyFlags, &cli.StringFlag{Name: n})
	}
	return &cli.Command{
		Name:  "ndmp",
		Usage: "the NDMP server: sessions, options, users, traces, queries (system services ndmp ...)",
		Subcommands: []*cli.Command{
			{
				Name: "status", Usage: "list the NDMP sessions", Flags: []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error {
					var list []ndmp.SessionInfo
					return call(c, "ndmp.status", nil, &list, func(w io.Writer) { printSessions(w, list) })
				},
			},
			{
				Name: "probe", Usage: "show the details of every session, or of one", ArgsUsage: "[ID]", Flags: []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error {
					id := 0
					if c.NArg() > 0 {
						var err error
						if id, err = sessionID(c); err != nil {
							return err
						}
					}
					var list []ndmp.SessionInfo
					return call(c, "ndmp.probe", node.NDMPSessionArgs{ID: id}, &list, func(w io.Writer) { printProbe(w, list) })
				},
			},
			{
				Name: "kill", Usage: "terminate a session (its drives are released)", ArgsUsage: "ID",
				Action: func(c *cli.Context) error {
					id, err := sessionID(c)
					if err != nil {
						return err
					}
					return call(c, "ndmp.kill", node.NDMPSessionArgs{ID: id}, nil, nil)
				},
			},
			{
				Name: "kill-all", Usage: "terminate every session",
				Action: func(c *cli.Context) error {
					var r map[string]int
					return call(c, "ndmp.kill-all", nil, &r, func(w io.Writer) { fmt.Fprintf(w, "%d sessions terminated\n", r["killed"]) })
				},
			},
			simple("on", "enable the NDMP service", "ndmp.on"),
			simple("off", "disable the NDMP service (new connections are refused)", "ndmp.off"),
			{
				Name: "show", Usage: "show the NDMP options", Flags: []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error {
					var sh node.NDMPShow
					return call(c, "ndmp.show", nil, &sh, func(w io.Writer) {
						s := sh.Settings
						fmt.Fprintf(w, "Enabled:\t%v\n", s.Enabled)
						fmt.Fprintf(w, "Authentication type plaintext:\t%v\n", s.PlaintextAuth)
						fmt.Fprintf(w, "Authentication type challenge:\t%v\n", s.ChallengeAuth)
						fmt.Fprintf(w, "Queries before authentication:\t%v\n", s.PreauthQuery)
						fmt.Fprintf(w, "Maximum NDMP sessions:\t%d\n", s.MaxSessions)
						fmt.Fprintf(w, "Maximum dump and restore sessions:\t%d\n", s.MaxDataOps)
						fmt.Fprintf(w, "Maximum active tape drives:\t%d\n", s.MaxActiveDrives)
						fmt.Fprintf(w, "Listening on:\t%s\n", orDash(sh.Addr))
						fmt.Fprintf(w, "Listening on (ndmps):\t%s\n", orDash(sh.TLSAddr))
						fmt.Fprintf(w, "Backup types:\t%s\n", strings.Join(sh.Butypes, ", "))
						fmt.Fprintf(w, "Users:\t%s\n", strings.Join(sh.Users, ", "))
					})
				},
			},
			{
				Name: "modify", Usage: "change NDMP options, e.g. --plaintext=false --max-sessions=20", Flags: modifyFlags,
				Action: func(c *cli.Context) error {
					var names []string
					for _, n := range ndmp.SettingNames {
						if c.IsSet(n) {
							names = append(names, n)
						}
					}
					if len(names) == 0 {
						return fmt.Errorf("usage: tapelab ndmp modify --OPTION=VALUE ... (options: %s)", strings.Join(ndmp.SettingNames, ", "))
					}
					sort.Strings(names)
					return withNode(c, func(ctx context.Context, cl admin.Caller) error {
						for _, n := range names {
							if err := cl.Call(ctx, "ndmp.modify", node.NDMPModifyArgs{Option: n, Value: c.String(n)}, nil); err != nil {
								return err
							}
						}
						return nil
					})
				},
			},
			{
				Name: "version", Usage: "show the NDMP version",
				Action: func(c *cli.Context) error {
					var v string
					return call(c, "ndmp.version", nil, &v, func(w io.Writer) { fmt.Fprintln(w, v) })
				},
			},
			{
				Name: "user", Usage: "NDMP users",
				Subcommands: []*cli.Command{{
					Name: "add", Usage: "add a user (with --password, else a generated password)", ArgsUsage: "NAME",
					Flags: []cli.Flag{&cli.StringFlag{Name: "password"}},
					Action: func(c *cli.Context) error {
						if err := needArgs(c, 1, "tapelab ndmp user add NAME [--password P]"); err != nil {
							return err
						}
						if c.String("password") == "" {
							return generatePassword(c, c.Args().First())
						}
						return call(c, "ndmp.user.add", node.NDMPUserArgs{User: c.Args().First(), Password: c.String("password")}, nil, nil)
					},
				}},
			},
			{
				Name: "generate-password", Usage: "generate an NDMP-specific password for a user",
				Flags: []cli.Flag{&cli.StringFlag{Name: "user", Required: true}},
				Action: func(c *cli.Context) error {
					return generatePassword(c, c.String("user"))
				},
			},
			{
				Name: "log", Usage: "per-session message trace",
				Subcommands: []*cli.Command{
					{Name: "start", ArgsUsage: "ID", Usage: "start tracing a session's messages", Action: func(c *cli.Context) error { return traceCmd(c, "ndmp.log.start") }},
					{Name: "stop", ArgsUsage: "ID", Usage: "stop tracing a session", Action: func(c *cli.Context) error { return traceCmd(c, "ndmp.log.stop") }},
				},
			},
			{
				Name: "listen", Usage: "start the NDMP listener (and ndmps with --tls-addr)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "addr", Value: node.DefaultNDMPAddr},
					&cli.StringFlag{Name: "tls-addr", Usage: "e.g. 127.0.0.1:30000 (self-signed certificate in DATA/ndmp)"},
				},
				Action: func(c *cli.Context) error {
					var out node.NDMPListenArgs
					return call(c, "ndmp.listen", node.NDMPListenArgs{Addr: c.String("addr"), TLSAddr: c.String("tls-addr")}, &out, func(w io.Writer) {
						fmt.Fprintf(w, "NDMP:\t%s\n", orDash(out.Addr))
						if out.TLSAddr != "" {
							fmt.Fprintf(w, "ndmps:\t%s\n", out.TLSAddr)
						}
					})
				},
			},
			{
				Name: "query", Usage: "print what `ndmjob -q` prints about an NDMP server", ArgsUsage: "[HOST[:PORT]]",
				Flags: dmaFlags,
				Action: func(c *cli.Context) error {
					host := c.Args().First()
					if host != "" && c.String("user") == "" {
						// No credentials: ask what the server answers before authentication.
						if _, _, err := net.SplitHostPort(host); err != nil {
							host = net.JoinHostPort(host, strconv.Itoa(wire.DefaultPort))
						}
						cl, err := client.Dial(host)
						if err != nil {
							return err
						}
						defer cl.Close()
						if err := cl.Open(wire.Version); err != nil {
							return err
						}
						return client.Query(os.Stdout, cl, "NDMP Agent", host)
					}
					return withNode(c, func(ctx context.Context, acl admin.Caller) error {
						s, err := dmaServer(ctx, c, acl, host)
						if err != nil {
							return err
						}
						cl, err := dma.Connect(s)
						if err != nil {
							return err
						}
						defer cl.Close()
						return client.Query(os.Stdout, cl, "NDMP Agent", s.Addr)
					})
				},
			},
		},
	}
}

func generatePassword(c *cli.Context, user string) error {
	var out node.NDMPUserArgs
	return call(c, "ndmp.generate-password", node.NDMPUserArgs{User: user}, &out, func(w io.Writer) {
		fmt.Fprintf(w, "User:\t%s\n", out.User)
		fmt.Fprintf(w, "Password:\t%s\n", out.Password)
	})
}

func traceCmd(c *cli.Context, name string) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	var out node.NDMPTrace
	return call(c, name, node.NDMPSessionArgs{ID: id}, &out, func(w io.Writer) {
		fmt.Fprintf(w, "Session %d trace:\t%s\n", out.ID, out.Path)
	})
}

// ---- tapelab tape: changer helpers over NDMP ----

var changerFlags = append([]cli.Flag{
	&cli.StringFlag{Name: "host", Usage: "NDMP server HOST[:PORT] (default: this node's server)"},
	&cli.StringFlag{Name: "changer", Value: "mc0", Usage: "medium changer device name"},
}, dmaFlags...)

// withChanger connects to the NDMP server, opens the changer and runs fn.
func withChanger(c *cli.Context, fn func(cl *client.Client, els []client.Element) error) error {
	return withNode(c, func(ctx context.Context, acl admin.Caller) error {
		s, err := dmaServer(ctx, c, acl, c.String("host"))
		if err != nil {
			return err
		}
		cl, err := dma.Connect(s)
		if err != nil {
			return err
		}
		defer cl.Close()
		if err := cl.SCSIOpen(c.String("changer")); err != nil {
			return fmt.Errorf("open changer %s: %w", c.String("changer"), err)
		}
		defer cl.SCSIClose()
		els, err := cl.ReadElementStatus()
		if err != nil {
			return err
		}
		return fn(cl, els)
	})
}

func elementAddr(c *cli.Context, name string) (uint16, bool, error) {
	if !c.IsSet(name) {
		return 0, false, nil
	}
	v, err := strconv.ParseUint(c.String(name), 0, 16)
	if err != nil {
		return 0, false, fmt.Errorf("--%s: %q is not an element address", name, c.String(name))
	}
	return uint16(v), true, nil
}

func firstEmpty(els []client.Element, typ string) (uint16, error) {
	for _, e := range els {
		if e.Type == typ && !e.Full {
			return e.Addr, nil
		}
	}
	return 0, fmt.Errorf("no empty %s element", typ)
}

func tapeHelperCommand() *cli.Command {
	return &cli.Command{
		Name:  "tape",
		Usage: "changer helpers over NDMP for scripts: list labels, load, unload, move by element address",
		Subcommands: []*cli.Command{
			{
				Name: "labels", Usage: "list the elements of a library with their volume tags", Flags: append([]cli.Flag{jsonFlag}, changerFlags...),
				Action: func(c *cli.Context) error {
					return withChanger(c, func(_ *client.Client, els []client.Element) error {
						return output(c, els, func(w io.Writer) {
							fmt.Fprintln(w, "Element\tType\tStatus\tLabel\tSource")
							for _, e := range els {
								status, src := "empty", "-"
								if e.Full {
									status = "full"
								}
								if e.SourceValid {
									src = strconv.Itoa(int(e.Source))
								}
								fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", e.Addr, e.Type, status, orDash(e.VolTag), src)
							}
						})
					})
				},
			},
			{
				Name: "load", Usage: "load the cartridge in element --from into drive element --to (default: first empty drive)",
				Flags: append([]cli.Flag{&cli.StringFlag{Name: "from", Required: true}, &cli.StringFlag{Name: "to"}}, changerFlags...),
				Action: func(c *cli.Context) error {
					return withChanger(c, func(cl *client.Client, els []client.Element) error {
						from, _, err := elementAddr(c, "from")
						if err != nil {
							return err
						}
						to, set, err := elementAddr(c, "to")
						if err != nil {
							return err
						}
						if !set {
							if to, err = firstEmpty(els, "drive"); err != nil {
								return err
							}
						}
						return cl.MoveMedium(client.Transport(els), from, to)
					})
				},
			},
			{
				Name: "unload", Usage: "return the cartridge in drive element --from to --to (default: where it came from, else the first empty slot)",
				Flags: append([]cli.Flag{&cli.StringFlag{Name: "from", Required: true}, &cli.StringFlag{Name: "to"}}, changerFlags...),
				Action: func(c *cli.Context) error {
					return withChanger(c, func(cl *client.Client, els []client.Element) error {
						from, _, err := elementAddr(c, "from")
						if err != nil {
							return err
						}
						to, set, err := elementAddr(c, "to")
						if err != nil {
							return err
						}
						if !set {
							for _, e := range els {
								if e.Addr == from && e.SourceValid {
									to, set = e.Source, true
								}
							}
						}
						if !set {
							if to, err = firstEmpty(els, "slot"); err != nil {
								return err
							}
						}
						return cl.MoveMedium(client.Transport(els), from, to)
					})
				},
			},
			{
				Name: "move", Usage: "move a cartridge between two element addresses", ArgsUsage: "FROM TO", Flags: changerFlags,
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 2, "tapelab tape move FROM TO"); err != nil {
						return err
					}
					var addrs [2]uint16
					for i := range addrs {
						v, err := strconv.ParseUint(c.Args().Get(i), 0, 16)
						if err != nil {
							return fmt.Errorf("%q is not an element address", c.Args().Get(i))
						}
						addrs[i] = uint16(v)
					}
					return withChanger(c, func(cl *client.Client, els []client.Element) error {
						return cl.MoveMedium(client.Transport(els), addrs[0], addrs[1])
					})
				},
			},
		},
	}
}
