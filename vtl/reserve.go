package vtl

import (
	"hash/fnv"

	"tapelab/vtl/scsi"
)

// Persistent reservation types (SPC-4 table 167).
const (
	prWriteExclusive      = 1
	prExclusiveAccess     = 3
	prWriteExclusiveRO    = 5
	prExclusiveAccessRO   = 6
	prWriteExclusiveAllRg = 7
	prExclusiveAccessAll  = 8
)

// keyFor derives the persistent reservation key the node uses for an owner.
func keyFor(owner string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(owner))
	return h.Sum64() | 1
}

// cmdClass says what a command does, for reservation checks.
type cmdClass struct {
	write bool // modifies the medium
	media bool // touches the medium at all (read, position)
	free  bool // allowed under any reservation (INQUIRY, REQUEST SENSE, REPORT LUNS, PR IN/OUT, RELEASE)
}

// conflict reports ErrReservationConflict when initiator may not run a
// command of class c; d.mu held.
func (d *Drive) conflict(initiator string, c cmdClass) error {
	return resvConflict(initiator, c, d.owner, d.resv, d.prHolder, d.prType, d.prKeys)
}

func resvConflict(initiator string, c cmdClass, _, resv, prHolder string, prType byte, keys map[string]uint64) error {
	if c.free {
		return nil
	}
	// A Go API owner keeps other Go API users out; SCSI initiators are kept
	// out only by SCSI-level reservations (tape.reservations scsi/persistent).
	if resv != "" && resv != initiator {
		return ErrReservationConflict
	}
	if prHolder == "" || prHolder == initiator {
		return nil
	}
	_, registered := keys[initiator]
	switch prType {
	case prWriteExclusive:
		if c.write {
			return ErrReservationConflict
		}
	case prExclusiveAccess:
		return ErrReservationConflict
	case prWriteExclusiveRO, prWriteExclusiveAllRg:
		if c.write && !registered {
			return ErrReservationConflict
		}
	case prExclusiveAccessRO, prExclusiveAccessAll:
		if !registered {
			return ErrReservationConflict
		}
	}
	return nil
}

// persistentReserveIn answers PERSISTENT RESERVE IN; d.mu held.
func (d *Drive) persistentReserveIn(cdb []byte) ([]byte, *scsi.Sense) {
	return prIn(cdb, d.prGen, d.prKeys, d.prHolder, d.prType)
}

func prIn(cdb []byte, gen uint32, keys map[string]uint64, holder string, typ byte) ([]byte, *scsi.Sense) {
	switch cdb[1] & 0x1f {
	case 0: // READ KEYS
		b := make([]byte, 8)
		scsi.Put32(b, gen)
		for _, k := range sortedKeys(keys) {
			kb := make([]byte, 8)
			scsi.Put64(kb, k)
			b = append(b, kb...)
		}
		scsi.Put32(b[4:], uint32(len(b)-8))
		return b, nil
	case 1: // READ RESERVATION
		b := make([]byte, 8)
		scsi.Put32(b, gen)
		if holder != "" {
			r := make([]byte, 16)
			scsi.Put64(r, keys[holder])
			r[13] = typ & 0xf
			b = append(b, r...)
		}
		scsi.Put32(b[4:], uint32(len(b)-8))
		return b, nil
	case 2: // REPORT CAPABILITIES
		b := make([]byte, 8)
		scsi.Put16(b, 8)
		b[3] = 0x80                                 // TMV
		b[4], b[5] = 0x80|0x40|0x20|0x08|0x02, 0x01 // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX; EX_AC_AR
		return b, nil
	}
	return nil, scsi.InvalidField(true, 1, 4)
}

func sortedKeys(m map[string]uint64) []uint64 {
	out := make([]uint64, 0, len(m))
	for _, k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// persistentReserveOut runs PERSISTENT RESERVE OUT for initiator; d.mu held.
func (d *Drive) persistentReserveOut(initiator string, cdb, param []byte) (status byte, s *scsi.Sense) {
	_, ownerKey := d.prKeys[d.owner]
	status, s = prOut(initiator, cdb, param, &d.prGen, d.prKeys, &d.prHolder, &d.prType)
	if _, still := d.prKeys[d.owner]; d.owner != "" && ownerKey && !still && initiator != d.owner {
		d.preempted = true // the Go owner's registration was preempted or cleared
	}
	return status, s
}

func prOut(initiator string, cdb, param []byte, gen *uint32, keys map[string]uint64, holder *string, typ *byte) (byte, *scsi.Sense) {
	if len(param) < 24 {
		return scsi.StatusCheckCondition, scsi.NewSense(scsi.KeyIllegalRequest, scsi.ASCParamListLengthError)
	}
	key, sakey := scsi.Be64(param), scsi.Be64(param[8:])
	cur, registered := keys[initiator]
	sa := cdb[1] & 0x1f
	t := cdb[2] & 0xf
	if sa != 0 && sa != 6 && (!registered || cur != key) {
		return scsi.StatusReservationConflict, nil
	}
	switch sa {
	case 0, 6: // REGISTER, REGISTER AND IGNORE EXISTING KEY
		if sa == 0 && registered && cur != key {
			return scsi.StatusReservationConflict, nil
		}
		if sa == 0 && !registered && key != 0 {
			return scsi.StatusReservationConflict, nil
		}
		if sakey == 0 {
			delete(keys, initiator)
			if *holder == initiator {
				*holder, *typ = "", 0
			}
		} else {
			keys[initiator] = sakey
		}
		*gen++
	case 1: // RESERVE
		if *holder != "" && *holder != initiator {
			return scsi.StatusReservationConflict, nil
		}
		switch t {
		case prWriteExclusive, prExclusiveAccess, prWriteExclusiveRO, prExclusiveAccessRO, prWriteExclusiveAllRg, prExclusiveAccessAll:
		default:
			return scsi.StatusCheckCondition, scsi.InvalidField(true, 2, 3)
		}
		if *holder == initiator && *typ != t {
			return scsi.StatusReservationConflict, nil
		}
		*holder, *typ = initiator, t
	case 2: // RELEASE
		if *holder == initiator {
			*holder, *typ = "", 0
		}
	case 3: // CLEAR
		for k := range keys {
			delete(keys, k)
		}
		*holder, *typ = "", 0
		*gen++
	case 4, 5: // PREEMPT, PREEMPT AND ABORT
		for ini, k := range keys {
			if k == sakey && ini != initiator {
				delete(keys, ini)
				if *holder == ini {
					*holder, *typ = initiator, t
				}
			}
		}
		*gen++
	default:
		return scsi.StatusCheckCondition, scsi.InvalidField(true, 1, 4)
	}
	return scsi.StatusGood, nil
}
