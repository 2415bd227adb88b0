// Package judge is an LLM-as-judge consistency scorer, registered as
// "judge": any OpenAI-compatible chat endpoint is asked whether a summary is
// supported by its source.
//
// Modes:
//   - verdict (default): one call asks whether every claim of the summary is
//     supported. The score is 1 or 0, or, where the server returns token
//     log-probabilities, P(supported) from the yes/no tokens of the answer.
//   - claims: one call lists the summary's claims, a second checks each
//     against the source; the score is the share supported, and the
//     unsupported claims are the explanation.
//
// Replies are requested as JSON (a JSON-schema response format where the
// server takes one; servers that reject it get the same request without)
// and read tolerantly: code fences, prose around the object, Python-style
// quoting, a bare "Yes"/"No". A reply that still cannot be read is asked
// again; when every try fails the pair gets a scorer error, never a score.
// Calls share the generator's retry, rate-limit and Retry-After handling
// (internal/httpretry), and their token use is reported per pair.
package judge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/hallu-eval/hallu/internal/httpretry"
	"github.com/hallu-eval/hallu/scorers"
)

// Name is the registry name.
const Name = "judge"

// Mode names.
const (
	ModeVerdict = "verdict"
	ModeClaims  = "claims"
)

// Defaults for unset options.
const (
	DefaultTimeout      = 2 * time.Minute
	DefaultRetries      = 5
	DefaultParseRetries = 2
	DefaultConcurrency  = 4
	DefaultAPIKeyEnv    = "OPENAI_API_KEY"
	topLogprobs         = 5
)

func init() {
	scorers.Register(scorers.Info{
		Name:        Name,
		Description: "LLM-as-judge over an OpenAI-compatible endpoint (options endpoint=, model=, mode=verdict|claims; see docs/scorers.md)",
		Open:        func(_ context.Context, opts scorers.Options) (scorers.Scorer, error) { return Open(opts) },
	})
}

// Config is the judge's configuration; Open builds it from options.
type Config struct {
	Endpoint string // base URL, e.g. https://api.openai.com/v1
	Model    string
	APIKey   string // bearer token; never recorded
	Mode     string // ModeVerdict or ModeClaims

	Structured bool // ask for a JSON-schema response format
	Logprobs   bool // ask for token log-probabilities (verdict mode)
	MaxTokens  int  // 0 = none sent

	Timeout      time.Duration // per attempt
	Retries      int           // transport retries after the first attempt
	ParseRetries int           // re-asks after an unreadable reply
	Concurrency  int           // pairs judged at once within a Score call
	RPM          int           // request starts per minute; 0 = unlimited
	BackoffBase  time.Duration
	BackoffMax   time.Duration
}

// Judge is the scorer. It is safe for concurrent use.
type Judge struct {
	cfg      Config
	client   *openai.Client
	pool     *http.Transport // the client's connections, closed by Close
	policy   httpretry.Policy
	version  string
	endpoint string // redacted, for messages

	// Features the server turned out not to support; once off, off for
	// the rest of the run.
	noStructured atomic.Bool
	noLogprobs   atomic.Bool
}

var knownOptions = []string{"endpoint", "model", "api-key-env", "mode", "structured", "logprobs", "max-tokens",
	"timeout", "retries", "parse-retries", "concurrency", "rpm", "backoff-base", "backoff-max"}

// Open builds a Judge from --scorer-opt options (see docs/scorers.md).
func Open(opts scorers.Options) (*Judge, error) {
	if err := opts.Check(Name, knownOptions...); err != nil {
		return nil, err
	}
	p := scorers.OptionParser{Opts: opts}
	cfg := Config{
		Endpoint:     opts.Get("endpoint", ""),
		Model:        opts.Get("model", ""),
		Mode:         opts.Get("mode", ModeVerdict),
		Structured:   p.Bool("structured", true),
		Logprobs:     p.Bool("logprobs", true),
		MaxTokens:    p.Int("max-tokens", 0),
		Timeout:      p.Duration("timeout", DefaultTimeout),
		Retries:      p.Int("retries", DefaultRetries),
		ParseRetries: p.Int("parse-retries", DefaultParseRetries),
		Concurrency:  p.Int("concurrency", DefaultConcurrency),
		RPM:          p.Int("rpm", 0),
		BackoffBase:  p.Duration("backoff-base", time.Second),
		BackoffMax:   p.Duration("backoff-max", time.Minute),
	}
	if p.Err != nil {
		return nil, p.Err
	}
	keyEnv, explicit := opts["api-key-env"]
	if !explicit || keyEnv == "" {
		keyEnv = DefaultAPIKeyEnv
	}
	cfg.APIKey = os.Getenv(keyEnv)
	if explicit && cfg.APIKey == "" {
		return nil, fmt.Errorf("api-key-env %s: the environment variable is not set", keyEnv)
	}
	return New(cfg)
}

