package node

import (
	"context"
	"fmt"
	"path/filepath"

	"tapelab/admin"
	"tapelab/ndmp"
)

func init() { ndmpCalls = append(ndmpCalls, registerNDMPCalls) }

// NDMPSessionArgs name a session (ndmp.probe with ID 0 = every session).
type NDMPSessionArgs struct {
	ID int `json:"id"`
}

// NDMPModifyArgs change one option (ndmp.modify).
type NDMPModifyArgs struct {
	Option string `json:"option"`
	Value  string `json:"value"`
}

// NDMPUserArgs add a user or generate a password.
type NDMPUserArgs struct {
	User     string `json:"user"`
	Password string `json:"password,omitempty"`
}

// NDMPListenArgs start listeners: Addr for NDMP, TLSAddr for ndmps.
type NDMPListenArgs struct {
	Addr    string `json:"addr,omitempty"`
	TLSAddr string `json:"tls_addr,omitempty"`
}

// NDMPShow is ndmp.show: the options, the listening addresses and users.
type NDMPShow struct {
	Settings ndmp.Settings `json:"settings"`
	Addr     string        `json:"addr,omitempty"`
	TLSAddr  string        `json:"tls_addr,omitempty"`
	Users    []string      `json:"users"`
	Butypes  []string      `json:"butypes"`
}

// NDMPTrace is the answer of ndmp.log.start/stop.
type NDMPTrace struct {
	ID   int    `json:"id"`
	Path string `json:"path"`
}

func registerNDMPCalls(n *Node, m *admin.Mux) error {
	a := n.Area("ndmp").(*ndmpArea)
	srv := a.srv
	var tlsAddr string
	handle(m, "ndmp.status", func(ctx context.Context, _ struct{}) (any, error) {
		return srv.Sessions(), nil
	})
	handle(m, "ndmp.probe", func(ctx context.Context, in NDMPSessionArgs) (any, error) {
		if in.ID == 0 {
			return srv.Sessions(), nil
		}
		s, err := srv.Probe(in.ID)
		if err != nil {
			return nil, err
		}
		return []ndmp.SessionInfo{s}, nil
	})
	handle(m, "ndmp.kill", func(ctx context.Context, in NDMPSessionArgs) (any, error) {
		return nil, srv.Kill(in.ID)
	})
	handle(m, "ndmp.kill-all", func(ctx context.Context, _ struct{}) (any, error) {
		return map[string]int{"killed": srv.KillAll()}, nil
	})
	handle(m, "ndmp.on", func(ctx context.Context, _ struct{}) (any, error) {
		srv.SetEnabled(true)
		return nil, nil
	})
	handle(m, "ndmp.off", func(ctx context.Context, _ struct{}) (any, error) {
		srv.SetEnabled(false)
		return nil, nil
	})
	handle(m, "ndmp.show", func(ctx context.Context, _ struct{}) (any, error) {
		a.mu.Lock()
		sh := NDMPShow{Settings: srv.Settings(), Addr: a.addr, TLSAddr: tlsAddr, Users: srv.Users().Users()}
		a.mu.Unlock()
		for _, e := range srv.Butypes() {
			sh.Butypes = append(sh.Butypes, e.Name())
		}
		return sh, nil
	})
	handle(m, "ndmp.modify", func(ctx context.Context, in NDMPModifyArgs) (any, error) {
		return nil, srv.Modify(in.Option, in.Value)
	})
	handle(m, "ndmp.version", func(ctx context.Context, _ struct{}) (any, error) {
		return srv.VersionInfo(), nil
	})
	handle(m, "ndmp.user.add", func(ctx context.Context, in NDMPUserArgs) (any, error) {
		return nil, srv.Users().Add(in.User, in.Password)
	})
	handle(m, "ndmp.generate-password", func(ctx context.Context, in NDMPUserArgs) (any, error) {
		pw, err := srv.Users().GeneratePassword(in.User)
		if err != nil {
			return nil, err
		}
		return NDMPUserArgs{User: in.User, Password: pw}, nil
	})
	handle(m, "ndmp.log.start", func(ctx context.Context, in NDMPSessionArgs) (any, error) {
		p, err := srv.Trace(in.ID, true)
		return NDMPTrace{ID: in.ID, Path: p}, err
	})
	handle(m, "ndmp.log.stop", func(ctx context.Context, in NDMPSessionArgs) (any, error) {
		p, err := srv.Trace(in.ID, false)
		return NDMPTrace{ID: in.ID, Path: p}, err
	})
	handle(m, "ndmp.listen", func(ctx context.Context, in NDMPListenArgs) (any, error) {
		out := NDMPListenArgs{}
		if in.Addr != "" || in.TLSAddr == "" {
			addr, err := n.ListenNDMP(in.Addr)
			if err != nil {
				return nil, err
			}
			out.Addr = addr
		}
		if in.TLSAddr != "" {
			a.mu.Lock()
			defer a.mu.Unlock()
			if tlsAddr == "" {
				bound, err := srv.ListenTLS(in.TLSAddr, nil)
				if err != nil {
					return nil, fmt.Errorf("ndmps (certificate in %s): %w", filepath.Join(n.Dir, "ndmp"), err)
				}
				tlsAddr = bound.String()
			}
			out.TLSAddr = tlsAddr
		}
		return out, nil
	})
	return nil
}
