package ndmp

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"tapelab/engines"
	"tapelab/ndmp/wire"
)

// Version is the server revision reported in CONFIG_GET_SERVER_INFO.
const Version = "1.0"

// Config is what a Server is built from. Only Devices is required for a
// useful server; nil FileSystems reports no file systems.
type Config struct {
	Devices     Devices
	FileSystems FileSystems
	Engines     []engines.Engine
	Users       *UserStore // nil: an in-memory store
	DataDir     string     // TLS certificate, message traces; "" = none

	Hostname  string // default os.Hostname()
	HostID    string
	OSType    string
	OSVersion string

	// Extensions are the extension classes offered in CONFIG_GET_EXT_LIST.
	Extensions []wire.ClassList

	// MemoryBytes sizes the session limits as ONTAP does (seed 001); 0
	// reads MemTotal from /proc/meminfo.
	MemoryBytes uint64

	Now  func() time.Time // default time.Now
	Rand io.Reader        // challenges; default crypto/rand
	Logf func(format string, args ...any)
}

// Settings are the options `tapelab ndmp show|modify` reads and changes.
type Settings struct {
	Enabled         bool `json:"enabled"`
	PlaintextAuth   bool `json:"plaintext"`
	ChallengeAuth   bool `json:"challenge"`
	PreauthQuery    bool `json:"preauth-query"` // CONFIG_GET_* before authentication (nmap, ndmjob -q without auth)
	MaxSessions     int  `json:"max-sessions"`
	MaxDataOps      int  `json:"max-dumps"`
	MaxActiveDrives int  `json:"max-active-drives"`
}

// SettingNames lists the names Modify accepts.
var SettingNames = []string{"enabled", "plaintext", "challenge", "preauth-query", "max-sessions", "max-dumps", "max-active-drives"}

// Limits for a given memory size (seed 001: NDMP sessions 8/20/36, dump
// sessions 4/16/32; 16 active local tape drives).
func limitsFor(mem uint64) (sessions, dataOps int) {
	const gb = 1 << 30
	switch {
	case mem >= 24*gb:
		return 36, 32
	case mem >= 16*gb:
		return 20, 16
	}
	return 8, 4
}

func memTotal() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, _ := strconv.ParseUint(fs[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// Server is an NDMP v4 server: CONNECT, CONFIG, SCSI, TAPE, MOVER, DATA.
type Server struct {
	cfg     Config
	users   *UserStore
	engines map[string]engines.Engine

	mu        sync.Mutex
	settings  Settings
	sessions  map[int]*Session
	nextID    int
	listeners []net.Listener
	tapes     map[string]*Session // canonical drive name -> session that has it open
	changers  map[string]*Session
	dataOps   int
	listens   map[string]*acceptWait // MOVER_LISTEN TCP address -> its pending accept
	closed    bool
	wg        sync.WaitGroup
}

// NewServer builds a server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	if cfg.OSType == "" {
		cfg.OSType = "tapelab"
	}
	if cfg.OSVersion == "" {
		cfg.OSVersion = "ONTAP-like lab " + Version
	}
	if cfg.HostID == "" {
		cfg.HostID = "0"
	}
	users := cfg.Users
	if users == nil {
		users, _ = OpenUserStore("")
	}
	mem := cfg.MemoryBytes
	if mem == 0 {
		mem = memTotal()
	}
	sess, data := limitsFor(mem)
	s := &Server{
		cfg:     cfg,
		users:   users,
		engines: map[string]engines.Engine{},
		settings: Settings{
			// SVM-scoped mode (seed 001): challenge only by default;
			// `ndmp modify --plaintext=true` allows plaintext too.
			Enabled: true, PlaintextAuth: false, ChallengeAuth: true, PreauthQuery: true,
			MaxSessions: sess, MaxDataOps: data, MaxActiveDrives: 16,
		},
		sessions: map[int]*Session{},
		tapes:    map[string]*Session{},
		changers: map[string]*Session{},
	}
	if err := s.loadSettings(); err != nil {
		return nil, err
	}
	for _, e := range cfg.Engines {
		if _, dup := s.engines[e.Name()]; dup {
			return nil, fmt.Errorf("ndmp: butype %q registered twice", e.Name())
		}
		s.engines[e.Name()] = e
	}
	return s, nil
}

// Users is the server's NDMP user store.
func (s *Server) Users() *UserStore { return s.users }

// Butypes returns the registered engines sorted by name.
func (s *Server) Butypes() []engines.Engine {
	var out []engines.Engine
	for _, e := range s.engines {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Listen starts serving plain NDMP on addr (e.g. 127.0.0.1:10000) and
// returns the bound address.
func (s *Server) Listen(addr string) (net.Addr, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ndmp listen: %w", err)
	}
	s.serve(l)
	return l.Addr(), nil
}

// ListenTLS serves NDMP over TLS (ndmps) on addr with cert, or with the
// self-signed certificate in DataDir (created on first use) when cert is nil.
func (s *Server) ListenTLS(addr string, cert *tls.Certificate) (net.Addr, error) {
	if cert == nil {
		c, err := LoadOrCreateCert(s.cfg.DataDir, s.cfg.Hostname, s.cfg.Now())
		if err != nil {
			return nil, err
		}
		cert = &c
	}
	l, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, fmt.Errorf("ndmps listen: %w", err)
	}
	s.serve(l)
	return l.Addr(), nil
}

