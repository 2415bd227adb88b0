package results

import (
	"encoding/json"
	"fmt"

	"github.com/hallu-eval/hallu/results/internal/scan"
)

// Brief is the part of a Record that aggregation reads: everything but the
// texts (source, raw output, explanation) and the injected-error list, which
// are most of a record's bytes. The format stays the one Record type; this
// is only a narrower view of it, filled by DecodeBrief or BriefOf.
type Brief struct {
	Schema            int
	DocID             string
	DocHash           string
	Model             string
	ModelCanonical    string
	Endpoint          string
	PromptHash        string
	Params            *Params
	ServedModel       string
	SystemFingerprint string
	// Summary is kept for its validity and word count; from DecodeBrief it
	// aliases the line (see DecodeBrief).
	Summary         string
	LatencyMS       float64
	TTFTMS          float64
	LatencyQueued   bool
	Usage           *Usage
	Error           *Error
	OutputTruncated bool
	InputTruncated  bool
	Judgment        *BriefJudgment
}

// BriefJudgment is a Judgment without its explanation, usage and times.
type BriefJudgment struct {
	Scorer      string
	Version     string
	Options     map[string]string
	Weights     string
	ScorerKey   string
	FallbackFor string
	Score       *float64
	Error       *Error
	// Repeats is how many scores a repeated judgment holds (len of
	// Judgment.Repeats); Flipped is Judgment.Flipped.
	Repeats int
	Flipped bool
}

// BriefOf returns rec's brief; its strings are rec's.
func BriefOf(rec *Record) Brief {
	b := Brief{Schema: rec.Schema, DocID: rec.DocID, DocHash: rec.DocHash, Model: rec.Model, ModelCanonical: rec.ModelCanonical,
		Endpoint: rec.Endpoint, PromptHash: rec.PromptHash, Params: rec.Params,
		ServedModel: rec.ServedModel, SystemFingerprint: rec.SystemFingerprint,
		Summary: rec.Summary, LatencyMS: rec.LatencyMS, TTFTMS: rec.TTFTMS, LatencyQueued: rec.LatencyQueued, Usage: rec.Usage,
		Error: rec.Error, OutputTruncated: rec.OutputTruncated, InputTruncated: rec.InputTruncated}
	if j := rec.Judgment; j != nil {
		b.Judgment = &BriefJudgment{Scorer: j.Scorer, Version: j.Version, Options: j.Options,
			Weights: j.Weights, ScorerKey: j.ScorerKey, FallbackFor: j.FallbackFor, Score: j.Score, Error: j.Error,
			Repeats: len(j.Repeats), Flipped: j.Flipped}
	}
	return b
}

// DecodeBrief decodes the brief of one JSONL record line into b (which
// should be zero), checking the JSON syntax of the whole line and making
// Decode's checks (checkRecord) on the fields it reads: it accepts every
// line Decode accepts and reads the same values from it, and rejects what
// Decode rejects in those fields. It skips the other fields' values without
// building them.
//
// For speed, b's strings alias line wherever the JSON needs no unescaping:
// they are valid only while line's bytes are unchanged. Clone what must
// outlive them (strings.Clone).
func DecodeBrief(line []byte, b *Brief) error {
	s := scan.New(line)
	if err := s.Object(func(key []byte) error { return b.field(s, key) }, 1); err != nil {
		return err
	}
	if err := s.End(); err != nil {
		return err
	}
	var score *float64
	if b.Judgment != nil {
		score = b.Judgment.Score
	}
	return checkRecord(b.Schema, b.DocID, b.Model, score)
}

// The keys DecodeBrief reads, lower case as in Record's tags.
var (
	briefFields = []string{"schema", "doc_id", "doc_sha256", "model", "model_canonical", "endpoint", "prompt_hash", "params",
		"served_model", "system_fingerprint", "summary", "latency_ms", "ttft_ms", "latency_queued", "usage", "error",
		"output_truncated", "input_truncated", "judgment"}
	paramsFields   = []string{"temperature", "seed", "max_tokens", "max_tokens_field", "stream", "extra"}
	usageFields    = []string{"prompt_tokens", "completion_tokens"}
	judgmentFields = []string{"scorer", "scorer_version", "scorer_options", "scorer_weights", "scorer_key",
		"fallback_for", "score", "error", "repeats", "flipped"}
	errorFields = []string{"class", "message"}
)

