package ndmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"tapelab/engines"
	"tapelab/ndmp/wire"
)

// dataService is the DATA service of one session: it runs an engine and
// connects its image stream to a mover (LOCAL pipe or TCP). Fields are
// guarded by the session's mu.
type dataService struct {
	s *Session

	state  wire.DataState
	op     wire.DataOperation
	halt   wire.DataHaltReason
	bytes  uint64
	addr   wire.Addr
	env    []wire.PVal
	lastOp wire.DataOperation
	phase  string
	butype string

	readOffset, readLength uint64

	listener   net.Listener
	conn       net.Conn
	localMover net.Conn // the MOVER end of a DATA_LISTEN LOCAL, until MOVER_CONNECT takes it
	localMine  net.Conn

	accepted chan struct{} // closed when a DATA_LISTEN TCP connection arrives
	cancel   context.CancelFunc
	done     chan struct{}
	holding  bool // holds one of the server's data-operation slots

	// End of a backup for a polling DMA (see endHold). polled: the DMA
	// asked DATA_GET_STATE during this operation; ending: the engine has
	// returned and the stream is being ended; haltNow: a poll is waiting
	// for that to finish; held: non-nil while the finished backup waits
	// for the next poll (which closes it).
	polled, ending, haltNow bool
	held                    chan struct{}
}

// endHold bounds how long a finished backup waits for a polling DMA's next
// DATA_GET_STATE before it halts on its own.
//
// Why wait at all: ndmjob's DMA (and the Amanda and Bareos DMAs built on
// its library) ends a job with "wait up to 2 s for a notification, then
// read the states", and that wait returns at once only if a NOTIFY_*_HALTED
// arrived while it was reading the states after the previous wake-up. When
// both halts had arrived before that wake-up (our mover halts, then this
// service microseconds later), it sleeps the full 2 s: measured in 1 of 4
// to 2 of 3 of the 1 GiB ndmjob-driven backups (2.3-2.7 s became 4.1-4.4 s).
// ndmjob's own daemon never hits it because its data agent notices the end
// of its formatter at a poll and posts NOTIFY_DATA_HALTED just before
// answering DATA_GET_STATE. A DMA that polls gets the same here: the halt
// is posted, then the reply says HALTED. A DMA that never polled (ours,
// without progress) is not held at all.
var endHold = 200 * time.Millisecond // a variable for tests

func newDataService(s *Session) *dataService {
	return &dataService{s: s}
}

func (d *dataService) resetLocked() {
	// The environment of the last backup stays readable after DATA_STOP.
	*d = dataService{s: d.s, env: d.env, lastOp: d.op}
}

// closeConnsLocked drops every connection and listener.
func (d *dataService) closeConnsLocked() {
	if d.listener != nil {
		d.listener.Close()
		d.listener = nil
	}
	for _, c := range []net.Conn{d.conn, d.localMover, d.localMine} {
		if c != nil {
			c.Close()
		}
	}
	d.localMover, d.localMine = nil, nil
}

// haltLocked moves to HALTED; the caller posts NOTIFY_DATA_HALTED.
func (d *dataService) haltLocked(reason wire.DataHaltReason) bool {
	switch d.state {
	case wire.DataStateIdle, wire.DataStateHalted:
		return false
	}
	d.state, d.halt = wire.DataStateHalted, reason
	if d.cancel != nil {
		d.cancel()
	}
	d.closeConnsLocked()
	return true
}

func (d *dataService) notifyHalted(reason wire.DataHaltReason) {
	d.s.post(wire.NotifyDataHalted, &wire.NotifyDataHaltedPost{Reason: reason})
}

func (d *dataService) shutdown() {
	d.s.mu.Lock()
	d.haltLocked(wire.DataHaltAborted)
	done := d.done
	d.s.mu.Unlock()
	if done != nil {
		// The engine's context is cancelled and its stream closed; do not
		// let an engine that ignores both keep the session's drive.
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			d.s.logf("engine did not stop; releasing the session anyway")
		}
	}
}

