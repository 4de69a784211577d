package localfs

import (
	"os"

	"golang.org/x/sys/unix"
)

// Sync makes the restored tree durable: syncfs(2) of the file system
// holding Root (restores end with it, as a restore into a volume ends
// with Volume.Sync).
func (t Target) Sync() error {
	f, err := os.Open(t.Root)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
