// Package hhem is the `hhem` scorer: Vectara's HHEM-2.1-Open hallucination
// evaluation model (a flan-t5-base classifier) run in pure Go on the CPU.
//
// Options (--scorer-opt key=value):
//
//	model-dir      directory with model.safetensors (and config.json); default: the Hugging Face cache
//	tokenizer-dir  directory with spiece.model or tokenizer.json; default: model-dir, else the cache
//	cache-dir      Hugging Face hub cache to look in, which must exist (default $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)
//	revision       HHEM revision to look up in the cache (default main)
//	batch          most sequences per forward pass (default 32)
//	batch-tokens   most padded tokens per forward pass (default 8192)
//	max-tokens     truncate the source so a pair fits in this many tokens; 0 (default) = no truncation, as HHEM does
//	precision      fp32 (default), bf16 or int8: the linear layers' number format; bf16 and int8 are faster on CPUs
//	               with AVX512_BF16 / AVX512_VNNI and move scores slightly (docs/scorers.md has the measured trade)
//
// The scorer never downloads: `hallu model pull` does, once. Open's error
// wraps scorers.ErrNotFound only when files are absent from the cache.
package hhem

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/scorers/hhem/internal/tensor"
)

// BaseVersion names the model; Version appends the snapshot commit.
const BaseVersion = "HHEM-2.1-Open"

const (
	defaultBatch       = 32
	defaultBatchTokens = 8192
)

var knownOptions = []string{"model-dir", "tokenizer-dir", "cache-dir", "revision", "batch", "batch-tokens", "max-tokens", "precision"}

func init() {
	scorers.Register(scorers.Info{
		Name:        "hhem",
		Description: "Vectara HHEM-2.1-Open (flan-t5-base classifier) run locally; fetch it once with `hallu model pull`",
		Open:        Open,
	})
}

// Prompt is HHEM's input template, exactly as the model was trained on it;
// the leading <pad> is a literal special token.
func Prompt(source, summary string) string {
	return "<pad> Determine if the hypothesis is true given the premise?\n\nPremise: " + source + "\n\nHypothesis: " + summary
}

// model is the part of *t5.Model the scorer uses.
type model interface {
	Logits(ctx context.Context, batch [][]int) ([][2]float32, error)
	Close() error
}

// encoder is the part of *tokenizer.Tokenizer the scorer uses.
type encoder interface {
	Encode(text string) []int
}

// Scorer scores pairs with HHEM. It is safe for concurrent use.
type Scorer struct {
	files       Files
	w           *weights
	batch       int
	batchTokens int
	maxTokens   int
	precision   tensor.Precision
	closeOnce   sync.Once
}

// Open locates the model (see Locate) and loads it, or shares the copy
// another open scorer in this process already loaded.
func Open(ctx context.Context, opts scorers.Options) (scorers.Scorer, error) {
	for k := range opts {
		if !contains(knownOptions, k) {
			return nil, fmt.Errorf("unknown option %q (known: %s)", k, strings.Join(knownOptions, ", "))
		}
	}
	s := &Scorer{}
	var err error
	if s.batch, err = intOpt(opts, "batch", defaultBatch, 1); err != nil {
		return nil, err
	}
	if s.batchTokens, err = intOpt(opts, "batch-tokens", defaultBatchTokens, 1); err != nil {
		return nil, err
	}
	if s.maxTokens, err = intOpt(opts, "max-tokens", 0, 0); err != nil {
		return nil, err
	}
	if s.maxTokens == 1 {
		return nil, fmt.Errorf("option max-tokens=1 leaves no room for any text")
	}
	if s.precision, err = tensor.ParsePrecision(opts.Get("precision", "fp32")); err != nil {
		return nil, fmt.Errorf("option %w", err)
	}
	if err := tensor.RequestedPathError(); err != nil {
		return nil, err
	}
	if s.files, err = Locate(opts); err != nil {
		return nil, err
	}
	if s.w, err = acquire(ctx, s.files, s.precision); err != nil {
		return nil, err
	}
	return s, nil
}

func intOpt(opts scorers.Options, key string, def, min int) (int, error) {
	v := opts.Get(key, "")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		return 0, fmt.Errorf("option %s=%q: want an integer >= %d", key, v, min)
	}
	return n, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Name implements scorers.Scorer.
func (s *Scorer) Name() string { return "hhem" }

// Version is BaseVersion. It used to carry the snapshot commit; the
// weights' sha256 in Identity now pins the weights, and does so whether they
// came from the cache or from a copy in a plain directory, which has no
// commit (Files still reports it).
func (s *Scorer) Version() string { return BaseVersion }

