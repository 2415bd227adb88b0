package scorers

import (
	"context"
	"fmt"
	"strings"

	"github.com/hallu-eval/hallu/internal/sentences"
)

// GranularityOption is the option every scorer accepts: Open strips it and
// wraps the scorer in BySentence when it is GranularitySentence.
const GranularityOption = "granularity"

// Granularity values.
const (
	GranularityDocument = "document" // the default: the summary is judged whole
	GranularitySentence = "sentence"
)

// CommonOptions describes the options Open handles for every scorer, for
// `hallu scorers` and help texts.
const CommonOptions = `Every scorer also takes:
  granularity=sentence   judge each summary sentence against the source; the document's
                         score is its lowest sentence's, and every sentence's score and
                         span is kept (default granularity=document: the summary whole)
  chunk-words=N          judge the summary against windows of N source words, keeping the
                         best window's score (chunk-overlap=M: words windows share)`

// Common returns the options of opts that Open handles for every scorer
// (granularity and chunking), so a stand-in scorer judges at the same
// granularity as the one it stands in for.
func Common(opts Options) Options {
	out := Options{}
	for _, k := range []string{GranularityOption, ChunkWordsOption, ChunkOverlapOption} {
		if v, ok := opts[k]; ok {
			out[k] = v
		}
	}
	return out
}

// BySentence judges a summary sentence by sentence: the summary is cut
// into sentences (internal/sentences), the inner scorer judges each
// (source, sentence) pair, and the pair's score is the lowest sentence's.
// The min is right because one unsupported sentence makes the summary
// unfaithful, whatever the others say; it also means a scorer that
// under-scores short claims under-scores the summary.
//
// A pair fails when any of its sentences fails: a min over the sentences
// that did not fail could only err towards "consistent", silently.
type BySentence struct {
	Inner Scorer
}

// Name is the inner scorer's: splitting changes how it is applied, which
// Version records, not what judges.
func (s *BySentence) Name() string { return s.Inner.Name() }

// sentenceSuffix marks the version of sentence-level judgments, so that
// they are never counted with whole-summary ones.
const sentenceSuffix = "+sentence"

// Version is the inner scorer's with a "+sentence" suffix.
func (s *BySentence) Version() string { return s.Inner.Version() + sentenceSuffix }

// Identity is the inner scorer's with granularity=sentence among its
// options and the version suffix.
func (s *BySentence) Identity() Identity {
	id := IdentityOf(s.Inner)
	opts := map[string]string{}
	for k, v := range id.Options {
		opts[k] = v
	}
	opts[GranularityOption] = GranularitySentence
	id.Options = opts
	id.Version += sentenceSuffix
	return id
}

// Close closes the inner scorer.
func (s *BySentence) Close() error { return s.Inner.Close() }

// Score judges every sentence of every pair in one inner call, so a
// batching scorer (hhem sorts its inputs by length) fills its forward
// passes with the sentences of many documents. A summary without any
// non-space text has no sentence: it goes to the inner scorer whole and
// its result carries no sentence scores.
func (s *BySentence) Score(ctx context.Context, pairs []Pair) ([]Result, error) {
	type group struct{ first, n int } // sentences of one pair in the flat list
	var (
		flat   []Pair
		groups = make([]group, len(pairs))
		spans  = make([][]sentences.Span, len(pairs))
	)
	for i, p := range pairs {
		sp := sentences.Split(p.Summary)
		spans[i] = sp
		groups[i].first = len(flat)
		if len(sp) == 0 {
			groups[i].n = 1
			flat = append(flat, p)
			continue
		}
		groups[i].n = len(sp)
		for k, x := range sp {
			id := p.ID
			if len(sp) > 1 {
				id = fmt.Sprintf("%s#s%d", p.ID, k+1)
			}
			flat = append(flat, Pair{ID: id, Source: p.Source, Summary: p.Summary[x.Start:x.End]})
		}
	}
	res, err := s.Inner.Score(ctx, flat)
	if err != nil {
		return nil, err
	}
	if len(res) != len(flat) {
		return nil, fmt.Errorf("scorer returned %d results for %d sentences", len(res), len(flat))
	}
	out := make([]Result, len(pairs))
	for i, g := range groups {
		rs := res[g.first : g.first+g.n]
		if len(spans[i]) == 0 {
			out[i] = rs[0]
			out[i].Sentences = nil
			continue
		}
		out[i] = combine(rs, spans[i])
	}
	return out, nil
}

// combine makes a pair's result from its sentences' results.
func combine(rs []Result, spans []sentences.Span) Result {
	var out Result
	low := -1
	for k, r := range rs {
		out.Usage = out.Usage.Add(r.Usage)
		if r.Err != nil && out.Err == nil {
			out.Err = r.Err
			if len(rs) > 1 {
				out.Err = fmt.Errorf("sentence %d of %d (bytes %d-%d): %w", k+1, len(rs), spans[k].Start, spans[k].End, r.Err)
			}
		}
		if low < 0 || r.Score < rs[low].Score {
			low = k
		}
	}
	if out.Err != nil {
		return Result{Err: out.Err, Usage: out.Usage}
	}
	out.Sentences = make([]SentenceScore, len(rs))
	for k, r := range rs {
		out.Sentences[k] = SentenceScore{Start: spans[k].Start, End: spans[k].End, Score: r.Score}
	}
	out.Score = rs[low].Score
	// The lowest sentence's repeated verdicts are the document's: its
	// score is the one they voted on.
	out.Repeats = rs[low].Repeats
	var b strings.Builder
	fmt.Fprintf(&b, "sentence %d of %d lowest", low+1, len(rs))
	if e := rs[low].Explanation; e != "" {
		b.WriteString(": " + e)
	}
	out.Explanation = b.String()
	return out
}

// splitGranularity removes the granularity option from opts (a copy) and
// reports whether it asks for sentence-level judging.
func splitGranularity(opts Options) (rest Options, bySentence bool, err error) {
	rest = Options{}
	for k, v := range opts {
		rest[k] = v
	}
	v := strings.TrimSpace(rest[GranularityOption])
	delete(rest, GranularityOption)
	switch v {
	case "", GranularityDocument:
		return rest, false, nil
	case GranularitySentence:
		return rest, true, nil
	}
	return nil, false, fmt.Errorf("%s %q: want %s or %s", GranularityOption, v, GranularityDocument, GranularitySentence)
}
