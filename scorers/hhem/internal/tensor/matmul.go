package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

const (
	tileRows = 6   // rows of X per micro-kernel call
	kBlock   = 256 // K slice per pass: a 256×16 panel slice (16 KB) stays in L1
	mBlock   = 84  // rows per work item: 84×256 of X (84 KB) stays in L2; a multiple of both tiles' heights (6 and 14)
)

// MatMul computes dst = X·B (or dst += X·B when acc) on the calling
// goroutine. X is m×B.K with row stride ldx; dst is m×B.N with row stride
// ldd. Callers that run many independent products in parallel use this
// serial form inside their own workers.
func MatMul(dst []float32, ldd int, x []float32, ldx, m int, b *Packed, acc bool) {
	if b.prec != FP32 {
		parMatMulQ(dst, ldd, x, ldx, m, b, acc, 1)
		return
	}
	matmulTile(dst, ldd, x, ldx, 0, m, b, 0, b.Panels(), acc)
}

// ParMatMul is MatMul spread over up to GOMAXPROCS goroutines, each taking
// blocks of rows × panels of columns.
func ParMatMul(dst []float32, ldd int, x []float32, ldx, m int, b *Packed, acc bool) {
	if b.prec != FP32 {
		parMatMulQ(dst, ldd, x, ldx, m, b, acc, Workers())
		return
	}
	if parMatMulFast(dst, ldd, x, ldx, m, b, acc) {
		return
	}
	panels := b.Panels()
	rowTiles := (m + mBlock - 1) / mBlock
	w := Workers()
	// Aim for several items per worker so uneven items balance out, but
	// keep panel runs long enough to reuse each X block.
	ppi := max(1, min(32, rowTiles*panels/(4*w)))
	panelTiles := (panels + ppi - 1) / ppi
	ParallelFor(rowTiles*panelTiles, func(_, item int) {
		r := item / panelTiles * mBlock
		p := item % panelTiles * ppi
		matmulTile(dst, ldd, x, ldx, r, min(m, r+mBlock), b, p, min(panels, p+ppi), acc)
	})
}

// kernelGo is the portable micro-kernel: c[6×16] (+)= a[6×kc] · b[kc×16],
// a with row stride lda, c with row stride ldc, b one packed panel slice.
func kernelGo(kc int, a []float32, lda int, b []float32, c []float32, ldc int, acc bool) {
	for i := 0; i < tileRows; i++ {
		var s [PanelWidth]float32
		ar := a[i*lda : i*lda+kc]
		for k, av := range ar {
			br := b[k*PanelWidth : k*PanelWidth+PanelWidth : k*PanelWidth+PanelWidth]
			for j := range s {
				s[j] += av * br[j]
			}
		}
		cr := c[i*ldc : i*ldc+PanelWidth]
		if acc {
			for j := range cr {
				cr[j] += s[j]
			}
		} else {
			copy(cr, s[:])
		}
	}
}

var workers atomic.Int64

// Workers is the number of goroutines the parallel kernels use:
// GOMAXPROCS unless SetWorkers chose otherwise.
func Workers() int {
	if n := workers.Load(); n > 0 {
		return int(n)
	}
	return runtime.GOMAXPROCS(0)
}

// SetWorkers overrides the worker count (n <= 0 restores GOMAXPROCS).
func SetWorkers(n int) { workers.Store(int64(n)) }

// ParallelFor runs fn(worker, i) for every i in [0,n) on up to Workers()
// goroutines; worker (in [0, Workers())) lets fn index per-worker scratch.
// Items are handed out one at a time, so uneven items balance.
func ParallelFor(n int, fn func(worker, i int)) {
	ParallelForN(Workers(), n, fn)
}

// ParallelForN is ParallelFor on at most workers goroutines, for callers
// that sized per-worker scratch beforehand.
func ParallelForN(workers, n int, fn func(worker, i int)) {
	w := min(workers, n)
	if w <= 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	if sharedPool().run(w, n, fn) {
		return
	}
	spawnFor(w, n, fn)
}

// spawnFor runs fn on w fresh goroutines: the fallback when the pool is
// busy with another caller or too small.
func spawnFor(w, n int, fn func(worker, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(w)
	for g := 0; g < w; g++ {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(g, i)
			}
		}()
	}
	wg.Wait()
}