func (b *Brief) field(s *scan.Scanner, key []byte) error {
	switch scan.Match(key, briefFields) {
	case "schema":
		return s.Int(&b.Schema)
	case "doc_id":
		return s.String(&b.DocID)
	case "doc_sha256":
		return s.String(&b.DocHash)
	case "model":
		return s.String(&b.Model)
	case "model_canonical":
		return s.String(&b.ModelCanonical)
	case "endpoint":
		return s.String(&b.Endpoint)
	case "prompt_hash":
		return s.String(&b.PromptHash)
	case "params":
		return scan.ObjectValue(s, &b.Params, 2, func(p *Params, key []byte) error {
			return paramsField(s, p, key)
		})
	case "served_model":
		return s.String(&b.ServedModel)
	case "system_fingerprint":
		return s.String(&b.SystemFingerprint)
	case "summary":
		return s.String(&b.Summary)
	case "latency_ms":
		return s.Float(&b.LatencyMS)
	case "ttft_ms":
		return s.Float(&b.TTFTMS)
	case "latency_queued":
		return s.Bool(&b.LatencyQueued)
	case "usage":
		return scan.ObjectValue(s, &b.Usage, 2, func(u *Usage, key []byte) error {
			switch scan.Match(key, usageFields) {
			case "prompt_tokens":
				return s.Int(&u.PromptTokens)
			case "completion_tokens":
				return s.Int(&u.CompletionTokens)
			}
			return s.Skip(2)
		})
	case "error":
		return errorValue(s, &b.Error, 2)
	case "output_truncated":
		return s.Bool(&b.OutputTruncated)
	case "input_truncated":
		return s.Bool(&b.InputTruncated)
	case "judgment":
		return scan.ObjectValue(s, &b.Judgment, 2, func(j *BriefJudgment, key []byte) error {
			return judgmentField(s, j, key)
		})
	}
	return s.Skip(1)
}

func paramsField(s *scan.Scanner, p *Params, key []byte) error {
	switch scan.Match(key, paramsFields) {
	case "temperature":
		return s.Float32(&p.Temperature)
	case "seed":
		if s.Null() {
			p.Seed = nil
			return nil
		}
		var n int
		if err := s.Int(&n); err != nil {
			return err
		}
		p.Seed = &n
		return nil
	case "max_tokens":
		return s.Int(&p.MaxTokens)
	case "max_tokens_field":
		return s.String(&p.MaxTokensField)
	case "stream":
		return s.Bool(&p.Stream)
	case "extra":
		// Free-form and rare: encoding/json builds it, as Decode would.
		return rawJSON(s, &p.Extra, 3)
	}
	return s.Skip(3)
}

func judgmentField(s *scan.Scanner, j *BriefJudgment, key []byte) error {
	switch scan.Match(key, judgmentFields) {
	case "scorer":
		return s.String(&j.Scorer)
	case "scorer_version":
		return s.String(&j.Version)
	case "scorer_options":
		return stringMap(s, &j.Options, 3)
	case "scorer_weights":
		return s.String(&j.Weights)
	case "scorer_key":
		return s.String(&j.ScorerKey)
	case "fallback_for":
		return s.String(&j.FallbackFor)
	case "score":
		if s.Null() {
			j.Score = nil
			return nil
		}
		var f float64
		if err := s.Float(&f); err != nil {
			return err
		}
		j.Score = &f
		return nil
	case "error":
		return errorValue(s, &j.Error, 3)
	case "repeats":
		// Rare: encoding/json reads the list, as Decode would.
		raw, err := s.Raw(3)
		if err != nil {
			return err
		}
		var scores []float64
		if err := json.Unmarshal(raw, &scores); err != nil {
			return fmt.Errorf("judgment repeats: %w", err)
		}
		j.Repeats = len(scores)
		return nil
	case "flipped":
		return s.Bool(&j.Flipped)
	}
	return s.Skip(3)
}

// stringMap reads an object of strings into *m as encoding/json would
// (merging into a map already there; null clears it), without reflection:
// judged records all carry their scorer's options. Keys and values alias
// the line like every string of a Brief.
func stringMap(s *scan.Scanner, m *map[string]string, depth int) error {
	if s.Null() {
		*m = nil
		return nil
	}
	if !s.At('{') {
		return s.TypeError("an object")
	}
	if *m == nil {
		*m = map[string]string{}
	}
	return s.Object(func(key []byte) error {
		var v string
		if err := s.String(&v); err != nil {
			return err
		}
		(*m)[string(key)] = v
		return nil
	}, depth)
}

// rawJSON checks a value's syntax and hands it to encoding/json, which
// merges it into *v as it would decoding the whole record.
func rawJSON[T any](s *scan.Scanner, v *T, depth int) error {
	raw, err := s.Raw(depth)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("not a hallu record: %w", err)
	}
	return nil
}

func errorValue(s *scan.Scanner, e **Error, depth int) error {
	return scan.ObjectValue(s, e, depth, func(e *Error, key []byte) error {
		switch scan.Match(key, errorFields) {
		case "class":
			return s.String(&e.Class)
		case "message":
			return s.String(&e.Message)
		}
		return s.Skip(depth + 1)
	})
}