func (s *Session) dataGetState(any) any {
	s.mu.Lock()
	d := s.data
	if d.state == wire.DataStateActive {
		// The first poll only marks a polling DMA: if it already finds the
		// backup ending (a tiny one), halting now would post both halts
		// before the DMA's next wait, which consumes them.
		first := !d.polled
		d.polled = true
		done := d.done
		switch {
		case first:
		case d.held != nil:
			// A finished backup held for this poll: halt (posting
			// NOTIFY_DATA_HALTED) before answering.
			close(d.held)
			d.held = nil
			s.mu.Unlock()
			select {
			case <-done:
			case <-time.After(time.Second):
			}
			s.mu.Lock()
		case d.ending:
			// The mover is writing the last records: answer after the
			// halt if that takes a moment, else hold for the next poll.
			d.haltNow = true
			s.mu.Unlock()
			select {
			case <-done:
			case <-time.After(50 * time.Millisecond):
			}
			s.mu.Lock()
			d.haltNow = false
		}
	}
	defer s.mu.Unlock()
	return &wire.DataGetStateReply{
		Unsupported: wire.DataStateEstBytesRemainUnsupported | wire.DataStateEstTimeRemainUnsupported,
		Operation:   d.op, State: d.state, HaltReason: d.halt, BytesProcessed: d.bytes,
		Addr: d.addr, ReadOffset: d.readOffset, ReadLength: d.readLength,
	}
}

func (s *Session) dataListen(req any) any {
	r := req.(*wire.DataListenRequest)
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.data
	if r.AddrType != wire.AddrLocal && r.AddrType != wire.AddrTCP {
		return &wire.ListenReply{Error: wire.IllegalArgsErr}
	}
	if d.state != wire.DataStateIdle {
		return &wire.ListenReply{Error: wire.IllegalStateErr}
	}
	switch r.AddrType {
	case wire.AddrLocal:
		if s.mover.state != wire.MoverStateIdle {
			return &wire.ListenReply{Error: wire.IllegalStateErr}
		}
		d.localMover, d.localMine = newLocalPipe()
		d.addr = wire.Addr{Type: wire.AddrLocal}
	case wire.AddrTCP:
		l, err := net.Listen("tcp", net.JoinHostPort(localIPv4(s.conn).String(), "0"))
		if err != nil {
			return &wire.ListenReply{Error: wire.ConnectErr}
		}
		d.listener = l
		d.addr = tcpAddr(l.Addr())
		d.accepted = make(chan struct{})
		go d.accept(l, d.accepted)
	}
	d.state, d.halt = wire.DataStateListen, wire.DataHaltNA
	return &wire.ListenReply{Addr: d.addr}
}

func (d *dataService) accept(l net.Listener, accepted chan struct{}) {
	c, err := l.Accept()
	l.Close()
	defer close(accepted)
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	if err != nil || d.state != wire.DataStateListen || d.listener != l {
		if c != nil {
			c.Close()
		}
		return
	}
	d.listener = nil
	d.conn = c
	d.state = wire.DataStateConnected
}

// takeLocalMoverLocked hands the mover its end of DATA_LISTEN LOCAL.
func (d *dataService) takeLocalMoverLocked() (net.Conn, bool) {
	if d.state != wire.DataStateListen || d.addr.Type != wire.AddrLocal || d.localMover == nil {
		return nil, false
	}
	c := d.localMover
	d.conn, d.localMover, d.localMine = d.localMine, nil, nil
	d.state = wire.DataStateConnected
	return c, true
}

