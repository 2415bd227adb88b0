// Package httpretry is the retry, rate-limit and Retry-After machinery that
// every network caller of hallu shares: the generator, the LLM judge and
// Vectara's API. It classifies an attempt's failure (what a user can do
// about it, and whether another try may help), spaces request starts, holds
// every worker when a server says "come back later", and backs off with
// jitter when it does not say when.
package httpretry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/hallu-eval/hallu/internal/errclass"
)

// Failure is a classified attempt error.
type Failure struct {
	Class      string // an internal/errclass class
	Retry      bool
	RetryAfter time.Duration // what the server asked for; 0 = not said
	Msg        string
	// Status is the HTTP status of the reply (or of an error event in a
	// stream), 0 when there was none.
	Status int
	// Err is the error classified, nil for a failure built from a status.
	Err error
}

// Refused reports whether f is a refused connection: nothing listens at
// the endpoint.
func (f *Failure) Refused() bool { return f != nil && errors.Is(f.Err, syscall.ECONNREFUSED) }

// TransportError is an error of the base transport before any reply
// arrived: a reset, a dial failure, a server that closed a kept-alive
// connection as it was reused. ChatTransport wraps every such error, so
// Classify can retry it whatever net/http called it.
type TransportError struct{ Err error }

func (e *TransportError) Error() string { return e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// StreamError is an error event inside a 200 streaming reply, e.g.
// llama.cpp's `data: {"error":{"code":400,"message":"the request exceeds
// the available context size..."}}`. Status is the event's numeric code
// (0 when it had none).
type StreamError struct {
	Status int
	Msg    string
}

func (e *StreamError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("HTTP %d in stream: %s", e.Status, e.Msg)
	}
	return "error in stream: " + e.Msg
}

// serverClosedIdle is net/http's unexported errServerClosedIdle, matched by
// text for callers whose transport is not a ChatTransport.
const serverClosedIdle = "server closed idle connection"

func (f *Failure) Error() string { return f.Msg }

// MaxRetryAfter caps a server's requested wait, so a misconfigured proxy
// saying "come back tomorrow" cannot park a run silently.
const MaxRetryAfter = 10 * time.Minute

// ProtocolError is a reply that does not follow the API: no choices, a
// stream that stops without saying why, a body that is not the promised
// JSON. It is retried: usually a proxy or server cut the reply short.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return e.Msg }

// Classify turns an attempt's error into a class and a retry decision.
// attemptCtx is the attempt's own (timeout) context; abort is the run's.
// info, when not nil, is what CaptureResponse stored for the attempt.
func Classify(err error, attemptCtx, abort context.Context, info *RespInfo) *Failure {
	f := classify(err, attemptCtx, abort, info)
	f.Err = err
	return f
}

func classify(err error, attemptCtx, abort context.Context, info *RespInfo) *Failure {
	if abort.Err() != nil {
		return &Failure{Class: errclass.Canceled, Msg: "interrupted"}
	}
	if errors.Is(attemptCtx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return &Failure{Class: errclass.Timeout, Retry: true, Msg: "no complete reply within the request timeout"}
	}
	status, header := info.Get()
	// An error event read by ChatTransport explains whatever go-openai
	// made of the stream (a failed parse, an early EOF).
	if se := info.StreamErr(); se != nil {
		return streamFailure(se, header)
	}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	var streamErr *StreamError
	var trErr *TransportError
	switch {
	case errors.As(err, &streamErr):
		return streamFailure(streamErr, header)
	case errors.As(err, &trErr):
		if isTimeout(err) {
			return &Failure{Class: errclass.Timeout, Retry: true, Msg: err.Error()}
		}
		// Before any reply: nothing was answered, so another try is safe.
		return &Failure{Class: errclass.Connection, Retry: true, Msg: err.Error()}
	case strings.Contains(err.Error(), serverClosedIdle):
		return &Failure{Class: errclass.Connection, Retry: true, Msg: err.Error()}
	case errors.As(err, &apiErr):
		code := apiErr.HTTPStatusCode
		if code == 0 { // an error event inside a stream, as go-openai read it
			b, _ := json.Marshal(map[string]any{"code": apiErr.Code, "message": apiErr.Message, "type": apiErr.Type})
			return streamFailure(parseStreamError(b), header)
		}
		return StatusFailure(code, apiErr.Message, header)
	case errors.As(err, &reqErr):
		return StatusFailure(reqErr.HTTPStatusCode, BodyExcerpt(reqErr.Body), header)
	}
	var pe *ProtocolError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &pe) || errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, openai.ErrTooManyEmptyStreamMessages) {
		msg := err.Error()
		if status != 0 {
			msg = fmt.Sprintf("HTTP %d: malformed reply: %s", status, msg)
		}
		return &Failure{Class: errclass.Protocol, Retry: true, Msg: msg, Status: status}
	}
	if isTimeout(err) {
		return &Failure{Class: errclass.Timeout, Retry: true, Msg: err.Error()}
	}
	var oe *net.OpError
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.As(err, &oe) {
		return &Failure{Class: errclass.Connection, Retry: true, Msg: err.Error()}
	}
	if errors.Is(err, openai.ErrChatCompletionInvalidModel) || errors.Is(err, openai.ErrReasoningModelLimitationsOther) ||
		errors.Is(err, openai.ErrReasoningModelLimitationsLogprobs) || errors.Is(err, openai.ErrReasoningSamplingUnsupported) {
		// go-openai refused to send the request.
		return &Failure{Class: errclass.BadRequest, Msg: err.Error()}
	}
	return &Failure{Class: errclass.Other, Msg: err.Error()}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// streamFailure classifies an in-stream error event as the same status
