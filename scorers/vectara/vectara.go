// Package vectara is a consistency scorer registered as "vectara" that asks
// Vectara's hosted factual-consistency API (POST
// /v2/evaluate_factual_consistency, HHEM-2.3: the judge behind the current
// public leaderboard) to score each pair.
//
// The API judges one generated text per call, so a batch is sent as
// concurrent calls, Concurrency at a time, spaced by RPM, each retried with
// the generator's machinery (internal/httpretry): 429 and 5xx with
// Retry-After or jittered backoff, timeouts, dropped connections. The key
// is read from an environment variable and sent as x-api-key; it never
// reaches a record.
package vectara

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/internal/httpretry"
	"github.com/hallu-eval/hallu/scorers"
)

// Name is the registry name.
const Name = "vectara"

// Defaults for unset options.
const (
	DefaultBaseURL     = "https://api.vectara.io"
	DefaultAPIKeyEnv   = "VECTARA_API_KEY"
	DefaultModel       = "hhem_v2.3"
	DefaultConcurrency = 4
	DefaultTimeout     = time.Minute
	DefaultRetries     = 5
	apiPath            = "/v2/evaluate_factual_consistency"
	maxBody            = 1 << 20
)

func init() {
	scorers.Register(scorers.Info{
		Name:        Name,
		Description: "Vectara's hosted factual-consistency API (HHEM-2.3); key from $VECTARA_API_KEY (see docs/scorers.md)",
		Open:        func(_ context.Context, opts scorers.Options) (scorers.Scorer, error) { return Open(opts) },
	})
}

// Config configures the scorer; Open builds it from options.
type Config struct {
	BaseURL     string // e.g. https://api.vectara.io
	APIKey      string
	Model       string // model_parameters.model_name
	Language    string // optional ISO 639-3 code sent as "language"
	Concurrency int
	RPM         int
	Timeout     time.Duration
	Retries     int
	BackoffBase time.Duration
	BackoffMax  time.Duration
	HTTPClient  *http.Client // nil = a pooled client
}

// Scorer calls the API. It is safe for concurrent use.
type Scorer struct {
	cfg    Config
	url    string
	client *http.Client
	policy httpretry.Policy
}

var knownOptions = []string{"base-url", "api-key-env", "model", "language", "concurrency", "rpm", "timeout", "retries", "backoff-base", "backoff-max"}

// Open builds the scorer from --scorer-opt options.
func Open(opts scorers.Options) (*Scorer, error) {
	if err := opts.Check(Name, knownOptions...); err != nil {
		return nil, err
	}
	p := scorers.OptionParser{Opts: opts}
	cfg := Config{
		BaseURL:     opts.Get("base-url", DefaultBaseURL),
		Model:       opts.Get("model", DefaultModel),
		Language:    strings.ToLower(strings.TrimSpace(opts.Get("language", ""))),
		Concurrency: p.Int("concurrency", DefaultConcurrency),
		RPM:         p.Int("rpm", 0),
		Timeout:     p.Duration("timeout", DefaultTimeout),
		Retries:     p.Int("retries", DefaultRetries),
		BackoffBase: p.Duration("backoff-base", time.Second),
		BackoffMax:  p.Duration("backoff-max", time.Minute),
	}
	if p.Err != nil {
		return nil, p.Err
	}
	env := opts.Get("api-key-env", DefaultAPIKeyEnv)
	if cfg.APIKey = os.Getenv(env); cfg.APIKey == "" {
		return nil, fmt.Errorf("no API key: set the environment variable %s (or name another with --scorer-opt api-key-env=VAR)", env)
	}
	return New(cfg)
}

