package eval

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// DefaultProgressInterval is how often a non-terminal progress writer gets
// a log line.
const DefaultProgressInterval = 5 * time.Second

// progress reports a run's advance. Its methods are safe for concurrent use.
type progress interface {
	record(failed bool) // a record was written
	skip()              // a document was already done
	finish()
}

// newProgress picks a bar for a terminal, periodic log lines for anything
// else (a CI log, a file), and nothing for nil.
// label names the stage in what is shown ("generate", "score").
func newProgress(w io.Writer, label string, total int, interval time.Duration) progress {
	if w == nil {
		return nopProgress{}
	}
	if interval <= 0 {
		interval = DefaultProgressInterval
	}
	if IsTerminal(w) {
		return newBarProgress(w, label, total)
	}
	return newLogProgress(w, label, total, interval)
}

// IsTerminal reports whether w is a terminal (a progress bar makes sense
// there, not in a log file).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

type nopProgress struct{}

func (nopProgress) record(bool) {}
func (nopProgress) skip()       {}
func (nopProgress) finish()     {}

// counts is the state both reporters show.
type counts struct {
	mu                    sync.Mutex
	label                 string
	done, failed, skipped int
	start                 time.Time
}

func (c *counts) add(failed bool) (done, nfailed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if failed {
		c.failed++
	} else {
		c.done++
	}
	return c.done, c.failed
}

// line renders "done, failed, rate" for this run's requests (skipped
// documents cost nothing, so they are not in the rate).
func (c *counts) line(total int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.done + c.failed
	el := time.Since(c.start)
	rate := 0.0
	if el > 0 {
		rate = float64(n) / el.Seconds()
	}
	s := fmt.Sprintf("%s: %d done, %d failed", c.label, c.done, c.failed)
	if c.skipped > 0 {
		s += fmt.Sprintf(", %d already done", c.skipped)
	}
	if total > 0 {
		s += fmt.Sprintf(" of %d", total)
	}
	s += fmt.Sprintf(", %.2f records/s", rate)
	if left := total - n - c.skipped; total > 0 && rate > 0 && left > 0 {
		s += fmt.Sprintf(", ETA %s", time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second))
	}
	return s
}

type logProgress struct {
	counts
	w     io.Writer
	total int
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	// printed is set once a periodic line went out.
	printed atomic.Bool
}

func newLogProgress(w io.Writer, label string, total int, interval time.Duration) *logProgress {
	p := &logProgress{w: w, total: total, stop: make(chan struct{})}
	p.label = label
	p.start = time.Now()
	p.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fmt.Fprintln(p.w, p.line(p.total))
				p.printed.Store(true)
			case <-p.stop:
				return
			}
		}
	})
	return p
}

func (p *logProgress) record(failed bool) { p.add(failed) }

func (p *logProgress) skip() {
	p.mu.Lock()
	p.skipped++
	p.mu.Unlock()
}

func (p *logProgress) finish() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		// A run too short for a periodic line needs no final one either:
		// the caller sums it up.
		if p.printed.Load() {
			fmt.Fprintln(p.w, p.line(p.total))
		}
	})
}

type barProgress struct {
	counts
	bar *progressbar.ProgressBar
}

func newBarProgress(w io.Writer, label string, total int) *barProgress {
	max := total
	if max <= 0 {
		max = -1 // unknown: spinner
	}
	p := &barProgress{bar: progressbar.NewOptions(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("records"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionFullWidth(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)}
	p.label = label
	p.start = time.Now()
	return p
}

func (p *barProgress) record(failed bool) {
	_, nfailed := p.add(failed)
	if failed {
		p.bar.Describe(fmt.Sprintf("%s (%d failed)", p.label, nfailed))
	}
	p.bar.Add(1)
}

func (p *barProgress) skip() {
	p.mu.Lock()
	p.skipped++
	p.mu.Unlock()
	p.bar.Add(1)
}

func (p *barProgress) finish() {
	p.bar.Finish()
}
