package httpretry

import (
	"context"
	"net/http"
	"testing"
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
	g := NewGate(0)
	until := time.Now().Add(80 * time.Millisecond)
	g.Pause(until)
	g.Pause(time.Now()) // an earlier pause does not shorten it
	require.NoError(t, g.Wait(context.Background()))
	assert.False(t, time.Now().Before(until))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Error(t, g.Wait(ctx))
}
