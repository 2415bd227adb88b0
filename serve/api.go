package serve

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/scorers"
)

// SourceJoin separates the texts of source_texts when several are sent:
// HHEM judges one premise, so they become one, each a paragraph of it.
// Vectara does not publish how its service combines them; hallu's own
// vectara scorer always sends one text, so its scores do not depend on it.
const SourceJoin = "\n\n"

// statusClientGone is recorded (never sent) when a client hung up before
// its answer: nginx's 499.
const statusClientGone = 499

// Endpoint names, as /metrics labels them.
const (
	epEvaluate = "evaluate_factual_consistency"
	epScore    = "score"
	epModels   = "models"
	epHealthz  = "healthz"
	epReadyz   = "readyz"
	epMetrics  = "metrics"
)

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.handle("POST /v2/evaluate_factual_consistency", epEvaluate, true, s.evaluate)
	s.handle("POST /v1/score", epScore, true, s.scoreBatch)
	s.handle("GET /v1/models", epModels, true, s.models)
	s.handle("GET /healthz", epHealthz, false, func(w http.ResponseWriter, _ *http.Request) int {
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.handle("GET /readyz", epReadyz, false, s.readyz)
	s.handle("GET /metrics", epMetrics, false, s.metrics)
}

// recorder remembers the status written, for logs and metrics.
type recorder struct {
	http.ResponseWriter
	code int
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// handle registers fn, which returns the status it answered (or
// statusClientGone), wrapped in the API-key check, logging and metrics.
func (s *Server) handle(pattern, endpoint string, auth bool, fn func(http.ResponseWriter, *http.Request) int) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		var code int
		if auth && s.cfg.APIKey != "" {
			code = s.checkKey(rec, r)
		}
		if code == 0 {
			code = fn(rec, r)
		}
		took := time.Since(start)
		s.m.request(endpoint, code, took.Seconds())
		level := slog.LevelInfo
		if endpoint == epHealthz || endpoint == epReadyz || endpoint == epMetrics {
			level = slog.LevelDebug // probes would drown the log
		}
		s.cfg.Log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "code", code,
			"ms", float64(took.Microseconds())/1000, "remote", r.RemoteAddr)
	})
}

// checkKey answers 401 unless x-api-key is the key; 0 lets the request on.
func (s *Server) checkKey(w http.ResponseWriter, r *http.Request) int {
	got := r.Header.Get("x-api-key")
	if got == "" {
		return writeError(w, http.StatusUnauthorized, "missing x-api-key header")
	}
	// Digests first: ConstantTimeCompare returns early on a length
	// mismatch, which would tell a prober the key's length.
	g, k := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.cfg.APIKey))
	if subtle.ConstantTimeCompare(g[:], k[:]) != 1 {
		return writeError(w, http.StatusUnauthorized, "x-api-key is not this server's key")
	}
	return 0
}

// errorBody is the shape of every error answer: Vectara's.
type errorBody struct {
	Messages []string `json:"messages"`
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) int {
	return writeJSON(w, code, errorBody{Messages: []string{fmt.Sprintf(format, args...)}})
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"messages":["encoding the answer failed"]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
	return code
}

// decode reads a JSON body of at most MaxBody bytes into v. On failure it
// answers and returns the status; 0 means v is filled.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any, want string) int {
	if r.ContentLength > s.cfg.MaxBody {
		return writeError(w, http.StatusRequestEntityTooLarge, "request body of %d bytes is over this server's limit of %d bytes (--max-body)", r.ContentLength, s.cfg.MaxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return writeError(w, http.StatusRequestEntityTooLarge, "request body is over this server's limit of %d bytes (--max-body)", s.cfg.MaxBody)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return writeError(w, http.StatusRequestTimeout, "request body not received within the read timeout")
	case err != nil:
		return writeError(w, http.StatusBadRequest, "reading the request body: %v", err)
	case len(strings.TrimSpace(string(body))) == 0:
		return writeError(w, http.StatusBadRequest, "request body is empty; want %s", want)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return writeError(w, http.StatusBadRequest, "%s", jsonProblem(err, want))
	}
	return 0
}

// jsonProblem says what is wrong with a body that did not decode.
func jsonProblem(err error, want string) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("request body is not valid JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("field %s: got a JSON %s, want %s", te.Field, te.Value, jsonKind(te.Type.String()))
	case errors.As(err, &te):
		return fmt.Sprintf("request body is a JSON %s; want %s", te.Value, want)
	}
	return fmt.Sprintf("request body: %v; want %s", err, want)
}

