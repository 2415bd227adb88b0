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
// A preset (preset=NAME) instead sends a published checker's own prompt
// and reads its own answer words (presets.go); repeat=k judges each pair k
// times and scores the majority verdict (repeat.go).
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
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
		Description: "LLM-as-judge over an OpenAI-compatible endpoint (options endpoint=, model=, mode=verdict|claims, preset=bespoke-minicheck|granite-guardian|granite-guardian-hf|lynx, repeat=k; see docs/scorers.md)",
		Open:        func(_ context.Context, opts scorers.Options) (scorers.Scorer, error) { return Open(opts) },
	})
}

// Config is the judge's configuration; Open builds it from options.
type Config struct {
	Endpoint string // base URL, e.g. https://api.openai.com/v1
	Model    string
	APIKey   string // bearer token; never recorded
	Mode     string // ModeVerdict or ModeClaims

	// Preset, when set, replaces the prompts and reply parsing with a
	// published checker's (see presets.go); Question is the QUESTION a
	// preset that takes one (lynx) is given.
	Preset   string
	Question string

	// Repeat is how many times each pair is judged (see repeat.go);
	// Temperature is sent on every request.
	Repeat      int
	Temperature float64

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

	preset *preset // nil: hallu's own prompts
}

var knownOptions = []string{"endpoint", "model", "api-key-env", "mode", "structured", "logprobs", "max-tokens",
	"timeout", "retries", "parse-retries", "concurrency", "rpm", "backoff-base", "backoff-max",
	"preset", "question", "repeat", "temperature"}

