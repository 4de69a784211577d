package ndmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"tapelab/ndmp/wire"
)

// Session is one NDMP control connection and the TAPE, SCSI, MOVER and
// DATA state it owns.
type Session struct {
	srv     *Server
	id      int
	conn    net.Conn
	started time.Time
	ctx     context.Context
	cancel  context.CancelFunc

	wmu    sync.Mutex // one writer at a time on conn
	seq    atomic.Uint32
	closed atomic.Bool

	// mu guards everything below; the mover and data goroutines take it
	// only to change state.
	mu         sync.Mutex
	opened     bool
	authed     bool
	user       string
	challenge  *[64]byte
	extSet     bool
	extensions []wire.ClassVersion
	tracePath  string
	lastSeq    uint32

	tape  *openTape
	scsi  *openSCSI
	mover *mover
	data  *dataService

	requests atomic.Uint64
	trace    atomic.Pointer[os.File]
}

type openTape struct {
	name   string // drive ID
	device string // the device name the DMA opened
	drive  TapeDrive
	mode   wire.TapeOpenMode
	// readEOF: the last operation was a TAPE_READ that met a filemark. The
	// position is on its BOT side; as ndmjob's conformance test expects of
	// a v4 server, TAPE_GET_STATE then reports blockno as unknown.
	readEOF atomic.Bool
}

type openSCSI struct {
	name string
	dev  SCSIDevice
}

func newSession(srv *Server, id int, c net.Conn) *Session {
	s := &Session{srv: srv, id: id, conn: c, started: srv.cfg.Now()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mover = newMover(s)
	s.data = newDataService(s)
	return s
}

func (s *Session) logf(format string, args ...any) {
	s.srv.cfg.Logf("ndmp session %d: "+format, append([]any{s.id}, args...)...)
}

// now is the header time stamp: seconds since 1970 (real time, so
// Wireshark decodes the PDU).
func (s *Session) now() uint32 { return uint32(s.srv.cfg.Now().Unix()) }

func (s *Session) send(h wire.Header, body any) error {
	rec := wire.EncodeMessage(h, body)
	out := wire.AppendRecord(make([]byte, 0, len(rec)+4), rec, 0)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.traceMsg("send", h, len(rec))
	_, err := s.conn.Write(out)
	return err
}

// post sends a notification, log or file-history message (no reply).
func (s *Session) post(code wire.Code, body any) error {
	h := wire.Header{Sequence: s.seq.Add(1), TimeStamp: s.now(), Type: wire.Request, Code: code}
	return s.send(h, body)
}

func (s *Session) reply(req wire.Header, hdrErr wire.Error, body any) error {
	h := wire.Header{Sequence: s.seq.Add(1), TimeStamp: s.now(), Type: wire.Reply, Code: req.Code, ReplySequence: req.Sequence, Error: hdrErr}
	return s.send(h, body)
}

// logMessage posts LOG_MESSAGE to the DMA.
func (s *Session) logMessage(t wire.LogType, text string) {
	s.post(wire.LogMessage, &wire.LogMessagePost{LogType: t, MessageID: s.seq.Load(), Entry: text})
}

func (s *Session) traceMsg(dir string, h wire.Header, n int) {
	t := s.trace.Load()
	if t == nil {
		return
	}
	fmt.Fprintf(t, "%s %s %s %s seq=%d reply_seq=%d err=%s len=%d\n",
		s.srv.cfg.Now().UTC().Format(time.RFC3339Nano), dir,
		map[wire.MessageType]string{wire.Request: "request", wire.Reply: "reply"}[h.Type],
		h.Code, h.Sequence, h.ReplySequence, h.Error, n)
}

// setTrace turns the per-session message trace on or off; the trace goes
// to DataDir/ndmp-trace/session-ID.log.
func (s *Session) setTrace(on bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !on {
		if t := s.trace.Swap(nil); t != nil {
			t.Close()
		}
		return s.tracePath, nil
	}
	if s.trace.Load() != nil {
		return s.tracePath, nil
	}
	if s.srv.cfg.DataDir == "" {
		return "", errors.New("ndmp: no data directory for traces")
	}
	dir := filepath.Join(s.srv.cfg.DataDir, "ndmp-trace")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, fmt.Sprintf("session-%d.log", s.id))
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return "", err
	}
	s.trace.Store(f)
	s.tracePath = p
	return p, nil
}

// kill ends the session from the outside (admin kill, server close).
func (s *Session) kill() {
	s.closed.Store(true)
	s.cancel()
	s.conn.Close()
}

