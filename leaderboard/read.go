package leaderboard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hallu-eval/hallu/internal/pool"
	"github.com/hallu-eval/hallu/results"
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

// lineBatch is a run of consecutive lines, the pool's unit of work: one
// item per batch rather than per line keeps the pool's per-item cost (a few
// channel operations) a rounding error beside decoding two thousand lines.
type lineBatch struct {
	data  []byte
	ends  []int // end offset of each line in data
	lines []int // its line number in the stream
	obs   []Observation
	// err is the first bad line's; it is lines[len(obs)].
	err error
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
	return a.ReadJSONLContext(context.Background(), r, name)
}

// ReadJSONLContext is ReadJSONL that stops reading when ctx is done; the
// records counted by then stay counted, and the error wraps ctx's.
func (a *Aggregator) ReadJSONLContext(ctx context.Context, r io.Reader, name string) error {
	return a.readBatches(ctx, &splitter{br: bufio.NewReaderSize(r, 256<<10), name: name})
}

// readBatches decodes s's batches on all CPUs and observes them in order.
func (a *Aggregator) readBatches(ctx context.Context, s *splitter) error {
	// The default window, two batches per worker, bounds memory to a few
	// megabytes per CPU whatever the stream's size.
	cfg := pool.Config{Workers: runtime.GOMAXPROCS(0), Ordered: true, InFlight: pool.Cancel}
	err := pool.Run(ctx, cfg, s.next, decodeBatch, func(res pool.Result[*lineBatch, struct{}]) error {
		b := res.In
		defer s.release(b)
		if res.Err != nil {
			if errors.Is(res.Err, pool.ErrNotStarted) {
				return nil // Run returns ctx's error
			}
			// A panic in the decoder: obs holds the lines decoded before
			// it, so the line that panicked is named like a bad one.
			b.err = res.Err
		}
		for i := range b.obs {
			if err := a.Observe(b.obs[i]); err != nil {
				return fmt.Errorf("%s line %d: %w", s.name, b.lines[i], err)
			}
		}
		if b.err != nil {
			return fmt.Errorf("%s line %d: %w", s.name, b.lines[len(b.obs)], b.err)
		}
		return nil
	})
	if err != nil && err == ctx.Err() {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return err
}

func decodeBatch(_ context.Context, b *lineBatch) (struct{}, error) {
	b.decode()
	return struct{}{}, nil
}

// batchPool recycles batches once counted: a batch's buffer is a megabyte,
// and a million records pass through a thousand of them.
var batchPool = sync.Pool{New: func() any {
	return &lineBatch{data: make([]byte, 0, batchBytes+64<<10)}
}}

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

// splitter cuts a stream into batches of non-blank lines: the pool's
// source, called from one goroutine at a time.
type splitter struct {
	br   *bufio.Reader
	name string
	line int    // lines read so far, blank ones included
	long []byte // a line longer than br's buffer, being assembled
	err  error  // what ended the stream (io.EOF included), once it has

	// live counts batches handed out and not yet released, peak its
	// highest value: what the pool's window bounds.
	live, peak atomic.Int64
}

func (s *splitter) getBatch() *lineBatch {
	if n := s.live.Add(1); n > s.peak.Load() {
		s.peak.Store(n) // only next, one call at a time, raises live
	}
	return batchPool.Get().(*lineBatch)
}

func (s *splitter) release(b *lineBatch) {
	s.live.Add(-1)
	b.release()
}

// next returns the next batch, or the error that ended the stream once the
// last batch has been returned. It gives up between lines when ctx is done.
func (s *splitter) next(ctx context.Context) (*lineBatch, error) {
	if s.err != nil {
		return nil, s.err
	}
	done := ctx.Done()
	b := s.getBatch()
	for {
		frag, err := s.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.long = append(s.long, frag...)
			continue
		}
		if s.long != nil {
			frag = append(s.long, frag...)
			s.long = nil
		}
		if len(frag) > 0 {
			s.line++
			if t := bytes.TrimSpace(frag); len(t) > 0 {
				b.data = append(b.data, t...)
				b.ends = append(b.ends, len(b.data))
				b.lines = append(b.lines, s.line)
				if len(b.data) >= batchBytes || len(b.ends) >= batchLines {
					return b, nil
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("%s: %w", s.name, err)
			}
			s.err = err
			if len(b.ends) > 0 {
				return b, nil // the lines before the end are worked on first
			}
			s.release(b)
			return nil, err
		}
		select {
		case <-done:
			s.release(b)
			return nil, ctx.Err()
		default:
		}
	}
}
