package ndmp

import (
	"bytes"
	"errors"
	"testing"

	"tapelab/ndmp/client"
	"tapelab/ndmp/wire"
)

func dialTest(t *testing.T, addr string) *client.Client {
	t.Helper()
	c, err := client.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Connect("ndmp", "ndmp", false); err != nil {
		t.Fatal(err)
	}
	return c
}

func expectErr(t *testing.T, what string, err error, want wire.Error) {
	t.Helper()
	var got wire.Error
	if err == nil {
		got = wire.NoErr
	} else if !errors.As(err, &got) {
		t.Fatalf("%s: %v", what, err)
	}
	if got != want {
		t.Fatalf("%s: got %s, want %s", what, got, want)
	}
}

func mtio(t *testing.T, c *client.Client, op wire.MTIOOp, count, wantResid uint32) {
	t.Helper()
	r, err := c.TapeMTIO(op, count)
	expectErr(t, "mtio", err, wire.NoErr)
	if r != wantResid {
		t.Fatalf("MTIO op %d count %d: residual %d, want %d", op, count, r, wantResid)
	}
}

// TestTapeBasicWriteAndRead replays ndmjob's phase T-BWR (which Debian's
// ndmjob cannot run correctly on amd64, see internal/testpeer/shims/skip_tbwr.c) step by
// step: residuals at BOT and EOD, EOM past the last filemark, a tape label
// written and read back byte for byte.
func TestTapeBasicWriteAndRead(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	_, addr := startTestServer(t, Config{Devices: &memDevices{tapes: []*memTape{tape}}})
	c := dialTest(t, addr)
	expectErr(t, "open", c.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	mtio(t, c, wire.MTIOREW, 1, 0)
	mtio(t, c, wire.MTIOBSR, 100, 100)
	mtio(t, c, wire.MTIOBSF, 100, 100)
	mtio(t, c, wire.MTIOEOF, 1, 0)
	mtio(t, c, wire.MTIOBSF, 100, 99)
	mtio(t, c, wire.MTIOFSF, 100, 99)
	_, err := c.TapeRead(64 << 10)
	expectErr(t, "read at EOD", err, wire.EOMErr)
	_, err = c.TapeRead(1024)
	expectErr(t, "read at EOD again", err, wire.EOMErr)
	mtio(t, c, wire.MTIOREW, 1, 0)
	_, err = c.TapeWrite(make([]byte, 512))
	expectErr(t, "write", err, wire.NoErr)
	mtio(t, c, wire.MTIOBSR, 100, 99)
	mtio(t, c, wire.MTIOFSR, 100, 99)
	mtio(t, c, wire.MTIOFSR, 100, 100)
	mtio(t, c, wire.MTIOFSF, 100, 100)
	expectErr(t, "close", c.TapeClose(), wire.NoErr)
	for pass := 0; pass < 2; pass++ {
		expectErr(t, "open", c.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
		mtio(t, c, wire.MTIOREW, 1, 0)
		label := make([]byte, 1024)
		for i := range label {
			label[i] = byte(i - 4)
		}
		_, err = c.TapeWrite(label)
		expectErr(t, "write label", err, wire.NoErr)
		mtio(t, c, wire.MTIOEOF, 1, 0)
		expectErr(t, "close", c.TapeClose(), wire.NoErr)
		expectErr(t, "open", c.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
		mtio(t, c, wire.MTIOREW, 1, 0)
		n := uint32(1024)
		if pass == 1 {
			n = 64 << 10
		}
		got, err := c.TapeRead(n)
		expectErr(t, "read label", err, wire.NoErr)
		if !bytes.Equal(got, label) {
			t.Fatalf("pass %d: label read back differs (%d bytes)", pass, len(got))
		}
		_, err = c.TapeRead(1024)
		expectErr(t, "read filemark", err, wire.EOFErr)
		st, err := c.TapeGetState()
		expectErr(t, "get state", err, wire.NoErr)
		if st.FileNum != 0 || st.Unsupported&wire.TapeStateBlocknoUnsupported == 0 {
			t.Fatalf("after EOF: file %d, unsupported %#x", st.FileNum, st.Unsupported)
		}
		mtio(t, c, wire.MTIOFSF, 1, 0)
		_, err = c.TapeRead(1024)
		expectErr(t, "read EOM", err, wire.EOMErr)
		expectErr(t, "close", c.TapeClose(), wire.NoErr)
	}
}

// TestTapeErrors covers the TAPE error paths: not open, bad mode, busy
// drive in another session, read-only writes, zero-length write, huge read.
func TestTapeErrors(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	srv, addr := startTestServer(t, Config{Devices: &memDevices{tapes: []*memTape{tape}}})
	c := dialTest(t, addr)
	expectErr(t, "close unopened", c.TapeClose(), wire.DevNotOpenErr)
	expectErr(t, "bogus device", c.TapeOpen("bogus", wire.TapeReadMode), wire.NoDeviceErr)
	expectErr(t, "bad mode", c.TapeOpen("nrst0a", 123), wire.IllegalArgsErr)
	expectErr(t, "open ro", c.TapeOpen("nrst0a", wire.TapeReadMode), wire.NoErr)
	expectErr(t, "open twice", c.TapeOpen("nrst0a", wire.TapeReadMode), wire.DeviceOpenedErr)
	_, err := c.TapeWrite([]byte("x"))
	expectErr(t, "write ro", err, wire.PermissionErr)
	_, err = c.TapeMTIO(wire.MTIOEOF, 1)
	expectErr(t, "weof ro", err, wire.PermissionErr)
	_, err = c.TapeRead(0x80000000)
	expectErr(t, "huge read", err, wire.IllegalArgsErr)

	c2 := dialTest(t, addr)
	expectErr(t, "busy", c2.TapeOpen("rst0a", wire.TapeReadMode), wire.DeviceBusyErr)

	// A session that disconnects releases its drive.
	c.Conn().Close()
	for i := 0; i < 100; i++ {
		if len(srv.Sessions()) == 1 {
			break
		}
		waitABit()
	}
	expectErr(t, "open after disconnect", c2.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	n, err := c2.TapeWrite(nil)
	expectErr(t, "zero-length write", err, wire.NoErr)
	if n != 0 {
		t.Fatalf("zero-length write count %d", n)
	}
	tape.mu.Lock()
	tape.loaded = false
	tape.mu.Unlock()
	_, err = c2.TapeMTIO(wire.MTIOTUR, 1)
	expectErr(t, "TUR without cartridge", err, wire.NoTapeLoadedErr)
}
