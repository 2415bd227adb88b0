package httpretry

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"none", http.Header{}, 0},
		{"nil", nil, 0},
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{"fractional seconds", http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond},
		{"date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{"date in the past", http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{"ms wins", http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"9"}}, 250 * time.Millisecond},
		{"bad ms falls back", http.Header{"Retry-After-Ms": {"soon"}, "Retry-After": {"2"}}, 2 * time.Second},
		{"garbage", http.Header{"Retry-After": {"tomorrow-ish"}}, 0},
		{"capped", http.Header{"Retry-After": {"86400"}}, MaxRetryAfter},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, RetryAfter(c.h, now), c.name)
	}
}

func TestBackoffIsBoundedAndJittered(t *testing.T) {
	base, max := 100*time.Millisecond, 2*time.Second
	seen := map[time.Duration]bool{}
	for attempt := 1; attempt <= 10; attempt++ {
		ceil := min(base<<(attempt-1), max)
		for range 50 {
			d := Backoff(base, max, attempt)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.Less(t, d, ceil, "attempt %d", attempt)
			seen[d] = true
		}
	}
	assert.Greater(t, len(seen), 100, "waits are jittered, not fixed")
}

func TestGatePauseHoldsEveryone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(0)
		until := time.Now().Add(80 * time.Second)
		g.Pause(until)
		g.Pause(time.Now()) // an earlier pause does not shorten it
		require.NoError(t, g.Wait(context.Background()))
		assert.Equal(t, until, time.Now())

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.Error(t, g.Wait(ctx))
	})
}

func TestPolicyBacksOffWithinBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := Policy{MaxRetries: 4, BackoffBase: time.Second, BackoffMax: 4 * time.Second, Gate: NewGate(0)}
		var at []time.Time
		n, f, err := p.Do(context.Background(), func(int) *Failure {
			at = append(at, time.Now())
			return &Failure{Class: "server", Retry: true, Msg: "HTTP 503"}
		})
		require.NoError(t, err)
		require.NotNil(t, f)
		assert.Equal(t, 5, n)
		require.Len(t, at, 5)
		for i, ceil := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
			wait := at[i+1].Sub(at[i])
			assert.GreaterOrEqual(t, wait, time.Duration(0))
			assert.Less(t, wait, ceil, "wait %d", i+1)
		}
	})
}

func TestPolicyStopsWaitingWhenStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := Policy{MaxRetries: 3, BackoffBase: time.Hour, BackoffMax: time.Hour}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(time.Minute)
			cancel()
		}()
		start := time.Now()
		_, _, err := p.Do(ctx, func(int) *Failure {
			return StatusFailure(http.StatusTooManyRequests, "later", http.Header{"Retry-After": {"600"}})
		})
		assert.ErrorIs(t, err, ErrInterrupted)
		assert.Equal(t, time.Minute, time.Since(start), "the ten-minute wait ended with the stop")
	})
}
