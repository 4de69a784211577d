package ndmp

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tapelab/ndmp/client"
	"tapelab/ndmp/wire"
)

func dialRaw(t *testing.T, addr string) *client.Client {
	t.Helper()
	c, err := client.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Conn().Close() })
	c.Timeout = 10 * time.Second
	return c
}

func TestAuthentication(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	srv, addr := startTestServer(t, Config{Devices: &memDevices{tapes: []*memTape{tape}}})
	c := dialRaw(t, addr)
	if c.Status.Reason != wire.Connected || c.Status.ProtocolVersion != 4 {
		t.Fatalf("connection status %+v", c.Status)
	}
	expectErr(t, "open v3", c.Open(3), wire.IllegalArgsErr)
	p, err := c.WaitPost(5*time.Second, nil, wire.LogMessage)
	if err != nil || p.Body.(*wire.LogMessagePost).Entry != "ndmpd invalid version number: 3" {
		t.Fatalf("log after bad version: %+v %v", p, err)
	}
	expectErr(t, "open v4", c.Open(4), wire.NoErr)
	// Plaintext is off by default (SVM-scoped mode).
	expectErr(t, "text by default", c.AuthText("ndmp", "ndmp"), wire.NotSupportedErr)
	if err := srv.Modify("plaintext", "true"); err != nil {
		t.Fatal(err)
	}
	// Unauthenticated requests.
	expectErr(t, "tape open unauthenticated", c.TapeOpen("nrst0a", wire.TapeReadMode), wire.NotAuthorizedErr)
	_, err = c.MoverGetState()
	expectErr(t, "mover state unauthenticated", err, wire.NotAuthorizedErr)
	expectErr(t, "data connect unauthenticated", c.DataConnect(wire.Addr{}), wire.NotAuthorizedErr)
	expectErr(t, "scsi open unauthenticated", c.SCSIOpen("mc0"), wire.NotAuthorizedErr)
	// Wrong passwords.
	expectErr(t, "text wrong", c.AuthText("ndmp", "nope"), wire.NotAuthorizedErr)
	expectErr(t, "text unknown user", c.AuthText("root", "ndmp"), wire.NotAuthorizedErr)
	expectErr(t, "md5 wrong", c.AuthMD5("ndmp", "nope"), wire.NotAuthorizedErr)
	_, err = c.Call(wire.ConnectClientAuth, &wire.ConnectClientAuthRequest{Auth: wire.AuthData{Type: wire.AuthNone}})
	expectErr(t, "auth none", err, wire.NotSupportedErr)
	// Each GET_AUTH_ATTR gives a fresh challenge.
	a1, _ := c.GetAuthAttr(wire.AuthMD5)
	a2, _ := c.GetAuthAttr(wire.AuthMD5)
	if a1.ServerAttr.Challenge == a2.ServerAttr.Challenge || a1.ServerAttr.Challenge == [64]byte{} {
		t.Fatal("challenges are not fresh")
	}
	expectErr(t, "md5 right", c.AuthMD5("ndmp", "ndmp"), wire.NoErr)
	expectErr(t, "tape open", c.TapeOpen("nrst0a", wire.TapeReadMode), wire.NoErr)
	// The server proves it knows the password too.
	var ch [64]byte
	copy(ch[:], "client challenge")
	sa, err := c.ServerAuth(wire.AuthAttr{Type: wire.AuthMD5, Challenge: ch})
	expectErr(t, "server auth", err, wire.NoErr)
	if sa.ServerResult.Digest != wire.MD5Digest("ndmp", ch) {
		t.Fatal("server auth digest wrong")
	}

	// Plaintext disabled: TEXT is refused and not advertised; MD5 still works.
	if err := srv.Modify("plaintext", "false"); err != nil {
		t.Fatal(err)
	}
	c2 := dialRaw(t, addr)
	expectErr(t, "text disabled", c2.AuthText("ndmp", "ndmp"), wire.NotSupportedErr)
	si, _ := c2.GetServerInfo()
	if len(si.AuthTypes) != 1 || si.AuthTypes[0] != wire.AuthMD5 {
		t.Fatalf("auth types %v", si.AuthTypes)
	}
	expectErr(t, "md5 with plaintext disabled", c2.AuthMD5("ndmp", "ndmp"), wire.NoErr)

	// Pre-authentication queries can be turned off.
	c3 := dialRaw(t, addr)
	if _, err := c3.GetFSInfo(); err != nil {
		t.Fatalf("fs info before auth (preauth-query on): %v", err)
	}
	srv.Modify("preauth-query", "false")
	_, err = c3.GetFSInfo()
	expectErr(t, "fs info before auth (preauth-query off)", err, wire.NotAuthorizedErr)
	if _, err := c3.GetServerInfo(); err != nil {
		t.Fatalf("server info is always allowed: %v", err)
	}
}

