package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counter is a source of the integers 0..n-1 that counts its calls.
type counter struct {
	n, calls int
}

func (c *counter) next(context.Context) (int, error) {
	if c.calls >= c.n {
		return 0, io.EOF
	}
	c.calls++
	return c.calls - 1, nil
}

func TestOrderedUnderRandomDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &counter{n: 200}
		var got []int
		err := Run(t.Context(), Config{Workers: 8, Ordered: true}, src.next,
			func(_ context.Context, i int) (string, error) {
				time.Sleep(time.Duration(rand.IntN(1000)) * time.Millisecond)
				return fmt.Sprint(i * i), nil
			},
			func(r Result[int, string]) error {
				require.NoError(t, r.Err)
				assert.Equal(t, len(got), r.Seq)
				assert.Equal(t, r.Seq, r.In)
				assert.Equal(t, fmt.Sprint(r.In*r.In), r.Out)
				got = append(got, r.In)
				return nil
			})
		require.NoError(t, err)
		assert.Len(t, got, 200)
	})
}

func TestCompletionOrderSinksEveryItemOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &counter{n: 100}
		seen := map[int]int{}
		sunk := 0
		err := Run(t.Context(), Config{Workers: 5}, src.next,
			func(_ context.Context, i int) (int, error) {
				// Later items finish first, so completion order is not
				// input order.
				time.Sleep(time.Duration(100-i) * time.Millisecond)
				return i, nil
			},
			func(r Result[int, int]) error {
				seen[r.In]++
				sunk++
				return nil
			})
		require.NoError(t, err)
		assert.Equal(t, 100, sunk)
		for i := range 100 {
			assert.Equal(t, 1, seen[i], "item %d", i)
		}
	})
}

// TestWorkersRunAtOnce fails for a pool that runs fewer than n items at a
// time: the barrier opens only when n workers are inside it together.
func TestWorkersRunAtOnce(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 4
				var (
					mu     sync.Mutex
					inside int
				)
				open := make(chan struct{})
				src := &counter{n: 3 * n}
				err := Run(t.Context(), Config{Workers: n, Ordered: ordered}, src.next,
					func(_ context.Context, i int) (int, error) {
						mu.Lock()
						if inside++; inside == n {
							close(open)
						}
						mu.Unlock()
						select {
						case <-open:
							return i, nil
						case <-time.After(time.Hour): // fake time: passes only when all are stuck
							return 0, errors.New("barrier never opened")
						}
					},
					func(r Result[int, int]) error { return r.Err })
				require.NoError(t, err)
			})
		})
	}
}

func TestWindowBoundsItemsInFlight(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const workers, window = 3, 5
				var (
					mu                 sync.Mutex
					pulled, sunk, most int
				)
				src := &counter{n: 60}
				err := Run(t.Context(), Config{Workers: workers, Window: window, Ordered: ordered},
					func(ctx context.Context) (int, error) {
						mu.Lock()
						defer mu.Unlock()
						i, err := src.next(ctx)
						if err == nil {
							pulled++
							most = max(most, pulled-sunk)
						}
						return i, err
					},
					func(_ context.Context, i int) (int, error) {
						// In ordered mode the items after a slow one pile up behind it.
						if i%10 == 0 {
							time.Sleep(time.Second)
						}
						return i, nil
					},
					func(r Result[int, int]) error {
						mu.Lock()
						sunk++
						mu.Unlock()
						return nil
					})
				require.NoError(t, err)
				assert.Equal(t, 60, sunk)
				assert.LessOrEqual(t, most, window)
				if ordered {
					assert.Equal(t, window, most, "the window is used in full")
				}
			})
		})
	}
}

func TestPanicBecomesItemError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &counter{n: 10}
		errs := map[int]error{}
		err := Run(t.Context(), Config{Workers: 3, Ordered: true}, src.next,
			func(_ context.Context, i int) (int, error) {
				if i == 4 {
					panicInWorker(i)
				}
				return i, nil
			},
			func(r Result[int, int]) error {
				errs[r.In] = r.Err
				return nil
			})
		require.NoError(t, err)
		require.Len(t, errs, 10)
		var pe *PanicError
		require.ErrorAs(t, errs[4], &pe)
		assert.Equal(t, "item 4 is cursed", pe.Value)
		assert.Contains(t, pe.Error(), "item 4 is cursed")
		assert.Contains(t, pe.Error(), "panicInWorker", "the stack is in the message")
		assert.Contains(t, pe.At, "pool.panicInWorker pool_test.go:")
		assert.True(t, strings.HasPrefix(pe.Short(), "item 4 is cursed (at github.com/hallu-eval/hallu/internal/pool.panicInWorker pool_test.go:"), pe.Short())
		for i, e := range errs {
			if i != 4 {
				assert.NoError(t, e, "item %d", i)
			}
		}
	})
}