// Open builds a Judge from --scorer-opt options (see docs/scorers.md).
func Open(opts scorers.Options) (*Judge, error) {
	if err := opts.Check(Name, knownOptions...); err != nil {
		return nil, err
	}
	p := scorers.OptionParser{Opts: opts}
	ps, err := lookupPreset(opts.Get("preset", ""))
	if err != nil {
		return nil, err
	}
	endpoint, model := "", ""
	if ps != nil {
		endpoint, model = ps.endpoint, ps.model
	}
	cfg := Config{
		Endpoint:     opts.Get("endpoint", endpoint),
		Model:        opts.Get("model", model),
		Mode:         opts.Get("mode", ModeVerdict),
		Preset:       opts.Get("preset", ""),
		Question:     opts.Get("question", ""),
		Repeat:       p.Int("repeat", 1),
		Structured:   p.Bool("structured", ps == nil),
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
	if t := opts.Get("temperature", ""); t != "" {
		if cfg.Temperature, err = strconv.ParseFloat(t, 64); err != nil {
			return nil, fmt.Errorf("option temperature=%q: want a number such as 0 or 0.7", t)
		}
	}
	// Sampled repeats are there to show verdicts that flip; a score from
	// log-probabilities cannot: servers take them from the model's
	// distribution before temperature (Ollama v0.17.4 does), so every
	// repeat would score the same P(supported) whichever word was
	// sampled. Unless asked for, they are then not requested.
	if _, set := opts["logprobs"]; !set && cfg.Repeat > 1 && cfg.Temperature > 0 {
		cfg.Logprobs = false
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
	case cfg.Repeat < 1:
		return nil, fmt.Errorf("repeat %d: want 1 or more", cfg.Repeat)
	case cfg.Temperature < 0 || cfg.Temperature > 2 || math.IsNaN(cfg.Temperature):
		return nil, fmt.Errorf("temperature %v: want a number from 0 to 2", cfg.Temperature)
	case cfg.Timeout <= 0 || cfg.Retries < 0 || cfg.ParseRetries < 0 || cfg.Concurrency < 1 || cfg.RPM < 0 || cfg.MaxTokens < 0:
		return nil, errors.New("timeout and concurrency must be positive; retries, parse-retries, rpm and max-tokens not negative")
	}
	ps, err := lookupPreset(cfg.Preset)
	if err != nil {
		return nil, err
	}
	if ps != nil {
		if cfg.Mode != ModeVerdict {
			return nil, fmt.Errorf("preset %s asks one published question per pair: mode=%s does not apply", ps.name, cfg.Mode)
		}
		if cfg.Structured {
			return nil, fmt.Errorf("preset %s sends its published prompt only: structured=true does not apply", ps.name)
		}
	}
	if cfg.Question != "" && (ps == nil || !ps.takesQuestion) {
		return nil, errors.New("question= applies only to preset=lynx")
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http(s) base URL such as https://api.openai.com/v1", httpretry.RedactURL(cfg.Endpoint))
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = cfg.Endpoint
	hc, pool := newHTTPClient(cfg.Concurrency, cfg.Temperature)
	oc.HTTPClient = hc
	return &Judge{
		cfg:    cfg,
		client: openai.NewClientWithConfig(oc),
		pool:   pool,
		policy: httpretry.Policy{
			MaxRetries: cfg.Retries, BackoffBase: cfg.BackoffBase, BackoffMax: cfg.BackoffMax,
			Gate: httpretry.NewGate(cfg.RPM),
		},
		// The judge model, mode (or preset) and prompts decide the
		// scores; a change of any must show in the recorded version.
		version:  fmt.Sprintf("%s:%s:p%s", cmp.Or(cfg.Preset, cfg.Mode), cfg.Model, promptHashFor(ps)),
		endpoint: httpretry.RedactURL(cfg.Endpoint),
		preset:   ps,
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
func promptHash() string { return promptHashFor(nil) }

// promptHashFor names a preset's published template, or hallu's own
// prompts when ps is nil.
func promptHashFor(ps *preset) string {
	text := promptText
	if ps != nil {
		text = ps.templateText()
	}
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])[:8]
}

// Identity holds what can move a score: the judge model, the mode or
// preset, the endpoint serving it (a model name means little without the
// server), the prompts, the sampling (the temperature, forced on every
// request), the number of repeats and the reply shape asked for (a JSON
// schema, log-probabilities, a token cap that can cut a reply).
// Concurrency, rate, timeouts, retries and the key's variable change only
// speed or which pairs fail. Preset, question and repeat appear only when
// set, so judgments made before they existed keep their identity.
func (j *Judge) Identity() scorers.Identity {
	maxTokens := "none"
	if j.cfg.MaxTokens > 0 {
		maxTokens = strconv.Itoa(j.cfg.MaxTokens)
	}
	opts := map[string]string{
		"model":       j.cfg.Model,
		"mode":        j.cfg.Mode,
		"endpoint":    canonicalEndpoint(j.cfg.Endpoint),
		"prompt":      promptHashFor(j.preset),
		"temperature": strconv.FormatFloat(j.cfg.Temperature, 'g', -1, 64),
		// Claims mode never asks for log-probabilities.
		"logprobs":   strconv.FormatBool(j.cfg.Logprobs && j.cfg.Mode == ModeVerdict),
		"structured": strconv.FormatBool(j.cfg.Structured),
		"max-tokens": maxTokens,
	}
	if j.preset != nil {
		opts["preset"] = j.preset.name
		if j.preset.takesQuestion {
			opts["question"] = j.question()
		}
	}
	if j.cfg.Repeat > 1 {
		opts["repeat"] = strconv.Itoa(j.cfg.Repeat)
	}
	return scorers.Identity{Name: Name, Version: j.version, Options: opts}
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
	if j.cfg.Repeat > 1 {
		return j.repeated(ctx, p)
	}
	return j.once(ctx, p)
}

// once judges a pair one time.
func (j *Judge) once(ctx context.Context, p scorers.Pair) scorers.Result {
	var (
		r     scorers.Result
		usage *scorers.Usage
	)
	switch {
	case j.preset != nil:
		r = j.presetVerdict(ctx, p, &usage)
	case j.cfg.Mode == ModeClaims:
		r = j.claims(ctx, p, &usage)
	default:
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
		req := openai.ChatCompletionRequest{Model: j.cfg.Model, Messages: msgs, Temperature: float32(j.cfg.Temperature)}
		if j.preset != nil {
			req.ChatTemplateKwargs = j.preset.templateKwargs
		}
		if j.cfg.MaxTokens > 0 {
			req.MaxTokens = j.cfg.MaxTokens
		}
		structured := j.cfg.Structured && f.schema != nil && !j.noStructured.Load()
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
		if f.example == "" {
			// A published prompt has no correction to add: ask again
			// as it was asked.
			continue
		}
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
