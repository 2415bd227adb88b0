package serve

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hallu-eval/hallu/scorers"
)

// errQueueFull is returned by submit when the pairs would take the queue
// past its bound; the handler answers 429.
var errQueueFull = errors.New("queue full")

// job is one request's pairs on their way through the queue.
type job struct {
	results []scorers.Result
	left    atomic.Int64
	done    chan struct{}
	// gone is set when the client stopped waiting, so that its pairs still
	// queued are dropped instead of scored for nobody.
	gone atomic.Bool
}

// item is one pair waiting for a batch.
type item struct {
	pair scorers.Pair
	size int // bytes of source and summary: a cheap stand-in for token length
	at   time.Time
	job  *job
	idx  int
}

// batcher gathers the pairs of concurrent requests into batches for the
// scorer. A batch leaves when it is full or when its oldest pair has waited
// batchWait; the oldest pair always rides in the next batch (so nobody
// starves), and the rest of the batch is filled with the waiting pairs
// nearest to it in length, because an encoder's cost per batch follows its
// longest sequence.
type batcher struct {
	maxQueue, maxBatch int
	wait               time.Duration
	score              func(context.Context, []scorers.Pair) ([]scorers.Result, error)
	m                  *metrics

	mu      sync.Mutex
	pending []*item
	// wake holds one token: a push or a leftover after a take hands it to
	// one sleeping worker, which passes it on if work remains.
	wake chan struct{}
	// rate is a moving average of pairs scored per second, for Retry-After.
	rate float64
}

func newBatcher(maxQueue, maxBatch int, wait time.Duration, m *metrics) *batcher {
	return &batcher{maxQueue: maxQueue, maxBatch: maxBatch, wait: wait, m: m, wake: make(chan struct{}, 1)}
}