func (s *Session) dataConnect(req any) any {
	r := req.(*wire.DataConnectRequest)
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.data
	if d.state != wire.DataStateIdle {
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	switch r.Addr.Type {
	case wire.AddrLocal:
		c, ok := s.mover.takeLocalDataLocked()
		if !ok {
			return &wire.ErrorReply{Error: wire.IllegalStateErr}
		}
		d.conn = c
	case wire.AddrTCP:
		c, err := dialAddr(r.Addr)
		if err != nil {
			s.logf("data connect: %v", err)
			return &wire.ErrorReply{Error: wire.ConnectErr}
		}
		s.srv.waitOwnMover(c.RemoteAddr().String())
		d.conn = c
	default:
		return &wire.ErrorReply{Error: wire.IllegalArgsErr}
	}
	d.addr = r.Addr
	d.state, d.halt = wire.DataStateConnected, wire.DataHaltNA
	return &wire.ErrorReply{}
}

// imageDeviceLocked names the tape device of the image for the engine's
// event log (Tape_open): the device this session opened (TAPE_OPEN) when
// its own mover carries the image (a LOCAL data connection), else the
// address of the mover at the other end of the TCP data connection.
func (s *Session) imageDeviceLocked() string {
	d := s.data
	switch {
	case d.addr.Type == wire.AddrLocal && s.tape != nil:
		return s.tape.device
	case d.conn != nil && d.addr.Type == wire.AddrTCP:
		return "mover " + d.conn.RemoteAddr().String()
	}
	return ""
}

func toEnv(p []wire.PVal) []engines.Env {
	var out []engines.Env
	for _, v := range p {
		out = append(out, engines.Env{Name: v.Name, Value: v.Value})
	}
	return out
}

func histWanted(env []engines.Env) bool {
	v, _ := engines.Lookup(env, "HIST")
	switch strings.ToLower(v) {
	case "y", "yes", "t", "true", "on", "d", "f":
		return true
	}
	return false
}

// startLocked checks the common preconditions of START_BACKUP/RECOVER.
func (s *Session) dataStartLocked(butype string) (engines.Engine, wire.Error) {
	d := s.data
	if d.state != wire.DataStateConnected {
		return nil, wire.IllegalStateErr
	}
	eng, ok := s.srv.engines[butype]
	if !ok {
		s.logMessage(wire.LogError, fmt.Sprintf("unknown backup type %q", butype))
		return nil, wire.IllegalArgsErr
	}
	if !s.srv.claimDataOp() {
		s.logMessage(wire.LogError, MsgSessionLimit)
		return nil, wire.NoMemErr
	}
	d.holding = true
	d.butype = butype
	return eng, wire.NoErr
}

// waitDataAccept gives a DATA_LISTEN TCP connection that the peer mover
// has already made (MOVER_CONNECT returned) a moment to be accepted.
func (s *Session) waitDataAccept() {
	s.mu.Lock()
	ch := s.data.accepted
	listening := s.data.state == wire.DataStateListen
	s.mu.Unlock()
	if ch != nil && listening {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
		}
	}
}

func (s *Session) dataStartBackup(req any) any {
	r := req.(*wire.DataStartBackupRequest)
	s.waitDataAccept()
	s.mu.Lock()
	defer s.mu.Unlock()
	eng, e := s.dataStartLocked(r.Butype)
	if e != wire.NoErr {
		return &wire.ErrorReply{Error: e}
	}
	d := s.data
	env := toEnv(r.Env)
	ctx, cancel := s.opContext()
	d.cancel, d.done = cancel, make(chan struct{})
	d.state, d.op, d.env = wire.DataStateActive, wire.DataOpBackup, nil
	conn := d.conn
	fh := &fhRelay{s: s}
	req2 := &engines.BackupRequest{
		Env:      env,
		Stream:   &countingWriter{w: conn, d: d},
		Log:      dataLogger{s},
		Progress: dataProgress{d},
		Device:   s.imageDeviceLocked(),
	}
	if histWanted(env) {
		req2.History = fh
	}
	go func() {
		defer close(d.done)
		res, err := eng.Backup(ctx, req2)
		fh.flush()
		s.mu.Lock()
		d.ending = err == nil
		s.mu.Unlock()
		s.endStream(conn, true) // end of image: the mover writes the last record and halts
		if err == nil {
			d.holdForPoll(ctx)
		}
		d.finish(ctx, err, func() {
			if res != nil {
				for _, e := range res.Env {
					d.env = append(d.env, wire.PVal{Name: e.Name, Value: e.Value})
				}
			}
		})
	}()
	return &wire.ErrorReply{}
}

