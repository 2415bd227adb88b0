// Package eval runs the pipeline's model-facing stages: generate asks a
// model for a summary of every document, score judges each summary.
package eval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/internal/httpretry"
	"github.com/hallu-eval/hallu/results"
	openai "github.com/sashabaranov/go-openai"
)

// DefaultPrompt is the leaderboard's summarization prompt, byte for byte as
// its stats.jsonl stores it (leading and trailing newline included). It is
// sent as the only, user, message.
const DefaultPrompt = `
Your task is to provide a concise and factual summary for the given passage.

Rules
1. Summarize using only the information in the given passage. Do not infer. Do not use your internal knowledge.
2. Do not provide a preamble or explanation, output only the summary.
3. Summaries should never exceed 20 percent of the passage's length.
4. Maintain a neutral tone.

If you are unable to summarize the passage due to missing, unreadable, irrelevant or insufficient content, respond only with:
"I am unable to summarize this passage."
Here is the passage:
{article}
`

// ArticlePlaceholder is replaced by the document text in a prompt template.
const ArticlePlaceholder = "{article}"

// Defaults for zero Config fields.
const (
	DefaultTimeout     = 2 * time.Minute
	DefaultConcurrency = 4
	DefaultRetries     = 5
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = time.Minute
)

// Config describes one generation run. Zero values mean the documented
// defaults; Temperature's zero is a real temperature and is sent as 0.
type Config struct {
	Endpoint string // base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1
	Model    string
	APIKey   string // sent as a bearer token; never recorded

	Prompt      string // template containing ArticlePlaceholder; "" = DefaultPrompt
	Temperature float32
	MaxTokens   int  // 0 = no limit sent
	Seed        *int // nil = no seed sent
	Stream      bool // stream the reply; records time to first token

	Timeout     time.Duration // per attempt; 0 = DefaultTimeout
	MaxRetries  int           // retries after the first attempt; 0 = DefaultRetries, <0 = none
	Concurrency int           // requests in flight; 0 = DefaultConcurrency
	// RequestsPerMinute spaces request starts (retries included) evenly;
	// 0 = unlimited.
	RequestsPerMinute int
	// BackoffBase and BackoffMax bound the exponential, fully jittered wait
	// between retries when the server does not say how long to wait.
	BackoffBase, BackoffMax time.Duration
	// Grace is how long in-flight requests may still finish after the run's
	// context is cancelled; 0 = Timeout.
	Grace time.Duration

	// Done holds results.Key(model, doc id) of documents already finished
	// (from results.Resume); they are skipped.
	Done map[string]bool
	// Total is the expected number of documents (0 = unknown), only used to
	// show progress.
	Total int
	// Progress receives progress: a bar when it is a terminal, else a log
	// line every ProgressInterval (default 5s). nil = no progress output.
	Progress         io.Writer
	ProgressInterval time.Duration

	// Annotate, when set, is called on every record before it is written.
	Annotate func(doc dataset.Document, rec *results.Record)
	// OnBadRecord decides what a *dataset.RecordError (one unusable
	// document; the source can go on) does: return nil to skip the document,
	// an error to stop the run. nil stops the run at the first bad record.
	OnBadRecord func(err *dataset.RecordError) error

	// HTTPClient supplies the base transport (nil = a tuned copy of
	// http.DefaultTransport). Its Timeout should be 0: Timeout applies per
	// attempt, streaming included.
	HTTPClient *http.Client
}

// Stats counts what a run did with the documents it saw.
type Stats struct {
	Done     int // written with a summary
	Failed   int // written with an error
	Skipped  int // already done in the output (Config.Done)
	Rejected int // bad records skipped by Config.OnBadRecord
	// NotStarted counts documents not written by this run because it was
	// interrupted, including those whose request was cut short; they are
	// redone on resume. NotStartedAtLeast is set when the rest of the
	// dataset could not be counted in time.
	NotStarted        int
	NotStartedAtLeast bool
}

func (s Stats) String() string {
	more := ""
	if s.NotStartedAtLeast {
		more = "+"
	}
	return fmt.Sprintf("%d done, %d failed, %d%s not started", s.Done, s.Failed, s.NotStarted, more)
}

// Generator asks one model for summaries.
type Generator struct {
	cfg        Config
	client     *openai.Client
	endpoint   string // for records: no credentials, no query
	promptHash string
	policy     httpretry.Policy
}

