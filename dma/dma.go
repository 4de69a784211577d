package dma

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"tapelab/ndmp/client"
	"tapelab/ndmp/wire"
)

// Server is one NDMP server and its credentials.
type Server struct {
	Addr     string // HOST:PORT
	User     string
	Password string
	// Text uses plaintext authentication instead of the MD5 challenge.
	Text bool
}

// Connect dials s, negotiates NDMP v4 and authenticates (MD5 challenge
// unless s.Text).
func Connect(s Server) (*client.Client, error) {
	c, err := client.Dial(s.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect to NDMP server %s: %w", s.Addr, err)
	}
	if err := c.Connect(s.User, s.Password, s.Text); err != nil {
		c.Close()
		return nil, fmt.Errorf("NDMP server %s: authentication as %q: %w", s.Addr, s.User, err)
	}
	return c, nil
}

// Progress is what a running operation reports, about twice a second.
type Progress struct {
	Phase    string        `json:"phase"`
	Bytes    uint64        `json:"bytes"`
	Remain   uint64        `json:"remaining_bytes,omitempty"` // estimate, 0 = unknown
	Elapsed  time.Duration `json:"elapsed"`
	Finished bool          `json:"finished"`
}

// Observer receives progress and the server's log messages; both may be nil.
type Observer struct {
	Progress func(Progress)
	Log      func(text string)
}

// IndexEntry is one file of a backup's file history.
type IndexEntry struct {
	Path   string `json:"path"` // relative to the backed-up path, starting with "/"
	Node   uint64 `json:"node"`
	FhInfo uint64 `json:"fh_info"`
	Dir    bool   `json:"dir,omitempty"`
	Size   uint64 `json:"size"`
}

// Job names the servers and the tape of one operation.
type Job struct {
	Data Server
	// Tape is the server whose drive and mover are used; nil = Data (one
	// session, LOCAL data connection). Otherwise a three-way operation over
	// a TCP data connection.
	Tape   *Server
	Device string // tape device name, e.g. nrst0a
	// Library, when set, is the changer the DMA loads cartridges with: a
	// backup spans cartridges at end of medium, a recover loads each part.
	Library    *Library
	Butype     string // dump
	Env        []wire.PVal
	RecordSize uint32 // bytes per tape record; default 64 KiB
	Observer   Observer
}

// BackupResult describes a finished backup.
type BackupResult struct {
	FileNumber int           `json:"tape_file"` // tape file (counted from 0) the image starts at
	Device     string        `json:"device"`    // the tape device written
	Parts      []Part        `json:"parts"`     // the cartridges holding the image, in order
	RecordSize uint32        `json:"record_size"`
	Bytes      uint64        `json:"bytes"`
	Records    uint32        `json:"records"`
	Env        []wire.PVal   `json:"env"`
	Index      []IndexEntry  `json:"-"`
	Duration   time.Duration `json:"duration"`
	Logs       []string      `json:"logs,omitempty"`
}

// RecoverResult describes a finished recover.
type RecoverResult struct {
	BytesRead uint64        `json:"bytes_read"` // bytes the mover read from tape
	Recovered []string      `json:"recovered"`
	Failed    []string      `json:"failed,omitempty"`
	Duration  time.Duration `json:"duration"`
	Logs      []string      `json:"logs,omitempty"`
}

const defaultRecordSize = 64 << 10

// ndmpFileDir is NDMP4_FILE_DIR in ndmp4_file_type.
const ndmpFileDir wire.FileType = 0

// session holds the one or two control connections of a job.
type session struct {
	data, tape *client.Client
	recovering bool // the mover reads tape (MOVER_LISTEN in WRITE mode)
	ch         *changer
	obsLog     func(string)
	// onPause, when set, handles NOTIFY_MOVER_PAUSED first (cartridge
	// changes); handled false leaves the post to the default handling.
	onPause func(*wire.NotifyMoverPausedPost) (handled bool, err error)
}

