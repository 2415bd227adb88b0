// Package eval runs the pipeline's model-facing stages: generate asks a
// model for a summary of every document, score judges each summary.
package eval

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/internal/httpretry"
	"github.com/hallu-eval/hallu/internal/pool"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/served"
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

// Defaults for zero GenerateConfig fields.
const (
	DefaultTimeout     = 2 * time.Minute
	DefaultConcurrency = 4
	DefaultRetries     = 5
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = time.Minute
	DefaultMaxFatal    = 3
)

// GenerateConfig describes one generation run. Zero values mean the
// documented defaults; Temperature's zero is a real temperature and is sent
// as 0.
type GenerateConfig struct {
	Endpoint string // base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1
	Model    string
	APIKey   string // sent as a bearer token; never recorded
	// APIKeyEnv names where the key came from, for the message that stops
	// a run on HTTP 401/403 ("" = "the API key").
	APIKeyEnv string
	// RecordEndpoint is the endpoint written into records and keys; "" =
	// Endpoint without credentials or query. The builtin models set
	// "builtin", so that their random loopback port does not change keys.
	RecordEndpoint string

	Prompt      string // template containing ArticlePlaceholder; "" = DefaultPrompt
	Temperature float32
	MaxTokens   int // 0 = no limit sent
	// MaxTokensField is the request field that carries MaxTokens:
	// MaxTokensField* ("" = MaxTokensAuto).
	MaxTokensField string
	Seed           *int // nil = no seed sent
	Stream         bool // stream the reply; records time to first token
	// ExtraBody holds further request fields (e.g. "top_p", "num_ctx"),
	// merged into every request's JSON and recorded in Params.Extra. Fields
	// hallu sets itself (model, messages, temperature, ...) are refused.
	ExtraBody map[string]any

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
	// MaxFatal stops the run with a *FatalError after this many documents
	// in a row failed in a way no other document can escape: HTTP 401, 403
	// or 404, a refused connection, an unknown host. 0 = DefaultMaxFatal,
	// <0 = never stop.
	MaxFatal int

	// Done maps results.Key(model, doc id) to the GenKey of that
	// document's finished record (from the output being resumed). A
	// document is skipped only when its GenKey now is the same: a record
	// made from another text or with other settings is redone.
	Done map[string]string
	// Total is the expected number of documents (0 = unknown), only used to
	// show progress.
	Total int
	// Progress receives progress: a bar when it is a terminal, else a log
	// line every ProgressInterval (default 5s). nil = no progress output.
	Progress         io.Writer
	ProgressInterval time.Duration

	// ModelCanonical is the server's own name for Model (see package
	// served), written into every record; "" = not known. It is not part
	// of the generation key.
	ModelCanonical string
	// LatencyQueued marks every record's latency as including time queued
	// for a server slot (concurrency above the server's parallel slots).
	LatencyQueued bool
	// ServerContext is the context length the server runs the model with,
	// when it says (see package served); 0 = unknown. A reply whose
	// prompt usage reaches it marks the record InputTruncated: the prompt
	// filled the whole context, so the server cut it.
	ServerContext int

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

// The token-limit fields a request can carry the limit in.
const (
	// MaxTokensAuto sends max_completion_tokens to OpenAI's own API for
	// the models go-openai treats as reasoning models (o1*, o3*, gpt-5*,
	// which refuse max_tokens there) and max_tokens everywhere else: local
	// servers (Ollama, llama.cpp) know only max_tokens, and would run a
	// model so named without any limit.
	MaxTokensAuto       = ""
	MaxTokensField      = "max_tokens"
	MaxCompletionTokens = "max_completion_tokens"
)

// TokenLimitField is the field a request to endpoint for model carries the
// token limit in, given the configured choice (MaxTokensAuto or a field).
func TokenLimitField(endpoint, model, choice string) string {
	if choice != MaxTokensAuto {
		return choice
	}
	if served.IsOpenAI(endpoint) {
		probe := openai.ChatCompletionRequest{Model: model, MaxTokens: 1}
		if errors.Is(openai.NewReasoningValidator().Validate(probe), openai.ErrReasoningModelMaxTokensDeprecated) {
			return MaxCompletionTokens
		}
	}
	return MaxTokensField
}

// GenerateStats counts what a run did with the documents it saw.
type GenerateStats struct {
	Done     int // written with a summary
	Failed   int // written with an error
	Skipped  int // already done in the output (GenerateConfig.Done)
	Rejected int // bad records skipped by GenerateConfig.OnBadRecord
	// NotStarted counts documents not written by this run because it was
	// interrupted, including those whose request was cut short; they are
	// redone on resume. NotStartedAtLeast is set when the rest of the
	// dataset could not be counted in time.
	NotStarted        int
	NotStartedAtLeast bool
	// OutputTruncated counts summaries cut at the token limit;
	// InputTruncated those of a document the server cut to its context
	// (see results.Record). Both are among Done.
	OutputTruncated int
	InputTruncated  int
}

func (s GenerateStats) String() string {
	more := ""
	if s.NotStartedAtLeast {
		more = "+"
	}
	msg := fmt.Sprintf("%d done, %d failed", s.Done, s.Failed)
	if s.Skipped > 0 {
		msg += fmt.Sprintf(", %d already done", s.Skipped)
	}
	if s.NotStarted > 0 || more != "" {
		msg += fmt.Sprintf(", %d%s not started", s.NotStarted, more)
	}
	return msg
}

// ErrNoneSucceeded is wrapped by the *FatalError of a run in which every
// document it tried failed.
var ErrNoneSucceeded = errors.New("no document succeeded")

// FatalError stops a run whose endpoint cannot serve any document: MaxFatal
// documents in a row failed with HTTP 401/403/404 or a refused connection,
// or the run ended without one success (and none done earlier: Skipped). Its message is one line naming the
// cause and what to check.
type FatalError struct {
	Cause string // e.g. "HTTP 401 from http://127.0.0.1:8080/v1: check OPENAI_API_KEY"
	Class string // results.ErrClass* of the last failure
	Stats GenerateStats
	// NoneSucceeded: the run ended (not stopped early) with failures only.
	NoneSucceeded bool
}

func (e *FatalError) Error() string { return e.Cause }

func (e *FatalError) Unwrap() error {
	if e.NoneSucceeded {
		return ErrNoneSucceeded
	}
	return nil
}

// Generator asks one model for summaries.
type Generator struct {
	cfg        GenerateConfig
	client     *openai.Client
	hc         *http.Client
	endpoint   string // the endpoint in messages: no credentials, no query
	recordEP   string // the endpoint in records and keys
	promptHash string
	params     results.Params
	policy     httpretry.Policy
}

// reservedBody are the request fields hallu sets itself; ExtraBody may not
// override them, or Params would not say what was sent.
var reservedBody = []string{"model", "messages", "stream", "stream_options", "temperature", "seed", "max_tokens", "max_completion_tokens"}

// NewGenerator checks cfg and prepares a client.
func NewGenerator(cfg GenerateConfig) (*Generator, error) {
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
	switch cfg.MaxTokensField {
	case MaxTokensAuto, MaxTokensField, MaxCompletionTokens:
	default:
		return nil, fmt.Errorf("generate: max tokens field %q: want %s or %s", cfg.MaxTokensField, MaxTokensField, MaxCompletionTokens)
	}
	if cfg.MaxTokens < 0 || cfg.Concurrency < 0 || cfg.RequestsPerMinute < 0 || cfg.Timeout < 0 {
		return nil, errors.New("generate: max tokens, concurrency, requests per minute and timeout must not be negative")
	}
	forced := map[string]json.RawMessage{
		// go-openai omits a zero temperature, the leaderboard's setting.
		"temperature": json.RawMessage(strconv.FormatFloat(float64(cfg.Temperature), 'g', -1, 32)),
	}
	if cfg.Seed != nil {
		forced["seed"] = json.RawMessage(strconv.Itoa(*cfg.Seed))
	}
	// The limit goes in the body directly: go-openai refuses to send
	// max_tokens for a model it takes for a reasoning model, even to a
	// local server that knows no other field.
	limitField := TokenLimitField(cfg.Endpoint, cfg.Model, cfg.MaxTokensField)
	if cfg.MaxTokens > 0 {
		forced[limitField] = json.RawMessage(strconv.Itoa(cfg.MaxTokens))
	}
	for k, v := range cfg.ExtraBody {
		if slices.Contains(reservedBody, k) {
			return nil, fmt.Errorf("generate: extra body field %q is set by hallu; use its own option", k)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("generate: extra body field %q: %w", k, err)
		}
		forced[k] = b
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
	if cfg.MaxFatal == 0 {
		cfg.MaxFatal = DefaultMaxFatal
	}

	var base http.RoundTripper
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		base = cfg.HTTPClient.Transport
	} else {
		base = httpretry.PooledTransport(cfg.Concurrency)
	}
	hc := &http.Client{Transport: &httpretry.ChatTransport{Base: base, Forced: forced}}
	if cfg.HTTPClient != nil {
		hc.CheckRedirect = cfg.HTTPClient.CheckRedirect
		hc.Jar = cfg.HTTPClient.Jar
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = cfg.Endpoint
	oc.HTTPClient = hc

	g := &Generator{
		cfg:        cfg,
		client:     openai.NewClientWithConfig(oc),
		hc:         hc,
		endpoint:   httpretry.RedactURL(cfg.Endpoint),
		recordEP:   cmp.Or(cfg.RecordEndpoint, httpretry.RedactURL(cfg.Endpoint)),
		promptHash: results.TextHash(cfg.Prompt),
		params: results.Params{
			Temperature: cfg.Temperature,
			Seed:        cfg.Seed,
			MaxTokens:   cfg.MaxTokens,
			Stream:      cfg.Stream,
			Extra:       maps.Clone(cfg.ExtraBody),
		},
		policy: httpretry.Policy{MaxRetries: cfg.MaxRetries, BackoffBase: cfg.BackoffBase, BackoffMax: cfg.BackoffMax, Gate: httpretry.NewGate(cfg.RequestsPerMinute)},
	}
	if cfg.Seed != nil {
		seed := *cfg.Seed
		g.params.Seed = &seed
	}
	if cfg.MaxTokens > 0 && limitField != TokenLimitField(cfg.Endpoint, cfg.Model, MaxTokensAuto) {
		// Recorded only when forced away from the field the endpoint and
		// model imply (both in the key already), so that records made
		// before the choice existed keep their generation keys.
		g.params.MaxTokensField = limitField
	}
	return g, nil
}

// PromptHash identifies the prompt template in records:
// results.TextHash of it.
func (g *Generator) PromptHash() string { return g.promptHash }

// Template is a record carrying the run-wide settings every record of this
// generator will have (Model, Endpoint, PromptHash, Params), for comparing
// with an existing file's records (results.SettingsDiff).
func (g *Generator) Template() *results.Record {
	p := g.params
	return &results.Record{Model: g.cfg.Model, Endpoint: g.recordEP, PromptHash: g.promptHash, Params: &p}
}

// Request is the chat request body this generator sends for a document
// text, forced fields included, for a dry run to show.
func (g *Generator) Request(text string) ([]byte, error) {
	b, err := json.Marshal(g.request(text))
	if err != nil {
		return nil, err
	}
	return g.hc.Transport.(*httpretry.ChatTransport).Rewrite(b)
}

// Key is the GenKey that doc's record from this generator will have.
func (g *Generator) Key(doc dataset.Document) string {
	rec := g.Template()
	rec.DocID, rec.DocHash = doc.ID, results.TextHash(doc.Text)
	return results.GenerationKey(rec)
}

// Close releases the generator's idle connections, so that a server being
// shut down (the builtin models' one) does not wait for them.
func (g *Generator) Close() error {
	g.hc.CloseIdleConnections()
	return nil
}

// Generate summarizes every document of src with the model in cfg and hands
// one record per document to sink. See Generator.Run.
func Generate(ctx context.Context, src dataset.Source, sink func(*results.Record) error, cfg GenerateConfig) (GenerateStats, error) {
	g, err := NewGenerator(cfg)
	if err != nil {
		return GenerateStats{}, err
	}
	defer g.Close()
	return g.Run(ctx, src, sink)
}

// errInterrupted marks a document whose processing was cut short by
// cancellation; it is not written, so a resumed run redoes it.
var errInterrupted = errors.New("interrupted")

// drainBudget bounds how long an interrupted run keeps reading the dataset
// just to count what was not started.
const drainBudget = 2 * time.Second

// genOut is one document's outcome as the pool carries it to the sink.
type genOut struct {
	rec   *results.Record
	fatal string // fatalCause of its failure
}

// Run feeds src to Concurrency workers (an internal/pool run) and hands
// each finished record to sink, one call at a time (sink need not be safe
// for concurrent use), in completion order. A document's failure is
// recorded and the run goes on, unless MaxFatal documents in a row fail
// fatally (*FatalError). When ctx is cancelled no new document or retry
// starts, requests in flight get GenerateConfig.Grace to finish, and Run
// returns an *InterruptedError. A sink error or a dataset read error stops
// the run and is returned; so does a run in which no document succeeded
// (*FatalError wrapping ErrNoneSucceeded). src is not closed.
func (g *Generator) Run(ctx context.Context, src dataset.Source, sink func(*results.Record) error) (GenerateStats, error) {
	// Requests in flight outlive ctx by Grace, so that finished work is
	// kept on Ctrl-C; graceCtx ends them. A sink error or a fatal stop
	// ends them at once, through the pool's work context.
	graceCtx, endGrace := context.WithCancel(context.WithoutCancel(ctx))
	defer endGrace()
	defer context.AfterFunc(ctx, func() {
		t := time.AfterFunc(g.cfg.Grace, endGrace)
		context.AfterFunc(graceCtx, func() { t.Stop() })
	})()

	prog := newProgress(g.cfg.Progress, "generate", g.cfg.Total, g.cfg.ProgressInterval)
	var (
		st       GenerateStats
		fatalRun int // consecutive fatal failures
		fatal    *FatalError
		sinkErr  error
		lastFail *results.Error
	)
	isDone := func(doc dataset.Document) bool {
		want, ok := g.cfg.Done[results.Key(g.cfg.Model, doc.ID)]
		return ok && want == g.Key(doc)
	}

	// A dataset on a pipe may block; the pool must be able to stop
	// waiting for it on Ctrl-C.
	read, stopRead := pool.Interruptible(src.Next)
	defer stopRead()
	next := func(pctx context.Context) (dataset.Document, error) {
		for {
			doc, err := read(pctx)
			var re *dataset.RecordError
			if errors.As(err, &re) && g.cfg.OnBadRecord != nil {
				if err = g.cfg.OnBadRecord(re); err == nil {
					st.Rejected++
					continue
				}
			}
			if err != nil {
				return doc, err
			}
			if isDone(doc) {
				st.Skipped++
				prog.skip()
				continue
			}
			return doc, nil
		}
	}

	work := func(wctx context.Context, doc dataset.Document) (genOut, error) {
		// No attempt or backoff starts once ctx or wctx is done; a
		// request in flight is cut when wctx or the grace period ends.
		stop, endStop := context.WithCancel(wctx)
		defer endStop()
		defer context.AfterFunc(ctx, endStop)()
		abort, endAbort := context.WithCancel(wctx)
		defer endAbort()
		defer context.AfterFunc(graceCtx, endAbort)()
		rec, f, err := g.summarize(stop, abort, doc)
		if err != nil {
			return genOut{}, err
		}
		if g.cfg.Annotate != nil {
			g.cfg.Annotate(doc, rec)
		}
		return genOut{rec: rec, fatal: g.fatalCause(f)}, nil
	}

	deliver := func(r pool.Result[dataset.Document, genOut]) error {
		out := r.Out
		switch {
		case errors.Is(r.Err, pool.ErrNotStarted) || errors.Is(r.Err, errInterrupted):
			st.NotStarted++
			return nil
		case r.Err != nil: // a panic, in Annotate say: that document fails
			out.rec = g.newRecord(r.In)
			out.rec.Error = &results.Error{Class: errclass.Other, Message: firstLine(r.Err.Error())}
		}
		rec := out.rec
		if err := sink(rec); err != nil {
			sinkErr = err
			return err
		}
		prog.record(rec.Error != nil)
		if rec.Error == nil {
			st.Done++
			fatalRun = 0
			if rec.OutputTruncated {
				st.OutputTruncated++
			}
			if rec.InputTruncated {
				st.InputTruncated++
			}
			return nil
		}
		st.Failed++
		lastFail = rec.Error
		if out.fatal == "" {
			fatalRun = 0
			return nil
		}
		if fatalRun++; g.cfg.MaxFatal > 0 && fatalRun >= g.cfg.MaxFatal {
			fatal = &FatalError{Cause: out.fatal, Class: rec.Error.Class}
			return fatal // stops the pool: nothing more starts, requests are cut
		}
		return nil
	}

	err := pool.Run(ctx, pool.Config{Workers: g.cfg.Concurrency}, next, work, deliver)
	interrupted := ctx.Err() != nil && sinkErr == nil && fatal == nil
	if interrupted {
		st.NotStarted += g.drain(ctx, read, isDone, &st.NotStartedAtLeast)
	}
	prog.finish()

	switch {
	case sinkErr != nil:
		return st, fmt.Errorf("generate: %w (%s)", sinkErr, st)
	case fatal != nil:
		fatal.Stats = st
		return st, fatal
	case err != nil && !errors.Is(err, ctx.Err()):
		return st, fmt.Errorf("generate: reading dataset: %w (%s)", err, st)
	case interrupted:
		return st, &InterruptedError{Stage: "generate", Stats: st}
	case st.Done == 0 && st.Skipped == 0 && st.Failed > 0:
		// With documents done by an earlier run the output holds
		// summaries; a few that fail every time must not fail each rerun.
		return st, &FatalError{
			Cause:         fmt.Sprintf("no document succeeded: %d failed, the last with %s: %s", st.Failed, lastFail.Class, oneLine(lastFail.Message)),
			Class:         lastFail.Class,
			Stats:         st,
			NoneSucceeded: true,
		}
	}
	return st, nil
}

// drain counts the documents an interrupted run left, reading on for at
// most drainBudget; atLeast is set when it could not finish.
func (g *Generator) drain(ctx context.Context, read func(context.Context) (dataset.Document, error), isDone func(dataset.Document) bool, atLeast *bool) int {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainBudget)
	defer cancel()
	n := 0
	for {
		doc, err := read(dctx)
		var re *dataset.RecordError
		switch {
		case errors.As(err, &re):
		case err != nil:
			*atLeast = !errors.Is(err, io.EOF)
			return n
		case !isDone(doc):
			n++
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// fatalCause names, in one line, why f means no document can succeed on
// this endpoint; "" when f (nil = success) is not such a failure.
func (g *Generator) fatalCause(f *httpretry.Failure) string {
	if f == nil {
		return ""
	}
	var dns *net.DNSError
	switch {
	case (f.Status == http.StatusUnauthorized || f.Status == http.StatusForbidden) && g.cfg.APIKey == "":
		return fmt.Sprintf("HTTP %d from %s: no API key was sent; set %s", f.Status, g.endpoint, cmp.Or(g.cfg.APIKeyEnv, "one"))
	case f.Status == http.StatusUnauthorized || f.Status == http.StatusForbidden:
		return fmt.Sprintf("HTTP %d from %s: check %s", f.Status, g.endpoint, cmp.Or(g.cfg.APIKeyEnv, "the API key"))
	case f.Status == http.StatusNotFound:
		msg := fmt.Sprintf("HTTP 404 from %s: unknown model %q? (or a base URL without /v1)", g.endpoint, g.cfg.Model)
		// The server's own words often say which of the two it is.
		if said := strings.TrimPrefix(oneLine(httpretry.Scrub(f.Msg, g.cfg.APIKey, g.cfg.Endpoint)), "HTTP 404: "); said != "" {
			if len(said) > 160 {
				said = said[:160] + "…"
			}
			msg += "; the server said: " + said
		}
		return msg
	case f.Refused():
		return fmt.Sprintf("connection refused by %s: is the server running?", g.endpoint)
	case errors.As(f.Err, &dns) && dns.IsNotFound:
		return fmt.Sprintf("unknown host %q in %s: check the endpoint", dns.Name, g.endpoint)
	}
	return ""
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Summarize asks the model for one document's summary, retrying transient
// failures. The record carries either a summary or an error; the error
// return is only for cancellation, in which case there is no record.
func (g *Generator) Summarize(ctx context.Context, doc dataset.Document) (*results.Record, error) {
	rec, _, err := g.summarize(ctx, ctx, doc)
	return rec, err
}

// summarize starts no attempt or backoff once stop is done, and cuts a
// request in flight only when abort is done. It returns the last failure
// with the record that describes it.
func (g *Generator) summarize(stop, abort context.Context, doc dataset.Document) (*results.Record, *httpretry.Failure, error) {
	rec := g.newRecord(doc)
	rec.StartedAt = time.Now().UTC()
	req := g.request(doc.Text)
	rec.PromptTokensEst = EstimateTokens(req.Messages[0].Content)
	var res *reply
	attempts, f, err := g.policy.Do(stop, func(attempt int) *httpretry.Failure {
		var f *httpretry.Failure
		res, f = g.attempt(abort, req)
		// Nothing listening: one quick retry covers a server restarting;
		// more would only delay the stop for MaxFatal.
		if f.Refused() && g.cfg.MaxFatal > 0 && attempt >= 2 {
			f.Retry = false
		}
		return f
	})
	rec.Attempts = attempts
	switch {
	case err != nil:
		return nil, nil, errInterrupted
	case f != nil:
		rec.Error = &results.Error{Class: f.Class, Message: httpretry.Scrub(f.Msg, g.cfg.APIKey, g.cfg.Endpoint)}
	default:
		res.fill(rec)
		rec.InputTruncated = inputTruncated(rec.Usage, rec.PromptTokensEst) ||
			(g.cfg.ServerContext > 0 && rec.Usage != nil && rec.Usage.PromptTokens >= g.cfg.ServerContext)
	}
	rec.EndedAt = time.Now().UTC()
	return rec, f, nil
}

// newRecord is doc's record before any request: its keys set.
func (g *Generator) newRecord(doc dataset.Document) *results.Record {
	rec := g.Template()
	rec.DocID = doc.ID
	rec.Dataset = doc.Dataset
	rec.Source = doc.Text
	rec.DocHash = results.TextHash(doc.Text)
	rec.GenKey = results.GenerationKey(rec)
	// Set after the key: neither is part of what was asked.
	if g.cfg.ModelCanonical != g.cfg.Model {
		rec.ModelCanonical = g.cfg.ModelCanonical
	}
	rec.LatencyQueued = g.cfg.LatencyQueued
	return rec
}

// EstimateTokens is a cheap local count of the tokens in a prompt: UTF-8
// bytes / 4. BPE tokenizers average about 4 bytes per token on English
// prose (3.5-5 across Llama, Qwen, Gemma and OpenAI vocabularies); text in
// other scripts, digits and code take more tokens per byte, so the
// estimate errs low there, which only makes truncation harder to claim.
func EstimateTokens(s string) int { return (len(s) + 3) / 4 }

// inputTruncated reports a server that counted far fewer prompt tokens
// than the prompt holds: fewer than half the estimate. No tokenizer packs
// prose into more than ~6 bytes a token (2/3 of the estimate), and the chat
// template only adds tokens, so a count below half means the server
// dropped part of the prompt (context shift, a small num_ctx).
func inputTruncated(u *results.Usage, est int) bool {
	return u != nil && u.PromptTokens > 0 && u.PromptTokens*2 < est
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
	return req
}
