// Package results is hallu's wire contract: the one record type, the JSONL
// stream that every stage reads and writes (Reader, Writer, Resume), the
// record keys, and the run manifest. Aggregation lives in leaderboard and
// rendering in report.
package results

import (
	"time"
)

// SchemaVersion is written into every record. Readers accept records whose
// schema is <= SchemaVersion; a newer schema is an error, not a guess.
const SchemaVersion = 1

// Record is a single document's journey through the pipeline. generate fills
// the generation fields; score copies the record and adds Judgment. Keeping one
// type (as vegeta keeps one Result) lets every reporter read every stage's
// output.
type Record struct {
	Schema int `json:"schema"`

	DocID   string `json:"doc_id"`
	Dataset string `json:"dataset,omitempty"` // source-dataset label of the document, if any
	// Source is the document text. It travels with the record so that
	// `generate | score` needs no second pass over the dataset.
	Source string `json:"source,omitempty"`

	// DocHash is the first 16 hex digits of the SHA-256 of Source, so a
	// record can be matched against a dataset without comparing texts.
	DocHash string `json:"doc_sha256,omitempty"`

	Model string `json:"model"` // as requested
	// ModelCanonical is the server's own name for Model when it differs
	// (Ollama answers "tiny", "TINY" and "tiny:latest" as "tiny:latest"),
	// resolved from the endpoint's model list before the run. Reports
	// group by it; it is not part of GenKey, which stays the request's.
	ModelCanonical string `json:"model_canonical,omitempty"`
	Endpoint       string `json:"endpoint,omitempty"`
	PromptHash     string `json:"prompt_hash,omitempty"`
	// Params is every sampling setting sent with the request.
	Params *Params `json:"params,omitempty"`
	// GenKey digests everything that determines the generation: document
	// id and text hash, model, prompt hash, Params and endpoint (see
	// GenerationKey). Resume keeps a record only under the same key.
	GenKey string `json:"gen_key,omitempty"`

	// ServedModel and SystemFingerprint are what the server said answered
	// (the reply's "model" and "system_fingerprint"), which may differ from
	// the model requested.
	ServedModel       string `json:"served_model,omitempty"`
	SystemFingerprint string `json:"system_fingerprint,omitempty"`

	Summary      string  `json:"summary"`
	Raw          string  `json:"raw,omitempty"` // model output before <think> stripping, when different
	FinishReason string  `json:"finish_reason,omitempty"`
	LatencyMS    float64 `json:"latency_ms,omitempty"`
	TTFTMS       float64 `json:"ttft_ms,omitempty"` // time to first token, streaming only
	// LatencyQueued: the run sent more requests at once than the server
	// has parallel slots, so LatencyMS and TTFTMS include time the request
	// waited for a slot.
	LatencyQueued bool   `json:"latency_queued,omitempty"`
	Usage         *Usage `json:"usage,omitempty"`
	Attempts      int    `json:"attempts,omitempty"`
	Error         *Error `json:"error,omitempty"`

	// OutputTruncated: the summary was cut at the token limit
	// (finish_reason "length"). InputTruncated: the server reported far
	// fewer prompt tokens than the prompt holds (PromptTokensEst, a local
	// estimate), or as many as the context it said it runs the model with,
	// so it summarized part of the document.
	OutputTruncated bool `json:"output_truncated,omitempty"`
	InputTruncated  bool `json:"input_truncated,omitempty"`
	PromptTokensEst int  `json:"prompt_tokens_est,omitempty"`

	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`

	// Injected lists deliberate errors a reference model (builtin:corrupt)
	// put into this summary; empty for real models. It lets a scorer's
	// sensitivity be checked against known answers.
	Injected []Injection `json:"injected,omitempty"`

	Judgment *Judgment `json:"judgment,omitempty"`
}

// Usage is token accounting as reported by the endpoint.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Error is a failure recorded in place of a result. A record with an error is
// never turned into a score.
type Error struct {
	// Class is one of internal/errclass's classes (rate_limit, timeout,
	// scorer, ...): what a user can do about the failure.
	Class   string `json:"class"`
	Message string `json:"message"`
}

// Injection describes one deliberate corruption.
type Injection struct {
	Kind     string `json:"kind"` // number, name, place, negation, date
	Original string `json:"original"`
	Replaced string `json:"replaced"`
}

// Params is the sampling settings of a generation request, as sent.
type Params struct {
	Temperature float32 `json:"temperature"`
	Seed        *int    `json:"seed,omitempty"`
	MaxTokens   int     `json:"max_tokens,omitempty"`
	// MaxTokensField is the request field that carried MaxTokens when a
	// setting forced it away from the one hallu picks for the endpoint and
	// model (max_completion_tokens for OpenAI's reasoning models on
	// api.openai.com, max_tokens elsewhere).
	MaxTokensField string `json:"max_tokens_field,omitempty"`
	Stream         bool   `json:"stream,omitempty"`
	// Extra is any further fields merged into the request body.
	Extra map[string]any `json:"extra,omitempty"`
}

// Judgment is a scorer's verdict on (Source, Summary).
type Judgment struct {
	Scorer  string `json:"scorer"`
	Version string `json:"scorer_version,omitempty"`
	// Options and Weights complete the scorer's identity (see
	// scorers.Identity); ScorerKey digests all four.
	Options   map[string]string `json:"scorer_options,omitempty"`
	Weights   string            `json:"scorer_weights,omitempty"`
	ScorerKey string            `json:"scorer_key,omitempty"`
	// GenHash is GenerationHash of the record as it was judged: the
	// judgment holds only while the generation is exactly that one.
	GenHash string `json:"gen_hash,omitempty"`
	// FallbackFor names the scorer that was asked for when this judgment
	// comes from a fallback scorer standing in for it.
	FallbackFor string `json:"fallback_for,omitempty"`
	// Score is in [0,1]; >= ConsistentThreshold means consistent. Nil when the
	// scorer failed (see Error) or the summary was not judged because it was
	// invalid.
	Score       *float64 `json:"score,omitempty"`
	Explanation string   `json:"explanation,omitempty"`
	Error       *Error   `json:"error,omitempty"`
	// Usage is the tokens a model-based scorer (an LLM judge) spent on this
	// record, retries included.
	Usage *Usage `json:"usage,omitempty"`
	// Sentences is each summary sentence's score when the scorer judged the
	// summary sentence by sentence; Score is then the lowest of them.
	Sentences []SentenceScore `json:"sentences,omitempty"`
	// Repeats is every score of a pair judged several times; Score is the
	// majority verdict's and Flipped says the verdicts were not unanimous.
	Repeats []float64 `json:"repeats,omitempty"`
	Flipped bool      `json:"flipped,omitempty"`
	At      time.Time `json:"at,omitzero"`
}

// SentenceScore is one summary sentence's verdict. Start and End are byte
// offsets into the summary (End exclusive).
type SentenceScore struct {
	Start int     `json:"start"`
	End   int     `json:"end"`
	Score float64 `json:"score"`
}

// ConsistentThreshold is HHEM's decision boundary, used for every scorer.
const ConsistentThreshold = 0.5