func open(job *Job) (*session, error) {
	d, err := Connect(job.Data)
	if err != nil {
		return nil, err
	}
	s := &session{data: d, tape: d}
	if job.Tape != nil {
		t, err := Connect(*job.Tape)
		if err != nil {
			d.Close()
			return nil, err
		}
		s.tape = t
	}
	return s, nil
}

func (s *session) close() {
	if s.ch != nil {
		s.ch.close()
	}
	s.data.Close()
	if s.tape != s.data {
		s.tape.Close()
	}
}

func (s *session) threeWay() bool { return s.tape != s.data }

// connect sets up the mover and the data connection in the given mode.
func (s *session) connect(mode wire.MoverMode, recordSize uint32, windowLen uint64) error {
	if err := s.tape.MoverSetRecordSize(recordSize); err != nil {
		return fmt.Errorf("MOVER_SET_RECORD_SIZE %d: %w", recordSize, err)
	}
	if err := s.tape.MoverSetWindow(0, windowLen); err != nil {
		return fmt.Errorf("MOVER_SET_WINDOW: %w", err)
	}
	at := wire.AddrLocal
	if s.threeWay() {
		at = wire.AddrTCP
	}
	addr, err := s.tape.MoverListen(mode, at)
	if err != nil {
		return fmt.Errorf("MOVER_LISTEN: %w", err)
	}
	if err := s.data.DataConnect(addr); err != nil {
		return fmt.Errorf("DATA_CONNECT: %w", err)
	}
	return nil
}

// openTape opens the drive and returns the number of tape files before end
// of data (where a new image goes), leaving the tape positioned there.
func (s *session) openTape(device string, mode wire.TapeOpenMode, countFiles bool) (int, error) {
	if err := s.tape.TapeOpen(device, mode); err != nil {
		return 0, fmt.Errorf("TAPE_OPEN %s: %w", device, err)
	}
	if _, err := s.tape.TapeMTIO(wire.MTIOREW, 1); err != nil {
		return 0, fmt.Errorf("rewind %s: %w", device, err)
	}
	if !countFiles {
		return 0, nil
	}
	files := 0
	for {
		resid, err := s.tape.TapeMTIO(wire.MTIOFSF, 1)
		if err != nil || resid != 0 {
			break
		}
		files++
	}
	// FSF past the last filemark stops at end of data: the append point.
	// Put the tape right after the last filemark (the start of file N).
	if _, err := s.tape.TapeMTIO(wire.MTIOREW, 1); err != nil {
		return 0, fmt.Errorf("rewind %s: %w", device, err)
	}
	if files > 0 {
		if resid, err := s.tape.TapeMTIO(wire.MTIOFSF, uint32(files)); err != nil || resid != 0 {
			return 0, fmt.Errorf("position %s at tape file %d: residual %d: %v", device, files, resid, err)
		}
	}
	return files, nil
}

// run handles posts until both the data and the mover halted, answering
// NOTIFY_DATA_READ with MOVER_READ and polling progress.
type runState struct {
	dataHalt  wire.DataHaltReason
	moverHalt wire.MoverHaltReason
	logs      []string
	dirs      []wire.Dir
	nodes     []wire.Node
	files     []wire.LogFilePost
	pauseErr  error
}