// TestBadInput sends malformed and out-of-order requests: each gets an NDMP
// error or a closed connection, the server survives, and no drive leaks.
func TestBadInput(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	srv, addr := startTestServer(t, Config{Devices: &memDevices{tapes: []*memTape{tape}}})

	// Unknown message codes (an extension we do not offer) -> NOT_SUPPORTED.
	c := dialTest(t, addr)
	for _, code := range []wire.Code{0x20520001, 0x10001, 0xA0A, 0x306} {
		h, _, err := c.CallRaw(code, nil)
		if err != nil || h.Error != wire.NotSupportedErr {
			t.Fatalf("code %#x: header %+v %v", uint32(code), h, err)
		}
	}
	// A truncated body, trailing garbage, a lying length, a body on a
	// bodiless request -> XDR_DECODE_ERR; the session goes on.
	body := wire.Marshal(&wire.TapeOpenRequest{Device: "nrst0a"})
	for i, b := range [][]byte{body[:len(body)-6], append(body, 1, 2, 3, 4), {0xff, 0xff, 0xff, 0xf0, 'a'}} {
		hh, _, err := c.CallBytes(wire.TapeOpen, b, 3)
		if err != nil || hh.Error != wire.XDRDecodeErr {
			t.Fatalf("malformed body %d: %+v %v", i, hh, err)
		}
	}
	if hh, _, err := c.CallBytes(wire.TapeClose, []byte{0, 0, 0, 1}, 0); err != nil || hh.Error != wire.XDRDecodeErr {
		t.Fatalf("body on TAPE_CLOSE: %+v %v", hh, err)
	}
	var h wire.Header
	// Out-of-order requests.
	expectErr(t, "continue idle", c.MoverContinue(), wire.IllegalStateErr)
	expectErr(t, "mover read idle", c.MoverRead(0, 100), wire.IllegalStateErr)
	expectErr(t, "backup unconnected", c.DataStartBackup("dump", nil), wire.IllegalStateErr)
	_, err := c.TapeRead(100)
	expectErr(t, "read unopened", err, wire.DevNotOpenErr)
	_, err = c.MoverListen(wire.MoverModeRead, wire.AddrTCP)
	expectErr(t, "listen without tape", err, wire.DevNotOpenErr)
	expectErr(t, "record size too small", c.MoverSetRecordSize(512), wire.IllegalArgsErr)
	p, err := c.WaitPost(5*time.Second, nil, wire.LogMessage)
	if err != nil || p.Body.(*wire.LogMessagePost).Entry != MsgRecordSizeRange {
		t.Fatalf("record size log: %+v %v", p, err)
	}
	expectErr(t, "record size too big", c.MoverSetRecordSize(512<<10), wire.IllegalArgsErr)
	expectErr(t, "window not aligned", c.MoverSetWindow(100, 1000), wire.IllegalArgsErr)
	if _, err := c.GetHostInfo(); err != nil {
		t.Fatalf("session broken after bad input: %v", err)
	}

	// A session holding a drive that sends garbage is closed, and its
	// drive is released.
	bad := dialTest(t, addr)
	expectErr(t, "open", bad.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	bad.SendRaw([]byte{0x80, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8}) // record shorter than a header
	waitClosed(t, bad)
	c2 := dialTest(t, addr)
	expectErr(t, "drive released after garbage", c2.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	expectErr(t, "close", c2.TapeClose(), wire.NoErr)

	// Oversized record: closed before the server allocates it.
	big := dialTest(t, addr)
	expectErr(t, "open", big.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	var mark [4]byte
	binary.BigEndian.PutUint32(mark[:], 0xFFFFFFFF)
	big.SendRaw(mark[:])
	waitClosed(t, big)
	// Truncated record, then EOF mid-record.
	cut := dialTest(t, addr)
	expectErr(t, "open", cut.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	cut.SendRaw([]byte{0x80, 0, 1, 0, 0, 0, 0, 1})
	cut.Conn().(*net.TCPConn).CloseWrite()
	waitClosed(t, cut)
	// Message type 7 in the header: not NDMP, closed.
	weird := dialTest(t, addr)
	h = wire.Header{Sequence: 1, Type: 7, Code: wire.ConfigGetHostInfo}
	weird.SendRaw(wire.AppendRecord(nil, h.Append(nil), 0))
	waitClosed(t, weird)

	c3 := dialTest(t, addr)
	expectErr(t, "drive free after every broken session", c3.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	for i := 0; len(srv.Sessions()) > 3; i++ {
		if i == 500 {
			t.Fatalf("%d sessions still listed", len(srv.Sessions()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitClosed(t *testing.T, c *client.Client) {
	t.Helper()
	c.Conn().SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, err := c.WaitPost(10*time.Second, nil, wire.NotifyConnectionStatus)
		if errors.Is(err, client.ErrClosed) {
			return
		}
		if err != nil {
			t.Fatalf("connection not closed: %v", err)
		}
	}
}

func TestSessionLimitsAndManagement(t *testing.T) {
	tapes := []*memTape{{id: "MEM0", loaded: true}, {id: "MEM1", loaded: true}}
	dir := t.TempDir()
	srv, addr := startTestServer(t, Config{Devices: &memDevices{tapes: tapes}, DataDir: dir, MemoryBytes: 8 << 30})
	if st := srv.Settings(); st.MaxSessions != 8 || st.MaxDataOps != 4 || st.MaxActiveDrives != 16 || !st.ChallengeAuth || st.PlaintextAuth {
		t.Fatalf("defaults %+v", st)
	}
	if err := srv.Modify("max-sessions", "2"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Modify("bogus", "1"); err == nil {
		t.Fatal("unknown option accepted")
	}
	if err := srv.Modify("max-sessions", "x"); err == nil {
		t.Fatal("bad number accepted")
	}
	a := dialTest(t, addr)
	b := dialTest(t, addr)
	_, err := client.Dial(addr)
	var ref *client.RefusedError
	if !errors.As(err, &ref) || ref.Reason != MsgSessionLimit {
		t.Fatalf("third session: %v", err)
	}
	// The active-drive limit.
	srv.Modify("max-active-drives", "1")
	expectErr(t, "first drive", a.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	expectErr(t, "second drive", b.TapeOpen("nrst1a", wire.TapeRDWRMode), wire.DeviceBusyErr)
	p, err := b.WaitPost(5*time.Second, nil, wire.LogMessage)
	if err != nil || p.Body.(*wire.LogMessagePost).Entry != MsgNoThread {
		t.Fatalf("no-thread log: %+v %v", p, err)
	}

	// Management: list, probe, trace, kill.
	list := srv.Sessions()
	if len(list) != 2 || !list[0].Authenticated || list[0].User != "ndmp" {
		t.Fatalf("sessions %+v", list)
	}
	var withTape SessionInfo
	for _, s := range list {
		if s.TapeDevice != "" {
			withTape = s
		}
	}
	if withTape.TapeDevice != "nrst0a" || withTape.TapeMode != "RDWR" || withTape.MoverState != "IDLE" {
		t.Fatalf("probe %+v", withTape)
	}
	path, err := srv.Trace(withTape.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	a.TapeGetState()
	b.TapeGetState()
	srv.Trace(withTape.ID, false)
	tr, _ := os.ReadFile(path)
	if !strings.Contains(string(tr), "recv request NDMP4_TAPE_GET_STATE") || !strings.Contains(string(tr), "send reply NDMP4_TAPE_GET_STATE") {
		t.Fatalf("trace %s:\n%s", filepath.Base(path), tr)
	}
	if _, err := srv.Probe(9999); err == nil || err.Error() != "ndmpd session 9999 not active" {
		t.Fatalf("probe unknown: %v", err)
	}
	if err := srv.Kill(withTape.ID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200 && len(srv.Sessions()) != 1; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	// The killed session's drive is free again.
	expectErr(t, "drive after kill", b.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)

	// Off refuses new sessions; kill-all ends the rest.
	srv.SetEnabled(false)
	if _, err := client.Dial(addr); !errors.As(err, &ref) || ref.Reason != MsgDisabled {
		t.Fatalf("dial while off: %v", err)
	}
	srv.SetEnabled(true)
	if n := srv.KillAll(); n != 1 {
		t.Fatalf("kill-all ended %d sessions", n)
	}
	_, err = b.GetHostInfo()
	if err == nil {
		t.Fatal("session alive after kill-all")
	}
	if !strings.Contains(srv.VersionInfo(), "NDMP version 4") {
		t.Fatal(srv.VersionInfo())
	}
}

func TestUserStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ndmp-users.json")
	s, err := OpenUserStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add("backup", "secret"); err != nil {
		t.Fatal(err)
	}
	s.rand = strings.NewReader(strings.Repeat("\x01\xff\x3e\x80", 64))
	pw, err := s.GeneratePassword("vsadmin")
	if err != nil || len(pw) != 16 {
		t.Fatalf("generated %q %v", pw, err)
	}
	for _, r := range pw {
		if !strings.ContainsRune(passwordAlphabet, r) {
			t.Fatalf("password %q has %q", pw, r)
		}
	}
	again, err := OpenUserStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if !again.CheckText("backup", "secret") || !again.CheckText("vsadmin", pw) || again.CheckText("backup", "Secret") {
		t.Fatal("persisted users do not check")
	}
	var ch [64]byte
	ch[0] = 9
	if !again.CheckMD5("vsadmin", ch, wire.MD5Digest(pw, ch)) || again.CheckMD5("nobody", ch, [16]byte{}) {
		t.Fatal("md5 check")
	}
	if got := again.Users(); len(got) != 2 || got[0] != "backup" {
		t.Fatalf("users %v", got)
	}
	if err := again.Remove("nobody"); !errors.Is(err, ErrNoUser) {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("user file mode %v", st.Mode())
	}
	if _, err := s.GeneratePassword(""); err == nil {
		t.Fatal("empty user accepted")
	}
	var _ io.Reader = s.rand
}

// TestMD5DigestKnown pins the digest layout (password, zeros, challenge,
// password) with a value computed independently (Python hashlib).
func TestMD5DigestKnown(t *testing.T) {
	var ch [64]byte
	for i := range ch {
		ch[i] = byte(i)
	}
	got := wire.MD5Digest("ndmp", ch)
	if hexs := hexString(got[:]); hexs != md5Known {
		t.Fatalf("digest %s, want %s", hexs, md5Known)
	}
}

func hexString(b []byte) string {
	const h = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, h[x>>4], h[x&15])
	}
	return string(out)
}

func TestSettingsPersist(t *testing.T) {
	dir := t.TempDir()
	s1, err := NewServer(Config{DataDir: dir, MemoryBytes: 20 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if st := s1.Settings(); st.MaxSessions != 20 || st.MaxDataOps != 16 {
		t.Fatalf("limits for 20 GB: %+v", st)
	}
	if err := s1.Modify("plaintext", "true"); err != nil {
		t.Fatal(err)
	}
	s1.SetEnabled(false)
	s2, err := NewServer(Config{DataDir: dir, MemoryBytes: 32 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if st := s2.Settings(); !st.PlaintextAuth || st.Enabled || st.MaxSessions != 20 {
		t.Fatalf("settings after restart: %+v", st)
	}
}
