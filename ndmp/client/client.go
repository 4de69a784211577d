package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sync"
	"time"

	"tapelab/ndmp/wire"
)

// Post is one message the server sent on its own (NOTIFY_*, LOG_*, FH_*).
type Post struct {
	Header wire.Header
	Body   any
}

// ErrClosed is returned for calls on a closed or broken connection.
var ErrClosed = errors.New("ndmp client: connection closed")

// RefusedError is returned by Dial when the server refuses the connection.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "ndmp: connection refused: " + e.Reason }

// Client is one NDMP control connection.
type Client struct {
	conn    net.Conn
	wmu     sync.Mutex
	mu      sync.Mutex
	seq     uint32
	pending map[uint32]chan result
	err     error
	posts   chan Post
	done    chan struct{}

	// Timeout bounds each call (default 60 s).
	Timeout time.Duration
	// Status is the server's NOTIFY_CONNECTION_STATUS.
	Status wire.NotifyConnectionStatusPost
}

type result struct {
	h    wire.Header
	body []byte
}

// Dial connects to an NDMP server (HOST:PORT) and reads its connection status.
func Dial(addr string) (*Client, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return New(c)
}

// DialTLS connects to an ndmps server.
func DialTLS(addr string, cfg *tls.Config) (*Client, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	return New(c)
}

// New runs the DMA side over an established connection.
func New(conn net.Conn) (*Client, error) {
	c := &Client{conn: conn, pending: map[uint32]chan result{}, posts: make(chan Post, 4096), done: make(chan struct{}), Timeout: 60 * time.Second}
	first := make(chan error, 1)
	go c.readLoop(first)
	select {
	case err := <-first:
		if err != nil {
			conn.Close()
			return nil, err
		}
	case <-time.After(15 * time.Second):
		conn.Close()
		return nil, errors.New("ndmp: no NOTIFY_CONNECTION_STATUS from server")
	}
	return c, nil
}

func (c *Client) readLoop(first chan error) {
	rr := wire.NewRecordReader(c.conn, wire.MaxRecord)
	gotFirst := false
	fail := func(err error) {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		for _, ch := range c.pending {
			close(ch)
		}
		c.pending = map[uint32]chan result{}
		c.mu.Unlock()
		close(c.done)
		close(c.posts)
		if !gotFirst {
			first <- err
		}
	}
	for {
		rec, err := rr.Next()
		if err != nil {
			fail(fmt.Errorf("%w: %v", ErrClosed, err))
			return
		}
		h, body, err := wire.ParseHeader(rec)
		if err != nil {
			fail(err)
			return
		}
		if h.Type == wire.Reply {
			c.mu.Lock()
			ch := c.pending[h.ReplySequence]
			delete(c.pending, h.ReplySequence)
			c.mu.Unlock()
			if ch != nil {
				ch <- result{h, append([]byte(nil), body...)}
			}
			continue
		}
		v, err := wire.DecodeBody(h, body)
		if err != nil {
			continue
		}
		if !gotFirst {
			gotFirst = true
			st, ok := v.(*wire.NotifyConnectionStatusPost)
			if !ok {
				first <- fmt.Errorf("ndmp: first message is %s, not NOTIFY_CONNECTION_STATUS", h.Code)
				continue
			}
			c.Status = *st
			if st.Reason != wire.Connected {
				first <- &RefusedError{Reason: st.TextReason}
				continue
			}
			first <- nil
			continue
		}
		select {
		case c.posts <- Post{h, v}:
		default: // nobody is reading posts; drop rather than block replies
		}
	}
}

// Posts delivers NOTIFY, LOG and FH messages; it closes with the connection.
func (c *Client) Posts() <-chan Post { return c.posts }

// Close sends CONNECT_CLOSE and closes the connection.
func (c *Client) Close() error {
	c.Send(wire.ConnectClose, nil)
	return c.conn.Close()
}

// Conn is the underlying connection.
func (c *Client) Conn() net.Conn { return c.conn }

// Send writes one request without waiting for a reply; it returns the sequence.
func (c *Client) Send(code wire.Code, body any) (uint32, error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return 0, c.err
	}
	c.seq++
	seq := c.seq
	c.mu.Unlock()
	h := wire.Header{Sequence: seq, TimeStamp: uint32(time.Now().Unix()), Type: wire.Request, Code: code}
	return seq, c.SendRaw(wire.AppendRecord(nil, wire.EncodeMessage(h, body), 0))
}

// SendRaw writes bytes as they are (tests of malformed input).
func (c *Client) SendRaw(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(p)
	return err
}