func (s *session) run(ctx context.Context, obs Observer, started time.Time) (*runState, error) {
	st := &runState{}
	var mu sync.Mutex
	phase := "starting"
	stopPoll := make(chan struct{})
	var pollWG sync.WaitGroup
	if obs.Progress != nil {
		pollWG.Add(1)
		go func() {
			defer pollWG.Done()
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopPoll:
					return
				case <-t.C:
					ds, err := s.data.DataGetState()
					if err != nil {
						continue
					}
					mu.Lock()
					p := Progress{Phase: phase, Bytes: ds.BytesProcessed, Elapsed: time.Since(started)}
					mu.Unlock()
					if ds.Unsupported&wire.DataStateEstBytesRemainUnsupported == 0 {
						p.Remain = ds.EstBytesRemain
					}
					obs.Progress(p)
				}
			}
		}()
	}
	defer func() {
		close(stopPoll)
		pollWG.Wait()
	}()
	dataDone, moverDone := false, false
	handle := func(p client.Post) {
		switch b := p.Body.(type) {
		case *wire.NotifyDataHaltedPost:
			st.dataHalt, dataDone = b.Reason, true
		case *wire.NotifyMoverHaltedPost:
			st.moverHalt, moverDone = b.Reason, true
		case *wire.NotifyDataReadPost:
			if err := s.tape.MoverRead(b.Offset, b.Length); err != nil {
				// The data agent waits for these bytes: without them the
				// operation can only hang, so stop it.
				st.logs = append(st.logs, fmt.Sprintf("MOVER_READ %d+%d: %v", b.Offset, b.Length, err))
				if st.pauseErr == nil {
					st.pauseErr = fmt.Errorf("MOVER_READ %d+%d refused: %w", b.Offset, b.Length, err)
				}
				_ = s.data.DataAbort()
				_ = s.tape.MoverAbort()
			}
		case *wire.NotifyMoverPausedPost:
			if s.onPause != nil {
				if handled, err := s.onPause(b); handled {
					if err != nil && st.pauseErr == nil {
						st.pauseErr = err
						_ = s.data.DataAbort()
						_ = s.tape.MoverAbort()
					}
					return
				}
			}
			if b.Reason == wire.MoverPauseEOF && s.recovering {
				// The filemark after the image: the stream is over. Closing
				// the mover ends the data connection, which the data agent
				// reads as the end of the image (what ndmjob does too).
				if err := s.tape.MoverClose(); err != nil {
					// The data agent may have finished first, halting the
					// mover (connection closed) before our close arrived.
					if ms, serr := s.tape.MoverGetState(); serr != nil || ms.State == wire.MoverStatePaused {
						st.pauseErr = fmt.Errorf("MOVER_CLOSE at the end of the image: %w", err)
					}
				}
				return
			}
			// A single cartridge: end of medium or a seek outside the window
			// cannot be served; stop the operation cleanly.
			st.pauseErr = fmt.Errorf("mover paused (%s) at byte %d: no further cartridge to load without a media changer (use a library to span cartridges)", pauseName(b.Reason), b.SeekPosition)
			_ = s.tape.MoverAbort()
		case *wire.FHAddDirPost:
			st.dirs = append(st.dirs, b.Dirs...)
		case *wire.FHAddNodePost:
			st.nodes = append(st.nodes, b.Nodes...)
		case *wire.LogFilePost:
			st.files = append(st.files, *b)
		case *wire.LogMessagePost:
			text := strings.TrimRight(b.Entry, "\n")
			st.logs = append(st.logs, text)
			if i := strings.Index(text, "Phase "); i >= 0 {
				mu.Lock()
				phase = strings.TrimSpace(text[i:])
				mu.Unlock()
			}
			if obs.Log != nil {
				obs.Log(text)
			}
		}
	}
	// One session: both agents post on the same connection; read it once.
	tapePosts := s.tape.Posts()
	if !s.threeWay() {
		tapePosts = nil
	}
	for !dataDone || !moverDone {
		select {
		case <-ctx.Done():
			_ = s.data.DataAbort()
			_ = s.tape.MoverAbort()
			return st, ctx.Err()
		case p, ok := <-s.data.Posts():
			if !ok {
				return st, errors.New("the NDMP connection to the data server closed during the operation")
			}
			handle(p)
		case p, ok := <-tapePosts:
			if !ok {
				return st, errors.New("the NDMP connection to the tape server closed during the operation")
			}
			handle(p)
		}
	}
	return st, nil
}

