package ndmp_test

import (
	"tapelab/engines"
	"tapelab/ndmp"
	"tapelab/ndmp/ndmptest"
)

// staticFS is the FileSystems the node would build from package volume.
type staticFS []ndmp.FSInfo

func (s staticFS) FileSystems() []ndmp.FSInfo { return s }

func ndmpConfigWithFS() ndmp.Config {
	return ndmp.Config{FileSystems: staticFS{{
		LogicalDevice: "/vs1/vol1", PhysicalDevice: "vol1", Type: "tapelab",
		TotalSize: 1 << 30, UsedSize: 300 << 20, AvailSize: 1<<30 - 300<<20, TotalInodes: 32768, UsedInodes: 1200, Status: "online",
	}}}
}

// labConfig adds the lab butype (a known byte pattern, see ndmptest).
func labConfig() ndmp.Config {
	c := ndmpConfigWithFS()
	c.Engines = []engines.Engine{ndmptest.LabEngine{}}
	return c
}
