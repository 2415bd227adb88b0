package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hallu-eval/hallu/results"
	openai "github.com/sashabaranov/go-openai"
)

// failure is a classified attempt error.
type failure struct {
	class      string // results.ErrClass*
	retry      bool
	retryAfter time.Duration // what the server asked for; 0 = not said
	msg        string
}

// maxRetryAfter caps a server's requested wait, so a misconfigured proxy
// saying "come back tomorrow" cannot park a run silently.
const maxRetryAfter = 10 * time.Minute

// classify turns an attempt's error into a class and a retry decision.
// attemptCtx is the attempt's own (timeout) context; abort is the run's.
func classify(err error, attemptCtx, abort context.Context, info *respInfo) *failure {
	if abort.Err() != nil {
		return &failure{class: results.ErrClassCanceled, msg: "interrupted"}
	}
	if errors.Is(attemptCtx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return &failure{class: results.ErrClassTimeout, retry: true, msg: "no complete reply within the request timeout"}
	}
	status, header := info.get()
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		code := apiErr.HTTPStatusCode
		if code == 0 { // an error event inside a stream
			return &failure{class: results.ErrClassServer, retry: true, msg: "error in stream: " + apiErr.Message}
		}
		return statusFailure(code, apiErr.Message, header)
	case errors.As(err, &reqErr):
		return statusFailure(reqErr.HTTPStatusCode, bodyExcerpt(reqErr.Body), header)
	}
	var pe *protocolError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &pe) || errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, openai.ErrTooManyEmptyStreamMessages) {
		// Usually a proxy or server cutting a reply short; worth another try.
		msg := err.Error()
		if status != 0 {
			msg = fmt.Sprintf("HTTP %d: malformed reply: %s", status, msg)
		}
		return &failure{class: results.ErrClassProtocol, retry: true, msg: msg}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &failure{class: results.ErrClassTimeout, retry: true, msg: err.Error()}
	}
	var oe *net.OpError
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.As(err, &oe) {
		return &failure{class: results.ErrClassConnection, retry: true, msg: err.Error()}
	}
	if errors.Is(err, openai.ErrChatCompletionInvalidModel) || errors.Is(err, openai.ErrReasoningModelLimitationsOther) ||
		errors.Is(err, openai.ErrReasoningModelLimitationsLogprobs) || errors.Is(err, openai.ErrReasoningSamplingUnsupported) {
		// go-openai refused to send the request.
		return &failure{class: results.ErrClassBadRequest, msg: err.Error()}
	}
	return &failure{class: results.ErrClassOther, msg: err.Error()}
}

// statusFailure classifies an HTTP error status.
func statusFailure(code int, detail string, h http.Header) *failure {
	f := &failure{msg: fmt.Sprintf("HTTP %d: %s", code, detail)}
	switch {
	case code == http.StatusTooManyRequests:
		f.class, f.retry = results.ErrClassRateLimit, true
	case code == http.StatusRequestTimeout:
		f.class, f.retry = results.ErrClassTimeout, true
	case code >= 500:
		f.class, f.retry = results.ErrClassServer, true
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		f.class = results.ErrClassAuth
	case code == http.StatusNotFound:
		f.class = results.ErrClassNotFound
	case code == http.StatusBadRequest || code == http.StatusRequestEntityTooLarge || code == http.StatusUnprocessableEntity:
		f.class = results.ErrClassBadRequest
	default:
		f.class = results.ErrClassOther
	}
	if f.retry {
		f.retryAfter = retryAfter(h, time.Now())
	}
	return f
}

func bodyExcerpt(b []byte) string {
	const max = 300
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "…"
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}

// retryAfter reads how long the server asked us to wait: retry-after-ms
// (OpenAI, Azure; milliseconds) first, then Retry-After in seconds or as an
// HTTP date. It returns 0 when neither is usable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	var d time.Duration
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
			d = time.Duration(n * float64(time.Millisecond))
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); d == 0 && v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			if n > 0 {
				d = time.Duration(n * float64(time.Second))
			}
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		}
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

// backoff is exponential with full jitter: a uniform wait in
// [0, min(max, base*2^(attempt-1))), which keeps many workers that failed
// together from retrying together.
func backoff(base, max time.Duration, attempt int) time.Duration {
	ceil := base
	for i := 1; i < attempt && ceil < max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, max)
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gate decides when the next request may start: no sooner than the
// requests-per-minute spacing allows, and not while a server's Retry-After
// pause is running. It hands out start times in order, so with a rate set
// starts are at least one interval apart (a bucket of one token).
type gate struct {
	mu       sync.Mutex
	interval time.Duration // 0 = unlimited
	next     time.Time     // earliest start of the next request
	paused   time.Time     // no start before this
}

func newGate(rpm int) *gate {
	g := &gate{}
	if rpm > 0 {
		g.interval = time.Minute / time.Duration(rpm)
	}
	return g
}

// wait blocks until the caller may send a request.
func (g *gate) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	now := time.Now()
	at := now
	if g.paused.After(at) {
		at = g.paused
	}
	if g.interval > 0 {
		if g.next.After(at) {
			at = g.next
		}
		g.next = at.Add(g.interval)
	}
	g.mu.Unlock()
	return sleep(ctx, at.Sub(now))
}

// pause holds every request until t.
func (g *gate) pause(t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.After(g.paused) {
		g.paused = t
	}
}