func pauseName(r wire.MoverPauseReason) string {
	switch r {
	case wire.MoverPauseEOM:
		return "end of medium"
	case wire.MoverPauseEOF:
		return "end of file"
	case wire.MoverPauseSeek:
		return "seek outside the window"
	case wire.MoverPauseMediaError:
		return "media error"
	case wire.MoverPauseEOW:
		return "end of window"
	}
	return fmt.Sprintf("reason %d", r)
}

// haltError explains a halt that was not successful, with the server's last
// error log lines (which carry the engine's messages).
func haltError(what string, st *runState) error {
	if st.pauseErr != nil {
		return fmt.Errorf("%s: %w", what, st.pauseErr)
	}
	if st.dataHalt == wire.DataHaltSuccessful {
		return nil
	}
	var last []string
	for _, l := range st.logs {
		if strings.Contains(strings.ToLower(l), "error") || strings.Contains(l, "ERROR") || strings.Contains(l, "failed") {
			last = append(last, l)
		}
	}
	if len(last) == 0 && len(st.logs) > 0 {
		last = st.logs[len(st.logs)-1:]
	}
	reason := map[wire.DataHaltReason]string{wire.DataHaltAborted: "aborted", wire.DataHaltInternalError: "internal error", wire.DataHaltConnectError: "data connection error"}[st.dataHalt]
	if reason == "" {
		reason = fmt.Sprintf("halt reason %d", st.dataHalt)
	}
	if len(last) > 0 {
		return fmt.Errorf("%s failed (%s): %s", what, reason, strings.Join(last, "; "))
	}
	return fmt.Errorf("%s failed (%s)", what, reason)
}

// Backup runs one backup to the tape, appending after the images already
// on it, and ends the image with a filemark. With job.Library the DMA
// keeps the cartridge in the drive (or loads the first full slot's), and
// at end of medium finishes the cartridge, loads the next full slot's and
// continues: the result lists every part.
func Backup(ctx context.Context, job Job) (*BackupResult, error) {
	started := time.Now()
	if job.RecordSize == 0 {
		job.RecordSize = defaultRecordSize
	}
	s, err := open(&job)
	if err != nil {
		return nil, err
	}
	defer s.close()
	s.obsLog = job.Observer.Log
	device := job.Device
	var first Part
	used := map[string]bool{}
	if job.Library != nil {
		if s.ch, err = openChanger(s.tape, job.Library, job.Device); err != nil {
			return nil, err
		}
		device = s.ch.device
		if first, err = s.appendCartridge(used, true, job.RecordSize); err != nil {
			return nil, fmt.Errorf("media changer %s: %w", s.ch.name, err)
		}
	} else if first.TapeFile, err = s.openTape(device, wire.TapeRDWRMode, true); err != nil {
		return nil, err
	}
	defer func() { _ = s.tape.TapeClose() }()
	fileNo := first.TapeFile
	parts := []Part{first}
	if s.ch != nil {
		s.onPause = func(b *wire.NotifyMoverPausedPost) (bool, error) {
			if b.Reason != wire.MoverPauseEOM {
				return false, nil
			}
			return true, s.spanBackup(b.SeekPosition, &parts, used, job.RecordSize)
		}
	}
	if err := s.connect(wire.MoverModeRead, job.RecordSize, ^uint64(0)); err != nil {
		return nil, err
	}
	if err := s.data.DataStartBackup(job.Butype, job.Env); err != nil {
		_ = s.tape.MoverAbort()
		return nil, fmt.Errorf("DATA_START_BACKUP %s: %w", job.Butype, err)
	}
	st, err := s.run(ctx, job.Observer, started)
	if err != nil {
		return nil, err
	}
	res := &BackupResult{FileNumber: fileNo, Device: device, Parts: parts, RecordSize: job.RecordSize, Logs: st.logs}
	if len(parts) > 0 {
		res.FileNumber = parts[0].TapeFile // the first cartridge may have had no room
	}
	if err := haltError("backup", st); err != nil {
		_ = s.data.DataStop()
		_ = s.tape.MoverStop()
		return res, err
	}
	if env, err := s.data.DataGetEnv(); err == nil {
		res.Env = env
	}
	if ds, err := s.data.DataGetState(); err == nil {
		res.Bytes = ds.BytesProcessed
	}
	if ms, err := s.tape.MoverGetState(); err == nil {
		res.Records = ms.RecordNum
		if last := &parts[len(parts)-1]; ms.BytesMoved >= last.Offset {
			last.Bytes = ms.BytesMoved - last.Offset
		}
	}
	res.Parts = parts
	if err := s.data.DataStop(); err != nil {
		return res, fmt.Errorf("DATA_STOP: %w", err)
	}
	if err := s.tape.MoverStop(); err != nil {
		return res, fmt.Errorf("MOVER_STOP: %w", err)
	}
	if _, err := s.tape.TapeMTIO(wire.MTIOEOF, 1); err != nil {
		return res, fmt.Errorf("write filemark after the image: %w", err)
	}
	res.Index = buildIndex(st.dirs, st.nodes)
	res.Duration = time.Since(started)
	if job.Observer.Progress != nil {
		job.Observer.Progress(Progress{Phase: "done", Bytes: res.Bytes, Elapsed: res.Duration, Finished: true})
	}
	return res, nil
}