func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "float"), strings.HasPrefix(goType, "int"):
		return "a number"
	}
	return "an object"
}

// run queues pairs and waits for their results. On failure it answers and
// returns the status; 0 means the results are there.
func (s *Server) run(w http.ResponseWriter, r *http.Request, pairs []scorers.Pair) ([]scorers.Result, int) {
	if s.draining.Load() {
		w.Header().Set("Connection", "close")
		return nil, writeError(w, http.StatusServiceUnavailable, "shutting down")
	}
	if len(pairs) > s.cfg.MaxQueue {
		return nil, writeError(w, http.StatusRequestEntityTooLarge, "%d pairs in one request; this server queues at most %d (--max-queue): split the request", len(pairs), s.cfg.MaxQueue)
	}
	j, err := s.b.submit(pairs)
	if errors.Is(err, errQueueFull) {
		after := s.b.retryAfter(len(pairs))
		w.Header().Set("Retry-After", strconv.Itoa(after))
		return nil, writeError(w, http.StatusTooManyRequests, "queue full (%d pairs, --max-queue); retry after %d s", s.cfg.MaxQueue, after)
	}
	res, err := j.wait(r.Context())
	if err != nil {
		return nil, statusClientGone
	}
	return res, 0
}

// loadedOr503 returns the scorer, or answers 503 while it loads.
func (s *Server) loadedOr503(w http.ResponseWriter) (*loaded, int) {
	l := s.scorer.Load()
	if l == nil {
		w.Header().Set("Retry-After", "5")
		return nil, writeError(w, http.StatusServiceUnavailable, "the scorer is still loading")
	}
	return l, 0
}

// evaluateRequest is Vectara's request body.
type evaluateRequest struct {
	GeneratedText   *string  `json:"generated_text"`
	SourceTexts     []string `json:"source_texts"`
	ModelParameters *struct {
		ModelName string `json:"model_name"`
	} `json:"model_parameters"`
	// Language is accepted and not used: HHEM-2.1-Open judges English.
	Language string `json:"language"`
}

// EvaluateResponse is Vectara's answer. PConsistent and PInconsistent are
// set only when the score is a probability (HHEM's is: the classifier's
// softmax), so p_consistent = score and p_inconsistent = 1 - score.
type EvaluateResponse struct {
	Score         float64  `json:"score"`
	PConsistent   *float64 `json:"p_consistent,omitempty"`
	PInconsistent *float64 `json:"p_inconsistent,omitempty"`
}

const evaluateWant = `a JSON object {"generated_text": "...", "source_texts": ["..."], "model_parameters": {"model_name": "..."}}`

func (s *Server) evaluate(w http.ResponseWriter, r *http.Request) int {
	l, code := s.loadedOr503(w)
	if code != 0 {
		return code
	}
	var req evaluateRequest
	if code := s.decode(w, r, &req, evaluateWant); code != 0 {
		return code
	}
	source := strings.Join(req.SourceTexts, SourceJoin)
	switch {
	case req.GeneratedText == nil:
		return writeError(w, http.StatusBadRequest, "generated_text is missing; want %s", evaluateWant)
	case strings.TrimSpace(*req.GeneratedText) == "":
		return writeError(w, http.StatusBadRequest, "generated_text is empty")
	case len(req.SourceTexts) == 0:
		return writeError(w, http.StatusBadRequest, "source_texts is missing or empty; want at least one source text")
	case strings.TrimSpace(source) == "":
		return writeError(w, http.StatusBadRequest, "source_texts holds only empty texts")
	}
	if req.ModelParameters != nil && req.ModelParameters.ModelName != "" && !l.answers(req.ModelParameters.ModelName) {
		return writeError(w, http.StatusBadRequest, "model_parameters.model_name %q is not served here; this server answers %s (or name none); --model-alias adds names",
			req.ModelParameters.ModelName, quoteAll(l.names))
	}
	res, code := s.run(w, r, []scorers.Pair{{ID: "request", Source: source, Summary: *req.GeneratedText}})
	if code != 0 {
		return code
	}
	if res[0].Err != nil {
		s.cfg.Log.Error("scoring failed", "err", res[0].Err.Error())
		return writeError(w, http.StatusInternalServerError, "scoring failed: %v", res[0].Err)
	}
	out := EvaluateResponse{Score: res[0].Score}
	if l.identity.Name == "hhem" {
		pc, pi := res[0].Score, 1-res[0].Score
		out.PConsistent, out.PInconsistent = &pc, &pi
	}
	return writeJSON(w, http.StatusOK, out)
}