// would be without streaming; without a status it is a server fault.
func streamFailure(se *StreamError, h http.Header) *Failure {
	if se.Status >= 400 && se.Status < 600 {
		f := StatusFailure(se.Status, se.Msg, h)
		f.Msg = se.Error()
		return f
	}
	return &Failure{Class: errclass.Server, Retry: true, Msg: se.Error()}
}

// StatusFailure classifies an HTTP error status; detail is the server's
// message (or a body excerpt).
func StatusFailure(code int, detail string, h http.Header) *Failure {
	f := &Failure{Msg: fmt.Sprintf("HTTP %d: %s", code, detail), Status: code}
	switch {
	case code == http.StatusTooManyRequests:
		f.Class, f.Retry = errclass.RateLimit, true
	case code == http.StatusRequestTimeout:
		f.Class, f.Retry = errclass.Timeout, true
	case code >= 500:
		f.Class, f.Retry = errclass.Server, true
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		f.Class = errclass.Auth
	case code == http.StatusNotFound:
		f.Class = errclass.NotFound
	case code == http.StatusBadRequest || code == http.StatusRequestEntityTooLarge || code == http.StatusUnprocessableEntity:
		f.Class = errclass.BadRequest
	default:
		f.Class = errclass.Other
	}
	if f.Retry {
		f.RetryAfter = RetryAfter(h, time.Now())
	}
	return f
}

// BodyExcerpt is the start of an error body, for messages.
func BodyExcerpt(b []byte) string {
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

// RetryAfter reads how long the server asked us to wait: retry-after-ms
// (OpenAI, Azure; milliseconds) first, then Retry-After in seconds or as an
// HTTP date. It returns 0 when neither is usable, and at most MaxRetryAfter.
func RetryAfter(h http.Header, now time.Time) time.Duration {
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
	return min(d, MaxRetryAfter)
}

// Backoff is exponential with full jitter: a uniform wait in
// [0, min(max, base*2^(attempt-1))), which keeps many workers that failed
// together from retrying together.
func Backoff(base, max time.Duration, attempt int) time.Duration {
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

// Sleep waits d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
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

// Gate decides when the next request may start: no sooner than the
// requests-per-minute spacing allows, and not while a server's Retry-After
// pause is running. It hands out start times in order, so with a rate set
// starts are at least one interval apart (a bucket of one token).
type Gate struct {
	mu       sync.Mutex
	interval time.Duration // 0 = unlimited
	next     time.Time     // earliest start of the next request
	paused   time.Time     // no start before this
}

// NewGate spaces starts for rpm requests a minute; 0 = unlimited.
func NewGate(rpm int) *Gate {
	g := &Gate{}
	if rpm > 0 {
		g.interval = time.Minute / time.Duration(rpm)
	}
	return g
}

// Wait blocks until the caller may send a request.
func (g *Gate) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	return Sleep(ctx, g.reserve(now).Sub(now))
}

// reserve books the earliest start at or after now that respects the
// spacing and any pause, and returns it.
func (g *Gate) reserve(now time.Time) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
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
	return at
}

// Pause holds every request until t.
func (g *Gate) Pause(t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.After(g.paused) {
		g.paused = t
	}
}