// Recover restores from the image at tape file fileNumber of the cartridge
// in job.Device. names empty restores everything (into the FILESYSTEM
// given in job.Env).
func Recover(ctx context.Context, job Job, fileNumber int, names []wire.Name) (*RecoverResult, error) {
	return RecoverImage(ctx, job, []Part{{TapeFile: fileNumber}}, names)
}

// RecoverImage restores from an image made of parts (Backup's result).
// With job.Library the DMA loads each part's cartridge in turn (and the
// first one, when the drive holds another); without, the drive must hold
// the only part's cartridge. The mover window covers one part at a time:
// when the data agent reads past it (the end of a part, or a direct
// access offset on another part) the mover pauses and the DMA loads the
// part that holds the offset, positions it and moves the window.
func RecoverImage(ctx context.Context, job Job, parts []Part, names []wire.Name) (*RecoverResult, error) {
	started := time.Now()
	if job.RecordSize == 0 {
		job.RecordSize = defaultRecordSize
	}
	if err := checkParts(parts, job.RecordSize); err != nil {
		return nil, fmt.Errorf("image on %s: %w", DescribeParts(parts), err)
	}
	if len(parts) > 1 && job.Library == nil {
		return nil, fmt.Errorf("the image spans %d cartridges, %s: restore it through the media changer (a library) so each can be loaded in turn", len(parts), DescribeParts(parts))
	}
	s, err := open(&job)
	if err != nil {
		return nil, err
	}
	defer s.close()
	s.obsLog = job.Observer.Log
	device := job.Device
	if job.Library != nil {
		if s.ch, err = openChanger(s.tape, job.Library, job.Device); err != nil {
			return nil, err
		}
		device = s.ch.device
		if parts[0].Cartridge == "" {
			return nil, errors.New("the image's cartridge is not known: restore it with the tape device, not the library")
		}
		if _, err := s.ch.loadBarcode(parts[0].Cartridge); err != nil {
			return nil, err
		}
	}
	if _, err := s.openTape(device, wire.TapeReadMode, false); err != nil {
		return nil, err
	}
	defer func() { _ = s.tape.TapeClose() }()
	if fn := parts[0].TapeFile; fn > 0 {
		if resid, err := s.tape.TapeMTIO(wire.MTIOFSF, uint32(fn)); err != nil || resid != 0 {
			return nil, fmt.Errorf("position %s at tape file %d: residual %d: %v", device, fn, resid, err)
		}
	}
	s.recovering = true
	cur := 0
	if len(parts) > 1 {
		s.onPause = func(b *wire.NotifyMoverPausedPost) (bool, error) {
			if b.Reason != wire.MoverPauseSeek && b.Reason != wire.MoverPauseEOF {
				return false, nil
			}
			i := partAt(parts, b.SeekPosition)
			if b.Reason == wire.MoverPauseEOF && (i == cur || i < 0) {
				if cur == len(parts)-1 {
					return false, nil // the end of the last part: the default closes the mover
				}
				return true, fmt.Errorf("filemark on cartridge %s at image byte %d, before the end of part %d (byte %d)", parts[cur].Cartridge, b.SeekPosition, cur+1, parts[cur].Offset+parts[cur].Bytes)
			}
			if i < 0 {
				return true, fmt.Errorf("image byte %d is in no part of the image (%s)", b.SeekPosition, DescribeParts(parts))
			}
			return true, s.switchPart(parts, i, &cur)
		}
	}
	_, wlen := window(parts, 0)
	if err := s.connect(wire.MoverModeWrite, job.RecordSize, wlen); err != nil {
		return nil, err
	}
	if err := s.data.DataStartRecover(job.Butype, job.Env, names); err != nil {
		_ = s.tape.MoverAbort()
		return nil, fmt.Errorf("DATA_START_RECOVER %s: %w", job.Butype, err)
	}
	st, err := s.run(ctx, job.Observer, started)
	if err != nil {
		return nil, err
	}
	res := &RecoverResult{Logs: st.logs}
	for _, f := range st.files {
		if f.RecoveryStatus == wire.RecoverySuccessful {
			res.Recovered = append(res.Recovered, f.Name)
		} else {
			res.Failed = append(res.Failed, fmt.Sprintf("%s (recovery status %d)", f.Name, f.RecoveryStatus))
		}
	}
	if ms, err := s.tape.MoverGetState(); err == nil {
		res.BytesRead = ms.BytesMoved
	}
	herr := haltError("restore", st)
	_ = s.data.DataStop()
	_ = s.tape.MoverStop()
	res.Duration = time.Since(started)
	if herr != nil {
		return res, herr
	}
	if job.Observer.Progress != nil {
		job.Observer.Progress(Progress{Phase: "done", Bytes: res.BytesRead, Elapsed: res.Duration, Finished: true})
	}
	return res, nil
}

