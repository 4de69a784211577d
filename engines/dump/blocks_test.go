package dump_test

import (
	"errors"
	"io"
	"os"
	"syscall"

	"tapelab/volume"
)

func sysBlocks(st os.FileInfo) int64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Blocks
	}
	return 0
}

var ioEOF = io.EOF

func errorsIsExists(err error) bool { return errors.Is(err, volume.ErrVolumeExists) }