func (l *loaded) answers(name string) bool {
	for _, n := range l.names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// ScoreRequest is POST /v1/score's body: many pairs, one answer.
type ScoreRequest struct {
	Pairs []ScorePair `json:"pairs"`
}

// ScorePair is one pair; ID is echoed back and otherwise unused.
type ScorePair struct {
	ID      string `json:"id,omitempty"`
	Source  string `json:"source"`
	Summary string `json:"summary"`
}

// ScoreResponse answers POST /v1/score: the scorer as judged records name
// it, and one result per pair in request order.
type ScoreResponse struct {
	Scorer  ScorerIdentity `json:"scorer"`
	Results []ScoreResult  `json:"results"`
}

// ScorerIdentity is scorers.Identity under the field names of a judged
// record's judgment (see docs/records.md), so a client can write records
// that report and compare accept.
type ScorerIdentity struct {
	Scorer  string            `json:"scorer"`
	Version string            `json:"scorer_version,omitempty"`
	Options map[string]string `json:"scorer_options,omitempty"`
	Weights string            `json:"scorer_weights,omitempty"`
	Key     string            `json:"scorer_key"`
}

func identityOf(id scorers.Identity) ScorerIdentity {
	return ScorerIdentity{Scorer: id.Name, Version: id.Version, Options: id.Options, Weights: id.Weights, Key: id.Key()}
}

// ScoreResult is one pair's verdict: Score, or Error when the scorer
// failed on it.
type ScoreResult struct {
	ID          string   `json:"id,omitempty"`
	Score       *float64 `json:"score,omitempty"`
	Explanation string   `json:"explanation,omitempty"`
	Error       string   `json:"error,omitempty"`
}

const scoreWant = `a JSON object {"pairs": [{"id": "...", "source": "...", "summary": "..."}, ...]}`

func (s *Server) scoreBatch(w http.ResponseWriter, r *http.Request) int {
	l, code := s.loadedOr503(w)
	if code != 0 {
		return code
	}
	var req ScoreRequest
	if code := s.decode(w, r, &req, scoreWant); code != 0 {
		return code
	}
	if len(req.Pairs) == 0 {
		return writeError(w, http.StatusBadRequest, "pairs is missing or empty; want %s", scoreWant)
	}
	pairs := make([]scorers.Pair, len(req.Pairs))
	for i, p := range req.Pairs {
		switch {
		case strings.TrimSpace(p.Source) == "":
			return writeError(w, http.StatusBadRequest, "pairs[%d].source is missing or empty", i)
		case strings.TrimSpace(p.Summary) == "":
			return writeError(w, http.StatusBadRequest, "pairs[%d].summary is missing or empty", i)
		}
		pairs[i] = scorers.Pair{ID: p.ID, Source: p.Source, Summary: p.Summary}
	}
	res, code := s.run(w, r, pairs)
	if code != 0 {
		return code
	}
	out := ScoreResponse{Scorer: identityOf(l.identity), Results: make([]ScoreResult, len(res))}
	for i, r := range res {
		out.Results[i] = ScoreResult{ID: req.Pairs[i].ID, Explanation: r.Explanation}
		if r.Err != nil {
			out.Results[i].Error = r.Err.Error()
			continue
		}
		score := r.Score
		out.Results[i].Score = &score
	}
	return writeJSON(w, http.StatusOK, out)
}

// Model is one entry of GET /v1/models.
type Model struct {
	ID     string         `json:"id"`
	Object string         `json:"object"`
	Names  []string       `json:"names"` // model_name values answered
	Scorer ScorerIdentity `json:"scorer"`
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request) int {
	l, code := s.loadedOr503(w)
	if code != 0 {
		return code
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   []Model{{ID: l.identity.Name, Object: "model", Names: l.names, Scorer: identityOf(l.identity)}},
	})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) int {
	ok, why := s.ready()
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	return writeJSON(w, code, map[string]any{"ready": ok, "status": why, "queued_pairs": s.b.queued(), "max_queue": s.cfg.MaxQueue})
}

func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) int {
	in := info{maxQueue: s.cfg.MaxQueue}
	in.ready, _ = s.ready()
	if l := s.scorer.Load(); l != nil {
		in.identity = l.identity
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	s.m.write(w, in)
	return http.StatusOK
}
