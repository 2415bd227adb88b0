package httpretry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/errclass"
)

func TestPolicyDo(t *testing.T) {
	p := Policy{MaxRetries: 2, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond, Gate: NewGate(0)}
	ctx := context.Background()
	retryable := &Failure{Class: errclass.Server, Retry: true, Msg: "HTTP 502"}

	n, f, err := p.Do(ctx, func(a int) *Failure {
		if a < 3 {
			return retryable
		}
		return nil
	})
	require.NoError(t, err)
	assert.Nil(t, f)
	assert.Equal(t, 3, n, "succeeds on the last allowed try")

	n, f, err = p.Do(ctx, func(int) *Failure { return retryable })
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, retryable, f)

	n, f, _ = p.Do(ctx, func(int) *Failure { return &Failure{Class: errclass.Auth, Msg: "HTTP 401"} })
	assert.Equal(t, 1, n, "not retried")
	assert.Equal(t, errclass.Auth, f.Class)

	stop, cancel := context.WithCancel(ctx)
	n, _, err = p.Do(stop, func(int) *Failure { cancel(); return retryable })
	assert.ErrorIs(t, err, ErrInterrupted)
	assert.Equal(t, 1, n, "no retry once stopped")
}

func TestPolicyRetryAfterPausesTheGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(0)
		p := Policy{MaxRetries: 1, BackoffBase: time.Hour, BackoffMax: time.Hour, Gate: g}
		var first, second time.Time
		// Another user of the gate, arriving during the pause, is held by it.
		var other time.Time
		_, f, err := p.Do(context.Background(), func(a int) *Failure {
			if a == 1 {
				first = time.Now()
				go func() {
					time.Sleep(time.Second)
					g.Wait(context.Background())
					other = time.Now()
				}()
				return StatusFailure(http.StatusTooManyRequests, "slow down", http.Header{"Retry-After-Ms": {"3000"}})
			}
			second = time.Now()
			return nil
		})
		require.NoError(t, err)
		require.Nil(t, f, "the server's wait replaced the hour-long backoff")
		synctest.Wait()
		assert.Equal(t, 3*time.Second, second.Sub(first))
		assert.Equal(t, 3*time.Second, other.Sub(first))
	})
}

func TestScrub(t *testing.T) {
	msg := `Post "https://bob:pw@api.example.com/v1?key=sk-1/chat": key sk-1 rejected`
	got := Scrub(msg, "sk-1", "https://bob:pw@api.example.com/v1?key=sk-1")
	assert.NotContains(t, got, "sk-1")
	assert.NotContains(t, got, "pw")
	assert.NotContains(t, got, "bob")
}

func TestStatusFailureClasses(t *testing.T) {
	for code, class := range map[int]string{429: errclass.RateLimit, 503: errclass.Server, 401: errclass.Auth,
		404: errclass.NotFound, 400: errclass.BadRequest, 408: errclass.Timeout, 418: errclass.Other} {
		f := StatusFailure(code, "x", nil)
		assert.Equal(t, class, f.Class, code)
		assert.Equal(t, code, f.Status)
	}
}

func TestGateReservesSpacedSlots(t *testing.T) {
	g := NewGate(1200) // 50 ms apart
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Five callers arriving together get consecutive slots.
	for i := range 5 {
		assert.Equal(t, t0.Add(time.Duration(i)*50*time.Millisecond), g.reserve(t0))
	}
	// A caller arriving after the booked slots starts at once.
	late := t0.Add(time.Second)
	assert.Equal(t, late, g.reserve(late))
	// A pause (Retry-After) holds everyone, and spacing resumes after it.
	g.Pause(late.Add(2 * time.Second))
	assert.Equal(t, late.Add(2*time.Second), g.reserve(late.Add(10*time.Millisecond)))
	assert.Equal(t, late.Add(2*time.Second+50*time.Millisecond), g.reserve(late.Add(20*time.Millisecond)))

	unlimited := NewGate(0)
	assert.Equal(t, t0, unlimited.reserve(t0))
	assert.Equal(t, t0, unlimited.reserve(t0))
}

func TestPreReplyTransportErrorsAreRetryable(t *testing.T) {
	ctx := context.Background()
	for _, err := range []error{
		&url.Error{Op: "Post", URL: "http://x/v1/chat/completions", Err: errors.New("http: server closed idle connection")},
		&url.Error{Op: "Post", URL: "http://x/v1/chat/completions", Err: &TransportError{Err: errors.New("net/http: HTTP/1.x transport connection broken: something new")}},
		&url.Error{Op: "Post", URL: "http://x", Err: &TransportError{Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}},
	} {
		f := Classify(err, ctx, ctx, nil)
		assert.Equal(t, errclass.Connection, f.Class, err.Error())
		assert.True(t, f.Retry, err.Error())
		assert.Same(t, err, f.Err)
	}
	refused := Classify(&url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, ctx, ctx, nil)
	assert.True(t, refused.Refused())
}

func TestParseStreamError(t *testing.T) {
	cases := []struct {
		in     string
		status int
		msg    string
	}{
		{`{"error":{"code":400,"message":"too long","type":"invalid_request_error"}}`, 400, "too long"},
		{`{"code":500,"message":"boom"}`, 500, "boom"},
		{`{"error":{"code":"503","message":"busy"}}`, 503, "busy"},
		{`{"error":{"code":"context_length_exceeded","message":"too long","type":"invalid_request_error"}}`, 400, "too long"},
		{`{"error":"plain"}`, 0, "plain"},
		{`{"error":{"code":7,"message":"odd"}}`, 0, "odd"},
		{`not json`, 0, "not json"},
	}
	for _, c := range cases {
		se := parseStreamError([]byte(c.in))
		assert.Equal(t, c.status, se.Status, c.in)
		assert.Equal(t, c.msg, se.Msg, c.in)
	}
}
