package ndmp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"tapelab/ndmp/wire"
)

// Record size limits (seed 001: 4 KiB to 256 KiB).
const (
	MinRecordSize     = 4 << 10
	MaxRecordSize     = 256 << 10
	defaultRecordSize = 10240 // ndmjob's and dump's default blocking (20 x 512)
)

// lengthInfinity is NDMP_LENGTH_INFINITY.
const lengthInfinity = math.MaxUint64

// mover is the MOVER service of one session. All fields are guarded by
// the session's mu; the goroutine that moves data takes it only to change
// state.
type mover struct {
	s *Session

	state       wire.MoverState
	mode        wire.MoverMode
	pause       wire.MoverPauseReason
	halt        wire.MoverHaltReason
	recordSize  uint32
	recordNum   uint32
	bytesMoved  uint64
	seekPos     uint64
	bytesLeft   uint64
	winOff      uint64
	winLen      uint64
	winFirstBlk uint64
	addr        wire.Addr

	listener  net.Listener
	accepting *acceptWait // the listener's pending connection, for MOVER_GET_STATE
	conn      net.Conn
	localData net.Conn // the DATA end of a LOCAL connection, until DATA_CONNECT takes it
	localMine net.Conn

	cont chan struct{} // CONTINUE (and MOVER_READ) wake-ups
	stop chan struct{} // closed when this activation halts
	done chan struct{} // closed when the goroutine exits
}

func newMover(s *Session) *mover {
	m := &mover{s: s, recordSize: defaultRecordSize}
	m.reset()
	return m
}

func (m *mover) reset() {
	m.state, m.mode = wire.MoverStateIdle, wire.MoverModeNoAction
	m.pause, m.halt = wire.MoverPauseNA, wire.MoverHaltNA
	m.recordNum, m.bytesMoved, m.seekPos, m.bytesLeft = 0, 0, 0, 0
	m.winOff, m.winLen, m.winFirstBlk = 0, lengthInfinity, 0
	m.addr = wire.Addr{}
}

func (m *mover) stateLocked() wire.MoverState { return m.state }

func (m *mover) windowEnd() uint64 {
	if m.winLen > math.MaxUint64-m.winOff {
		return math.MaxUint64
	}
	return m.winOff + m.winLen
}

// haltLocked moves to HALTED, closing the data connection. The caller
// posts NOTIFY_MOVER_HALTED after unlocking (when it returns true).
func (m *mover) haltLocked(reason wire.MoverHaltReason) bool {
	switch m.state {
	case wire.MoverStateIdle, wire.MoverStateHalted:
		return false
	}
	m.state, m.halt, m.pause = wire.MoverStateHalted, reason, wire.MoverPauseNA
	if m.listener != nil {
		m.listener.Close()
		m.listener = nil
	}
	if m.conn != nil {
		m.conn.Close()
	}
	for _, c := range []net.Conn{m.localData, m.localMine} {
		if c != nil {
			c.Close()
		}
	}
	m.localData, m.localMine = nil, nil
	if m.stop != nil {
		close(m.stop)
		m.stop = nil
	}
	return true
}

func (m *mover) notifyHalted(reason wire.MoverHaltReason) {
	m.s.post(wire.NotifyMoverHalted, &wire.NotifyMoverHaltedPost{Reason: reason})
}

// halt is haltLocked + notification, for the data goroutine.
func (m *mover) haltNow(reason wire.MoverHaltReason) {
	m.s.mu.Lock()
	ok := m.haltLocked(reason)
	m.s.mu.Unlock()
	if ok {
		m.notifyHalted(reason)
	}
}

