package dump_test

import (
	"io"
	"os"
	"syscall"
)

func sysBlocks(st os.FileInfo) int64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Blocks
	}
	return 0
}

var ioEOF = io.EOF
