// Package pool runs one function over a stream of items on a fixed number of
// workers and hands the results, one at a time, to a sink: the fan-out under
// generation, scoring, calibration and report reading.
//
// The rules every user gets:
//   - Items are pulled from the source only when there is room: at most
//     Window items are pulled and not yet sunk, so memory is O(Window).
//   - The sink is called from the goroutine that called Run, never two at
//     once, in input order (Ordered) or in completion order.
//   - Every item pulled reaches the sink exactly once, unless the sink
//     failed first.
//   - A panic in the work function becomes that item's error (*PanicError,
//     stack included); the other items go on.
//   - Cancelling ctx stops pulling (the source's context is done too).
//     Items queued but not started reach the
//     sink with ErrNotStarted; items being worked on finish or are cancelled,
//     as Config.InFlight says, and reach the sink with what work returned.
//   - The first sink error stops everything: nothing more is pulled or
//     started, the work context is cancelled, the sink is not called again.
package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// InFlight says what cancellation does to items already being worked on.
type InFlight int

const (
	// Finish lets items in flight run to completion: work's context is not
	// cancelled by the run's context (only by a sink error). For work that
	// is worth keeping, such as a batch already on the GPU.
	Finish InFlight = iota
	// Cancel cancels work's context with the run's context; work decides
	// how fast to give up and what to return.
	Cancel
)

// ErrNotStarted is the error of an item that was pulled but never given to
// a worker because the run was cancelled.
var ErrNotStarted = errors.New("not started: the run was cancelled")

// PanicError is the error of an item whose work function panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n%s", e.Value, e.Stack)
}

// Config tunes a run. The zero value is one worker, completion order, and
// Finish.
type Config struct {
	// Workers is how many items are worked on at once; <= 0 means 1.
	Workers int
	// Window bounds the items pulled and not yet sunk; <= 0 means
	// 2×Workers, which keeps workers busy while the sink runs and, in
	// ordered mode, while one slow item holds back those after it. Values
	// below Workers are raised to Workers.
	Window int
	// Ordered delivers results in input order; otherwise as they finish.
	Ordered bool
	// InFlight is what cancellation does to items being worked on.
	InFlight InFlight
}

// Result is one item's outcome as the sink sees it.
type Result[In, Out any] struct {
	Seq int // the item's position in the input, from 0
	In  In
	Out Out
	// Err is what work returned, a *PanicError, or ErrNotStarted.
	Err error
}

type pulled[In any] struct {
	item In
	err  error
}

type job[In any] struct {
	seq  int
	item In
}