// buildIndex turns node-based file history into paths. Directory entries
// name (parent, node) pairs; the root is the directory that is nobody's
// child. Hard links get one entry per name.
func buildIndex(dirs []wire.Dir, nodes []wire.Node) []IndexEntry {
	type link struct {
		parent uint64
		name   string
	}
	names := map[uint64][]link{}
	isChild := map[uint64]bool{}
	parents := map[uint64]bool{}
	for _, d := range dirs {
		if len(d.Names) == 0 {
			continue
		}
		n := d.Names[0].Name
		if n == "." || n == ".." {
			continue
		}
		names[d.Node] = append(names[d.Node], link{d.Parent, n})
		isChild[d.Node] = true
		parents[d.Parent] = true
	}
	var resolve func(node uint64, depth int) (string, bool)
	resolve = func(node uint64, depth int) (string, bool) {
		if depth > 4096 {
			return "", false
		}
		ls := names[node]
		if len(ls) == 0 {
			return "", parents[node] && !isChild[node] // the root
		}
		p, ok := resolve(ls[0].parent, depth+1)
		return p + "/" + ls[0].name, ok
	}
	var out []IndexEntry
	for _, n := range nodes {
		var st wire.FileStat
		if len(n.Stats) > 0 {
			st = n.Stats[0]
		}
		for _, l := range names[n.Node] {
			dir, ok := resolve(l.parent, 0)
			if !ok {
				continue
			}
			out = append(out, IndexEntry{Path: path.Clean(dir + "/" + l.name), Node: n.Node, FhInfo: n.FhInfo, Dir: st.FileType == ndmpFileDir, Size: st.Size})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
