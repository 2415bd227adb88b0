package eval

import (
	"context"
	"time"

	"github.com/hallu-eval/hallu/internal/httpretry"
)

// The retry, rate-limit and Retry-After machinery lives in
// internal/httpretry, shared with the network scorers; these names keep the
// generator's code short.

// failure is a classified attempt error.
type failure struct {
	class      string // results.ErrClass*
	retry      bool
	retryAfter time.Duration // what the server asked for; 0 = not said
	msg        string
}

const maxRetryAfter = httpretry.MaxRetryAfter

// classify turns an attempt's error into a class and a retry decision.
// attemptCtx is the attempt's own (timeout) context; abort is the run's.
func classify(err error, attemptCtx, abort context.Context, info *httpretry.RespInfo) *failure {
	f := httpretry.Classify(err, attemptCtx, abort, info)
	return &failure{class: f.Class, retry: f.Retry, retryAfter: f.RetryAfter, msg: f.Msg}
}

var (
	retryAfter = httpretry.RetryAfter
	backoff    = httpretry.Backoff
	sleep      = httpretry.Sleep
)

// gate spaces request starts and holds them during a Retry-After pause.
type gate struct{ g *httpretry.Gate }

func newGate(rpm int) *gate                    { return &gate{httpretry.NewGate(rpm)} }
func (g *gate) wait(ctx context.Context) error { return g.g.Wait(ctx) }
func (g *gate) pause(t time.Time)              { g.g.Pause(t) }
