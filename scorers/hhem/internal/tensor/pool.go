package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A forward pass at 128 tokens makes about 170 parallel calls of well
// under a millisecond each. Starting goroutines for each call cost 25 µs
// and more (70 µs when the other core had gone idle: waking it is a futex
// call, which in a VM is a trip through the hypervisor), a tenth of the
// pass. The pool keeps helpers that spin briefly between calls, so the
// calls of one pass find them awake, and sleep once calls stop coming.

// spinFor is how long an idle helper watches for the next call before it
// sleeps: longer than the serial gaps inside a forward pass, short enough
// that an idle scorer costs nothing measurable.
const spinFor = 200 * time.Microsecond

type pool struct {
	mu       sync.Mutex // held by the one caller whose job runs
	helpers  int
	gen      atomic.Uint64       // bumped for each job
	job      atomic.Pointer[job] // the current job
	sleeping []atomic.Bool       // helper i is blocked on wake[i]
	wake     []chan struct{}
}

type job struct {
	fn      func(worker, i int)
	n       int64
	workers int          // helpers 1..workers-1 take part
	next    atomic.Int64 // next item to hand out
	running atomic.Int64 // helpers inside the job
}

var (
	poolOnce sync.Once
	thePool  *pool
)

// sharedPool starts, on first use, GOMAXPROCS−1 helpers (the caller is
// always worker 0).
func sharedPool() *pool {
	poolOnce.Do(func() { thePool = newPool(runtime.GOMAXPROCS(0) - 1) })
	return thePool
}

// newPool starts a pool of h helpers, which live as long as the process.
func newPool(h int) *pool {
	p := &pool{helpers: h, sleeping: make([]atomic.Bool, h), wake: make([]chan struct{}, h)}
	for i := range h {
		p.wake[i] = make(chan struct{}, 1)
		go p.helper(i)
	}
	return p
}

// run runs fn over n items on the caller and w−1 helpers. It reports false,
// doing nothing, when the pool is busy (another goroutine's call, or a
// call from inside a job) or has fewer than w−1 helpers.
func (p *pool) run(w, n int, fn func(worker, i int)) bool {
	if w-1 > p.helpers || !p.mu.TryLock() {
		return false
	}
	defer p.mu.Unlock()
	j := &job{fn: fn, n: int64(n), workers: w}
	p.job.Store(j)
	p.gen.Add(1)
	for i := 0; i < w-1; i++ {
		if p.sleeping[i].CompareAndSwap(true, false) {
			p.wake[i] <- struct{}{}
		}
	}
	j.work(0)
	// Every item is handed out; wait for helpers still running theirs. A
	// helper counts itself in before taking an item, so one that took an
	// item is counted here.
	for j.running.Load() != 0 {
	}
	return true
}

func (j *job) work(worker int) {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.fn(worker, int(i))
	}
}

func (p *pool) helper(id int) {
	var seen uint64
	for {
		g := p.waitJob(id, seen)
		seen = g
		j := p.job.Load()
		if id+1 < j.workers {
			j.running.Add(1)
			j.work(id + 1)
			j.running.Add(-1)
		}
	}
}

// waitJob returns once the generation has moved past seen: spinning for
// spinFor, then asleep on the helper's wake channel.
func (p *pool) waitJob(id int, seen uint64) uint64 {
	start := time.Now()
	for spins := 0; ; spins++ {
		if g := p.gen.Load(); g != seen {
			return g
		}
		if spins&1023 == 1023 {
			if time.Since(start) > spinFor {
				break
			}
			// Let the scheduler run others (the garbage collector's
			// workers) now and then.
			runtime.Gosched()
		}
	}
	for {
		p.sleeping[id].Store(true)
		if g := p.gen.Load(); g != seen {
			// A job came while going to sleep: take it, unless a caller
			// already claimed the wake-up, whose token must be drained.
			if !p.sleeping[id].CompareAndSwap(true, false) {
				<-p.wake[id]
			}
			return g
		}
		<-p.wake[id]
		if g := p.gen.Load(); g != seen {
			return g
		}
	}
}
