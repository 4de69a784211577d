package ndmp

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"tapelab/engines"
	"tapelab/ndmp/client"
	"tapelab/ndmp/ndmptest"
	"tapelab/ndmp/wire"
)

// dmaRun drives an operation to completion like a DMA: it answers
// NOTIFY_DATA_READ with MOVER_READ, handles mover pauses with onPause, and
// returns once both DATA and MOVER have halted.
type dmaResult struct {
	dataHalt  wire.DataHaltReason
	moverHalt wire.MoverHaltReason
	files     []wire.File
	dirs      []wire.Dir
	nodes     []wire.Node
	logFiles  []wire.LogFilePost
	logs      []string
	pauses    []wire.NotifyMoverPausedPost
}

func dmaRun(t *testing.T, data, tape *client.Client, onPause func(wire.NotifyMoverPausedPost)) dmaResult {
	t.Helper()
	var res dmaResult
	dataDone, moverDone := false, false
	handle := func(p client.Post) {
		switch b := p.Body.(type) {
		case *wire.NotifyDataHaltedPost:
			res.dataHalt, dataDone = b.Reason, true
		case *wire.NotifyMoverHaltedPost:
			res.moverHalt, moverDone = b.Reason, true
		case *wire.NotifyDataReadPost:
			if err := tape.MoverRead(b.Offset, b.Length); err != nil {
				t.Errorf("MOVER_READ: %v", err)
			}
		case *wire.NotifyMoverPausedPost:
			res.pauses = append(res.pauses, *b)
			if onPause != nil {
				onPause(*b)
			}
		case *wire.FHAddFilePost:
			res.files = append(res.files, b.Files...)
		case *wire.FHAddDirPost:
			res.dirs = append(res.dirs, b.Dirs...)
		case *wire.FHAddNodePost:
			res.nodes = append(res.nodes, b.Nodes...)
		case *wire.LogFilePost:
			res.logFiles = append(res.logFiles, *b)
		case *wire.LogMessagePost:
			res.logs = append(res.logs, b.Entry)
		}
	}
	deadline := time.After(60 * time.Second)
	for !dataDone || !moverDone {
		select {
		case p, ok := <-data.Posts():
			if !ok {
				t.Fatal("data connection closed")
			}
			handle(p)
		case p, ok := <-tape.Posts():
			if !ok {
				t.Fatal("tape connection closed")
			}
			handle(p)
		case <-deadline:
			t.Fatalf("operation did not finish: data halt %d (done %v), mover halt %d (done %v), %d files, logs %q, pauses %+v",
				res.dataHalt, dataDone, res.moverHalt, moverDone, len(res.files), res.logs, res.pauses)
		}
	}
	return res
}

func labServer(t *testing.T, tapes ...*memTape) (*Server, string) {
	return startTestServer(t, Config{Devices: &memDevices{tapes: tapes}, Engines: []engines.Engine{ndmptest.LabEngine{}}})
}