// CallRaw sends a request and returns the reply header and raw body.
func (c *Client) CallRaw(code wire.Code, body any) (wire.Header, []byte, error) {
	return c.CallBytes(code, wire.Marshal(body), 0)
}

// CallBytes sends a request whose body is given already encoded (possibly
// malformed, for tests), in fragments of frag bytes (0: one).
func (c *Client) CallBytes(code wire.Code, body []byte, frag int) (wire.Header, []byte, error) {
	ch := make(chan result, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return wire.Header{}, nil, c.err
	}
	c.seq++
	seq := c.seq
	c.pending[seq] = ch
	c.mu.Unlock()
	h := wire.Header{Sequence: seq, TimeStamp: uint32(time.Now().Unix()), Type: wire.Request, Code: code}
	if err := c.SendRaw(wire.AppendRecord(nil, append(h.Append(nil), body...), frag)); err != nil {
		return wire.Header{}, nil, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			c.mu.Lock()
			err := c.err
			c.mu.Unlock()
			return wire.Header{}, nil, err
		}
		return r.h, r.body, nil
	case <-time.After(c.Timeout):
		c.mu.Lock()
		delete(c.pending, seq)
		c.mu.Unlock()
		return wire.Header{}, nil, fmt.Errorf("ndmp: %s: no reply in %s", code, c.Timeout)
	}
}

// Call sends a request and decodes the reply. A non-zero NDMP error (in
// the header or the reply body) is returned as a wire.Error, together
// with the decoded reply.
func (c *Client) Call(code wire.Code, body any) (any, error) {
	h, raw, err := c.CallRaw(code, body)
	if err != nil {
		return nil, err
	}
	if h.Error != wire.NoErr {
		return nil, fmt.Errorf("%s: %w", code, h.Error)
	}
	v, err := wire.DecodeBody(h, raw)
	if err != nil {
		return nil, err
	}
	if v != nil {
		if f := reflect.ValueOf(v).Elem().FieldByName("Error"); f.IsValid() && f.Uint() != 0 {
			return v, fmt.Errorf("%s: %w", code, wire.Error(f.Uint()))
		}
	}
	return v, nil
}

func call[T any](c *Client, code wire.Code, body any) (*T, error) {
	v, err := c.Call(code, body)
	if v == nil {
		return nil, err
	}
	return v.(*T), err
}

// ---- CONNECT ----

// Open negotiates the protocol version (CONNECT_OPEN).
func (c *Client) Open(version uint16) error {
	_, err := c.Call(wire.ConnectOpen, &wire.ConnectOpenRequest{ProtocolVersion: version})
	return err
}

// AuthText authenticates with a plaintext password.
func (c *Client) AuthText(user, password string) error {
	_, err := c.Call(wire.ConnectClientAuth, &wire.ConnectClientAuthRequest{Auth: wire.AuthData{Type: wire.AuthText, ID: user, Password: password}})
	return err
}

// AuthMD5 fetches a challenge (CONFIG_GET_AUTH_ATTR) and authenticates with
// the MD5 digest.
func (c *Client) AuthMD5(user, password string) error {
	attr, err := c.GetAuthAttr(wire.AuthMD5)
	if err != nil {
		return err
	}
	d := wire.MD5Digest(password, attr.ServerAttr.Challenge)
	_, err = c.Call(wire.ConnectClientAuth, &wire.ConnectClientAuthRequest{Auth: wire.AuthData{Type: wire.AuthMD5, ID: user, Digest: d}})
	return err
}

// ServerAuth asks the server to prove itself (CONNECT_SERVER_AUTH).
func (c *Client) ServerAuth(attr wire.AuthAttr) (*wire.ConnectServerAuthReply, error) {
	return call[wire.ConnectServerAuthReply](c, wire.ConnectServerAuth, &wire.ConnectServerAuthRequest{ClientAttr: attr})
}

// Connect is Open(4) plus MD5 (or, with text, plaintext) authentication.
func (c *Client) Connect(user, password string, text bool) error {
	if err := c.Open(wire.Version); err != nil {
		return err
	}
	if text {
		return c.AuthText(user, password)
	}
	return c.AuthMD5(user, password)
}

// ---- CONFIG ----

