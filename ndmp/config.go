package ndmp

import (
	"io"

	"tapelab/ndmp/wire"
)

func (s *Session) configGetHostInfo(any) any {
	c := s.srv.cfg
	return &wire.ConfigGetHostInfoReply{Hostname: c.Hostname, OSType: c.OSType, OSVers: c.OSVersion, HostID: c.HostID}
}

func (s *Session) authTypes() []wire.AuthType {
	set := s.srv.currentSettings()
	var a []wire.AuthType
	if set.PlaintextAuth {
		a = append(a, wire.AuthText)
	}
	if set.ChallengeAuth {
		a = append(a, wire.AuthMD5)
	}
	return a
}

func (s *Session) configGetServerInfo(any) any {
	return &wire.ConfigGetServerInfoReply{Vendor: "tapelab", Product: "tapelab NDMP server", Revision: Version, AuthTypes: s.authTypes()}
}

func (s *Session) configGetConnectionType(any) any {
	return &wire.ConfigGetConnectionTypeReply{AddrTypes: []wire.AddrType{wire.AddrLocal, wire.AddrTCP}}
}

// configGetAuthAttr hands out a fresh 64-byte challenge for MD5; the
// latest one is what CONNECT_CLIENT_AUTH is checked against.
func (s *Session) configGetAuthAttr(req any) any {
	r := req.(*wire.ConfigGetAuthAttrRequest)
	switch r.AuthType {
	case wire.AuthNone, wire.AuthText:
		return &wire.ConfigGetAuthAttrReply{ServerAttr: wire.AuthAttr{Type: r.AuthType}}
	case wire.AuthMD5:
		var ch [64]byte
		if _, err := io.ReadFull(s.srv.cfg.Rand, ch[:]); err != nil {
			return &wire.ConfigGetAuthAttrReply{Error: wire.UndefinedErr}
		}
		s.mu.Lock()
		s.challenge = &ch
		s.mu.Unlock()
		return &wire.ConfigGetAuthAttrReply{ServerAttr: wire.AuthAttr{Type: wire.AuthMD5, Challenge: ch}}
	}
	return &wire.ConfigGetAuthAttrReply{Error: wire.IllegalArgsErr}
}

func (s *Session) configGetButypeInfo(any) any {
	rep := &wire.ConfigGetButypeInfoReply{}
	for _, e := range s.srv.Butypes() {
		bi := wire.ButypeInfo{Name: e.Name(), Attrs: e.Attributes()}
		for _, env := range e.DefaultEnv() {
			bi.DefaultEnv = append(bi.DefaultEnv, wire.PVal{Name: env.Name, Value: env.Value})
		}
		rep.Butypes = append(rep.Butypes, bi)
	}
	return rep
}

func (s *Session) configGetFSInfo(any) any {
	rep := &wire.ConfigGetFSInfoReply{}
	if s.srv.cfg.FileSystems == nil {
		return rep
	}
	for _, fs := range s.srv.cfg.FileSystems.FileSystems() {
		typ := fs.Type
		if typ == "" {
			typ = "tapelab"
		}
		status := fs.Status
		if status == "" {
			status = "online"
		}
		rep.FS = append(rep.FS, wire.FSInfo{
			Type: typ, LogicalDevice: fs.LogicalDevice, PhysicalDevice: fs.PhysicalDevice,
			TotalSize: fs.TotalSize, UsedSize: fs.UsedSize, AvailSize: fs.AvailSize,
			TotalInodes: fs.TotalInodes, UsedInodes: fs.UsedInodes, Status: status,
		})
	}
	return rep
}

func deviceInfos(list []DeviceInfo, tape bool) []wire.DeviceInfo {
	var out []wire.DeviceInfo
	for _, d := range list {
		di := wire.DeviceInfo{Model: d.Model}
		for _, n := range d.Names {
			c := wire.DeviceCapability{Device: n}
			if tape {
				c.Attr = wire.TapeAttrRewind | wire.TapeAttrUnload
				c.Capability = append(c.Capability, wire.PVal{Name: "EXECUTE_CDB", Value: "t"})
			}
			if d.Serial != "" {
				c.Capability = append(c.Capability, wire.PVal{Name: "SERIAL_NUMBER", Value: d.Serial})
			}
			di.Caplist = append(di.Caplist, c)
		}
		out = append(out, di)
	}
	return out
}

func (s *Session) configGetTapeInfo(any) any {
	if s.srv.cfg.Devices == nil {
		return &wire.ConfigGetDeviceInfoReply{}
	}
	return &wire.ConfigGetDeviceInfoReply{Devices: deviceInfos(s.srv.cfg.Devices.Tapes(), true)}
}

func (s *Session) configGetSCSIInfo(any) any {
	if s.srv.cfg.Devices == nil {
		return &wire.ConfigGetDeviceInfoReply{}
	}
	return &wire.ConfigGetDeviceInfoReply{Devices: deviceInfos(s.srv.cfg.Devices.Changers(), false)}
}

func (s *Session) configGetExtList(any) any {
	return &wire.ConfigGetExtListReply{Classes: s.srv.cfg.Extensions}
}

// configSetExtList accepts the DMA's choice of extension classes once per
// session; each must be offered, in an offered version, and not repeated.
func (s *Session) configSetExtList(req any) any {
	r := req.(*wire.ConfigSetExtListRequest)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.extSet {
		return &wire.ErrorReply{Error: wire.IllegalStateErr}
	}
	seen := map[uint16]bool{}
	for _, cv := range r.Selected {
		if seen[cv.ClassID] {
			return &wire.ErrorReply{Error: wire.ExtDuplClasses}
		}
		seen[cv.ClassID] = true
		var offered *wire.ClassList
		for i := range s.srv.cfg.Extensions {
			if s.srv.cfg.Extensions[i].ClassID == cv.ClassID {
				offered = &s.srv.cfg.Extensions[i]
			}
		}
		if offered == nil {
			return &wire.ErrorReply{Error: wire.ClassNotSupported}
		}
		ok := false
		for _, v := range offered.Versions {
			ok = ok || v == cv.Version
		}
		if !ok {
			return &wire.ErrorReply{Error: wire.VersionNotSupported}
		}
	}
	s.extSet = true
	s.extensions = r.Selected
	return &wire.ErrorReply{}
}