// Policy is how a caller retries one logical request.
type Policy struct {
	MaxRetries              int // retries after the first attempt
	BackoffBase, BackoffMax time.Duration
	Gate                    *Gate // nil = no spacing, no shared pause
}

// ErrInterrupted is returned by Do when stop ended before an answer.
var ErrInterrupted = errors.New("interrupted")

// Do calls try (attempt = 1, 2, ...) until it returns nil, a failure that
// must not be retried, or the retries are spent; it returns the number of
// attempts made and the last failure (nil on success). A Retry-After pauses
// every user of the Gate, since a server's limit is shared; otherwise the
// wait is a jittered backoff. Once stop is done no attempt or wait starts
// and Do returns ErrInterrupted; so does a failure of class canceled.
func (p Policy) Do(stop context.Context, try func(attempt int) *Failure) (int, *Failure, error) {
	for attempt := 1; ; attempt++ {
		if p.Gate != nil {
			if err := p.Gate.Wait(stop); err != nil {
				return attempt - 1, nil, ErrInterrupted
			}
		} else if stop.Err() != nil {
			return attempt - 1, nil, ErrInterrupted
		}
		f := try(attempt)
		if f == nil {
			return attempt, nil, nil
		}
		if f.Class == errclass.Canceled || (f.Retry && stop.Err() != nil) {
			return attempt, f, ErrInterrupted
		}
		if !f.Retry || attempt > p.MaxRetries {
			return attempt, f, nil
		}
		wait := f.RetryAfter
		if wait > 0 && p.Gate != nil {
			p.Gate.Pause(time.Now().Add(wait))
		} else if wait <= 0 {
			wait = Backoff(p.BackoffBase, p.BackoffMax, attempt)
		}
		if err := Sleep(stop, wait); err != nil {
			return attempt, f, ErrInterrupted
		}
	}
}

// RespInfo is what CaptureResponse saw of an attempt's HTTP response:
// go-openai's errors carry no headers, so Retry-After would be lost.
type RespInfo struct {
	mu        sync.Mutex
	status    int
	header    http.Header
	streamErr *StreamError
}

type respInfoKey struct{}

// WithRespInfo returns a context whose requests record their response in
// info (through a transport that calls CaptureResponse).
func WithRespInfo(ctx context.Context, info *RespInfo) context.Context {
	return context.WithValue(ctx, respInfoKey{}, info)
}

// CaptureResponse stores resp's status and headers in the RespInfo that
// req's context carries, if any. Transports call it after each round trip.
func CaptureResponse(req *http.Request, resp *http.Response) {
	if resp == nil {
		return
	}
	if info, ok := req.Context().Value(respInfoKey{}).(*RespInfo); ok {
		info.set(resp.StatusCode, resp.Header)
	}
}

func (r *RespInfo) set(status int, h http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.header = status, h
}

// Get returns the captured status and headers; zero values when nothing
// was captured or r is nil.
func (r *RespInfo) Get() (int, http.Header) {
	if r == nil {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.header
}

// SetStreamErr records an error event seen in the reply's stream; the first
// one wins.
func (r *RespInfo) SetStreamErr(e *StreamError) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.streamErr == nil {
		r.streamErr = e
	}
}

// StreamErr is the error event SetStreamErr recorded, nil when none was.
func (r *RespInfo) StreamErr() *StreamError {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.streamErr
}

func respInfoOf(ctx context.Context) *RespInfo {
	info, _ := ctx.Value(respInfoKey{}).(*RespInfo)
	return info
}

// RedactURL drops credentials, query and fragment, which may carry secrets.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	return u.String()
}

// Scrub keeps a key and an endpoint's credentials out of a message that
// will be recorded.
func Scrub(msg, apiKey, endpoint string) string {
	if apiKey != "" {
		msg = strings.ReplaceAll(msg, apiKey, "[redacted]")
	}
	if red := RedactURL(endpoint); endpoint != "" && red != endpoint {
		msg = strings.ReplaceAll(msg, endpoint, red)
	}
	// net/http quotes the URL with the password masked but the user name
	// kept; drop the whole userinfo.
	if u, err := url.Parse(endpoint); err == nil && u.User != nil {
		name := u.User.Username()
		for _, ui := range []string{u.User.String(), name + ":***", name} {
			msg = strings.ReplaceAll(msg, "//"+ui+"@", "//")
		}
	}
	return msg
}
