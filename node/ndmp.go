package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"tapelab/admin"
	"tapelab/engines"
	"tapelab/engines/dump"
	"tapelab/ndmp"
	"tapelab/ndmp/vtldev"
	"tapelab/volume"
)

func init() { registerArea("ndmp", registerNDMP) }

// LocalDMAUser is the NDMP user the node's own CLI (tapelab backup/restore)
// authenticates as; its password is generated on first use and kept in
// DATA/ndmp/users.json (0600), readable only through the admin socket.
const LocalDMAUser = "tapelab-dma"

// DefaultNDMPAddr is where `tapelab serve` listens for NDMP.
const DefaultNDMPAddr = "127.0.0.1:10000"

type ndmpArea struct {
	srv  *ndmp.Server
	mu   sync.Mutex
	addr string // bound address once listening
}

// NDMP returns the node's NDMP server.
func (n *Node) NDMP() *ndmp.Server { return n.Area("ndmp").(*ndmpArea).srv }

// Endpoint is how a local DMA reaches the node's NDMP server.
type Endpoint struct {
	Addr     string `json:"addr"`
	User     string `json:"user"`
	Password string `json:"password"`
}

func registerNDMP(n *Node, m *admin.Mux) error {
	dir := filepath.Join(n.Dir, "ndmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	users, err := ndmp.OpenUserStore(filepath.Join(dir, "users.json"))
	if err != nil {
		return err
	}
	store := n.Volumes()
	logDir := filepath.Join(n.Dir, "log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	dumpEngine := dump.New(store, dump.WithDataDir(filepath.Join(n.Dir, "dump")), dump.WithLogDir(logDir))
	srv, err := ndmp.NewServer(ndmp.Config{
		Devices:     vtldev.New(n.VTL()),
		FileSystems: volumeFS{store},
		Engines:     []engines.Engine{dumpEngine},
		Users:       users,
		DataDir:     dir,
	})
	if err != nil {
		return err
	}
	a := &ndmpArea{srv: srv}
	n.SetArea("ndmp", a)
	n.OnClose(srv.Close)

	// ndmp.endpoint makes sure the server listens (on an ephemeral loopback
	// port when no `serve` started it on DefaultNDMPAddr) and hands the
	// local DMA its credentials.
	handle(m, "ndmp.endpoint", func(ctx context.Context, _ struct{}) (any, error) {
		addr, err := n.ListenNDMP("")
		if err != nil {
			return nil, err
		}
		pw, err := localPassword(users, filepath.Join(dir, "local-dma"))
		if err != nil {
			return nil, err
		}
		return Endpoint{Addr: addr, User: LocalDMAUser, Password: pw}, nil
	})
	for _, reg := range ndmpCalls {
		if err := reg(n, m); err != nil {
			return err
		}
	}
	return nil
}

// ndmpCalls register the NDMP management admin calls (appended to by
// ndmp_admin.go).
var ndmpCalls []func(n *Node, m *admin.Mux) error

// ListenNDMP starts the NDMP server on addr ("" = an ephemeral loopback
// port) unless it already listens, and returns the bound address.
func (n *Node) ListenNDMP(addr string) (string, error) {
	a := n.Area("ndmp").(*ndmpArea)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.addr != "" {
		return a.addr, nil
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	bound, err := a.srv.Listen(addr)
	if err != nil {
		return "", err
	}
	a.addr = bound.String()
	return a.addr, nil
}

// localPassword returns the local DMA's password, generating it (as
// `ndmp generate-password` does) on first use and keeping a copy in file
// (0600) so the node can hand it to its own CLI.
func localPassword(users *ndmp.UserStore, file string) (string, error) {
	if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
		pw := strings.TrimSpace(string(b))
		if !users.CheckText(LocalDMAUser, pw) {
			if err := users.Add(LocalDMAUser, pw); err != nil {
				return "", fmt.Errorf("local DMA credentials: %w", err)
			}
		}
		return pw, nil
	}
	pw, err := users.GeneratePassword(LocalDMAUser)
	if err != nil {
		return "", fmt.Errorf("local DMA credentials: %w", err)
	}
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("local DMA credentials: %w", err)
	}
	return pw, nil
}

// volumeFS lists online volumes for CONFIG_GET_FS_INFO.
type volumeFS struct{ store *volume.Store }

func (v volumeFS) FileSystems() []ndmp.FSInfo {
	var out []ndmp.FSInfo
	for _, vi := range v.store.Volumes() {
		if vi.State != volume.StateOnline {
			continue
		}
		out = append(out, ndmp.FSInfo{
			LogicalDevice:  "/" + vi.SVM + "/" + vi.Name,
			PhysicalDevice: "/" + vi.SVM + "/" + vi.Name,
			Type:           "WAFL",
			TotalSize:      uint64(vi.Size),
			UsedSize:       uint64(vi.Used),
			AvailSize:      uint64(vi.Available),
			TotalInodes:    vi.InodeLimit,
			UsedInodes:     vi.Inodes,
			Status:         string(vi.State),
		})
	}
	return out
}
