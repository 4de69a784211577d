package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"tapelab/dma"
)

// progress renders a running backup or restore: a bar with phase, bytes,
// rate and ETA on a terminal; one line per phase change otherwise (logs,
// CI), so output stays bounded.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	bar   *progressbar.ProgressBar
	phase string
	quiet bool
}

func newProgress(title string, quiet bool) *progress {
	p := &progress{w: os.Stderr, quiet: quiet}
	if quiet {
		return p
	}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(title),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionFullWidth(),
		)
	} else {
		fmt.Fprintf(p.w, "%s\n", title)
	}
	return p
}

func (p *progress) observer() dma.Observer {
	return dma.Observer{Progress: p.update}
}

func (p *progress) update(u dma.Progress) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		if u.Remain > 0 {
			p.bar.ChangeMax64(int64(u.Bytes + u.Remain))
		}
		if u.Phase != p.phase {
			p.bar.Describe(u.Phase)
			p.phase = u.Phase
		}
		_ = p.bar.Set64(int64(u.Bytes))
		if u.Finished {
			_ = p.bar.Finish()
			fmt.Fprintln(p.w)
		}
		return
	}
	if u.Phase != p.phase || u.Finished {
		p.phase = u.Phase
		rate := 0.0
		if s := u.Elapsed.Seconds(); s > 0 {
			rate = float64(u.Bytes) / s
		}
		eta := ""
		if u.Remain > 0 && rate > 0 {
			eta = fmt.Sprintf(", ETA %s", time.Duration(float64(u.Remain)/rate*float64(time.Second)).Round(time.Second))
		}
		fmt.Fprintf(p.w, "  %-24s %10s  %9s/s%s\n", u.Phase, human(int64(u.Bytes)), human(int64(rate)), eta)
	}
}