func (c *Client) GetHostInfo() (*wire.ConfigGetHostInfoReply, error) {
	return call[wire.ConfigGetHostInfoReply](c, wire.ConfigGetHostInfo, nil)
}
func (c *Client) GetServerInfo() (*wire.ConfigGetServerInfoReply, error) {
	return call[wire.ConfigGetServerInfoReply](c, wire.ConfigGetServerInfo, nil)
}
func (c *Client) GetConnectionType() (*wire.ConfigGetConnectionTypeReply, error) {
	return call[wire.ConfigGetConnectionTypeReply](c, wire.ConfigGetConnectionType, nil)
}
func (c *Client) GetAuthAttr(t wire.AuthType) (*wire.ConfigGetAuthAttrReply, error) {
	return call[wire.ConfigGetAuthAttrReply](c, wire.ConfigGetAuthAttr, &wire.ConfigGetAuthAttrRequest{AuthType: t})
}
func (c *Client) GetButypeInfo() (*wire.ConfigGetButypeInfoReply, error) {
	return call[wire.ConfigGetButypeInfoReply](c, wire.ConfigGetButypeInfo, nil)
}
func (c *Client) GetFSInfo() (*wire.ConfigGetFSInfoReply, error) {
	return call[wire.ConfigGetFSInfoReply](c, wire.ConfigGetFSInfo, nil)
}
func (c *Client) GetTapeInfo() (*wire.ConfigGetDeviceInfoReply, error) {
	return call[wire.ConfigGetDeviceInfoReply](c, wire.ConfigGetTapeInfo, nil)
}
func (c *Client) GetSCSIInfo() (*wire.ConfigGetDeviceInfoReply, error) {
	return call[wire.ConfigGetDeviceInfoReply](c, wire.ConfigGetSCSIInfo, nil)
}
func (c *Client) GetExtList() (*wire.ConfigGetExtListReply, error) {
	return call[wire.ConfigGetExtListReply](c, wire.ConfigGetExtList, nil)
}
func (c *Client) SetExtList(sel []wire.ClassVersion) error {
	_, err := c.Call(wire.ConfigSetExtList, &wire.ConfigSetExtListRequest{Selected: sel})
	return err
}

// ---- SCSI ----

func (c *Client) SCSIOpen(device string) error {
	_, err := c.Call(wire.SCSIOpen, &wire.DeviceOpenRequest{Device: device})
	return err
}
func (c *Client) SCSIClose() error { _, err := c.Call(wire.SCSIClose, nil); return err }
func (c *Client) SCSIGetState() (*wire.SCSIGetStateReply, error) {
	return call[wire.SCSIGetStateReply](c, wire.SCSIGetState, nil)
}
func (c *Client) SCSIResetDevice() error { _, err := c.Call(wire.SCSIResetDevice, nil); return err }

// SCSIExecuteCDB runs a CDB on the open changer. dataOut non-nil sends data;
// datainLen > 0 receives up to that many bytes.
func (c *Client) SCSIExecuteCDB(cdb, dataOut []byte, datainLen uint32) (*wire.ExecuteCDBReply, error) {
	return call[wire.ExecuteCDBReply](c, wire.SCSIExecuteCDB, cdbRequest(cdb, dataOut, datainLen))
}

func cdbRequest(cdb, dataOut []byte, datainLen uint32) *wire.ExecuteCDBRequest {
	r := &wire.ExecuteCDBRequest{CDB: cdb, Dataout: dataOut, DatainLen: datainLen, Timeout: 300000}
	if dataOut != nil {
		r.Flags |= wire.SCSIDataOut
	}
	if datainLen > 0 {
		r.Flags |= wire.SCSIDataIn
	}
	return r
}

// ---- TAPE ----

func (c *Client) TapeOpen(device string, mode wire.TapeOpenMode) error {
	_, err := c.Call(wire.TapeOpen, &wire.TapeOpenRequest{Device: device, Mode: mode})
	return err
}
func (c *Client) TapeClose() error { _, err := c.Call(wire.TapeClose, nil); return err }
func (c *Client) TapeGetState() (*wire.TapeGetStateReply, error) {
	return call[wire.TapeGetStateReply](c, wire.TapeGetState, nil)
}

// TapeMTIO runs a tape operation and returns the residual count.
func (c *Client) TapeMTIO(op wire.MTIOOp, count uint32) (uint32, error) {
	r, err := call[wire.TapeMTIOReply](c, wire.TapeMTIO, &wire.TapeMTIORequest{Op: op, Count: count})
	if r == nil {
		return 0, err
	}
	return r.ResidCount, err
}
func (c *Client) TapeWrite(p []byte) (uint32, error) {
	r, err := call[wire.TapeWriteReply](c, wire.TapeWrite, &wire.TapeWriteRequest{Data: p})
	if r == nil {
		return 0, err
	}
	return r.Count, err
}
func (c *Client) TapeRead(count uint32) ([]byte, error) {
	r, err := call[wire.TapeReadReply](c, wire.TapeRead, &wire.TapeReadRequest{Count: count})
	if r == nil {
		return nil, err
	}
	return r.Data, err
}
func (c *Client) TapeExecuteCDB(cdb, dataOut []byte, datainLen uint32) (*wire.ExecuteCDBReply, error) {
	return call[wire.ExecuteCDBReply](c, wire.TapeExecuteCDB, cdbRequest(cdb, dataOut, datainLen))
}

