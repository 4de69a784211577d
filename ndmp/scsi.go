package ndmp

import "tapelab/ndmp/wire"

func (s *Session) scsiOpen(req any) any {
	r := req.(*wire.DeviceOpenRequest)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scsi != nil {
		return &wire.ErrorReply{Error: wire.DeviceOpenedErr}
	}
	if s.srv.cfg.Devices == nil {
		return &wire.ErrorReply{Error: wire.NoDeviceErr}
	}
	dev, name, err := s.srv.cfg.Devices.Changer(r.Device)
	if err != nil {
		return &wire.ErrorReply{Error: wire.NoDeviceErr}
	}
	if !s.srv.claimChanger(s, name) {
		return &wire.ErrorReply{Error: wire.DeviceBusyErr}
	}
	s.scsi = &openSCSI{name: name, dev: dev}
	return &wire.ErrorReply{}
}

func (s *Session) scsiClose(any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scsi == nil {
		return &wire.ErrorReply{Error: wire.DevNotOpenErr}
	}
	s.srv.releaseChanger(s, s.scsi.name)
	s.scsi = nil
	return &wire.ErrorReply{}
}

func (s *Session) scsiGetState(any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scsi == nil {
		return &wire.SCSIGetStateReply{Error: wire.DevNotOpenErr}
	}
	return &wire.SCSIGetStateReply{}
}

func (s *Session) scsiResetDevice(any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scsi == nil {
		return &wire.ErrorReply{Error: wire.DevNotOpenErr}
	}
	return &wire.ErrorReply{}
}

func (s *Session) scsiExecuteCDB(req any) any {
	r := req.(*wire.ExecuteCDBRequest)
	s.mu.Lock()
	o := s.scsi
	s.mu.Unlock()
	if o == nil {
		return &wire.ExecuteCDBReply{Error: wire.DevNotOpenErr}
	}
	return executeCDB(o.dev, s.owner(), r)
}

// executeCDB runs one CDB. Per NDMP, a CHECK CONDITION is not an NDMP
// error: the status byte and the sense data travel in the reply.
func executeCDB(dev SCSIDevice, initiator string, r *wire.ExecuteCDBRequest) *wire.ExecuteCDBReply {
	if len(r.CDB) == 0 || len(r.CDB) > 16 || r.Flags&(wire.SCSIDataIn|wire.SCSIDataOut) == wire.SCSIDataIn|wire.SCSIDataOut {
		return &wire.ExecuteCDBReply{Error: wire.IllegalArgsErr}
	}
	var out []byte
	if r.Flags&wire.SCSIDataOut != 0 {
		out = r.Dataout
	}
	alloc := 0
	if r.Flags&wire.SCSIDataIn != 0 {
		alloc = int(r.DatainLen)
		if alloc > maxTapeRead {
			return &wire.ExecuteCDBReply{Error: wire.IllegalArgsErr}
		}
	}
	in, status, sense := dev.Execute(initiator, r.CDB, out, alloc)
	if len(in) > alloc {
		in = in[:alloc]
	}
	return &wire.ExecuteCDBReply{Status: status, DataoutLen: uint32(len(out)), Datain: in, ExtSense: sense}
}
