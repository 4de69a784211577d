package ndmp

import (
	"io"
	"net"
	"testing"
	"time"

	"tapelab/engines"
	"tapelab/ndmp/ndmptest"
	"tapelab/ndmp/wire"
)

func seedSession(msgs ...any) []byte {
	var out []byte
	seq := uint32(0)
	for i := 0; i+1 < len(msgs); i += 2 {
		seq++
		h := wire.Header{Sequence: seq, TimeStamp: 1763780000, Code: msgs[i].(wire.Code)}
		out = wire.AppendRecord(out, wire.EncodeMessage(h, msgs[i+1]), 7)
	}
	return out
}

// FuzzSession feeds arbitrary byte streams to a server session (after an
// authenticated start in the seeds): whatever arrives, the session must
// answer or close, never panic or hang, and must release its drive.
func FuzzSession(f *testing.F) {
	auth := []any{
		wire.ConnectOpen, &wire.ConnectOpenRequest{ProtocolVersion: 4},
		wire.ConnectClientAuth, &wire.ConnectClientAuthRequest{Auth: wire.AuthData{Type: wire.AuthText, ID: "ndmp", Password: "ndmp"}},
	}
	f.Add(seedSession(auth...))
	f.Add(seedSession(append(auth,
		wire.TapeOpen, &wire.TapeOpenRequest{Device: "nrst0a", Mode: wire.TapeRDWRMode},
		wire.TapeWrite, &wire.TapeWriteRequest{Data: []byte("label")},
		wire.TapeMTIO, &wire.TapeMTIORequest{Op: wire.MTIOBSR, Count: 5},
		wire.TapeRead, &wire.TapeReadRequest{Count: 100},
		wire.MoverSetRecordSize, &wire.MoverSetRecordSizeRequest{Len: 4096},
		wire.MoverListen, &wire.MoverListenRequest{Mode: wire.MoverModeRead, AddrType: wire.AddrLocal},
		wire.DataConnect, &wire.DataConnectRequest{Addr: wire.Addr{Type: wire.AddrLocal}},
		wire.DataStartBackup, &wire.DataStartBackupRequest{Butype: "lab", Env: []wire.PVal{{Name: "SIZE", Value: "10000"}}},
		wire.MoverGetState, nil,
	)...))
	f.Add(seedSession(append(auth,
		wire.DataListen, &wire.DataListenRequest{AddrType: wire.AddrTCP},
		wire.MoverAbort, nil,
		wire.DataAbort, nil,
		wire.DataStop, nil,
		wire.ConfigSetExtList, &wire.ConfigSetExtListRequest{Selected: []wire.ClassVersion{{ClassID: 0x2050, Version: 1}}},
	)...))
	f.Add([]byte{0x80, 0, 0, 4, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, stream []byte) {
		tape := &memTape{id: "MEM0", loaded: true}
		srv, err := NewServer(Config{Devices: &memDevices{tapes: []*memTape{tape}}, Engines: []engines.Engine{ndmptest.LabEngine{}}})
		if err != nil {
			t.Fatal(err)
		}
		srv.Users().Add("ndmp", "ndmp")
		srv.Modify("plaintext", "true")
		server, peer := net.Pipe()
		ended := make(chan struct{})
		go func() {
			srv.handleConn(server)
			close(ended)
		}()
		go io.Copy(io.Discard, peer)
		peer.SetWriteDeadline(time.Now().Add(5 * time.Second))
		peer.Write(stream)
		peer.Close()
		select {
		case <-ended:
		case <-time.After(20 * time.Second):
			t.Fatal("session did not end after the client left")
		}
		srv.Close()
		tape.mu.Lock()
		owner := tape.owner
		tape.mu.Unlock()
		if owner != "" {
			t.Fatalf("drive still held by %s", owner)
		}
	})
}