func panicInWorker(i int) { panic(fmt.Sprintf("item %d is cursed", i)) }

func TestSourcePanicIsSourceError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls, sunk := 0, 0
		err := Run(t.Context(), Config{Workers: 2, Ordered: true},
			func(context.Context) (int, error) {
				if calls++; calls == 4 {
					panic("bad source")
				}
				return calls, nil
			},
			func(_ context.Context, i int) (int, error) { return i, nil },
			func(r Result[int, int]) error { sunk++; return r.Err })
		var pe *PanicError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "bad source", pe.Value)
		assert.Equal(t, 3, sunk, "items before the bad one are sunk")
	})
}

func TestSourceErrorSinksEarlierItems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := errors.New("line 6: bad JSON")
		calls := 0
		var got []int
		err := Run(t.Context(), Config{Workers: 3, Ordered: true},
			func(context.Context) (int, error) {
				if calls == 5 {
					return 0, bad
				}
				calls++
				return calls - 1, nil
			},
			func(_ context.Context, i int) (int, error) {
				time.Sleep(time.Duration(5-i) * time.Second)
				return i, nil
			},
			func(r Result[int, int]) error { got = append(got, r.Out); return r.Err })
		require.ErrorIs(t, err, bad)
		assert.Equal(t, []int{0, 1, 2, 3, 4}, got)
		assert.Equal(t, 5, calls, "nothing is pulled after a source error")
	})
}

// TestCancelFinishDrains: on cancellation nothing more is pulled, items
// being worked on finish with their real output, queued items reach the
// sink as not started, and every pulled item reaches the sink once.
func TestCancelFinishDrains(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				const workers = 3
				src := &counter{n: 1000}
				var (
					finished, notStarted, sunk int
					pulledAtCancel             int
					started                    atomic.Int64
				)
				var mu sync.Mutex // src.calls is read by a worker
				next := func(ctx context.Context) (int, error) {
					mu.Lock()
					defer mu.Unlock()
					return src.next(ctx)
				}
				err := Run(ctx, Config{Workers: workers, Ordered: ordered, InFlight: Finish}, next,
					func(wctx context.Context, i int) (int, error) {
						if started.Add(1) == 5 {
							// Cancel under the source's lock: between reading the
							// count and cancelling, the loop could otherwise pull
							// again (seen on a loaded machine: 2 pulls past it).
							mu.Lock()
							pulledAtCancel = src.calls
							cancel()
							mu.Unlock()
						}
						time.Sleep(time.Second)
						if wctx.Err() != nil {
							return 0, errors.New("work context cancelled under Finish")
						}
						return i, nil
					},
					func(r Result[int, int]) error {
						sunk++
						switch {
						case errors.Is(r.Err, ErrNotStarted):
							notStarted++
						case r.Err != nil:
							t.Errorf("item %d: %v", r.In, r.Err)
						default:
							finished++
						}
						return nil
					})
				require.ErrorIs(t, err, context.Canceled)
				assert.Equal(t, src.calls, sunk, "every pulled item is sunk once")
				assert.GreaterOrEqual(t, finished, 5, "items in flight finish")
				assert.LessOrEqual(t, src.calls, pulledAtCancel+1, "pulling stops at cancellation")
				assert.Less(t, src.calls, 1000)
				assert.Equal(t, sunk, finished+notStarted)
			})
		})
	}
}

func TestCancelPolicyCancelsWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		src := &counter{n: 1000}
		inside := make(chan struct{}, 2)
		go func() {
			<-inside
			<-inside
			cancel()
		}()
		var cancelled, other int
		err := Run(ctx, Config{Workers: 2, InFlight: Cancel}, src.next,
			func(wctx context.Context, i int) (int, error) {
				inside <- struct{}{}
				<-wctx.Done() // only cancellation lets it go
				return 0, wctx.Err()
			},
			func(r Result[int, int]) error {
				if errors.Is(r.Err, context.Canceled) {
					cancelled++
				} else if !errors.Is(r.Err, ErrNotStarted) {
					other++
				}
				return nil
			})
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 2, cancelled)
		assert.Zero(t, other)
	})
}