// endStream ends the data connection and waits (bounded) until the mover
// at the other end has seen the end and halted, so the DMA finds both
// services halted when it hears NOTIFY_DATA_HALTED (and a polling DMA
// then gets that notification in answer to its next poll, see endHold).
// TCP: half-close, then drain
// until the mover closes; LOCAL: close, then wait for this session's mover.
// A recover over TCP just closes: the remote mover has nothing left to
// deliver and may not watch for a half-close.
func (s *Session) endStream(conn net.Conn, backup bool) {
	const bound = 30 * time.Second
	if tc, ok := conn.(*net.TCPConn); ok {
		if backup && tc.CloseWrite() == nil {
			tc.SetReadDeadline(time.Now().Add(bound))
			io.Copy(io.Discard, tc)
		}
		tc.Close()
		return
	}
	conn.Close()
	s.mu.Lock()
	done := s.mover.done
	local := s.mover.state != wire.MoverStateIdle
	s.mu.Unlock()
	if done != nil && local {
		select {
		case <-done:
		case <-time.After(bound):
		case <-s.ctx.Done():
		}
	}
}

// holdForPoll waits (at most endHold) for the next DATA_GET_STATE of a
// DMA that has polled during this backup; see endHold.
func (d *dataService) holdForPoll(ctx context.Context) {
	d.s.mu.Lock()
	if !d.polled || d.haltNow || d.state != wire.DataStateActive {
		d.s.mu.Unlock()
		return
	}
	held := make(chan struct{})
	d.held = held
	d.s.mu.Unlock()
	t := time.NewTimer(endHold)
	defer t.Stop()
	select {
	case <-held:
	case <-t.C:
	case <-ctx.Done():
	}
	d.s.mu.Lock()
	if d.held == held {
		d.held = nil
	}
	d.s.mu.Unlock()
}

// finish records the outcome of an engine run and notifies the DMA.
func (d *dataService) finish(ctx context.Context, err error, onSuccess func()) {
	reason := wire.DataHaltSuccessful
	switch {
	case err != nil && ctx.Err() != nil:
		reason = wire.DataHaltAborted
	case err != nil && (errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) || isConnErr(err)):
		reason = wire.DataHaltConnectError
	case err != nil:
		reason = wire.DataHaltInternalError
	}
	if err != nil && ctx.Err() == nil {
		d.s.logMessage(wire.LogError, err.Error())
	}
	d.s.mu.Lock()
	if reason == wire.DataHaltSuccessful {
		onSuccess()
	}
	if d.holding {
		d.s.srv.releaseDataOp()
		d.holding = false
	}
	ok := d.haltLocked(reason)
	d.s.mu.Unlock()
	if ok {
		d.notifyHalted(reason)
	}
}

func isConnErr(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}

func (s *Session) dataStartRecover(req any) any {
	return s.startRecover(req.(*wire.DataStartRecoverRequest), wire.DataOpRecover)
}

func (s *Session) dataStartRecoverFilehist(req any) any {
	return s.startRecover(req.(*wire.DataStartRecoverRequest), wire.DataOpRecoverFilehist)
}

func (s *Session) startRecover(r *wire.DataStartRecoverRequest, op wire.DataOperation) any {
	s.waitDataAccept()
	s.mu.Lock()
	defer s.mu.Unlock()
	eng, e := s.dataStartLocked(r.Butype)
	if e != wire.NoErr {
		return &wire.ErrorReply{Error: e}
	}
	d := s.data
	ctx, cancel := s.opContext()
	d.cancel, d.done = cancel, make(chan struct{})
	d.state, d.op = wire.DataStateActive, op
	conn := d.conn
	rd := &recoverReader{r: conn, d: d}
	fh := &fhRelay{s: s}
	req2 := &engines.RecoverRequest{
		Env:      toEnv(r.Env),
		Stream:   rd,
		Seek:     rd.seek,
		Log:      dataLogger{s},
		Progress: dataProgress{d},
		Device:   s.imageDeviceLocked(),
	}
	for _, n := range r.Nlist {
		req2.Names = append(req2.Names, engines.NameEntry{OriginalPath: n.OriginalPath, DestinationPath: n.DestinationPath, Name: n.Name, OtherName: n.OtherName, Node: n.Node, FhInfo: n.FhInfo})
	}
	if op == wire.DataOpRecoverFilehist {
		req2.History = fh
	}
	go func() {
		defer close(d.done)
		_, err := eng.Recover(ctx, req2)
		fh.flush()
		s.endStream(conn, false) // tells the mover the recover is over
		d.finish(ctx, err, func() {})
	}()
	return &wire.ErrorReply{}
}