// Run pulls items from next until it returns io.EOF, runs work on each on
// cfg.Workers goroutines and passes every result to sink.
//
// Run returns the first sink error; else the first source error other than
// io.EOF (items pulled before it are still worked on and sunk); else
// ctx.Err() when cancellation cut the run short, that is, when some item
// was not started or the source was not read to its end; else nil.
//
// next is called from one goroutine, one call at a time, never after Run
// has returned. Its context is done once nothing more will be pulled (ctx
// cancelled or the sink failed); Run waits for a call under way, so next
// must then return promptly: an error (its context's, say) ends the source,
// an item reaches the sink as not started. Interruptible adapts a source
// that may block, such as a pipe. A panic in next is a source error.
func Run[In, Out any](ctx context.Context, cfg Config, next func(context.Context) (In, error), work func(context.Context, In) (Out, error), sink func(Result[In, Out]) error) error {
	workers := max(cfg.Workers, 1)
	window := cfg.Window
	if window <= 0 {
		window = 2 * workers
	}
	window = max(window, workers)

	// workCtx is what work sees; abort cancels it on a sink error.
	parent := context.WithoutCancel(ctx)
	if cfg.InFlight == Cancel {
		parent = ctx
	}
	workCtx, abort := context.WithCancel(parent)
	defer abort()
	pullCtx, stopPulling := context.WithCancel(ctx)
	defer stopPulling()

	// stopped is set once nothing more may start: cancellation or a sink
	// error. Workers read it before starting an item.
	var stopped atomic.Bool

	// The feeder calls next only when asked, so pulling stops as soon as
	// the loop below stops asking.
	ask := make(chan struct{}, 1)
	defer close(ask)
	pulls := make(chan pulled[In])
	go func() {
		for range ask {
			pulls <- safeNext(pullCtx, next)
		}
	}()

	// Both channels hold a whole window, so neither the loop nor a worker
	// ever blocks on a send: after a sink error, workers finish their item
	// and exit without anyone reading.
	jobs := make(chan job[In], window)
	done := make(chan Result[In, Out], window)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				r := Result[In, Out]{Seq: j.seq, In: j.item}
				// ctx is checked too: the loop may not have seen the
				// cancellation yet, and no item may start after it.
				if stopped.Load() || ctx.Err() != nil {
					r.Err = ErrNotStarted
				} else {
					r.Out, r.Err = safeWork(workCtx, work, j.item)
				}
				done <- r
			}
		})
	}
	defer wg.Wait()
	defer close(jobs)

	var (
		seq      int  // items pulled so far
		inFlight int  // pulled and not yet sunk
		asking   bool // a pull is outstanding
		srcEnd   bool // next returned an error (io.EOF included)
		srcErr   error
		cut      bool // cancellation left something undone
		ctxDone  = ctx.Done()
		pending  map[int]Result[In, Out] // ordered mode: finished, waiting for their turn
		nextOut  int
	)
	if cfg.Ordered {
		pending = make(map[int]Result[In, Out], window)
	}
	// deliver sinks r, and in ordered mode every result it unblocks.
	deliver := func(r Result[In, Out]) error {
		if !cfg.Ordered {
			inFlight--
			return sink(r)
		}
		pending[r.Seq] = r
		for {
			r, ok := pending[nextOut]
			if !ok {
				return nil
			}
			delete(pending, nextOut)
			nextOut++
			inFlight--
			if err := sink(r); err != nil {
				return err
			}
		}
	}
	for {
		if !asking && !srcEnd && !stopped.Load() && ctx.Err() == nil && inFlight < window {
			ask <- struct{}{}
			asking = true
		}
		if !asking && inFlight == 0 && (srcEnd || stopped.Load()) {
			break
		}
		var r Result[In, Out]
		select {
		case <-ctxDone:
			ctxDone = nil
			stopped.Store(true)
			if !srcEnd {
				cut = true
			}
			continue
		case p := <-pulls:
			asking = false
			if p.err != nil {
				srcEnd = true
				switch {
				case errors.Is(p.err, io.EOF):
				case pullCtx.Err() != nil && errors.Is(p.err, pullCtx.Err()):
					cut = true // the source gave up because the run stopped
				default:
					srcErr = p.err
				}
				continue
			}
			j := job[In]{seq: seq, item: p.item}
			seq++
			inFlight++
			if !stopped.Load() {
				jobs <- j
				continue
			}
			// Pulled while the run was being cancelled.
			r = Result[In, Out]{Seq: j.seq, In: j.item, Err: ErrNotStarted}
		case r = <-done:
		}
		if errors.Is(r.Err, ErrNotStarted) {
			cut = true
		}
		if err := deliver(r); err != nil {
			stopped.Store(true)
			abort()
			stopPulling()
			if asking {
				<-pulls // no next call may outlive Run
			}
			return err
		}
	}
	if srcErr != nil {
		return srcErr
	}
	if cut {
		return ctx.Err()
	}
	return nil
}

func safeNext[In any](ctx context.Context, next func(context.Context) (In, error)) (p pulled[In]) {
	defer func() {
		if v := recover(); v != nil {
			p = pulled[In]{err: fmt.Errorf("source: %w", &PanicError{Value: v, Stack: debug.Stack()})}
		}
	}()
	item, err := next(ctx)
	return pulled[In]{item, err}
}

func safeWork[In, Out any](ctx context.Context, work func(context.Context, In) (Out, error), item In) (out Out, err error) {
	defer func() {
		if v := recover(); v != nil {
			var zero Out
			out, err = zero, &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return work(ctx, item)
}

// Interruptible adapts a source whose calls may block for long (a pipe, a
// terminal) to Run: each call of the returned func waits for one next call,
// made on a goroutine of its own, or for ctx, whichever comes first. A call
// cut short by ctx returns ctx's error; the next call it left under way
// keeps going and its item is returned by the following call. stop ends the
// goroutine once a call under way returns (the input may never yield:
// then it stays blocked, the price of not holding up Ctrl-C). Call stop
// after Run returns, and read no more after it.
func Interruptible[T any](next func() (T, error)) (read func(context.Context) (T, error), stop func()) {
	req := make(chan struct{}, 1)
	resp := make(chan pulled[T], 1)
	var once sync.Once
	waiting := false
	read = func(ctx context.Context) (T, error) {
		once.Do(func() {
			go func() {
				for range req {
					v, err := next()
					resp <- pulled[T]{v, err}
				}
			}()
		})
		if !waiting {
			req <- struct{}{}
			waiting = true
		}
		select {
		case p := <-resp:
			waiting = false
			return p.item, p.err
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	stop = func() {
		once.Do(func() {}) // no goroutine after stop
		close(req)
	}
	return read, stop
}