// New checks cfg and prepares a client.
func New(cfg Config) (*Judge, error) {
	switch {
	case cfg.Endpoint == "":
		return nil, errors.New("no endpoint: give --scorer-opt endpoint=URL (an OpenAI-compatible base URL such as https://api.openai.com/v1)")
	case cfg.Model == "":
		return nil, errors.New("no model: give --scorer-opt model=NAME")
	case cfg.Mode != ModeVerdict && cfg.Mode != ModeClaims:
		return nil, fmt.Errorf("mode %q: want %s or %s", cfg.Mode, ModeVerdict, ModeClaims)
	case cfg.Timeout <= 0 || cfg.Retries < 0 || cfg.ParseRetries < 0 || cfg.Concurrency < 1 || cfg.RPM < 0 || cfg.MaxTokens < 0:
		return nil, errors.New("timeout and concurrency must be positive; retries, parse-retries, rpm and max-tokens not negative")
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http(s) base URL such as https://api.openai.com/v1", httpretry.RedactURL(cfg.Endpoint))
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = cfg.Endpoint
	hc, pool := newHTTPClient(cfg.Concurrency)
	oc.HTTPClient = hc
	return &Judge{
		cfg:    cfg,
		client: openai.NewClientWithConfig(oc),
		pool:   pool,
		policy: httpretry.Policy{
			MaxRetries: cfg.Retries, BackoffBase: cfg.BackoffBase, BackoffMax: cfg.BackoffMax,
			Gate: httpretry.NewGate(cfg.RPM),
		},
		// The judge model, mode and prompts decide the scores; a change
		// of any must show in the recorded version.
		version:  fmt.Sprintf("%s:%s:p%s", cfg.Mode, cfg.Model, promptHash()),
		endpoint: httpretry.RedactURL(cfg.Endpoint),
	}, nil
}

func (j *Judge) Name() string    { return Name }
func (j *Judge) Version() string { return j.version }

// Close drops the pooled connections to the endpoint.
func (j *Judge) Close() error {
	j.pool.CloseIdleConnections()
	return nil
}

// promptHash names the prompts' text: a change of any prompt is a change of
// judge.
func promptHash() string {
	sum := sha256.Sum256([]byte(promptText))
	return hex.EncodeToString(sum[:])[:8]
}

// Identity holds what can move a score: the judge model, the mode, the
// endpoint serving it (a model name means little without the server), the
// prompts, the sampling (temperature is always 0, forced on every request)
// and the reply shape asked for (a JSON schema, log-probabilities, a token
// cap that can cut a reply). Concurrency, rate, timeouts, retries and the
// key's variable change only speed or which pairs fail.
func (j *Judge) Identity() scorers.Identity {
	maxTokens := "none"
	if j.cfg.MaxTokens > 0 {
		maxTokens = strconv.Itoa(j.cfg.MaxTokens)
	}
	return scorers.Identity{
		Name:    Name,
		Version: j.version,
		Options: map[string]string{
			"model":       j.cfg.Model,
			"mode":        j.cfg.Mode,
			"endpoint":    canonicalEndpoint(j.cfg.Endpoint),
			"prompt":      promptHash(),
			"temperature": "0",
			// Claims mode never asks for log-probabilities.
			"logprobs":   strconv.FormatBool(j.cfg.Logprobs && j.cfg.Mode == ModeVerdict),
			"structured": strconv.FormatBool(j.cfg.Structured),
			"max-tokens": maxTokens,
		},
	}
}

// canonicalEndpoint is the endpoint without credentials, query or fragment,
// with scheme and host in lower case and no trailing slash, so spellings
// of one server compare equal.
func canonicalEndpoint(raw string) string {
	u, err := url.Parse(httpretry.RedactURL(raw))
	if err != nil {
		return "(unparsable URL)"
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	u.Path, u.RawPath = strings.TrimRight(u.Path, "/"), ""
	return u.String()
}

// Score judges the pairs, Concurrency at a time. Failures are per pair.
func (j *Judge) Score(ctx context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	return scorers.ScoreEach(ctx, pairs, j.cfg.Concurrency, j.judge)
}

func (j *Judge) judge(ctx context.Context, p scorers.Pair) scorers.Result {
	var (
		r     scorers.Result
		usage *scorers.Usage
	)
	if j.cfg.Mode == ModeClaims {
		r = j.claims(ctx, p, &usage)
	} else {
		r = j.verdict(ctx, p, &usage)
	}
	r.Usage = usage
	return r
}

// reply is one answered chat call.
type reply struct {
	text     string
	finish   string
	logprobs *openai.LogProbs
}

// format is the JSON reply a task asks for.
type format struct {
	name    string
	schema  json.RawMessage
	example string // the reply's shape, for the re-ask after an unreadable reply
}

// chat sends one conversation, retrying transport failures with the shared
// policy, and adds the tokens every answered attempt spent to *usage.
func (j *Judge) chat(ctx context.Context, msgs []openai.ChatCompletionMessage, f format, logprobs bool, usage **scorers.Usage) (*reply, error) {
	var got *reply
	attempts, fail, err := j.policy.Do(ctx, func(int) *httpretry.Failure {
		var f2 *httpretry.Failure
		got, f2 = j.attempt(ctx, msgs, f, logprobs, usage)
		return f2
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("judge call interrupted: %w", err)
	case fail != nil:
		return nil, fmt.Errorf("judge call failed after %d attempts (%s): %s", attempts, fail.Class, httpretry.Scrub(fail.Msg, j.cfg.APIKey, j.cfg.Endpoint))
	}
	return got, nil
}

// attempt is one request. A 400 saying the server does not take a JSON
// schema or log-probabilities turns that feature off for the rest of the
// run and resends at once: that is a capability answer, not a failure.
func (j *Judge) attempt(ctx context.Context, msgs []openai.ChatCompletionMessage, f format, logprobs bool, usage **scorers.Usage) (*reply, *httpretry.Failure) {
	for {
		req := openai.ChatCompletionRequest{Model: j.cfg.Model, Messages: msgs, Temperature: 0}
		if j.cfg.MaxTokens > 0 {
			req.MaxTokens = j.cfg.MaxTokens
		}
		structured := j.cfg.Structured && !j.noStructured.Load()
		if structured {
			req.ResponseFormat = &openai.ChatCompletionResponseFormat{
				Type:       openai.ChatCompletionResponseFormatTypeJSONSchema,
				JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: f.name, Schema: f.schema, Strict: true},
			}
		}
		lp := logprobs && j.cfg.Logprobs && !j.noLogprobs.Load()
		if lp {
			req.LogProbs, req.TopLogProbs = true, topLogprobs
		}
		actx, cancel := context.WithTimeout(ctx, j.cfg.Timeout)
		info := &httpretry.RespInfo{}
		resp, err := j.client.CreateChatCompletion(httpretry.WithRespInfo(actx, info), req)
		if err == nil && len(resp.Choices) == 0 {
			err = &httpretry.ProtocolError{Msg: "reply has no choices"}
		}
		if err != nil {
			fail := httpretry.Classify(err, actx, ctx, info)
			cancel()
			if fail.Status == 400 {
				msg := strings.ToLower(fail.Msg)
				switch {
				case structured && mentionsAny(msg, "response_format", "json_schema", "response format", "structured output"):
					j.noStructured.Store(true)
					continue
				case lp && mentionsAny(msg, "logprobs", "log probabilities"):
					j.noLogprobs.Store(true)
					continue
				}
			}
			return nil, fail
		}
		cancel()
		*usage = (*usage).Add(&scorers.Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens})
		c := resp.Choices[0]
		return &reply{text: c.Message.Content, finish: string(c.FinishReason), logprobs: c.LogProbs}, nil
	}
}

// ask runs a task: it sends msgs and hands the reply to read; while read
// cannot make sense of it, it tells the model what went wrong and asks
// again, up to ParseRetries times.
func (j *Judge) ask(ctx context.Context, msgs []openai.ChatCompletionMessage, f format, logprobs bool, usage **scorers.Usage, read func(*reply) error) error {
	conv := msgs
	var last error
	for try := 0; try <= j.cfg.ParseRetries; try++ {
		r, err := j.chat(ctx, conv, f, logprobs, usage)
		if err != nil {
			return err
		}
		if last = read(r); last == nil {
			return nil
		}
		if r.finish == string(openai.FinishReasonLength) {
			last = fmt.Errorf("%w (the reply was cut short by the token limit; raise max-tokens)", last)
		}
		last = fmt.Errorf("%w; reply: %q", last, excerpt(r.text))
		conv = append(append(append([]openai.ChatCompletionMessage(nil), msgs...),
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: r.text}),
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: fmt.Sprintf(correction, f.example)})
	}
	return fmt.Errorf("judge reply unreadable after %d tries: %w", j.cfg.ParseRetries+1, last)
}

func excerpt(s string) string {
	const max = 200
	s = strings.TrimSpace(s)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

func mentionsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
