package ndmp

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"tapelab/ndmp/wire"
)

// SessionInfo is what `tapelab ndmp status` and `probe` show about a session.
type SessionInfo struct {
	ID            int       `json:"id"`
	Remote        string    `json:"remote"`
	Local         string    `json:"local"`
	Started       time.Time `json:"started"`
	Authenticated bool      `json:"authenticated"`
	User          string    `json:"user,omitempty"`
	Requests      uint64    `json:"requests"`
	TapeDevice    string    `json:"tape_device,omitempty"`
	TapeMode      string    `json:"tape_mode,omitempty"`
	SCSIDevice    string    `json:"scsi_device,omitempty"`
	MoverState    string    `json:"mover_state"`
	MoverMode     string    `json:"mover_mode"`
	MoverBytes    uint64    `json:"mover_bytes_moved"`
	MoverRecord   uint32    `json:"mover_record_num"`
	RecordSize    uint32    `json:"mover_record_size"`
	MoverHalt     string    `json:"mover_halt_reason,omitempty"`
	MoverPause    string    `json:"mover_pause_reason,omitempty"`
	DataState     string    `json:"data_state"`
	DataOperation string    `json:"data_operation"`
	DataBytes     uint64    `json:"data_bytes_processed"`
	Butype        string    `json:"butype,omitempty"`
	DataPhase     string    `json:"data_phase,omitempty"`
	DataHalt      string    `json:"data_halt_reason,omitempty"`
	Trace         string    `json:"trace,omitempty"`
}

var (
	moverStates  = []string{"IDLE", "LISTEN", "ACTIVE", "PAUSED", "HALTED"}
	moverModes   = []string{"READ", "WRITE", "NOACTION"}
	moverPauses  = []string{"NA", "EOM", "EOF", "SEEK", "MEDIA_ERROR", "EOW"}
	moverHalts   = []string{"NA", "CONNECT_CLOSED", "ABORTED", "INTERNAL_ERROR", "CONNECT_ERROR"}
	dataStates   = []string{"IDLE", "ACTIVE", "HALTED", "LISTEN", "CONNECTED"}
	dataOps      = []string{"NOACTION", "BACKUP", "RECOVER", "RECOVER_FILEHIST"}
	dataHalts    = []string{"NA", "SUCCESSFUL", "ABORTED", "INTERNAL_ERROR", "CONNECT_ERROR"}
	tapeModeName = []string{"READ", "RDWR", "RAW"}
)

func name(list []string, i uint32) string {
	if int(i) < len(list) {
		return list[i]
	}
	return strconv.Itoa(int(i))
}

func (s *Session) info() SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := SessionInfo{
		ID: s.id, Remote: s.conn.RemoteAddr().String(), Local: s.conn.LocalAddr().String(),
		Started: s.started, Authenticated: s.authed, User: s.user, Requests: s.requests.Load(),
		MoverState: name(moverStates, uint32(s.mover.state)), MoverMode: name(moverModes, uint32(s.mover.mode)),
		MoverBytes: s.mover.bytesMoved, MoverRecord: s.mover.recordNum, RecordSize: s.mover.recordSize,
		DataState: name(dataStates, uint32(s.data.state)), DataOperation: name(dataOps, uint32(s.data.op)),
		DataBytes: s.data.bytes, Butype: s.data.butype, DataPhase: s.data.phase,
	}
	if s.mover.halt != wire.MoverHaltNA {
		in.MoverHalt = name(moverHalts, uint32(s.mover.halt))
	}
	if s.mover.pause != wire.MoverPauseNA {
		in.MoverPause = name(moverPauses, uint32(s.mover.pause))
	}
	if s.data.halt != wire.DataHaltNA {
		in.DataHalt = name(dataHalts, uint32(s.data.halt))
	}
	if s.tape != nil {
		in.TapeDevice, in.TapeMode = s.tape.device, name(tapeModeName, uint32(s.tape.mode))
	}
	if s.scsi != nil {
		in.SCSIDevice = s.scsi.name
	}
	if s.trace.Load() != nil {
		in.Trace = s.tracePath
	}
	return in
}

// Sessions lists the active sessions (`ndmp status`).
func (s *Server) Sessions() []SessionInfo {
	s.mu.Lock()
	list := make([]*Session, 0, len(s.sessions))
	for _, x := range s.sessions {
		list = append(list, x)
	}
	s.mu.Unlock()
	out := make([]SessionInfo, 0, len(list))
	for _, x := range list {
		out = append(out, x.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) session(id int) (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.sessions[id]
	if !ok {
		return nil, fmt.Errorf(MsgSessionNotActive, id)
	}
	return x, nil
}

// Probe returns the details of one session (`ndmp probe`).
func (s *Server) Probe(id int) (SessionInfo, error) {
	x, err := s.session(id)
	if err != nil {
		return SessionInfo{}, err
	}
	return x.info(), nil
}

// Kill ends one session; its drives and reservations are released.
func (s *Server) Kill(id int) error {
	x, err := s.session(id)
	if err != nil {
		return err
	}
	x.kill()
	return nil
}

// KillAll ends every session and returns how many there were.
func (s *Server) KillAll() int {
	s.mu.Lock()
	list := make([]*Session, 0, len(s.sessions))
	for _, x := range s.sessions {
		list = append(list, x)
	}
	s.mu.Unlock()
	for _, x := range list {
		x.kill()
	}
	return len(list)
}

// SetEnabled turns the service on or off (`ndmp on|off`); off refuses new
// connections and leaves running sessions alone, as ONTAP does.
func (s *Server) SetEnabled(on bool) {
	s.mu.Lock()
	s.settings.Enabled = on
	if err := s.saveSettingsLocked(); err != nil {
		s.cfg.Logf("ndmp: saving settings: %v", err)
	}
	s.mu.Unlock()
}

// Settings returns the current options (`ndmp show`).
func (s *Server) Settings() Settings { return s.currentSettings() }

// Modify changes one option by name (`ndmp modify -name value`).
func (s *Server) Modify(option, value string) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.settings
	defer func() {
		if err == nil {
			s.settings = st
			err = s.saveSettingsLocked()
		}
	}()
	b := func(dst *bool) error {
		v, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("ndmp modify %s: %q is not true/false", option, value)
		}
		*dst = v
		return nil
	}
	n := func(dst *int, max int) error {
		v, err := strconv.Atoi(value)
		if err != nil || v < 1 || v > max {
			return fmt.Errorf("ndmp modify %s: %q is not a number between 1 and %d", option, value, max)
		}
		*dst = v
		return nil
	}
	switch option {
	case "enabled":
		return b(&st.Enabled)
	case "plaintext":
		return b(&st.PlaintextAuth)
	case "challenge":
		return b(&st.ChallengeAuth)
	case "preauth-query":
		return b(&st.PreauthQuery)
	case "max-sessions":
		return n(&st.MaxSessions, 1024)
	case "max-dumps":
		return n(&st.MaxDataOps, 1024)
	case "max-active-drives":
		return n(&st.MaxActiveDrives, 1024)
	}
	return fmt.Errorf("ndmp modify: unknown option %q (known: %v)", option, SettingNames)
}

// VersionInfo is `ndmp version`.
func (s *Server) VersionInfo() string {
	return fmt.Sprintf("NDMP version %d (tapelab NDMP server %s)", wire.Version, Version)
}

// Trace turns the message trace of session id on or off and returns the
// trace file (`ndmp log start|stop`).
func (s *Server) Trace(id int, on bool) (string, error) {
	x, err := s.session(id)
	if err != nil {
		return "", err
	}
	return x.setTrace(on)
}