func TestSinkErrorStops(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				disk := errors.New("disk full")
				src := &counter{n: 1000}
				calls, afterErr := 0, 0
				var workAfterStop atomic.Int64
				failed := false
				err := Run(t.Context(), Config{Workers: 4, Ordered: ordered}, src.next,
					func(wctx context.Context, i int) (int, error) {
						time.Sleep(time.Duration(i%3) * time.Second)
						if wctx.Err() != nil {
							workAfterStop.Add(1)
						}
						return i, nil
					},
					func(r Result[int, int]) error {
						if failed {
							afterErr++
						}
						if calls++; calls == 7 {
							failed = true
							return disk
						}
						return nil
					})
				require.ErrorIs(t, err, disk)
				assert.Zero(t, afterErr, "the sink is not called after it failed")
				assert.LessOrEqual(t, src.calls, 7+8, "pulling stops within a window")
				assert.Positive(t, workAfterStop.Load(), "work in flight sees its context cancelled")
			})
		})
	}
}

// TestCancelNotStuckOnIdleSource: a source blocked on an idle pipe does not
// hold up an interrupted run, and the item it reads later is not lost.
func TestCancelNotStuckOnIdleSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		pipe := make(chan int)
		read, stop := Interruptible(func() (int, error) {
			i, ok := <-pipe
			if !ok {
				return 0, io.EOF
			}
			return i, nil
		})
		var sunk []int
		errc := make(chan error)
		go func() {
			errc <- Run(ctx, Config{Workers: 2}, read,
				func(_ context.Context, i int) (int, error) { return i, nil },
				func(r Result[int, int]) error { sunk = append(sunk, r.Out); return r.Err })
		}()
		pipe <- 1
		pipe <- 2
		synctest.Wait() // both sunk, the source waits for a third
		cancel()
		require.ErrorIs(t, <-errc, context.Canceled)
		assert.ElementsMatch(t, []int{1, 2}, sunk)

		// The read left under way yields its item to the next reader.
		pipe <- 3
		i, err := read(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 3, i)
		stop()
		close(pipe)
	})
}

// TestSinkErrorWaitsForPull: after a sink error Run returns only once the
// pull under way has given up, so no source call outlives it.
func TestSinkErrorWaitsForPull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inNext atomic.Int64
		full := errors.New("disk full")
		calls := 0
		err := Run(t.Context(), Config{Workers: 1, Window: 2}, func(ctx context.Context) (int, error) {
			inNext.Add(1)
			defer inNext.Add(-1)
			if calls++; calls == 1 {
				return 1, nil
			}
			<-ctx.Done() // an idle input, given up on when the run stops
			return 0, ctx.Err()
		},
			func(_ context.Context, i int) (int, error) { return i, nil },
			func(r Result[int, int]) error { return full })
		require.ErrorIs(t, err, full)
		assert.Zero(t, inNext.Load())
	})
}

func TestCancelledBeforeStartPullsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		src := &counter{n: 3}
		sunk := 0
		err := Run(ctx, Config{Workers: 2, Ordered: true}, src.next,
			func(_ context.Context, i int) (int, error) { return i, nil },
			func(r Result[int, int]) error { sunk++; return nil })
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, src.calls)
		assert.Zero(t, sunk)
	})
}

func TestPanicMessageNamesValue(t *testing.T) {
	e := &PanicError{Value: 42, Stack: []byte("goroutine 1 [running]:")}
	assert.True(t, strings.HasPrefix(e.Error(), "panic: 42\ngoroutine 1"))
}

func BenchmarkOverheadPerItem(b *testing.B) {
	for _, ordered := range []bool{false, true} {
		b.Run(fmt.Sprint("ordered=", ordered), func(b *testing.B) {
			src := &counter{n: b.N}
			sum := 0
			b.ReportAllocs()
			err := Run(context.Background(), Config{Workers: 4, Ordered: ordered}, src.next,
				func(_ context.Context, i int) (int, error) { return i, nil },
				func(r Result[int, int]) error { sum += r.Out; return nil })
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}
