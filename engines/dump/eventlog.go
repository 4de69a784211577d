package dump

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// EventLog is the backup event log (seed 001): lines
//
//	type timestamp identifier event (event_info)
//
// with type dmp (dump), rst (restore) or log (Start_Logging/Stop_Logging),
// written to DIR/backup and rotated weekly, keeping backup.0 .. backup.5.
type EventLog struct {
	mu      sync.Mutex
	dir     string
	now     func() time.Time
	enabled bool
}

// RotateAfter is the age of the current log file that triggers a rotation.
const RotateAfter = 7 * 24 * time.Hour

// MaxRotated is the number of rotated files kept (backup.0 .. backup.5).
const MaxRotated = 6

// NewEventLog logs to dir; now is the clock (nil = time.Now).
func NewEventLog(dir string, now func() time.Time) *EventLog {
	if now == nil {
		now = time.Now
	}
	return &EventLog{dir: dir, now: now, enabled: true}
}

func stamp(t time.Time) string { return t.Format("Mon Jan _2 15:04:05 MST 2006") }

// SetEnabled turns logging on or off (option backup.log.enable), logging
// Start_Logging / Stop_Logging.
func (l *EventLog) SetEnabled(on bool) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if on == l.enabled {
		return nil
	}
	if on {
		l.enabled = true
		return l.write(fmt.Sprintf("log %s Start_Logging", stamp(l.now())))
	}
	err := l.write(fmt.Sprintf("log %s Stop_Logging", stamp(l.now())))
	l.enabled = false
	return err
}

// Enabled reports whether events are written.
func (l *EventLog) Enabled() bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enabled
}

// Event writes one line: kind "dmp" or "rst", the identifier (dump path
// and id, or restore destination), the event and its information.
func (l *EventLog) Event(kind, ident, event, info string) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.enabled || l.dir == "" {
		return nil
	}
	return l.write(fmt.Sprintf("%s %s %s %s (%s)", kind, stamp(l.now()), ident, event, info))
}

func (l *EventLog) write(line string) error {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return err
	}
	cur := filepath.Join(l.dir, "backup")
	if err := l.rotate(cur); err != nil {
		return err
	}
	f, err := os.OpenFile(cur, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strings.ReplaceAll(line, "\n", " ") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rotate moves backup to backup.0 (and older files up to backup.5) when
// the current file was started more than RotateAfter ago. The start time
// is kept in backup.start (file times are not under our clock).
func (l *EventLog) rotate(cur string) error {
	startFile := filepath.Join(l.dir, "backup.start")
	now := l.now()
	b, err := os.ReadFile(startFile)
	var start time.Time
	if err == nil {
		start, err = time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	}
	if err != nil {
		return os.WriteFile(startFile, []byte(now.UTC().Format(time.RFC3339)), 0o644)
	}
	if now.Sub(start) < RotateAfter {
		return nil
	}
	os.Remove(filepath.Join(l.dir, fmt.Sprintf("backup.%d", MaxRotated-1)))
	for i := MaxRotated - 2; i >= 0; i-- {
		os.Rename(filepath.Join(l.dir, fmt.Sprintf("backup.%d", i)), filepath.Join(l.dir, fmt.Sprintf("backup.%d", i+1)))
	}
	if _, err := os.Stat(cur); err == nil {
		if err := os.Rename(cur, filepath.Join(l.dir, "backup.0")); err != nil {
			return err
		}
	}
	return os.WriteFile(startFile, []byte(now.UTC().Format(time.RFC3339)), 0o644)
}