// ---- MOVER ----

func (c *Client) MoverGetState() (*wire.MoverGetStateReply, error) {
	return call[wire.MoverGetStateReply](c, wire.MoverGetState, nil)
}
func (c *Client) MoverListen(mode wire.MoverMode, at wire.AddrType) (wire.Addr, error) {
	r, err := call[wire.ListenReply](c, wire.MoverListen, &wire.MoverListenRequest{Mode: mode, AddrType: at})
	if r == nil {
		return wire.Addr{}, err
	}
	return r.Addr, err
}
func (c *Client) MoverConnect(mode wire.MoverMode, addr wire.Addr) error {
	_, err := c.Call(wire.MoverConnect, &wire.MoverConnectRequest{Mode: mode, Addr: addr})
	return err
}
func (c *Client) MoverContinue() error { _, err := c.Call(wire.MoverContinue, nil); return err }
func (c *Client) MoverAbort() error    { _, err := c.Call(wire.MoverAbort, nil); return err }
func (c *Client) MoverStop() error     { _, err := c.Call(wire.MoverStop, nil); return err }
func (c *Client) MoverClose() error    { _, err := c.Call(wire.MoverClose, nil); return err }
func (c *Client) MoverSetWindow(offset, length uint64) error {
	_, err := c.Call(wire.MoverSetWindow, &wire.MoverSetWindowRequest{Offset: offset, Length: length})
	return err
}
func (c *Client) MoverRead(offset, length uint64) error {
	_, err := c.Call(wire.MoverRead, &wire.MoverReadRequest{Offset: offset, Length: length})
	return err
}
func (c *Client) MoverSetRecordSize(n uint32) error {
	_, err := c.Call(wire.MoverSetRecordSize, &wire.MoverSetRecordSizeRequest{Len: n})
	return err
}

// ---- DATA ----

func (c *Client) DataGetState() (*wire.DataGetStateReply, error) {
	return call[wire.DataGetStateReply](c, wire.DataGetState, nil)
}
func (c *Client) DataListen(at wire.AddrType) (wire.Addr, error) {
	r, err := call[wire.ListenReply](c, wire.DataListen, &wire.DataListenRequest{AddrType: at})
	if r == nil {
		return wire.Addr{}, err
	}
	return r.Addr, err
}
func (c *Client) DataConnect(addr wire.Addr) error {
	_, err := c.Call(wire.DataConnect, &wire.DataConnectRequest{Addr: addr})
	return err
}
func (c *Client) DataStartBackup(butype string, env []wire.PVal) error {
	_, err := c.Call(wire.DataStartBackup, &wire.DataStartBackupRequest{Butype: butype, Env: env})
	return err
}
func (c *Client) DataStartRecover(butype string, env []wire.PVal, names []wire.Name) error {
	_, err := c.Call(wire.DataStartRecover, &wire.DataStartRecoverRequest{Butype: butype, Env: env, Nlist: names})
	return err
}
func (c *Client) DataStartRecoverFilehist(butype string, env []wire.PVal, names []wire.Name) error {
	_, err := c.Call(wire.DataStartRecoverFilehist, &wire.DataStartRecoverRequest{Butype: butype, Env: env, Nlist: names})
	return err
}
func (c *Client) DataAbort() error { _, err := c.Call(wire.DataAbort, nil); return err }
func (c *Client) DataStop() error  { _, err := c.Call(wire.DataStop, nil); return err }
func (c *Client) DataGetEnv() ([]wire.PVal, error) {
	r, err := call[wire.DataGetEnvReply](c, wire.DataGetEnv, nil)
	if r == nil {
		return nil, err
	}
	return r.Env, err
}

// WaitPost waits for the next post with one of the given codes, handing
// every other post to other (which may be nil).
func (c *Client) WaitPost(timeout time.Duration, other func(Post), codes ...wire.Code) (Post, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case p, ok := <-c.posts:
			if !ok {
				return Post{}, ErrClosed
			}
			for _, code := range codes {
				if p.Header.Code == code {
					return p, nil
				}
			}
			if other != nil {
				other(p)
			}
		case <-t.C:
			return Post{}, fmt.Errorf("ndmp: no %v within %s", codes, timeout)
		}
	}
}
