package eval

import (
	"context"

	"github.com/hallu-eval/hallu/internal/httpretry"
)

// classify turns an attempt's error into a class and a retry decision.
// attemptCtx is the attempt's own (timeout) context; abort is the run's.
func classify(err error, attemptCtx, abort context.Context, info *httpretry.RespInfo) *httpretry.Failure {
	return httpretry.Classify(err, attemptCtx, abort, info)
}