// NewGenerator checks cfg and prepares a client.
func NewGenerator(cfg Config) (*Generator, error) {
	if cfg.Model == "" {
		return nil, errors.New("generate: no model given")
	}
	if cfg.Endpoint == "" {
		return nil, errors.New("generate: no endpoint given")
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("generate: endpoint %q is not an http(s) base URL such as http://127.0.0.1:11434/v1", httpretry.RedactURL(cfg.Endpoint))
	}
	if cfg.Prompt == "" {
		cfg.Prompt = DefaultPrompt
	}
	if !strings.Contains(cfg.Prompt, ArticlePlaceholder) {
		return nil, fmt.Errorf("generate: prompt template has no %s placeholder for the document text", ArticlePlaceholder)
	}
	if cfg.Temperature < 0 || cfg.Temperature > 2 {
		return nil, fmt.Errorf("generate: temperature %v is outside [0,2]", cfg.Temperature)
	}
	if cfg.MaxTokens < 0 || cfg.Concurrency < 0 || cfg.RequestsPerMinute < 0 || cfg.Timeout < 0 {
		return nil, errors.New("generate: max tokens, concurrency, requests per minute and timeout must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.Grace <= 0 {
		cfg.Grace = cfg.Timeout
	}

	var base http.RoundTripper
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		base = cfg.HTTPClient.Transport
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Without this, all but two of the workers' connections are closed
		// after each request and re-dialled for the next.
		t.MaxIdleConnsPerHost = cfg.Concurrency + 4
		t.MaxIdleConns = cfg.Concurrency + 4
		base = t
	}
	hc := &http.Client{Transport: newTransport(base, cfg.Temperature, cfg.Seed)}
	if cfg.HTTPClient != nil {
		hc.CheckRedirect = cfg.HTTPClient.CheckRedirect
		hc.Jar = cfg.HTTPClient.Jar
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = cfg.Endpoint
	oc.HTTPClient = hc

	sum := sha256.Sum256([]byte(cfg.Prompt))
	return &Generator{
		cfg:        cfg,
		client:     openai.NewClientWithConfig(oc),
		endpoint:   httpretry.RedactURL(cfg.Endpoint),
		promptHash: hex.EncodeToString(sum[:])[:16],
		policy:     httpretry.Policy{MaxRetries: cfg.MaxRetries, BackoffBase: cfg.BackoffBase, BackoffMax: cfg.BackoffMax, Gate: httpretry.NewGate(cfg.RequestsPerMinute)},
	}, nil
}

// PromptHash identifies the prompt template in records: the first 16 hex
// digits of its SHA-256.
func (g *Generator) PromptHash() string { return g.promptHash }

// Generate summarizes every document of src with the model in cfg and writes
// one record per document to w. See Generator.Run.
func Generate(ctx context.Context, src dataset.Source, cfg Config, w *results.Writer) (Stats, error) {
	g, err := NewGenerator(cfg)
	if err != nil {
		return Stats{}, err
	}
	return g.Run(ctx, src, w)
}

// errInterrupted marks a document whose processing was cut short by
// cancellation; it is not written, so a resumed run redoes it.
var errInterrupted = errors.New("interrupted")

// drainBudget bounds how long an interrupted run keeps reading the dataset
// just to count what was not started.
const drainBudget = 2 * time.Second

// Run feeds src to Concurrency workers and writes each finished record to w.
// A document's failure is recorded and the run goes on. When ctx is
// cancelled no new document or retry starts, requests in flight get
// Config.Grace to finish, and Run returns an *InterruptedError. A write
// failure or a dataset read error stops the run and is returned. src is not
// closed.
func (g *Generator) Run(ctx context.Context, src dataset.Source, w *results.Writer) (Stats, error) {
	// stop ends feeding and retrying; abort, Grace later, ends requests in
	// flight. Separating them lets finished work be kept on Ctrl-C.
	stop, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	abortCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	go func() {
		select {
		case <-stop.Done():
		case <-abortCtx.Done():
			return
		}
		if ctx.Err() == nil { // a fatal error, not an interruption: no grace
			abort()
			return
		}
		t := time.NewTimer(g.cfg.Grace)
		defer t.Stop()
		select {
		case <-t.C:
			abort()
		case <-abortCtx.Done():
		}
	}()

	prog := newProgress(g.cfg.Progress, "generate", g.cfg.Total, g.cfg.ProgressInterval)
	var (
		done, failed, skipped, notStarted atomic.Int64
		rejected                          int // feeder only
		notCounted                        atomic.Bool
		srcErr                            error
		writeErr                          error
		writeOnce                         sync.Once
	)

	jobs := make(chan dataset.Document)
	feederDone := make(chan struct{})
	go func() {
		defer close(feederDone)
		defer close(jobs)
		for stop.Err() == nil {
			doc, err := src.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var re *dataset.RecordError
			if errors.As(err, &re) && g.cfg.OnBadRecord != nil {
				if err = g.cfg.OnBadRecord(re); err == nil {
					rejected++
					continue
				}
			}
			if err != nil {
				srcErr = err // documents already handed out still finish
				return
			}
			if g.cfg.Done[results.Key(g.cfg.Model, doc.ID)] {
				skipped.Add(1)
				prog.skip()
				continue
			}
			select {
			case jobs <- doc:
			case <-stop.Done():
				notStarted.Add(1)
			}
		}
		if ctx.Err() == nil {
			return // stopped by a fatal error; the count does not matter
		}
		// Count the rest so the user knows how much is left.
		deadline := time.Now().Add(drainBudget)
		for {
			if time.Now().After(deadline) {
				notCounted.Store(true)
				return
			}
			doc, err := src.Next()
			var re *dataset.RecordError
			if errors.As(err, &re) {
				continue
			}
			if err != nil {
				notCounted.Store(!errors.Is(err, io.EOF))
				return
			}
			if !g.cfg.Done[results.Key(g.cfg.Model, doc.ID)] {
				notStarted.Add(1)
			}
		}
	}()

	var wg sync.WaitGroup
	for range g.cfg.Concurrency {
		wg.Go(func() {
			for doc := range jobs {
				if stop.Err() != nil {
					notStarted.Add(1)
					continue
				}
				rec, err := g.summarize(stop, abortCtx, doc)
				if err != nil { // interrupted
					notStarted.Add(1)
					continue
				}
				if g.cfg.Annotate != nil {
					g.cfg.Annotate(doc, rec)
				}
				if err := w.Write(rec); err != nil {
					writeOnce.Do(func() { writeErr = err })
					stopRun(err)
					abort()
					continue
				}
				if rec.Error != nil {
					failed.Add(1)
				} else {
					done.Add(1)
				}
				prog.record(rec.Error != nil)
			}
		})
	}
	wg.Wait()
	<-feederDone
	prog.finish()

	st := Stats{
		Done:              int(done.Load()),
		Failed:            int(failed.Load()),
		Skipped:           int(skipped.Load()),
		Rejected:          rejected,
		NotStarted:        int(notStarted.Load()),
		NotStartedAtLeast: notCounted.Load(),
	}
	switch {
	case writeErr != nil:
		return st, fmt.Errorf("generate: %w (%s)", writeErr, st)
	case srcErr != nil:
		return st, fmt.Errorf("generate: reading dataset: %w (%s)", srcErr, st)
	case ctx.Err() != nil:
		return st, &InterruptedError{Stage: "generate", Stats: st}
	}
	return st, nil
}

// Summarize asks the model for one document's summary, retrying transient
// failures. The record carries either a summary or an error; the error
// return is only for cancellation, in which case there is no record.
func (g *Generator) Summarize(ctx context.Context, doc dataset.Document) (*results.Record, error) {
	return g.summarize(ctx, ctx, doc)
}

// summarize starts no attempt or backoff once stop is done, and cuts a
// request in flight only when abort is done.
func (g *Generator) summarize(stop, abort context.Context, doc dataset.Document) (*results.Record, error) {
	rec := &results.Record{
		DocID:      doc.ID,
		Dataset:    doc.Dataset,
		Source:     doc.Text,
		Model:      g.cfg.Model,
		Endpoint:   g.endpoint,
		PromptHash: g.promptHash,
		StartedAt:  time.Now().UTC(),
	}
	req := g.request(doc.Text)
	var res *reply
	attempts, f, err := g.policy.Do(stop, func(int) *httpretry.Failure {
		var f *httpretry.Failure
		res, f = g.attempt(abort, req)
		return f
	})
	rec.Attempts = attempts
	switch {
	case err != nil:
		return nil, errInterrupted
	case f != nil:
		rec.Error = &results.Error{Class: f.Class, Message: httpretry.Scrub(f.Msg, g.cfg.APIKey, g.cfg.Endpoint)}
	default:
		res.fill(rec)
	}
	rec.EndedAt = time.Now().UTC()
	return rec, nil
}

func (g *Generator) request(text string) openai.ChatCompletionRequest {
	req := openai.ChatCompletionRequest{
		Model: g.cfg.Model,
		Messages: []openai.ChatCompletionMessage{{
			Role:    openai.ChatMessageRoleUser,
			Content: strings.ReplaceAll(g.cfg.Prompt, ArticlePlaceholder, text),
		}},
		Temperature: g.cfg.Temperature,
		Seed:        g.cfg.Seed,
		Stream:      g.cfg.Stream,
	}
	if g.cfg.Stream {
		req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	if g.cfg.MaxTokens > 0 {
		req.MaxTokens = g.cfg.MaxTokens
		// Reasoning models accept only max_completion_tokens, and go-openai
		// refuses to send max_tokens to them.
		if errors.Is(openai.NewReasoningValidator().Validate(req), openai.ErrReasoningModelMaxTokensDeprecated) {
			req.MaxTokens, req.MaxCompletionTokens = 0, g.cfg.MaxTokens
		}
	}
	return req
}
