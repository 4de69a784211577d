package ndmp_test

import "tapelab/ndmp"

// staticFS is the FileSystems the node would build from package volume.
type staticFS []ndmp.FSInfo

func (s staticFS) FileSystems() []ndmp.FSInfo { return s }

func ndmpConfigWithFS() ndmp.Config {
	return ndmp.Config{FileSystems: staticFS{{
		LogicalDevice: "/vs1/vol1", PhysicalDevice: "vol1", Type: "tapelab",
		TotalSize: 1 << 30, UsedSize: 300 << 20, AvailSize: 1<<30 - 300<<20, TotalInodes: 32768, UsedInodes: 1200, Status: "online",
	}}}
}
