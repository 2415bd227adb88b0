package leaderboard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/hallu-eval/hallu/results"
	"io"
	"runtime"
	"slices"
	"sync"
)

// decodeObservation is results.Decode followed by FromRecord, without
// building the parts of the record the report ignores. The observation's
// strings alias b (see results.DecodeBrief); Observe copies what it keeps.
func decodeObservation(b []byte) (Observation, error) {
	var r results.Brief
	if err := results.DecodeBrief(b, &r); err != nil {
		return Observation{}, err
	}
	return FromBrief(&r), nil
}

// lineBatch is a run of consecutive lines decoded by one worker.
type lineBatch struct {
	data  []byte
	ends  []int // end offset of each line in data
	lines []int // its line number in the stream
	obs   []Observation
	err   error
	done  chan struct{}
}

const (
	batchBytes = 1 << 20
	batchLines = 2048
)

// ReadJSONL reads a stream of hallu records (JSONL) into the aggregator. Lines
// are decoded on all CPUs and counted in stream order, so the first bad line
// is the one reported, named by stream name and line number. Nothing from a
// stream that fails is kept back: the records before the bad line have been
// counted.
func (a *Aggregator) ReadJSONL(r io.Reader, name string) error {
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *lineBatch, workers)
	order := make(chan *lineBatch, 2*workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range work {
				b.decode()
				close(b.done)
			}
		})
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(work)
		readErr <- splitLines(r, stop, func(b *lineBatch) bool {
			select {
			case order <- b:
			case <-stop:
				return false
			}
			work <- b
			return true
		})
	}()

	var err error
	for b := range order {
		<-b.done
		if err != nil {
			continue // drain so the reader and workers finish
		}
		for i := range b.obs {
			if oerr := a.Observe(b.obs[i]); oerr != nil {
				err = fmt.Errorf("%s line %d: %w", name, b.lines[i], oerr)
				break
			}
		}
		if err == nil && b.err != nil {
			err = fmt.Errorf("%s line %d: %w", name, b.lines[len(b.obs)], b.err)
		}
		if err != nil {
			close(stop)
		}
		b.release()
	}
	wg.Wait()
	if rerr := <-readErr; err == nil && rerr != nil {
		err = fmt.Errorf("%s: %w", name, rerr)
	}
	return err
}

// batchPool recycles batches once counted: a batch's buffer is a megabyte,
// and a million records pass through a thousand of them.
var batchPool = sync.Pool{New: func() any {
	return &lineBatch{data: make([]byte, 0, batchBytes+64<<10)}
}}

func getBatch() *lineBatch {
	b := batchPool.Get().(*lineBatch)
	b.done = make(chan struct{})
	return b
}

// release returns a counted batch to the pool. Nothing may refer to its
// data afterwards: the observations' strings alias it until Observe has
// copied what it keeps.
func (b *lineBatch) release() {
	if cap(b.data) > 4*batchBytes {
		return // grown by a huge line: let it go
	}
	clear(b.obs) // drop the strings for the GC
	*b = lineBatch{data: b.data[:0], ends: b.ends[:0], lines: b.lines[:0], obs: b.obs[:0]}
	batchPool.Put(b)
}

// decode turns the batch's lines into observations, stopping at the first
// bad one.
func (b *lineBatch) decode() {
	b.obs = slices.Grow(b.obs[:0], len(b.ends))
	start := 0
	for _, end := range b.ends {
		o, err := decodeObservation(b.data[start:end])
		if err != nil {
			b.err = err
			return
		}
		b.obs = append(b.obs, o)
		start = end
	}
}

// splitLines cuts r into batches of non-blank lines and hands each to emit,
// until emit returns false or r ends.
func splitLines(r io.Reader, stop <-chan struct{}, emit func(*lineBatch) bool) error {
	br := bufio.NewReaderSize(r, 256<<10)
	b := getBatch()
	flush := func() bool {
		if len(b.ends) == 0 {
			return true
		}
		ok := emit(b)
		b = getBatch()
		return ok
	}
	line := 0
	var long []byte // a line longer than br's buffer, assembled
	for {
		frag, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, frag...)
			continue
		}
		if long != nil {
			frag = append(long, frag...)
			long = nil
		}
		if len(frag) > 0 {
			line++
			if t := bytes.TrimSpace(frag); len(t) > 0 {
				b.data = append(b.data, t...)
				b.ends = append(b.ends, len(b.data))
				b.lines = append(b.lines, line)
				if len(b.data) >= batchBytes || len(b.ends) >= batchLines {
					if !flush() {
						return nil
					}
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return err
			}
			flush()
			return nil
		}
		select {
		case <-stop:
			return nil
		default:
		}
	}
}
