package ndmp

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// memTape is an in-memory TapeDrive with the NDMP v4 positioning rules, for
// unit tests of the services (the end-to-end tests in tests/ndmp use the
// real VTL).
type memTape struct {
	mu       sync.Mutex
	id       string
	objs     []memObj
	pos      int
	loaded   bool
	wp       bool
	capacity int // bytes; 0 = unlimited
	ew       int // early warning when used >= ew
	used     int
	owner    string
}

type memObj struct {
	fm   bool
	data []byte
}

func (t *memTape) ID() string { return t.id }
func (t *memTape) Close() error {
	t.mu.Lock()
	t.owner = ""
	t.mu.Unlock()
	return nil
}

func (t *memTape) ReadRecord(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loaded {
		return 0, ErrNotReady
	}
	if t.pos >= len(t.objs) {
		return 0, ErrEOD
	}
	o := t.objs[t.pos]
	if o.fm {
		return 0, ErrFilemark
	}
	t.pos++
	return copy(p, o.data), nil
}

func (t *memTape) truncate() {
	for _, o := range t.objs[t.pos:] {
		t.used -= len(o.data)
	}
	t.objs = t.objs[:t.pos]
}

func (t *memTape) WriteRecord(p []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loaded {
		return ErrNotReady
	}
	if t.wp {
		return ErrWriteProtected
	}
	t.truncate()
	if t.capacity > 0 && t.used+len(p) > t.capacity {
		return ErrEndOfMedium
	}
	t.objs = append(t.objs, memObj{data: append([]byte(nil), p...)})
	t.pos++
	t.used += len(p)
	if t.ew > 0 && t.used >= t.ew {
		return ErrEarlyWarning
	}
	return nil
}

func (t *memTape) WriteFilemarks(n int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loaded {
		return ErrNotReady
	}
	if t.wp {
		return ErrWriteProtected
	}
	t.truncate()
	for i := 0; i < n; i++ {
		t.objs = append(t.objs, memObj{fm: true})
		t.pos++
	}
	return nil
}

func (t *memTape) SpaceRecords(n int) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loaded {
		return 0, ErrNotReady
	}
	moved := 0
	for ; n > 0 && moved < n; moved++ {
		if t.pos >= len(t.objs) {
			return moved, ErrEOD
		}
		if t.objs[t.pos].fm {
			return moved, ErrFilemark
		}
		t.pos++
	}
	for ; n < 0 && moved < -n; moved++ {
		if t.pos == 0 {
			return moved, ErrBOT
		}
		if t.objs[t.pos-1].fm {
			return moved, ErrFilemark
		}
		t.pos--
	}
	return moved, nil
}

func (t *memTape) SpaceFilemarks(n int) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loaded {
		return 0, ErrNotReady
	}
	crossed := 0
	for n > 0 && crossed < n {
		if t.pos >= len(t.objs) {
			return crossed, ErrEOD
		}
		if t.objs[t.pos].fm {
			crossed++
		}
		t.pos++
	}
	for n < 0 && crossed < -n {
		if t.pos == 0 {
			return crossed, ErrBOT
		}
		t.pos--
		if t.objs[t.pos].fm {
			crossed++
		}
	}
	return crossed, nil
}

func (t *memTape) Rewind() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loaded {
		return ErrNotReady
	}
	t.pos = 0
	return nil
}

func (t *memTape) Unload() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pos, t.loaded = 0, false
	return nil
}

func (t *memTape) State() TapeState {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := TapeState{Loaded: t.loaded, WriteProtected: t.wp}
	for i := 0; i < t.pos; i++ {
		if t.objs[i].fm {
			st.File++
			st.Block = 0
		} else {
			st.Block++
		}
	}
	if t.capacity > 0 {
		st.HasCapacity, st.Total, st.Remaining = true, uint64(t.capacity), uint64(t.capacity-t.used)
	}
	return st
}

// memDevices serves memTapes by name (nrst0a, rst0a, st0 all name drive 0)
// and fake changers.
type memDevices struct {
	tapes    []*memTape
	changers map[string]SCSIDevice
}

func (d *memDevices) Tapes() []DeviceInfo {
	var out []DeviceInfo
	for i := range d.tapes {
		out = append(out, DeviceInfo{Model: "MEM TAPE", Names: []string{fmt.Sprintf("nrst%da", i), fmt.Sprintf("rst%da", i)}, Serial: d.tapes[i].id})
	}
	return out
}

func (d *memDevices) Changers() []DeviceInfo {
	var out []DeviceInfo
	for n := range d.changers {
		out = append(out, DeviceInfo{Model: "FAKE CHANGER", Names: []string{n}, Changer: true})
	}
	return out
}

func (d *memDevices) OpenTape(name, owner string) (TapeDrive, error) {
	for i, t := range d.tapes {
		if name == fmt.Sprintf("nrst%da", i) || name == fmt.Sprintf("rst%da", i) || name == t.id {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.owner != "" && t.owner != owner {
				return nil, ErrBusy
			}
			t.owner = owner
			return t, nil
		}
	}
	return nil, ErrNoDevice
}

func (d *memDevices) Changer(name string) (SCSIDevice, string, error) {
	if c, ok := d.changers[name]; ok {
		return c, name, nil
	}
	return nil, "", errors.New("no such changer")
}

// fakeChanger answers INQUIRY and fails everything else with ILLEGAL
// REQUEST sense, recording the initiator.
type fakeChanger struct {
	mu        sync.Mutex
	initiator string
}

func (f *fakeChanger) Execute(initiator string, cdb, dataOut []byte, allocLen int) ([]byte, byte, []byte) {
	f.mu.Lock()
	f.initiator = initiator
	f.mu.Unlock()
	if cdb[0] == 0x12 {
		inq := make([]byte, 36)
		inq[0] = 8 // medium changer
		copy(inq[8:], "FAKE    CHANGER         0001")
		return inq[:min(len(inq), allocLen)], 0, nil
	}
	sense := make([]byte, 18)
	sense[0], sense[2], sense[7], sense[12] = 0x70, 5, 10, 0x20
	return nil, 2, sense
}

func waitABit() { time.Sleep(10 * time.Millisecond) }
