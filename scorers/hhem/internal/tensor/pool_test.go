package tensor

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runOnPool runs fn over n items on p, falling back as ParallelForN does.
func runOnPool(p *pool, w, n int, fn func(worker, i int)) {
	if !p.run(w, n, fn) {
		spawnFor(w, n, fn)
	}
}

// Every item runs exactly once, on a worker index below w that no other
// item holds at the same time, whether the call finds the helpers
// spinning, asleep, busy with another caller's job, or is made from
// inside a job.
func TestPoolRunsEveryItemOnce(t *testing.T) {
	p := newPool(3)
	check := func(w, n int, nested bool) {
		seen := make([]atomic.Int32, n)
		busy := make([]atomic.Bool, w)
		runOnPool(p, w, n, func(worker, i int) {
			if worker >= w || !busy[worker].CompareAndSwap(false, true) {
				t.Errorf("item %d on worker %d: out of range or already busy", i, worker)
				return
			}
			seen[i].Add(1)
			if nested && i%7 == 0 {
				inner := make([]atomic.Int32, 5)
				runOnPool(p, 2, len(inner), func(_, k int) { inner[k].Add(1) })
				for k := range inner {
					if inner[k].Load() != 1 {
						t.Errorf("nested item %d ran %d times", k, inner[k].Load())
					}
				}
			}
			busy[worker].Store(false)
		})
		for i := range seen {
			require.Equal(t, int32(1), seen[i].Load(), "w=%d n=%d item %d", w, n, i)
		}
	}
	for round := range 200 {
		check(2+round%3, 1+round%50, round%5 == 0)
		if round%50 == 49 {
			// Long enough for the helpers to go to sleep.
			time.Sleep(5 * spinFor)
		}
	}
	// Callers on several goroutines at once: one gets the pool, the
	// others fall back to goroutines of their own.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 50 {
				check(2+(g+round)%3, 40, false)
			}
		}()
	}
	wg.Wait()
	// More workers than the pool has: refused, so the caller falls back.
	require.False(t, p.run(5, 10, func(int, int) {}))
}