// New checks cfg.
func New(cfg Config) (*Scorer, error) {
	u, err := url.Parse(cfg.BaseURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("base-url %q is not an http(s) URL such as %s", httpretry.RedactURL(cfg.BaseURL), DefaultBaseURL)
	case cfg.APIKey == "":
		return nil, errors.New("no API key")
	case cfg.Concurrency < 1 || cfg.Timeout <= 0 || cfg.Retries < 0 || cfg.RPM < 0:
		return nil, errors.New("concurrency and timeout must be positive, retries and rpm not negative")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Transport: httpretry.PooledTransport(cfg.Concurrency)}
	}
	return &Scorer{
		cfg:    cfg,
		url:    strings.TrimSuffix(cfg.BaseURL, "/") + apiPath,
		client: client,
		policy: httpretry.Policy{MaxRetries: cfg.Retries, BackoffBase: cfg.BackoffBase, BackoffMax: cfg.BackoffMax, Gate: httpretry.NewGate(cfg.RPM)},
	}, nil
}

func (s *Scorer) Name() string    { return Name }
func (s *Scorer) Version() string { return s.cfg.Model }

// Close drops the pooled connections to the API.
func (s *Scorer) Close() error { s.client.CloseIdleConnections(); return nil }

// Identity is the model that judges and the language it is told the texts
// are in ("auto": none sent, the API detects it). Concurrency, rate,
// timeouts and retries change only speed; the key's variable and the base
// URL (a proxy for the same API) change nothing the API computes.
func (s *Scorer) Identity() scorers.Identity {
	lang := s.cfg.Language
	if lang == "" {
		lang = "auto"
	}
	return scorers.Identity{Name: Name, Version: s.cfg.Model, Options: map[string]string{"model": s.cfg.Model, "language": lang}}
}

// Score sends one call per pair, Concurrency at a time.
func (s *Scorer) Score(ctx context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	return scorers.ScoreEach(ctx, pairs, s.cfg.Concurrency, s.scoreOne)
}

type request struct {
	ModelParameters struct {
		ModelName string `json:"model_name"`
	} `json:"model_parameters"`
	GeneratedText string   `json:"generated_text"`
	SourceTexts   []string `json:"source_texts"`
	Language      string   `json:"language,omitempty"`
}

type response struct {
	Score *float64 `json:"score"`
}

func (s *Scorer) scoreOne(ctx context.Context, p scorers.Pair) scorers.Result {
	var req request
	req.ModelParameters.ModelName = s.cfg.Model
	req.GeneratedText, req.SourceTexts, req.Language = p.Summary, []string{p.Source}, s.cfg.Language
	body, err := json.Marshal(req)
	if err != nil {
		return scorers.Result{Err: err}
	}
	var score float64
	attempts, fail, err := s.policy.Do(ctx, func(int) *httpretry.Failure {
		var f *httpretry.Failure
		score, f = s.attempt(ctx, body)
		return f
	})
	switch {
	case err != nil:
		return scorers.Result{Err: fmt.Errorf("vectara call interrupted: %w", err)}
	case fail != nil:
		return scorers.Result{Err: fmt.Errorf("vectara %s failed after %d attempts (%s): %s", apiPath, attempts, fail.Class, httpretry.Scrub(fail.Msg, s.cfg.APIKey, s.cfg.BaseURL))}
	}
	return scorers.Result{Score: score}
}

func (s *Scorer) attempt(ctx context.Context, body []byte) (float64, *httpretry.Failure) {
	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, &httpretry.Failure{Class: errclass.Other, Msg: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("x-api-key", s.cfg.APIKey)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, httpretry.Classify(err, actx, ctx, nil)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, httpretry.Classify(err, actx, ctx, nil)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, httpretry.StatusFailure(resp.StatusCode, httpretry.BodyExcerpt(raw), resp.Header)
	}
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		return 0, httpretry.Classify(&httpretry.ProtocolError{Msg: fmt.Sprintf("HTTP 200 with a body that is not JSON (%v): %s", err, httpretry.BodyExcerpt(raw))}, actx, ctx, nil)
	}
	if r.Score == nil || math.IsNaN(*r.Score) || *r.Score < 0 || *r.Score > 1 {
		return 0, httpretry.Classify(&httpretry.ProtocolError{Msg: "HTTP 200 without a score in [0,1]: " + httpretry.BodyExcerpt(raw)}, actx, ctx, nil)
	}
	return *r.Score, nil
}
