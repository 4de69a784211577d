package dump

import (
	"fmt"

	"tapelab/engines/dump/format"
)

// Blocking factors a dump accepts (seed 001: 4 to 256 records of 1 KiB).
const (
	MinBlockingFactor = 4
	MaxBlockingFactor = 256
)

// ErrRecordTooSmall is the seed's "Tape record size is too small. Try a
// larger size." condition.
var ErrRecordTooSmall = fmt.Errorf("%s", MsgRecordTooSmall)

// CheckRecordSize checks the tape record size a restore reads with
// against the image's blocking factor (c_ntrec of its first record, the
// TS_TAPE header). A smaller record size fails with ErrRecordTooSmall;
// with exact set (a local restore, where the drive returns whole records)
// any other mismatch fails with "Tape record size should be X and not Y".
func CheckRecordSize(first []byte, recordSize int, exact bool) error {
	bo, err := format.DetectOrder(first)
	if err != nil {
		return fmt.Errorf("%s: %w", MsgMediaErrorRead, err)
	}
	ntrec := int(bo.Uint32(first[896:]))
	if ntrec <= 0 || ntrec > 1024 {
		return nil // not recorded (old format): nothing to check
	}
	want := ntrec * format.TPBSize
	switch {
	case recordSize < want:
		return ErrRecordTooSmall
	case exact && recordSize != want:
		return fmt.Errorf(MsgRecordSizeFmt, want, recordSize)
	}
	return nil
}