// queued is the number of pairs waiting.
func (b *batcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// submit queues pairs as one job, or refuses them all with errQueueFull:
// a request is answered whole or not at all.
func (b *batcher) submit(pairs []scorers.Pair) (*job, error) {
	j := &job{results: make([]scorers.Result, len(pairs)), done: make(chan struct{})}
	j.left.Store(int64(len(pairs)))
	if len(pairs) == 0 {
		close(j.done)
		return j, nil
	}
	now := time.Now()
	b.mu.Lock()
	if len(b.pending)+len(pairs) > b.maxQueue {
		b.mu.Unlock()
		return nil, errQueueFull
	}
	for i, p := range pairs {
		b.pending = append(b.pending, &item{pair: p, size: len(p.Source) + len(p.Summary), at: now, job: j, idx: i})
	}
	depth := len(b.pending)
	b.mu.Unlock()
	b.m.queueDepth.Store(int64(depth))
	b.signal()
	return j, nil
}

func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// wait blocks until every pair of j is scored or ctx ends; in the latter
// case the job's queued pairs are dropped.
func (j *job) wait(ctx context.Context) ([]scorers.Result, error) {
	select {
	case <-j.done:
		return j.results, nil
	case <-ctx.Done():
		j.gone.Store(true)
		return nil, ctx.Err()
	}
}

// retryAfter estimates how long until the queue has room for n more pairs,
// in whole seconds as Retry-After wants them: at least 1, at most 60.
func (b *batcher) retryAfter(n int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	excess := len(b.pending) + n - b.maxQueue
	if b.rate <= 0 || excess <= 0 {
		return 1
	}
	s := int(float64(excess)/b.rate) + 1
	return min(max(s, 1), 60)
}

// run is one worker: it takes batches and scores them until ctx ends.
// Several workers may run; each calls the scorer with its own batch.
func (b *batcher) run(ctx context.Context) {
	for {
		batch := b.take(ctx)
		if batch == nil {
			return
		}
		b.scoreBatch(ctx, batch)
	}
}

// take waits for a batch to be due and removes it from the queue; nil when
// ctx ends first.
func (b *batcher) take(ctx context.Context) []*item {
	for {
		b.mu.Lock()
		b.dropGone()
		var timer *time.Timer
		var due <-chan time.Time
		if n := len(b.pending); n > 0 {
			age := time.Since(b.pending[0].at)
			if n >= b.maxBatch || age >= b.wait {
				batch := b.pick()
				left := len(b.pending)
				b.mu.Unlock()
				b.m.queueDepth.Store(int64(left))
				if left > 0 {
					b.signal() // another worker may start on the rest
				}
				return batch
			}
			timer = time.NewTimer(b.wait - age)
			due = timer.C
		}
		b.mu.Unlock()
		select {
		case <-b.wake:
		case <-due:
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// dropGone removes the pairs of clients that stopped waiting. Called with
// b.mu held.
func (b *batcher) dropGone() {
	kept := b.pending[:0]
	for _, it := range b.pending {
		if !it.job.gone.Load() {
			kept = append(kept, it)
		}
	}
	clear(b.pending[len(kept):])
	b.pending = kept
}

// pick removes and returns up to maxBatch pending pairs: the oldest, and
// the ones nearest to it in size. Called with b.mu held and pending
// non-empty.
func (b *batcher) pick() []*item {
	if len(b.pending) <= b.maxBatch {
		batch := b.pending
		b.pending = nil
		return batch
	}
	// Order by size, find the oldest pair in that order and widen a window
	// around it, one neighbour at a time, toward the nearer size.
	order := make([]int, len(b.pending))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return b.pending[order[x]].size < b.pending[order[y]].size })
	pos := 0
	for k, i := range order {
		if i == 0 {
			pos = k
			break
		}
	}
	lo, hi := pos, pos+1 // window order[lo:hi]
	ref := b.pending[0].size
	for hi-lo < b.maxBatch {
		switch {
		case lo == 0:
			hi++
		case hi == len(order):
			lo--
		case ref-b.pending[order[lo-1]].size <= b.pending[order[hi]].size-ref:
			lo--
		default:
			hi++
		}
	}
	chosen := make([]bool, len(b.pending))
	for _, i := range order[lo:hi] {
		chosen[i] = true
	}
	batch := make([]*item, 0, b.maxBatch)
	kept := b.pending[:0]
	for i, it := range b.pending {
		if chosen[i] {
			batch = append(batch, it)
		} else {
			kept = append(kept, it)
		}
	}
	clear(b.pending[len(kept):])
	b.pending = kept
	return batch
}

// scoreBatch calls the scorer once and hands each result to its job. A
// failed call fails every pair in it, each with the reason.
func (b *batcher) scoreBatch(ctx context.Context, batch []*item) {
	pairs := make([]scorers.Pair, len(batch))
	for i, it := range batch {
		pairs[i] = it.pair
	}
	start := time.Now()
	for _, it := range batch {
		b.m.queueWait.observe(start.Sub(it.at).Seconds())
	}
	b.m.inflightBatches.Add(1)
	res, err := b.call(ctx, pairs)
	b.m.inflightBatches.Add(-1)
	took := time.Since(start)
	b.m.batchSize.observe(float64(len(batch)))
	b.m.batchDuration.observe(took.Seconds())
	if err == nil && len(res) != len(batch) {
		err = fmt.Errorf("scorer returned %d results for %d pairs", len(res), len(batch))
	}
	if err != nil {
		err = fmt.Errorf("scoring a batch of %d pairs: %w", len(batch), err)
	}
	if err == nil && took > 0 {
		b.mu.Lock()
		r := float64(len(batch)) / took.Seconds()
		if b.rate == 0 {
			b.rate = r
		} else {
			b.rate = 0.8*b.rate + 0.2*r
		}
		b.mu.Unlock()
	}
	for i, it := range batch {
		var r scorers.Result
		if err != nil {
			r.Err = err
		} else {
			r = res[i]
		}
		b.m.countPair(it.pair, r)
		it.job.results[it.idx] = r
		if it.job.left.Add(-1) == 0 {
			close(it.job.done)
		}
	}
}

// call runs the scorer, turning a panic into the batch's error: one bad
// batch must not take the server and every other request down with it.
func (b *batcher) call(ctx context.Context, pairs []scorers.Pair) (res []scorers.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("scorer panicked: %v", p)
		}
	}()
	return b.score(ctx, pairs)
}