// shutdown ends any activity when the session ends.
func (m *mover) shutdown() {
	m.s.mu.Lock()
	m.haltLocked(wire.MoverHaltAborted)
	done := m.done
	m.s.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (s *Session) moverGetState(any) any {
	s.mu.Lock()
	m := s.mover
	if a := m.accepting; m.state == wire.MoverStateListen && a != nil && a.pending() {
		// The kernel has accepted the data connection; the goroutine
		// that takes it may not have run yet. Report the state that
		// connection gives (ACTIVE), as a DMA that just saw DATA_CONNECT
		// succeed expects: ndmjob's waits up to 2 s more when its first
		// look finds the mover still LISTEN.
		s.mu.Unlock()
		select {
		case <-a.settled:
		case <-time.After(100 * time.Millisecond):
		}
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	return &wire.MoverGetStateReply{
		Mode: m.mode, State: m.state, PauseReason: m.pause, HaltReason: m.halt,
		RecordSize: m.recordSize, RecordNum: m.recordNum, BytesMoved: m.bytesMoved,
		SeekPosition: m.seekPos, BytesLeftToRead: m.bytesLeft,
		WindowOffset: m.winOff, WindowLength: m.winLen, Addr: m.addr,
	}
}

// checkMoverStart validates LISTEN/CONNECT arguments and the tape.
func (s *Session) checkMoverStartLocked(mode wire.MoverMode, at wire.AddrType) wire.Error {
	if mode != wire.MoverModeRead && mode != wire.MoverModeWrite {
		return wire.IllegalArgsErr
	}
	if at != wire.AddrLocal && at != wire.AddrTCP {
		return wire.IllegalArgsErr
	}
	if s.mover.state != wire.MoverStateIdle {
		return wire.IllegalStateErr
	}
	if s.tape == nil {
		return wire.DevNotOpenErr
	}
	// MODE_READ: the mover reads the network and writes the tape.
	if mode == wire.MoverModeRead && s.tape.mode == wire.TapeReadMode {
		return wire.PermissionErr
	}
	return wire.NoErr
}

func localIPv4(c net.Conn) net.IP {
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		if ip := ta.IP.To4(); ip != nil {
			return ip
		}
	}
	return net.IPv4(127, 0, 0, 1).To4()
}

func tcpAddr(a net.Addr) wire.Addr {
	ta := a.(*net.TCPAddr)
	return wire.Addr{Type: wire.AddrTCP, TCP: []wire.TCPAddr{{IP: binary.BigEndian.Uint32(ta.IP.To4()), Port: uint16(ta.Port)}}}
}

func dialAddr(a wire.Addr) (net.Conn, error) {
	if a.Type != wire.AddrTCP || len(a.TCP) == 0 {
		return nil, fmt.Errorf("ndmp: not a TCP address")
	}
	var err error
	for _, t := range a.TCP {
		var ip [4]byte
		binary.BigEndian.PutUint32(ip[:], t.IP)
		var c net.Conn
		c, err = net.DialTimeout("tcp", net.JoinHostPort(net.IP(ip[:]).String(), fmt.Sprint(t.Port)), 10*time.Second)
		if err == nil {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetNoDelay(true)
			}
			return c, nil
		}
	}
	return nil, err
}

func (s *Session) moverListen(req any) any {
	r := req.(*wire.MoverListenRequest)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.checkMoverStartLocked(r.Mode, r.AddrType); e != wire.NoErr {
		return &wire.ListenReply{Error: e}
	}
	if s.data.state != wire.DataStateIdle {
		return &wire.ListenReply{Error: wire.IllegalStateErr}
	}
	m := s.mover
	m.halt, m.pause = wire.MoverHaltNA, wire.MoverPauseNA
	m.mode = r.Mode
	switch r.AddrType {
	case wire.AddrLocal:
		m.localMine, m.localData = newLocalPipe()
		m.addr = wire.Addr{Type: wire.AddrLocal}
	case wire.AddrTCP:
		l, err := net.Listen("tcp", net.JoinHostPort(localIPv4(s.conn).String(), "0"))
		if err != nil {
			return &wire.ListenReply{Error: wire.ConnectErr}
		}
		m.listener = l
		m.addr = tcpAddr(l.Addr())
		m.stop = make(chan struct{})
		m.accepting = &acceptWait{l: l.(*net.TCPListener), settled: make(chan struct{})}
		s.srv.registerListen(l.Addr().String(), m.accepting)
		go m.accept(l, m.accepting)
	}
	m.state = wire.MoverStateListen
	return &wire.ListenReply{Addr: m.addr}
}

// acceptWait lets MOVER_GET_STATE, and DATA_CONNECT from a session of
// this server, see a data connection that the kernel has established but
// the accept goroutine has not yet made ACTIVE.
type acceptWait struct {
	l       *net.TCPListener
	arrived atomic.Bool   // Accept returned a connection
	settled chan struct{} // closed when the accept goroutine is done (ACTIVE, or gave up)
}