func (s *Session) run() {
	defer s.cleanup()
	s.post(wire.NotifyConnectionStatus, &wire.NotifyConnectionStatusPost{Reason: wire.Connected, ProtocolVersion: wire.Version})
	rr := wire.NewRecordReader(s.conn, wire.MaxRecord)
	for {
		rec, err := rr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !s.closed.Load() {
				s.logf("closing: %v", err)
			}
			return
		}
		h, body, err := wire.ParseHeader(rec)
		if err != nil {
			s.logf("closing: %v", err)
			return
		}
		s.traceMsg("recv", h, len(rec))
		if h.Type == wire.Reply {
			continue // we never wait for replies
		}
		s.requests.Add(1)
		if !s.dispatch(h, body) {
			return
		}
	}
}

// preauth lists the messages allowed before CONNECT_CLIENT_AUTH.
var preauthAlways = map[wire.Code]bool{
	wire.ConnectOpen: true, wire.ConnectClientAuth: true, wire.ConnectClose: true,
	wire.ConfigGetAuthAttr: true, wire.ConfigGetServerInfo: true, wire.ConfigGetHostInfo: true,
	wire.ConfigGetConnectionType: true,
}

var preauthQuery = map[wire.Code]bool{
	wire.ConfigGetFSInfo: true, wire.ConfigGetButypeInfo: true, wire.ConfigGetTapeInfo: true,
	wire.ConfigGetSCSIInfo: true, wire.ConfigGetExtList: true,
}

type handler func(s *Session, req any) any

var handlers map[wire.Code]handler

func init() {
	handlers = map[wire.Code]handler{
		wire.ConnectOpen:       (*Session).connectOpen,
		wire.ConnectClientAuth: (*Session).connectClientAuth,
		wire.ConnectServerAuth: (*Session).connectServerAuth,

		wire.ConfigGetHostInfo:       (*Session).configGetHostInfo,
		wire.ConfigGetServerInfo:     (*Session).configGetServerInfo,
		wire.ConfigGetConnectionType: (*Session).configGetConnectionType,
		wire.ConfigGetAuthAttr:       (*Session).configGetAuthAttr,
		wire.ConfigGetButypeInfo:     (*Session).configGetButypeInfo,
		wire.ConfigGetFSInfo:         (*Session).configGetFSInfo,
		wire.ConfigGetTapeInfo:       (*Session).configGetTapeInfo,
		wire.ConfigGetSCSIInfo:       (*Session).configGetSCSIInfo,
		wire.ConfigGetExtList:        (*Session).configGetExtList,
		wire.ConfigSetExtList:        (*Session).configSetExtList,

		wire.SCSIOpen:        (*Session).scsiOpen,
		wire.SCSIClose:       (*Session).scsiClose,
		wire.SCSIGetState:    (*Session).scsiGetState,
		wire.SCSIResetDevice: (*Session).scsiResetDevice,
		wire.SCSIExecuteCDB:  (*Session).scsiExecuteCDB,

		wire.TapeOpen:       (*Session).tapeOpen,
		wire.TapeClose:      (*Session).tapeClose,
		wire.TapeGetState:   (*Session).tapeGetState,
		wire.TapeMTIO:       (*Session).tapeMTIO,
		wire.TapeWrite:      (*Session).tapeWrite,
		wire.TapeRead:       (*Session).tapeRead,
		wire.TapeExecuteCDB: (*Session).tapeExecuteCDB,

		wire.MoverGetState:      (*Session).moverGetState,
		wire.MoverListen:        (*Session).moverListen,
		wire.MoverConnect:       (*Session).moverConnect,
		wire.MoverContinue:      (*Session).moverContinue,
		wire.MoverAbort:         (*Session).moverAbort,
		wire.MoverStop:          (*Session).moverStop,
		wire.MoverSetWindow:     (*Session).moverSetWindow,
		wire.MoverRead:          (*Session).moverRead,
		wire.MoverClose:         (*Session).moverClose,
		wire.MoverSetRecordSize: (*Session).moverSetRecordSize,

		wire.DataGetState:             (*Session).dataGetState,
		wire.DataStartBackup:          (*Session).dataStartBackup,
		wire.DataStartRecover:         (*Session).dataStartRecover,
		wire.DataStartRecoverFilehist: (*Session).dataStartRecoverFilehist,
		wire.DataAbort:                (*Session).dataAbort,
		wire.DataGetEnv:               (*Session).dataGetEnv,
		wire.DataStop:                 (*Session).dataStop,
		wire.DataListen:               (*Session).dataListen,
		wire.DataConnect:              (*Session).dataConnect,
	}
}

// errorReply builds the reply body of m carrying only error e.
func errorReply(m *wire.MessageInfo, e wire.Error) any {
	rep := m.NewReply()
	if rep == nil {
		return nil
	}
	f := reflect.ValueOf(rep).Elem().FieldByName("Error")
	if f.IsValid() {
		f.SetUint(uint64(e))
	}
	return rep
}