// Identity implements scorers.Identifier: the model, its weights' sha256,
// and the options that can change a score: max-tokens (truncating the
// source changes what is judged) and precision, which enters only when it
// is not the default fp32, so that judgments made before the option
// existed keep their identity. Where the files are, batch sizes, thread
// counts and kernel paths change neither the weights nor the scores
// (beyond float32 rounding), so they stay out.
func (s *Scorer) Identity() scorers.Identity {
	opts := map[string]string{"max-tokens": strconv.Itoa(s.maxTokens)}
	if s.precision != tensor.FP32 {
		opts["precision"] = s.precision.String()
	}
	return scorers.Identity{
		Name:    s.Name(),
		Version: s.Version(),
		Weights: s.w.digest,
		Options: opts,
	}
}

// Files returns where the model and tokenizer were found.
func (s *Scorer) Files() Files { return s.files }

// Close releases this scorer's hold on the shared weights; the last Close
// frees them.
func (s *Scorer) Close() error {
	var err error
	s.closeOnce.Do(func() { err = release(s.w) })
	return err
}

// Score implements scorers.Scorer. Pairs are run shortest first in batches
// cut to keep padding small, and results come back in the input order.
func (s *Scorer) Score(ctx context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	results := make([]scorers.Result, len(pairs))
	ids := make([][]int, len(pairs))
	lens := make([]int, len(pairs))
	for i, p := range pairs {
		var truncated bool
		ids[i], truncated = s.encode(p)
		lens[i] = len(ids[i])
		if truncated {
			results[i].Explanation = fmt.Sprintf("input truncated to max-tokens=%d", s.maxTokens)
		}
	}
	for _, group := range planBatches(lens, s.batch, s.batchTokens) {
		batch := make([][]int, len(group))
		for j, i := range group {
			batch[j] = ids[i]
		}
		logits, err := s.w.logits(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("hhem forward pass (%d sequences, up to %d tokens): %w", len(batch), lens[group[len(group)-1]], err)
		}
		if len(logits) != len(batch) {
			return nil, fmt.Errorf("hhem forward pass returned %d results for %d sequences", len(logits), len(batch))
		}
		for j, i := range group {
			results[i].Score = consistentProb(logits[j])
		}
	}
	return results, nil
}

// consistentProb is softmax(logits)[1], written as a logistic of the logit
// difference so that large logits neither overflow nor lose precision.
func consistentProb(l [2]float32) float64 {
	d := float64(l[0]) - float64(l[1])
	if d >= 0 {
		e := math.Exp(-d)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(d))
}

// CountTokens is how many tokens the encoder reads for p, after any cut to
// max-tokens: what hallu serve's /metrics counts as tokens scored.
func (s *Scorer) CountTokens(p scorers.Pair) int {
	ids, _ := s.encode(p)
	return len(ids)
}

// encode tokenizes a pair. With max-tokens set and the pair too long, the
// source is cut at a word boundary: the summary is what is being judged, so
// it is kept whole. When even the summary alone is too long, the ids are cut
// hard, keeping the final </s>.
func (s *Scorer) encode(p scorers.Pair) ([]int, bool) {
	ids := s.w.tok.Encode(Prompt(p.Source, p.Summary))
	if s.maxTokens == 0 || len(ids) <= s.maxTokens {
		return ids, false
	}
	// Binary search for the longest source prefix that fits; the full
	// source (the last cut) is known not to.
	cuts := wordEnds(p.Source)
	lo, hi := 0, len(cuts)-2
	var best []int
	for lo <= hi {
		mid := (lo + hi) / 2
		cand := s.w.tok.Encode(Prompt(p.Source[:cuts[mid]], p.Summary))
		if len(cand) <= s.maxTokens {
			best, lo = cand, mid+1
		} else {
			hi = mid - 1
		}
	}
	if best == nil {
		best = s.w.tok.Encode(Prompt("", p.Summary))
		if len(best) > s.maxTokens {
			best = append(best[:s.maxTokens-1:s.maxTokens-1], best[len(best)-1])
		}
	}
	return best, true
}

// wordEnds lists byte offsets where a prefix of text ends at a word end,
// ascending, starting with 0 and ending with len(text).
func wordEnds(text string) []int {
	cuts := []int{0}
	inWord := false
	for i, r := range text {
		space := unicode.IsSpace(r)
		if space && inWord {
			cuts = append(cuts, i)
		}
		inWord = !space
	}
	if cuts[len(cuts)-1] != len(text) {
		cuts = append(cuts, len(text))
	}
	return cuts
}

// planBatches groups indices so that every group has at most maxBatch
// sequences and at most budget padded tokens (sequences × longest). Sorting
// by length first keeps that product close to the real token count, which
// matters for any forward pass that pads; ours packs sequences without
// padding, and there the budget bounds each pass's scratch memory. A
// sequence longer than budget runs alone.
func planBatches(lens []int, maxBatch, budget int) [][]int {
	order := make([]int, len(lens))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return lens[order[a]] < lens[order[b]] })
	var groups [][]int
	var cur []int
	for _, i := range order {
		// Ascending order: the newcomer is the longest in the group.
		if len(cur) > 0 && (len(cur) >= maxBatch || (len(cur)+1)*lens[i] > budget) {
			groups = append(groups, cur)
			cur = nil
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}