// pending: a connection is queued in the listener or being taken.
func (a *acceptWait) pending() bool {
	if a.arrived.Load() {
		return true
	}
	rc, err := a.l.SyscallConn()
	if err != nil {
		return false
	}
	ready := false
	rc.Control(func(fd uintptr) {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(p, 0)
		ready = err == nil && n > 0 && p[0].Revents&unix.POLLIN != 0
	})
	return ready || a.arrived.Load()
}

func (m *mover) accept(l net.Listener, a *acceptWait) {
	defer close(a.settled)
	defer m.s.srv.unregisterListen(l.Addr().String(), a)
	c, err := l.Accept()
	if err == nil {
		a.arrived.Store(true)
	}
	l.Close()
	m.s.mu.Lock()
	if m.accepting == a {
		m.accepting = nil
	}
	if err != nil || m.state != wire.MoverStateListen || m.listener != l {
		m.s.mu.Unlock()
		if c != nil {
			c.Close()
		}
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	m.listener = nil
	m.activateLocked(c)
	m.s.mu.Unlock()
}

// takeLocalData hands the DATA service its end of a LOCAL connection
// (DATA_CONNECT LOCAL after MOVER_LISTEN LOCAL) and starts the mover.
func (m *mover) takeLocalDataLocked() (net.Conn, bool) {
	if m.state != wire.MoverStateListen || m.addr.Type != wire.AddrLocal || m.localData == nil {
		return nil, false
	}
	d := m.localData
	m.localData = nil
	mine := m.localMine
	m.localMine = nil
	m.activateLocked(mine)
	return d, true
}

func (s *Session) moverConnect(req any) any {
	r := req.(*wire.MoverConnectRequest)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.checkMoverStartLocked(r.Mode, r.Addr.Type); e != wire.NoErr {
		return &wire.ErrorReply{Error: e}
	}
	m := s.mover
	var c net.Conn
	switch r.Addr.Type {
	case wire.AddrLocal:
		// DATA_LISTEN LOCAL in this session must be waiting.
		d, ok := s.data.takeLocalMoverLocked()
		if !ok {
			return &wire.ErrorReply{Error: wire.IllegalStateErr}
		}
		c = d
	case wire.AddrTCP:
		var err error
		if c, err = dialAddr(r.Addr); err != nil {
			s.logf("mover connect: %v", err)
			return &wire.ErrorReply{Error: wire.ConnectErr}
		}
	}
	m.halt, m.pause = wire.MoverHaltNA, wire.MoverPauseNA
	m.mode = r.Mode
	m.addr = r.Addr
	m.activateLocked(c)
	return &wire.ErrorReply{}
}

func (m *mover) activateLocked(c net.Conn) {
	m.conn = c
	m.state = wire.MoverStateActive
	if m.stop == nil {
		m.stop = make(chan struct{})
	}
	m.cont = make(chan struct{}, 1)
	m.done = make(chan struct{})
	if m.mode == wire.MoverModeRead {
		go m.runBackup(c, m.stop, m.done)
	} else {
		go m.runRecover(c, m.stop, m.done)
	}
}

// pauseAndWait pauses the mover and waits for CONTINUE (true) or a halt (false).
func (m *mover) pauseAndWait(reason wire.MoverPauseReason, seek uint64, stop chan struct{}) bool {
	return m.pauseAndWaitClosed(reason, seek, stop, nil)
}

// pauseAndWaitClosed also ends the pause when the data connection closes
// (closed non-nil): a recover whose DATA side finished needs no more tape,
// the mover halts with CONNECT_CLOSED.
func (m *mover) pauseAndWaitClosed(reason wire.MoverPauseReason, seek uint64, stop, closed chan struct{}) bool {
	m.s.mu.Lock()
	if m.state != wire.MoverStateActive {
		m.s.mu.Unlock()
		return false
	}
	m.state, m.pause, m.seekPos = wire.MoverStatePaused, reason, seek
	// A MOVER_READ wake-up the loop did not need must not pass for a
	// CONTINUE: only CONTINUE may end this pause.
	select {
	case <-m.cont:
	default:
	}
	m.s.mu.Unlock()
	m.s.post(wire.NotifyMoverPaused, &wire.NotifyMoverPausedPost{Reason: reason, SeekPosition: seek})
	select {
	case <-m.cont:
		return true
	case <-stop:
		return false
	case <-closed:
		m.haltNow(wire.MoverHaltConnectClosed)
		return false
	}
}

func (m *mover) currentTape() TapeDrive {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if m.s.tape == nil {
		return nil
	}
	return m.s.tape.drive
}

// runBackup reads the data connection in records and writes them to tape
// (MOVER_MODE_READ), pausing at the window end (EOW) and at the end of a
// cartridge (EOM) so the DMA can load the next one.
func (m *mover) runBackup(c net.Conn, stop, done chan struct{}) {
	defer close(done)
	m.s.mu.Lock()
	rs := int(m.recordSize)
	m.s.mu.Unlock()
	quit := make(chan struct{})
	defer close(quit)
	var src recordSource
	if _, ok := c.(*net.TCPConn); ok {
		// The socket buffers what the DATA side sends while a record is
		// written: read each record when it is needed, in this
		// goroutine. A read-ahead goroutine here cost a channel handoff
		// per record: 20% more server CPU for the same wall time (1 GiB
		// from ndmjob's data agent: 0.92-1.14 s vs 1.17-1.38 s, three
		// alternating runs).
		//
		// Not SO_RCVLOWAT: it cut our wake-ups, but below the mark the
		// kernel ACKs every segment at once, and on loopback the sender
		// pays for those ACKs; ndmjob's data agent (8 KiB writes), the
		// bottleneck of a three-way backup, used ~10% more CPU (1.12 s vs
		// 1.00 s per GiB, five alternating runs) for no gain here.
		src = &directSource{c: c, buf: make([]byte, rs)}
	} else {
		// A LOCAL pipe has no buffer: reading the next records overlaps
		// with writing this one to tape.
		src = readAhead(c, rs, moverReadAhead, quit)
	}
	for {
		ch, ok := src.next()
		if !ok {
			return // quit
		}
		buf, n, err := ch.buf, ch.n, ch.err
		last := false
		switch {
		case err == io.EOF:
			m.haltNow(wire.MoverHaltConnectClosed)
			return
		case err == io.ErrUnexpectedEOF:
			clear(buf[n:]) // the last record is padded with zeros
			last = true
		case err != nil:
			select {
			case <-stop: // aborted
			default:
				m.haltNow(wire.MoverHaltConnectError)
			}
			return
		}
		for {
			m.s.mu.Lock()
			atEnd := m.bytesMoved >= m.windowEnd()
			pos := m.bytesMoved
			m.s.mu.Unlock()
			if !atEnd {
				break
			}
			if !m.pauseAndWait(wire.MoverPauseEOW, pos, stop) {
				return
			}
		}
		for {
			t := m.currentTape()
			if t == nil {
				m.s.mu.Lock()
				pos := m.bytesMoved
				m.s.mu.Unlock()
				if !m.pauseAndWait(wire.MoverPauseEOM, pos, stop) {
					return
				}
				continue
			}
			werr := t.WriteRecord(buf)
			if werr == nil || errors.Is(werr, ErrEarlyWarning) {
				m.s.mu.Lock()
				m.recordNum++
				m.bytesMoved += uint64(rs)
				pos := m.bytesMoved
				m.s.mu.Unlock()
				if werr != nil && !last {
					// Written in the early-warning zone: let the DMA
					// finish this cartridge and load the next.
					if !m.pauseAndWait(wire.MoverPauseEOM, pos, stop) {
						return
					}
				}
				break
			}
			m.s.mu.Lock()
			pos := m.bytesMoved
			m.s.mu.Unlock()
			switch {
			case errors.Is(werr, ErrEndOfMedium):
				if !m.pauseAndWait(wire.MoverPauseEOM, pos, stop) {
					return
				}
			case errors.Is(werr, ErrMediumError):
				m.s.logMessage(wire.LogError, MsgMediaErrorWrite)
				if !m.pauseAndWait(wire.MoverPauseMediaError, pos, stop) {
					return
				}
			default:
				m.s.logf("mover write: %v", werr)
				m.s.logMessage(wire.LogError, fmt.Sprintf("%s: %v", MsgMediaErrorWrite, werr))
				m.haltNow(wire.MoverHaltInternalError)
				return
			}
		}
		if last {
			m.haltNow(wire.MoverHaltConnectClosed)
			return
		}
		src.release(buf)
	}
}

// recordSource yields the records of a backup's data connection.
type recordSource interface {
	next() (chunk, bool) // false: stopped
	release(buf []byte)  // the record in buf is written
}

// directSource reads each record when the mover asks for it.
type directSource struct {
	c   net.Conn
	buf []byte
}

func (d *directSource) next() (chunk, bool) {
	n, err := io.ReadFull(d.c, d.buf)
	return chunk{d.buf, n, err}, true
}

func (d *directSource) release([]byte) {}

// moverReadAhead is how many records a backup mover reads ahead of the
// tape on a LOCAL pipe.
const moverReadAhead = 4

// chunk is one record read from a data connection.
type chunk struct {
	buf []byte
	n   int
	err error
}

// readAhead reads records of rs bytes from c into recycled buffers until
// an error (delivered as the last chunk) or quit. The consumer hands each
// buffer back on free once the record is written.
type aheadSource struct {
	full <-chan chunk
	free chan<- []byte
}

func (a aheadSource) next() (chunk, bool) {
	ch, ok := <-a.full
	return ch, ok
}

func (a aheadSource) release(buf []byte) { a.free <- buf }

func readAhead(c net.Conn, rs, depth int, quit <-chan struct{}) aheadSource {
	full := make(chan chunk, depth)
	free := make(chan []byte, depth+1)
	for i := 0; i <= depth; i++ {
		free <- make([]byte, rs)
	}
	go func() {
		defer close(full)
		for {
			var b []byte
			select {
			case b = <-free:
			case <-quit:
				return
			}
			n, err := io.ReadFull(c, b)
			select {
			case full <- chunk{b, n, err}:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return aheadSource{full, free}
}

// runRecover reads tape records and writes the requested byte ranges
// (MOVER_READ) to the data connection (MOVER_MODE_WRITE).
func (m *mover) runRecover(c net.Conn, stop, done chan struct{}) {
	defer close(done)
	// The data side never writes; a read ending means it closed.
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c)
		close(closed)
	}()
	buf := make([]byte, MaxRecordSize)
	cachedBlk, cachedLen := uint64(math.MaxUint64), 0
	for {
		m.s.mu.Lock()
		left, want := m.bytesLeft, m.seekPos
		rs := uint64(m.recordSize)
		winOff, winEnd, first := m.winOff, m.windowEnd(), m.winFirstBlk
		m.s.mu.Unlock()
		if left == 0 {
			select {
			case <-m.cont:
				continue
			case <-stop:
				return
			case <-closed:
				m.haltNow(wire.MoverHaltConnectClosed)
				return
			}
		}
		if want < winOff || want >= winEnd {
			if !m.pauseAndWaitClosed(wire.MoverPauseSeek, want, stop, closed) {
				return
			}
			cachedBlk = math.MaxUint64
			continue
		}
		blk := first + (want-winOff)/rs
		within := int((want - winOff) % rs)
		if blk != cachedBlk {
			t := m.currentTape()
			if t == nil {
				if !m.pauseAndWaitClosed(wire.MoverPauseEOM, want, stop, closed) {
					return
				}
				continue
			}
			cur := t.State().Block
			if cur != blk {
				t.SpaceRecords(int(int64(blk) - int64(cur)))
			}
			n, err := t.ReadRecord(buf)
			if err != nil {
				reason := wire.MoverPauseMediaError
				switch {
				case errors.Is(err, ErrFilemark):
					reason = wire.MoverPauseEOF
				case errors.Is(err, ErrEOD), errors.Is(err, ErrEndOfMedium), errors.Is(err, ErrNotReady):
					reason = wire.MoverPauseEOM
				}
				if !m.pauseAndWaitClosed(reason, want, stop, closed) {
					return
				}
				cachedBlk = math.MaxUint64
				continue
			}
			cachedBlk, cachedLen = blk, n
		}
		if within >= cachedLen {
			// Short record: the rest of this record's range does not exist.
			m.s.mu.Lock()
			m.seekPos += rs - uint64(within)
			if m.bytesLeft != lengthInfinity {
				m.bytesLeft -= min(m.bytesLeft, rs-uint64(within))
			}
			m.s.mu.Unlock()
			continue
		}
		chunk := buf[within:cachedLen]
		if uint64(len(chunk)) > left {
			chunk = chunk[:left]
		}
		// Account for the chunk before the data agent can see it: once it
		// has read the last byte of a range it posts NOTIFY_DATA_READ for
		// the next one, and the DMA's MOVER_READ must not find this range
		// still in progress (it did, now and then, when this goroutine was
		// descheduled between the write and the accounting: the read was
		// refused and the restore waited forever).
		m.s.mu.Lock()
		m.seekPos += uint64(len(chunk))
		if m.bytesLeft != lengthInfinity {
			m.bytesLeft -= uint64(len(chunk))
		}
		m.bytesMoved += uint64(len(chunk))
		m.recordNum = uint32(blk + 1)
		m.s.mu.Unlock()
		if _, err := c.Write(chunk); err != nil {
			select {
			case <-stop:
			default:
				m.haltNow(wire.MoverHaltConnectClosed)
			}
			return
		}
	}
}

func (s *Session) moverContinue(any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mover
	if m.state != wire.MoverStatePaused {
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	m.state, m.pause = wire.MoverStateActive, wire.MoverPauseNA
	select {
	case m.cont <- struct{}{}:
	default:
	}
	return &wire.ErrorReply{}
}

func (s *Session) moverAbort(any) any {
	s.mu.Lock()
	m := s.mover
	switch m.state {
	case wire.MoverStateListen, wire.MoverStateActive, wire.MoverStatePaused:
	default:
		s.mu.Unlock()
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	m.haltLocked(wire.MoverHaltAborted)
	s.mu.Unlock()
	m.notifyHalted(wire.MoverHaltAborted)
	return &wire.ErrorReply{}
}

func (s *Session) moverStop(any) any {
	s.mu.Lock()
	m := s.mover
	if m.state != wire.MoverStateHalted {
		s.mu.Unlock()
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	done := m.done
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	s.mu.Lock()
	m.conn, m.done = nil, nil
	m.reset()
	s.mu.Unlock()
	return &wire.ErrorReply{}
}

func (s *Session) moverClose(any) any {
	s.mu.Lock()
	m := s.mover
	if m.state != wire.MoverStatePaused {
		s.mu.Unlock()
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	m.haltLocked(wire.MoverHaltConnectClosed)
	s.mu.Unlock()
	m.notifyHalted(wire.MoverHaltConnectClosed)
	return &wire.ErrorReply{}
}

func (s *Session) moverSetWindow(req any) any {
	r := req.(*wire.MoverSetWindowRequest)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mover
	if m.state != wire.MoverStateIdle && m.state != wire.MoverStatePaused {
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	rs := uint64(m.recordSize)
	if r.Offset%rs != 0 || (r.Length != lengthInfinity && r.Length%rs != 0) {
		return &wire.ErrorReply{Error: wire.IllegalArgsErr}
	}
	m.winOff, m.winLen = r.Offset, r.Length
	m.winFirstBlk = 0
	if s.tape != nil {
		m.winFirstBlk = s.tape.drive.State().Block
	}
	if m.state == wire.MoverStateIdle {
		m.seekPos = r.Offset
	}
	return &wire.ErrorReply{}
}

func (s *Session) moverRead(req any) any {
	r := req.(*wire.MoverReadRequest)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mover
	if m.state != wire.MoverStateActive || m.mode != wire.MoverModeWrite {
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	if m.bytesLeft != 0 {
		return &wire.ErrorReply{Error: wire.ReadInProgressErr}
	}
	if r.Length == 0 {
		return &wire.ErrorReply{Error: wire.IllegalArgsErr}
	}
	m.seekPos, m.bytesLeft = r.Offset, r.Length
	select {
	case m.cont <- struct{}{}:
	default:
	}
	return &wire.ErrorReply{}
}

func (s *Session) moverSetRecordSize(req any) any {
	r := req.(*wire.MoverSetRecordSizeRequest)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mover.state != wire.MoverStateIdle {
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	if r.Len < MinRecordSize || r.Len > MaxRecordSize {
		s.logMessage(wire.LogError, MsgRecordSizeRange)
		return &wire.ErrorReply{Error: wire.IllegalArgsErr}
	}
	s.mover.recordSize = r.Len
	return &wire.ErrorReply{}
}