// dispatch handles one request; false ends the session.
func (s *Session) dispatch(h wire.Header, body []byte) bool {
	m, known := wire.Messages[h.Code]
	if !known {
		// Unknown (or not yet implemented extension) message: a bare
		// header with NOT_SUPPORTED, as the v4 spec asks.
		s.reply(h, wire.NotSupportedErr, nil)
		return true
	}
	if h.Code == wire.ConnectClose {
		return false
	}
	if m.Post {
		// The DMA has nothing to post to us; ignore.
		return true
	}
	req, err := wire.DecodeBody(h, body)
	if err != nil {
		s.logf("%s: %v", m.Name, err)
		s.reply(h, wire.XDRDecodeErr, nil)
		return true
	}
	s.mu.Lock()
	authed := s.authed
	s.mu.Unlock()
	if !authed && !preauthAlways[h.Code] && !(preauthQuery[h.Code] && s.srv.currentSettings().PreauthQuery) {
		s.reply(h, wire.NoErr, errorReply(m, wire.NotAuthorizedErr))
		return true
	}
	hf := handlers[h.Code]
	if hf == nil {
		s.reply(h, wire.NotSupportedErr, nil)
		return true
	}
	rep := hf(s, req)
	if err := s.reply(h, wire.NoErr, rep); err != nil {
		return false
	}
	return true
}

func (s *Session) cleanup() {
	s.closed.Store(true)
	s.cancel()
	s.mover.shutdown()
	s.data.shutdown()
	s.mu.Lock()
	if s.tape != nil {
		s.releaseTapeLocked()
	}
	if s.scsi != nil {
		s.srv.releaseChanger(s, s.scsi.name)
		s.scsi = nil
	}
	if t := s.trace.Swap(nil); t != nil {
		t.Close()
	}
	s.mu.Unlock()
	s.conn.Close()
}

func (s *Session) releaseTapeLocked() {
	if err := s.tape.drive.Close(); err != nil {
		s.logf("closing %s: %v", s.tape.device, err)
	}
	s.srv.releaseTape(s, s.tape.name)
	s.tape = nil
}

func (s *Session) owner() string { return fmt.Sprintf("ndmp-session-%d", s.id) }

// ---- CONNECT ----

func (s *Session) connectOpen(req any) any {
	r := req.(*wire.ConnectOpenRequest)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.ProtocolVersion != wire.Version {
		msg := fmt.Sprintf(MsgInvalidVersion, r.ProtocolVersion)
		s.logf("%s", msg)
		s.logMessage(wire.LogError, msg)
		return &wire.ErrorReply{Error: wire.IllegalArgsErr}
	}
	if s.opened {
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	s.opened = true
	return &wire.ErrorReply{}
}

func (s *Session) connectClientAuth(req any) any {
	r := req.(*wire.ConnectClientAuthRequest)
	set := s.srv.currentSettings()
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := false
	switch r.Auth.Type {
	case wire.AuthText:
		if !set.PlaintextAuth {
			return &wire.ErrorReply{Error: wire.NotSupportedErr}
		}
		ok = s.srv.users.CheckText(r.Auth.ID, r.Auth.Password)
	case wire.AuthMD5:
		if !set.ChallengeAuth {
			return &wire.ErrorReply{Error: wire.NotSupportedErr}
		}
		if s.challenge == nil {
			return &wire.ErrorReply{Error: wire.NotAuthorizedErr}
		}
		ok = s.srv.users.CheckMD5(r.Auth.ID, *s.challenge, r.Auth.Digest)
	default:
		return &wire.ErrorReply{Error: wire.NotSupportedErr}
	}
	if !ok {
		s.logf("authentication failed for user %q (%s)", r.Auth.ID, r.Auth.Type)
		return &wire.ErrorReply{Error: wire.NotAuthorizedErr}
	}
	s.authed, s.user = true, r.Auth.ID
	return &wire.ErrorReply{}
}

func (s *Session) connectServerAuth(req any) any {
	r := req.(*wire.ConnectServerAuthRequest)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.authed {
		return &wire.ConnectServerAuthReply{Error: wire.NotAuthorizedErr}
	}
	switch r.ClientAttr.Type {
	case wire.AuthMD5:
		// Prove we know the user's password too: answer the DMA's challenge.
		pw := s.srv.users.password(s.user)
		return &wire.ConnectServerAuthReply{ServerResult: wire.AuthData{Type: wire.AuthMD5, ID: s.user, Digest: wire.MD5Digest(pw, r.ClientAttr.Challenge)}}
	case wire.AuthNone:
		return &wire.ConnectServerAuthReply{ServerResult: wire.AuthData{Type: wire.AuthNone}}
	}
	return &wire.ConnectServerAuthReply{Error: wire.NotSupportedErr}
}