// Serve serves NDMP on a listener the caller made (e.g. in another network
// namespace); Close closes it.
func (s *Server) Serve(l net.Listener) { s.serve(l) }

func (s *Server) serve(l net.Listener) {
	s.mu.Lock()
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handleConn(c)
			}()
		}
	}()
}

// Close stops listening, ends every session and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
	s.KillAll()
	s.wg.Wait()
	return nil
}

func (s *Server) handleConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	s.mu.Lock()
	refuse := ""
	switch {
	case s.closed || !s.settings.Enabled:
		refuse = MsgDisabled
	case len(s.sessions) >= s.settings.MaxSessions:
		refuse = MsgSessionLimit
	}
	var sess *Session
	if refuse == "" {
		s.nextID++
		sess = newSession(s, s.nextID, c)
		s.sessions[sess.id] = sess
	}
	s.mu.Unlock()
	if refuse != "" {
		s.cfg.Logf("ndmp: refusing %s: %s", c.RemoteAddr(), refuse)
		tmp := &Session{srv: s, conn: c}
		tmp.post(wire.NotifyConnectionStatus, &wire.NotifyConnectionStatusPost{Reason: wire.Refused, ProtocolVersion: wire.Version, TextReason: refuse})
		// Give the peer a moment to read the refusal before the close.
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, io.LimitReader(c, 1<<16))
		c.Close()
		return
	}
	sess.run()
	s.mu.Lock()
	delete(s.sessions, sess.id)
	s.mu.Unlock()
}

// claimTape records that sess opened drive name; false if another session has it.
func (s *Server) claimTape(sess *Session, name string) wire.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.tapes[name]; ok && o != sess {
		return wire.DeviceBusyErr
	}
	if len(s.tapes) >= s.settings.MaxActiveDrives {
		return wire.NoMemErr
	}
	s.tapes[name] = sess
	return wire.NoErr
}

func (s *Server) releaseTape(sess *Session, name string) {
	s.mu.Lock()
	if s.tapes[name] == sess {
		delete(s.tapes, name)
	}
	s.mu.Unlock()
}

func (s *Server) claimChanger(sess *Session, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.changers[name]; ok && o != sess {
		return false
	}
	s.changers[name] = sess
	return true
}

func (s *Server) releaseChanger(sess *Session, name string) {
	s.mu.Lock()
	if s.changers[name] == sess {
		delete(s.changers, name)
	}
	s.mu.Unlock()
}

func (s *Server) registerListen(addr string, a *acceptWait) {
	s.mu.Lock()
	if s.listens == nil {
		s.listens = map[string]*acceptWait{}
	}
	s.listens[addr] = a
	s.mu.Unlock()
}

func (s *Server) unregisterListen(addr string, a *acceptWait) {
	s.mu.Lock()
	if s.listens[addr] == a {
		delete(s.listens, addr)
	}
	s.mu.Unlock()
}

// waitOwnMover waits (bounded) until a mover of this server listening on
// addr has taken the connection just made to it, so that a DMA asking
// right after DATA_CONNECT finds that mover ACTIVE.
func (s *Server) waitOwnMover(addr string) {
	s.mu.Lock()
	a := s.listens[addr]
	s.mu.Unlock()
	if a == nil {
		return
	}
	select {
	case <-a.settled:
	case <-time.After(time.Second):
	}
}

func (s *Server) claimDataOp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dataOps >= s.settings.MaxDataOps {
		return false
	}
	s.dataOps++
	return true
}

func (s *Server) releaseDataOp() {
	s.mu.Lock()
	s.dataOps--
	s.mu.Unlock()
}

func (s *Server) currentSettings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

// ctxWithSession is a context for an engine run that ends with the session.
func (s *Session) opContext() (context.Context, context.CancelFunc) {
	return context.WithCancel(s.ctx)
}

// settingsFile keeps `ndmp modify` and `ndmp on|off` across restarts.
const settingsFile = "ndmp-settings.json"

func (s *Server) loadSettings() error {
	if s.cfg.DataDir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(s.cfg.DataDir, settingsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ndmp settings: %w", err)
	}
	if err := json.Unmarshal(b, &s.settings); err != nil {
		return fmt.Errorf("ndmp settings %s: %w", settingsFile, err)
	}
	return nil
}

// saveSettingsLocked persists the settings (s.mu held).
func (s *Server) saveSettingsLocked() error {
	if s.cfg.DataDir == "" {
		return nil
	}
	b, err := json.MarshalIndent(s.settings, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(s.cfg.DataDir, settingsFile)
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(p+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}
