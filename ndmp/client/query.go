package client

import (
	"fmt"
	"io"
	"strings"

	"tapelab/ndmp/wire"
)

// Query prints what `ndmjob -q` prints about an agent (without ndmjob's
// `QR "..."` wrapping): host and server info, auth and connection types,
// backup types, file systems, tape devices and changers. label names the
// agent ("Data Agent", "Tape Agent", "NDMP Agent"), host the address shown.
func Query(w io.Writer, c *Client, label, host string) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("")
	p("%s %s NDMPv%d", label, host, wire.Version)
	hi, err := c.GetHostInfo()
	if err != nil {
		return err
	}
	p("  Host info")
	p("    hostname   %s", hi.Hostname)
	p("    os_type    %s", hi.OSType)
	p("    os_vers    %s", hi.OSVers)
	p("    hostid     %s", hi.HostID)
	p("")
	si, err := c.GetServerInfo()
	if err != nil {
		return err
	}
	p("  Server info")
	p("    vendor     %s", si.Vendor)
	p("    product    %s", si.Product)
	p("    revision   %s", si.Revision)
	p("    auths      (%d) %s", len(si.AuthTypes), joinNames(si.AuthTypes))
	p("")
	ct, err := c.GetConnectionType()
	if err != nil {
		return err
	}
	p("  Connection types")
	p("    addr_types (%d) %s", len(ct.AddrTypes), joinNames(ct.AddrTypes))
	p("")
	bi, err := c.GetButypeInfo()
	if err != nil {
		return err
	}
	if len(bi.Butypes) == 0 {
		p("  Empty backup type info")
	}
	for _, b := range bi.Butypes {
		p("  Backup type info of %s format", b.Name)
		p("    attrs      0x%x", b.Attrs)
		for _, e := range b.DefaultEnv {
			p("    set        %s=%s", e.Name, e.Value)
		}
		p("")
	}
	fi, err := c.GetFSInfo()
	if err != nil {
		return err
	}
	if len(fi.FS) == 0 {
		p("  Empty fs info")
	}
	for _, f := range fi.FS {
		p("  File system %s", f.LogicalDevice)
		p("    physdev    %s", f.PhysicalDevice)
		p("    unsupported 0x%x", f.Unsupported)
		p("    type       %s", f.Type)
		p("    status     %s", f.Status)
		p("    space      %d total, %d used, %d avail", f.TotalSize, f.UsedSize, f.AvailSize)
		p("    inodes     %d total, %d used", f.TotalInodes, f.UsedInodes)
		if len(f.Env) == 0 {
			p("    empty default env")
		}
		for _, e := range f.Env {
			p("    set        %s=%s", e.Name, e.Value)
		}
		p("")
	}
	ti, err := c.GetTapeInfo()
	if err != nil {
		return err
	}
	printDevices(p, "tape", ti.Devices)
	sc, err := c.GetSCSIInfo()
	if err != nil {
		return err
	}
	printDevices(p, "scsi", sc.Devices)
	return nil
}

func printDevices(p func(string, ...any), kind string, devs []wire.DeviceInfo) {
	if len(devs) == 0 {
		p("  Empty %s info", kind)
	}
	for _, d := range devs {
		p("  %s %s", kind, d.Model)
		for _, c := range d.Caplist {
			p("    device     %s", c.Device)
			if kind == "tape" {
				p("      attr       0x%x", c.Attr)
				if c.Attr&wire.TapeAttrRewind != 0 {
					p("        REWIND")
				}
				if c.Attr&wire.TapeAttrUnload != 0 {
					p("        UNLOAD")
				}
				if c.Attr&wire.TapeAttrRaw != 0 {
					p("        RAW")
				}
			}
			for _, e := range c.Capability {
				p("      set        %s=%s", e.Name, e.Value)
			}
		}
		p("")
	}
}

func joinNames[T fmt.Stringer](list []T) string {
	var b strings.Builder
	for _, x := range list {
		b.WriteString(" ")
		b.WriteString(x.String())
	}
	return b.String()
}