func (s *Session) dataAbort(any) any {
	s.mu.Lock()
	d := s.data
	if d.state == wire.DataStateIdle || d.state == wire.DataStateHalted {
		s.mu.Unlock()
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	d.haltLocked(wire.DataHaltAborted)
	s.mu.Unlock()
	d.notifyHalted(wire.DataHaltAborted)
	return &wire.ErrorReply{}
}

func (s *Session) dataStop(any) any {
	s.mu.Lock()
	d := s.data
	if d.state != wire.DataStateHalted {
		s.mu.Unlock()
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	done := d.done
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	s.mu.Lock()
	d.resetLocked()
	s.mu.Unlock()
	return &wire.ErrorReply{}
}

func (s *Session) dataGetEnv(any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.data
	op := d.op
	if d.state == wire.DataStateIdle {
		op = d.lastOp
	}
	if op != wire.DataOpBackup || (d.state != wire.DataStateHalted && d.state != wire.DataStateIdle) {
		return &wire.DataGetEnvReply{Error: wire.IllegalStateErr}
	}
	return &wire.DataGetEnvReply{Env: d.env}
}

type countingWriter struct {
	w io.Writer
	d *dataService
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.d.s.mu.Lock()
	c.d.bytes += uint64(n)
	c.d.s.mu.Unlock()
	return n, err
}

// recoverReader reads the image from the mover. The mover sends nothing
// until the DMA issues MOVER_READ, which it does when we post
// NOTIFY_DATA_READ: lazily (0, infinity) on the first Read, or the exact
// ranges an engine asks for with Seek (direct access recovery).
type recoverReader struct {
	r        io.Reader
	d        *dataService
	mu       sync.Mutex
	asked    bool
	left     uint64 // bytes of the current range not read yet
	infinite bool
}

func (rr *recoverReader) Read(p []byte) (int, error) {
	rr.mu.Lock()
	if !rr.asked {
		rr.asked, rr.infinite = true, true
		rr.mu.Unlock()
		rr.notify(0, lengthInfinity)
		rr.mu.Lock()
	}
	if !rr.infinite {
		if rr.left == 0 {
			rr.mu.Unlock()
			return 0, io.EOF
		}
		if uint64(len(p)) > rr.left {
			p = p[:rr.left]
		}
	}
	rr.mu.Unlock()
	n, err := rr.r.Read(p)
	rr.mu.Lock()
	if !rr.infinite {
		rr.left -= uint64(n)
	}
	rr.mu.Unlock()
	rr.d.s.mu.Lock()
	rr.d.bytes += uint64(n)
	rr.d.s.mu.Unlock()
	return n, err
}

func (rr *recoverReader) notify(off, length uint64) {
	rr.d.s.mu.Lock()
	rr.d.readOffset, rr.d.readLength = off, length
	rr.d.s.mu.Unlock()
	rr.d.s.post(wire.NotifyDataRead, &wire.NotifyDataReadPost{Offset: off, Length: length})
}

// errSeekAfterStream: the mover is already streaming the whole image.
var errSeekAfterStream = errors.New("ndmp: cannot seek once the image is read sequentially")

func (rr *recoverReader) seek(off, length uint64) error {
	rr.mu.Lock()
	if rr.asked && rr.infinite {
		rr.mu.Unlock()
		return errSeekAfterStream
	}
	left := rr.left
	rr.mu.Unlock()
	// Drain what is left of the previous range so the next bytes are ours.
	if left > 0 {
		if _, err := io.CopyN(io.Discard, rr.r, int64(left)); err != nil {
			return err
		}
	}
	if length == 0 {
		length = lengthInfinity
	}
	rr.mu.Lock()
	rr.asked, rr.left, rr.infinite = true, length, length == lengthInfinity
	rr.mu.Unlock()
	rr.notify(off, length)
	return nil
}

type dataLogger struct{ s *Session }

func (l dataLogger) Message(level engines.LogLevel, text string) {
	l.s.logMessage(wire.LogType(level), text)
}

func (l dataLogger) File(path string, err error) {
	st := wire.RecoverySuccessful
	switch {
	case err == nil:
	case errors.Is(err, errNotFound):
		st = wire.RecoveryFailedNotFound
	default:
		st = wire.RecoveryFailedUndefined
	}
	l.s.post(wire.LogFile, &wire.LogFilePost{Name: path, RecoveryStatus: st})
}

// errNotFound is matched against engine errors for LOG_FILE's status.
var errNotFound = errors.New("not found")

type dataProgress struct{ d *dataService }

func (p dataProgress) Phase(name string) {
	p.d.s.mu.Lock()
	p.d.phase = name
	p.d.s.mu.Unlock()
}

func (p dataProgress) Add(int64) {} // bytes are counted on the stream itself

// fhRelay batches engine file history into FH_ADD_FILE/DIR/NODE posts.
type fhRelay struct {
	s     *Session
	mu    sync.Mutex
	files []wire.File
	dirs  []wire.Dir
	nodes []wire.Node
}

const fhBatch = 256

func fileStat(st engines.FileStat) wire.FileStat {
	return wire.FileStat{
		FSType: wire.FSUnix, FileType: wire.FileType(st.Type),
		Mtime: uint32(st.Mtime.Unix()), Atime: uint32(st.Atime.Unix()), Ctime: uint32(st.Ctime.Unix()),
		Owner: st.UID, Group: st.GID, Fattr: st.Mode, Size: st.Size, Links: st.Links,
	}
}

func (f *fhRelay) AddFile(path string, st engines.FileStat) error {
	f.mu.Lock()
	f.files = append(f.files, wire.File{Names: []wire.FileName{{FSType: wire.FSUnix, Name: path}}, Stats: []wire.FileStat{fileStat(st)}, Node: st.Node, FhInfo: st.FhInfo})
	full := len(f.files) >= fhBatch
	f.mu.Unlock()
	if full {
		return f.flush()
	}
	return nil
}

func (f *fhRelay) AddDir(name string, dirNode, node uint64) error {
	f.mu.Lock()
	f.dirs = append(f.dirs, wire.Dir{Names: []wire.FileName{{FSType: wire.FSUnix, Name: name}}, Node: node, Parent: dirNode})
	full := len(f.dirs) >= fhBatch
	f.mu.Unlock()
	if full {
		return f.flush()
	}
	return nil
}

func (f *fhRelay) AddNode(st engines.FileStat) error {
	f.mu.Lock()
	f.nodes = append(f.nodes, wire.Node{Stats: []wire.FileStat{fileStat(st)}, Node: st.Node, FhInfo: st.FhInfo})
	full := len(f.nodes) >= fhBatch
	f.mu.Unlock()
	if full {
		return f.flush()
	}
	return nil
}

// flush posts what is batched, directories before the nodes they name.
func (f *fhRelay) flush() error {
	f.mu.Lock()
	files, dirs, nodes := f.files, f.dirs, f.nodes
	f.files, f.dirs, f.nodes = nil, nil, nil
	f.mu.Unlock()
	var err error
	if len(files) > 0 {
		err = errors.Join(err, f.s.post(wire.FHAddFile, &wire.FHAddFilePost{Files: files}))
	}
	if len(dirs) > 0 {
		err = errors.Join(err, f.s.post(wire.FHAddDir, &wire.FHAddDirPost{Dirs: dirs}))
	}
	if len(nodes) > 0 {
		err = errors.Join(err, f.s.post(wire.FHAddNode, &wire.FHAddNodePost{Nodes: nodes}))
	}
	return err
}
