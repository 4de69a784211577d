package vtl

import "tapelab/vtl/scsi"

// unitAttention tracks SPC unit attention conditions per initiator. It is
// off until a transport that expects them (the iSCSI target) turns it on:
// then every new initiator first gets POWER ON, RESET (29/00), and medium
// changes post NOT READY TO READY CHANGE (28/00) to every initiator seen.
// INQUIRY, REPORT LUNS and REQUEST SENSE neither report nor clear them.
type unitAttention struct {
	enabled bool
	seen    map[string]bool
	pending map[string][]uint16
}

func (u *unitAttention) check(initiator string, op byte) *scsi.Sense {
	if !u.enabled {
		return nil
	}
	switch op {
	case scsi.OpInquiry, scsi.OpReportLuns, scsi.OpRequestSense:
		return nil
	}
	if u.seen == nil {
		u.seen, u.pending = map[string]bool{}, map[string][]uint16{}
	}
	if !u.seen[initiator] {
		u.seen[initiator] = true
		delete(u.pending, initiator)
		return scsi.NewSense(scsi.KeyUnitAttention, scsi.ASCPowerOnReset)
	}
	if p := u.pending[initiator]; len(p) > 0 {
		u.pending[initiator] = p[1:]
		return scsi.NewSense(scsi.KeyUnitAttention, p[0])
	}
	return nil
}

// post queues a unit attention for every initiator seen so far.
func (u *unitAttention) post(asc uint16) {
	if !u.enabled {
		return
	}
	for ini := range u.seen {
		p := u.pending[ini]
		if len(p) == 0 || p[len(p)-1] != asc {
			u.pending[ini] = append(p, asc)
		}
	}
}

// reset makes every initiator see POWER ON, RESET again.
func (u *unitAttention) reset() { u.seen, u.pending = nil, nil }

// SetUnitAttentions turns unit attention reporting on or off for the
// drive's SCSI interface (the Go API never sees them).
func (d *Drive) SetUnitAttentions(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ua.enabled = on
	d.ua.reset()
}

// SetUnitAttentions turns unit attention reporting on or off for the changer.
func (c *Changer) SetUnitAttentions(on bool) {
	c.lib.inv.mu.Lock()
	defer c.lib.inv.mu.Unlock()
	c.ua.enabled = on
	c.ua.reset()
}