func TestDataBackupRecoverLocal(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	_, addr := labServer(t, tape)
	c := dialTest(t, addr)
	bi, err := c.GetButypeInfo()
	if err != nil || len(bi.Butypes) != 1 || bi.Butypes[0].Name != "lab" {
		t.Fatalf("butypes %+v %v", bi, err)
	}
	expectErr(t, "tape open", c.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	expectErr(t, "record size", c.MoverSetRecordSize(65536), wire.NoErr)
	expectErr(t, "window", c.MoverSetWindow(0, ^uint64(0)), wire.NoErr)
	_, err = c.MoverListen(wire.MoverModeRead, wire.AddrLocal)
	expectErr(t, "mover listen", err, wire.NoErr)
	expectErr(t, "data connect", c.DataConnect(wire.Addr{Type: wire.AddrLocal}), wire.NoErr)
	const size = 1000000
	env := []wire.PVal{{Name: "SIZE", Value: "1000000"}, {Name: "HIST", Value: "y"}, {Name: "FILES", Value: "300"}}
	expectErr(t, "start backup", c.DataStartBackup("lab", env), wire.NoErr)
	res := dmaRun(t, c, c, nil)
	if res.dataHalt != wire.DataHaltSuccessful || res.moverHalt != wire.MoverHaltConnectClosed {
		t.Fatalf("halts: data %d mover %d", res.dataHalt, res.moverHalt)
	}
	if len(res.files) != 300 || res.files[299].Names[0].Name != "/f299" {
		t.Fatalf("file history: %d entries", len(res.files))
	}
	renv, err := c.DataGetEnv()
	expectErr(t, "get env", err, wire.NoErr)
	if len(renv) != 2 || renv[0].Name != "DUMP_DATE" {
		t.Fatalf("env %+v", renv)
	}
	ds, _ := c.DataGetState()
	if ds.BytesProcessed != size || ds.State != wire.DataStateHalted {
		t.Fatalf("data state %+v", ds)
	}
	ms, _ := c.MoverGetState()
	if ms.RecordNum != 16 || ms.BytesMoved != 16*65536 {
		t.Fatalf("mover state %+v", ms)
	}
	expectErr(t, "data stop", c.DataStop(), wire.NoErr)
	expectErr(t, "mover stop", c.MoverStop(), wire.NoErr)
	_, err = c.TapeMTIO(wire.MTIOEOF, 1)
	expectErr(t, "weof", err, wire.NoErr)
	// 16 records of 64 KiB, the last one padded.
	if len(tape.objs) != 17 || len(tape.objs[15].data) != 65536 || !tape.objs[16].fm {
		t.Fatalf("tape holds %d objects", len(tape.objs))
	}

	// Recover it.
	_, err = c.TapeMTIO(wire.MTIOREW, 1)
	expectErr(t, "rewind", err, wire.NoErr)
	expectErr(t, "window", c.MoverSetWindow(0, ^uint64(0)), wire.NoErr)
	_, err = c.MoverListen(wire.MoverModeWrite, wire.AddrLocal)
	expectErr(t, "mover listen write", err, wire.NoErr)
	expectErr(t, "data connect", c.DataConnect(wire.Addr{Type: wire.AddrLocal}), wire.NoErr)
	expectErr(t, "start recover", c.DataStartRecover("lab", []wire.PVal{{Name: "SIZE", Value: "1000000"}}, []wire.Name{{OriginalPath: "/f1", DestinationPath: "/r/f1"}}), wire.NoErr)
	res = dmaRun(t, c, c, nil)
	if res.dataHalt != wire.DataHaltSuccessful {
		t.Fatalf("recover halted %d (logs %q)", res.dataHalt, res.logs)
	}
	if len(res.logFiles) != 1 || res.logFiles[0].Name != "/f1" || res.logFiles[0].RecoveryStatus != wire.RecoverySuccessful {
		t.Fatalf("LOG_FILE %+v", res.logFiles)
	}
	expectErr(t, "data stop", c.DataStop(), wire.NoErr)
	expectErr(t, "mover stop", c.MoverStop(), wire.NoErr)
}

func TestDataThreeWayTCP(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	_, addr := labServer(t, tape)
	tc := dialTest(t, addr) // tape/mover session
	dc := dialTest(t, addr) // data session
	expectErr(t, "tape open", tc.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	expectErr(t, "record size", tc.MoverSetRecordSize(32768), wire.NoErr)
	a, err := tc.MoverListen(wire.MoverModeRead, wire.AddrTCP)
	expectErr(t, "mover listen tcp", err, wire.NoErr)
	if a.Type != wire.AddrTCP || len(a.TCP) != 1 || a.TCP[0].IP != 0x7f000001 {
		t.Fatalf("listen address %+v", a)
	}
	expectErr(t, "data connect", dc.DataConnect(a), wire.NoErr)
	expectErr(t, "start backup", dc.DataStartBackup("lab", []wire.PVal{{Name: "SIZE", Value: "300000"}, {Name: "RANDOM", Value: "y"}}), wire.NoErr)
	res := dmaRun(t, dc, tc, nil)
	if res.dataHalt != wire.DataHaltSuccessful || res.moverHalt != wire.MoverHaltConnectClosed {
		t.Fatalf("halts %+v", res)
	}
	if len(res.dirs) != 0 || len(res.files) != 0 {
		t.Fatalf("history without HIST: %d dirs %d files", len(res.dirs), len(res.files))
	}
	if n := len(tape.objs); n != 10 { // ceil(300000/32768)
		t.Fatalf("%d records on tape", n)
	}

	// Recover the other way round: DATA listens, the mover connects.
	expectErr(t, "data stop", dc.DataStop(), wire.NoErr)
	expectErr(t, "mover stop", tc.MoverStop(), wire.NoErr)
	tc.TapeMTIO(wire.MTIOREW, 1)
	da, err := dc.DataListen(wire.AddrTCP)
	expectErr(t, "data listen", err, wire.NoErr)
	expectErr(t, "mover connect", tc.MoverConnect(wire.MoverModeWrite, da), wire.NoErr)
	expectErr(t, "start recover", dc.DataStartRecover("lab", []wire.PVal{{Name: "SIZE", Value: "300000"}, {Name: "RANDOM", Value: "y"}}, nil), wire.NoErr)
	res = dmaRun(t, dc, tc, nil)
	if res.dataHalt != wire.DataHaltSuccessful {
		t.Fatalf("recover: %+v %q", res, res.logs)
	}
}

func TestDataErrors(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	_, addr := labServer(t, tape)
	c := dialTest(t, addr)
	expectErr(t, "backup idle", c.DataStartBackup("lab", nil), wire.IllegalStateErr)
	expectErr(t, "stop idle", c.DataStop(), wire.IllegalStateErr)
	expectErr(t, "abort idle", c.DataAbort(), wire.IllegalStateErr)
	_, err := c.DataGetEnv()
	expectErr(t, "env idle", err, wire.IllegalStateErr)
	expectErr(t, "connect local without mover", c.DataConnect(wire.Addr{Type: wire.AddrLocal}), wire.IllegalStateErr)
	_, err = c.DataListen(7)
	expectErr(t, "listen bogus", err, wire.IllegalArgsErr)
	expectErr(t, "tape open", c.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	_, err = c.MoverListen(wire.MoverModeRead, wire.AddrLocal)
	expectErr(t, "mover listen", err, wire.NoErr)
	expectErr(t, "data connect", c.DataConnect(wire.Addr{Type: wire.AddrLocal}), wire.NoErr)
	expectErr(t, "unknown butype", c.DataStartBackup("smtape", nil), wire.IllegalArgsErr)
	ds, _ := c.DataGetState()
	if ds.State != wire.DataStateConnected {
		t.Fatalf("after a refused start the data service is %d", ds.State)
	}
	// A failing engine halts with INTERNAL_ERROR and a log message.
	expectErr(t, "start", c.DataStartBackup("lab", []wire.PVal{{Name: "FAIL", Value: "1"}}), wire.NoErr)
	res := dmaRun(t, c, c, nil)
	if res.dataHalt != wire.DataHaltInternalError {
		t.Fatalf("halt %d", res.dataHalt)
	}
	found := false
	for _, l := range res.logs {
		found = found || bytes.Contains([]byte(l), []byte("failing as asked"))
	}
	if !found {
		t.Fatalf("no log message: %q", res.logs)
	}
}

// TestMoverSpansCartridges writes an image bigger than one cartridge: the
// mover pauses with EOM, the DMA "changes the cartridge" and continues,
// and the two cartridges hold the whole image.
func TestMoverSpansCartridges(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true, capacity: 200000, ew: 150000}
	_, addr := labServer(t, tape)
	c := dialTest(t, addr)
	expectErr(t, "tape open", c.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	expectErr(t, "record size", c.MoverSetRecordSize(16384), wire.NoErr)
	_, err := c.MoverListen(wire.MoverModeRead, wire.AddrLocal)
	expectErr(t, "mover listen", err, wire.NoErr)
	expectErr(t, "data connect", c.DataConnect(wire.Addr{Type: wire.AddrLocal}), wire.NoErr)
	expectErr(t, "start", c.DataStartBackup("lab", []wire.PVal{{Name: "SIZE", Value: "300000"}}), wire.NoErr)
	var first [][]byte
	res := dmaRun(t, c, c, func(p wire.NotifyMoverPausedPost) {
		if p.Reason != wire.MoverPauseEOM {
			t.Errorf("pause reason %d", p.Reason)
			return
		}
		// Swap the cartridge as a robot would: close, replace, reopen.
		expectErr(t, "tape close", c.TapeClose(), wire.NoErr)
		tape.mu.Lock()
		for _, o := range tape.objs {
			first = append(first, o.data)
		}
		tape.objs, tape.pos, tape.used = nil, 0, 0
		tape.mu.Unlock()
		expectErr(t, "tape reopen", c.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
		expectErr(t, "continue", c.MoverContinue(), wire.NoErr)
	})
	if res.dataHalt != wire.DataHaltSuccessful || len(res.pauses) != 1 {
		t.Fatalf("halt %d, %d pauses", res.dataHalt, len(res.pauses))
	}
	var all []byte
	for _, d := range first {
		all = append(all, d...)
	}
	for _, o := range tape.objs {
		all = append(all, o.data...)
	}
	if len(all) < 300000 {
		t.Fatalf("only %d bytes on the two cartridges", len(all))
	}
	for i := 0; i < 300000; i++ {
		if all[i] != ndmptest.PatternByte(int64(i)) {
			t.Fatalf("byte %d differs after spanning", i)
		}
	}
}

// TestMoverWindowsAndDAR covers window handling: a backup whose window ends
// before the image pauses with EOW until the DMA opens the next window; a
// recover that seeks (direct access) gets exactly the bytes it asked for;
// a MOVER_READ outside the window pauses with SEEK.
func TestMoverWindowsAndDAR(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	_, addr := labServer(t, tape)
	c := dialTest(t, addr)
	expectErr(t, "tape open", c.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	expectErr(t, "record size", c.MoverSetRecordSize(8192), wire.NoErr)
	expectErr(t, "window", c.MoverSetWindow(0, 8*8192), wire.NoErr)
	_, err := c.MoverListen(wire.MoverModeRead, wire.AddrLocal)
	expectErr(t, "listen", err, wire.NoErr)
	expectErr(t, "connect", c.DataConnect(wire.Addr{Type: wire.AddrLocal}), wire.NoErr)
	expectErr(t, "start", c.DataStartBackup("lab", []wire.PVal{{Name: "SIZE", Value: "200000"}}), wire.NoErr)
	res := dmaRun(t, c, c, func(p wire.NotifyMoverPausedPost) {
		if p.Reason != wire.MoverPauseEOW || p.SeekPosition%(8*8192) != 0 {
			t.Errorf("pause %+v", p)
		}
		ms, _ := c.MoverGetState()
		if ms.State != wire.MoverStatePaused || ms.PauseReason != wire.MoverPauseEOW {
			t.Errorf("mover state %+v", ms)
		}
		expectErr(t, "set window while paused", c.MoverSetWindow(p.SeekPosition, 8*8192), wire.NoErr)
		expectErr(t, "continue", c.MoverContinue(), wire.NoErr)
	})
	if res.dataHalt != wire.DataHaltSuccessful || len(res.pauses) != 3 { // 200000 B = 25 records: windows of 8
		t.Fatalf("halt %d after %d pauses", res.dataHalt, len(res.pauses))
	}
	expectErr(t, "data stop", c.DataStop(), wire.NoErr)
	expectErr(t, "mover stop", c.MoverStop(), wire.NoErr)

	// Direct access recover of the tail of the image.
	c.TapeMTIO(wire.MTIOREW, 1)
	expectErr(t, "window", c.MoverSetWindow(0, ^uint64(0)), wire.NoErr)
	_, err = c.MoverListen(wire.MoverModeWrite, wire.AddrLocal)
	expectErr(t, "listen", err, wire.NoErr)
	expectErr(t, "connect", c.DataConnect(wire.Addr{Type: wire.AddrLocal}), wire.NoErr)
	var reads []wire.NotifyDataReadPost
	expectErr(t, "start", c.DataStartRecover("lab", []wire.PVal{{Name: "SIZE", Value: "200000"}, {Name: "SEEK", Value: "150000"}}, nil), wire.NoErr)
	p, err := c.WaitPost(10*time.Second, nil, wire.NotifyDataRead)
	if err != nil {
		t.Fatal(err)
	}
	reads = append(reads, *p.Body.(*wire.NotifyDataReadPost))
	if reads[0].Offset != 150000 || reads[0].Length != 50000 {
		t.Fatalf("DATA_READ %+v", reads[0])
	}
	// Hold the tape so the first read cannot finish before the second
	// request arrives (it used to, now and then: 50000 bytes are quick).
	tape.mu.Lock()
	expectErr(t, "mover read", c.MoverRead(reads[0].Offset, reads[0].Length), wire.NoErr)
	err = c.MoverRead(0, 10)
	tape.mu.Unlock()
	if err == nil {
		t.Fatal("a second MOVER_READ during a read was accepted")
	}
	res = dmaRun(t, c, c, nil)
	if res.dataHalt != wire.DataHaltSuccessful {
		t.Fatalf("DAR recover halted %d: %q", res.dataHalt, res.logs)
	}
	expectErr(t, "data stop", c.DataStop(), wire.NoErr)
	expectErr(t, "mover stop", c.MoverStop(), wire.NoErr)

	// MOVER_READ outside the window: SEEK pause.
	c.TapeMTIO(wire.MTIOREW, 1)
	expectErr(t, "window", c.MoverSetWindow(0, 8*8192), wire.NoErr)
	_, err = c.MoverListen(wire.MoverModeWrite, wire.AddrLocal)
	expectErr(t, "listen", err, wire.NoErr)
	expectErr(t, "connect", c.DataConnect(wire.Addr{Type: wire.AddrLocal}), wire.NoErr)
	expectErr(t, "start", c.DataStartRecover("lab", []wire.PVal{{Name: "SIZE", Value: "200000"}, {Name: "SEEK", Value: "100000"}}, nil), wire.NoErr)
	p, err = c.WaitPost(10*time.Second, nil, wire.NotifyDataRead)
	if err != nil {
		t.Fatal(err)
	}
	expectErr(t, "mover read", c.MoverRead(100000, 100000), wire.NoErr)
	p, err = c.WaitPost(10*time.Second, nil, wire.NotifyMoverPaused)
	if err != nil || p.Body.(*wire.NotifyMoverPausedPost).Reason != wire.MoverPauseSeek || p.Body.(*wire.NotifyMoverPausedPost).SeekPosition != 100000 {
		t.Fatalf("seek pause %+v %v", p, err)
	}
	expectErr(t, "mover abort", c.MoverAbort(), wire.NoErr)
	// The data service may already have halted on the closed connection.
	if err := c.DataAbort(); err != nil && !errors.Is(err, wire.IllegalStateErr) {
		t.Fatal(err)
	}
	ms, _ := c.MoverGetState()
	if ms.State != wire.MoverStateHalted || ms.HaltReason != wire.MoverHaltAborted {
		t.Fatalf("after abort %+v", ms)
	}
}

// TestDisconnectMidBackup drops the DMA in the middle of a backup: the
// drive is released, and the records the mover wrote stay on the tape.
func TestDisconnectMidBackup(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	tape1 := &memTape{id: "MEM1", loaded: true}
	srv, addr := labServer(t, tape, tape1)
	srv.Modify("max-dumps", "1")
	c := dialTest(t, addr)
	expectErr(t, "tape open", c.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	expectErr(t, "record size", c.MoverSetRecordSize(8192), wire.NoErr)
	_, err := c.MoverListen(wire.MoverModeRead, wire.AddrLocal)
	expectErr(t, "listen", err, wire.NoErr)
	expectErr(t, "connect", c.DataConnect(wire.Addr{Type: wire.AddrLocal}), wire.NoErr)
	expectErr(t, "start", c.DataStartBackup("lab", []wire.PVal{{Name: "SIZE", Value: "1000000"}, {Name: "HOLD_AT", Value: "131072"}}), wire.NoErr)
	// Wait until the mover has written the 16 records before the hold.
	for i := 0; ; i++ {
		ms, _ := c.MoverGetState()
		if ms.RecordNum == 16 {
			break
		}
		if i == 1000 {
			t.Fatalf("mover stuck at %+v", ms)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Meanwhile a second backup is refused: one dump at a time (max-dumps=1).
	c2 := dialTest(t, addr)
	expectErr(t, "tape open 2", c2.TapeOpen("nrst1a", wire.TapeRDWRMode), wire.NoErr)
	_, err = c2.MoverListen(wire.MoverModeRead, wire.AddrLocal)
	expectErr(t, "listen 2", err, wire.NoErr)
	expectErr(t, "connect 2", c2.DataConnect(wire.Addr{Type: wire.AddrLocal}), wire.NoErr)
	expectErr(t, "second backup at the limit", c2.DataStartBackup("lab", []wire.PVal{{Name: "SIZE", Value: "1000"}}), wire.NoMemErr)
	p, err := c2.WaitPost(5*time.Second, nil, wire.LogMessage)
	if err != nil || p.Body.(*wire.LogMessagePost).Entry != MsgSessionLimit {
		t.Fatalf("limit log %+v %v", p, err)
	}

	c.Conn().Close()
	for i := 0; len(srv.Sessions()) != 1; i++ {
		if i == 1000 {
			t.Fatalf("session not ended: %+v", srv.Sessions())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The slot was released with the session: the second backup runs now.
	expectErr(t, "second backup", c2.DataStartBackup("lab", []wire.PVal{{Name: "SIZE", Value: "1000"}}), wire.NoErr)
	res := dmaRun(t, c2, c2, nil)
	if res.dataHalt != wire.DataHaltSuccessful {
		t.Fatalf("second backup halted %d", res.dataHalt)
	}
	expectErr(t, "data stop", c2.DataStop(), wire.NoErr)
	expectErr(t, "mover stop", c2.MoverStop(), wire.NoErr)
	expectErr(t, "close", c2.TapeClose(), wire.NoErr)

	// The drive was released, and the written records are all there.
	expectErr(t, "drive released", c2.TapeOpen("nrst0a", wire.TapeReadMode), wire.NoErr)
	c2.TapeMTIO(wire.MTIOREW, 1)
	n := 0
	for {
		d, err := c2.TapeRead(8192)
		if err != nil {
			expectErr(t, "end of the written records", err, wire.EOMErr)
			break
		}
		for i, b := range d {
			if b != ndmptest.PatternByte(int64(n*8192+i)) {
				t.Fatalf("record %d byte %d differs", n, i)
			}
		}
		n++
	}
	if n != 16 {
		t.Fatalf("%d records on tape, want the 16 written", n)
	}
}

// TestNodeHistory relays node-style file history (FH_ADD_DIR then
// FH_ADD_NODE, batched) as dump produces it.
func TestNodeHistory(t *testing.T) {
	tape := &memTape{id: "MEM0", loaded: true}
	_, addr := labServer(t, tape)
	c := dialTest(t, addr)
	expectErr(t, "tape open", c.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	_, err := c.MoverListen(wire.MoverModeRead, wire.AddrLocal)
	expectErr(t, "listen", err, wire.NoErr)
	expectErr(t, "connect", c.DataConnect(wire.Addr{Type: wire.AddrLocal}), wire.NoErr)
	expectErr(t, "start", c.DataStartBackup("lab", []wire.PVal{{Name: "HIST", Value: "Y"}, {Name: "NODES", Value: "y"}, {Name: "FILES", Value: "600"}, {Name: "SIZE", Value: "1000"}}), wire.NoErr)
	res := dmaRun(t, c, c, nil)
	if res.dataHalt != wire.DataHaltSuccessful || len(res.dirs) != 600 || len(res.nodes) != 600 {
		t.Fatalf("halt %d, %d dirs, %d nodes", res.dataHalt, len(res.dirs), len(res.nodes))
	}
	if d := res.dirs[599]; d.Names[0].Name != "f599" || d.Parent != 2 || d.Node != 602 {
		t.Fatalf("dir %+v", d)
	}
	if n := res.nodes[1]; n.Node != 4 || n.FhInfo != 1024 || n.Stats[0].Fattr != 0o600 || n.Stats[0].FileType != 4 {
		t.Fatalf("node %+v", n)
	}
}

// gateEngine is the lab engine whose backup writes one record and then
// waits for the test to open the gate.
type gateEngine struct {
	ndmptest.LabEngine
	gate chan struct{}
}

func (g gateEngine) Backup(ctx context.Context, req *engines.BackupRequest) (*engines.BackupResult, error) {
	if _, err := req.Stream.Write(make([]byte, 65536)); err != nil {
		return nil, err
	}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &engines.BackupResult{}, nil
}

// TestBackupEndForPollingDMA drives the end of a three-way backup the way
// ndmjob's DMA does: it polls DATA_GET_STATE and MOVER_GET_STATE once at the
// start and again after each notification. Right after DATA_CONNECT the
// mover reports ACTIVE (not LISTEN), and the poll after NOTIFY_MOVER_HALTED
// finds DATA halted with NOTIFY_DATA_HALTED already sent before its reply
// (ndmjob sleeps 2 s at the end of a job when no halt notification arrives
// while it reads those states).
func TestBackupEndForPollingDMA(t *testing.T) {
	defer func(d time.Duration) { endHold = d }(endHold)
	endHold = time.Hour // only the poll ends the hold here
	tape := &memTape{id: "MEM0", loaded: true}
	gate := make(chan struct{})
	_, addr := startTestServer(t, Config{Devices: &memDevices{tapes: []*memTape{tape}}, Engines: []engines.Engine{gateEngine{gate: gate}}})
	tc := dialTest(t, addr) // tape/mover session
	dc := dialTest(t, addr) // data session
	expectErr(t, "tape open", tc.TapeOpen("nrst0a", wire.TapeRDWRMode), wire.NoErr)
	expectErr(t, "record size", tc.MoverSetRecordSize(65536), wire.NoErr)
	a, err := tc.MoverListen(wire.MoverModeRead, wire.AddrTCP)
	expectErr(t, "mover listen tcp", err, wire.NoErr)
	expectErr(t, "data connect", dc.DataConnect(a), wire.NoErr)
	expectErr(t, "start backup", dc.DataStartBackup("lab", nil), wire.NoErr)
	ds, err := dc.DataGetState()
	expectErr(t, "data get state", err, wire.NoErr)
	ms, err := tc.MoverGetState()
	expectErr(t, "mover get state", err, wire.NoErr)
	if ds.State != wire.DataStateActive || ms.State != wire.MoverStateActive {
		t.Fatalf("after start: data %d mover %d, want both ACTIVE", ds.State, ms.State)
	}
	close(gate)
	for moverHalted := false; !moverHalted; {
		select {
		case p := <-tc.Posts():
			_, moverHalted = p.Body.(*wire.NotifyMoverHaltedPost)
		case p := <-dc.Posts():
			if _, ok := p.Body.(*wire.NotifyDataHaltedPost); ok {
				t.Fatal("NOTIFY_DATA_HALTED before the DMA polled again")
			}
		case <-time.After(60 * time.Second):
			t.Fatal("mover did not halt")
		}
	}
	for len(dc.Posts()) > 0 {
		if _, ok := (<-dc.Posts()).Body.(*wire.NotifyDataHaltedPost); ok {
			t.Fatal("NOTIFY_DATA_HALTED before the DMA polled again")
		}
	}
	ds, err = dc.DataGetState()
	expectErr(t, "data get state", err, wire.NoErr)
	if ds.State != wire.DataStateHalted || ds.HaltReason != wire.DataHaltSuccessful {
		t.Fatalf("after the mover halted: data state %d halt %d, want HALTED/SUCCESSFUL", ds.State, ds.HaltReason)
	}
	for {
		select {
		case p := <-dc.Posts():
			if _, ok := p.Body.(*wire.NotifyDataHaltedPost); ok {
				return
			}
		default:
			t.Fatal("DATA_GET_STATE said HALTED before NOTIFY_DATA_HALTED arrived")
		}
	}
}
