package scorers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Options every scorer accepts: Open strips them and wraps the scorer in
// Chunked when ChunkWordsOption is set.
const (
	ChunkWordsOption   = "chunk-words"
	ChunkOverlapOption = "chunk-overlap"
)

// DefaultChunkOverlap is the overlap when only chunk-words is given: enough
// that a sentence cut by one window boundary is whole in the next window.
const DefaultChunkOverlap = 50

// Chunked scores long sources in windows, for scorers whose model sees a
// limited context (HHEM truncates past its maximum length): the source is
// cut into windows of Words words, consecutive windows sharing Overlap
// words, the inner scorer judges the summary against every window, and the
// pair's score is the best window's. The max is right when every claim of
// the summary is supported within one window; a summary that combines facts
// from distant parts of the source is under-scored.
//
// A pair fails when any of its windows fails: a max over the windows that
// did not fail could only err towards "hallucinated", silently.
type Chunked struct {
	Inner          Scorer
	Words, Overlap int
}

// NewChunked checks the window sizes.
func NewChunked(inner Scorer, words, overlap int) (*Chunked, error) {
	switch {
	case words < 1:
		return nil, fmt.Errorf("%s %d: must be at least 1", ChunkWordsOption, words)
	case overlap < 0 || overlap >= words:
		return nil, fmt.Errorf("%s %d: must be at least 0 and less than %s (%d)", ChunkOverlapOption, overlap, ChunkWordsOption, words)
	}
	return &Chunked{Inner: inner, Words: words, Overlap: overlap}, nil
}

// Name is the inner scorer's: chunking changes how it is applied, which
// Version records, not what judges.
func (c *Chunked) Name() string { return c.Inner.Name() }

// Version records the windowing, so chunked and whole-source judgments are
// told apart.
func (c *Chunked) Version() string {
	return fmt.Sprintf("%s+chunk%d/%d", c.Inner.Version(), c.Words, c.Overlap)
}

// Identity is the inner scorer's with the windowing among its options.
func (c *Chunked) Identity() Identity {
	id := IdentityOf(c.Inner)
	opts := map[string]string{}
	for k, v := range id.Options {
		opts[k] = v
	}
	opts[ChunkWordsOption] = strconv.Itoa(c.Words)
	opts[ChunkOverlapOption] = strconv.Itoa(c.Overlap)
	id.Options = opts
	// From the inner identity's version, which may differ from the inner
	// Version() it was built from.
	id.Version = fmt.Sprintf("%s+chunk%d/%d", id.Version, c.Words, c.Overlap)
	return id
}

// Close closes the inner scorer.
func (c *Chunked) Close() error { return c.Inner.Close() }

// Score judges every window of every pair in one inner call, so a batching
// scorer still sees batches.
func (c *Chunked) Score(ctx context.Context, pairs []Pair) ([]Result, error) {
	type span struct{ first, n int } // windows of one pair in the flat list
	var (
		flat    []Pair
		spans   = make([]span, len(pairs))
		windows = make([][][2]int, len(pairs)) // word ranges, for explanations
	)
	for i, p := range pairs {
		ws, texts := c.windows(p.Source)
		windows[i] = ws
		spans[i] = span{len(flat), len(texts)}
		for k, t := range texts {
			id := p.ID
			if len(texts) > 1 {
				id = fmt.Sprintf("%s#w%d", p.ID, k+1)
			}
			flat = append(flat, Pair{ID: id, Source: t, Summary: p.Summary})
		}
	}
	res, err := c.Inner.Score(ctx, flat)
	if err != nil {
		return nil, err
	}
	if len(res) != len(flat) {
		return nil, fmt.Errorf("scorer returned %d results for %d windows", len(res), len(flat))
	}
	out := make([]Result, len(pairs))
	for i, sp := range spans {
		rs := res[sp.first : sp.first+sp.n]
		var usage *Usage
		best := -1
		for k, r := range rs {
			usage = usage.Add(r.Usage)
			if r.Err != nil {
				if sp.n == 1 {
					out[i].Err = r.Err
				} else {
					out[i].Err = fmt.Errorf("window %d of %d: %w", k+1, sp.n, r.Err)
				}
				break
			}
			if best < 0 || r.Score > rs[best].Score {
				best = k
			}
		}
		out[i].Usage = usage
		if out[i].Err != nil {
			continue
		}
		out[i].Score = rs[best].Score
		w := windows[i][best]
		out[i].Explanation = fmt.Sprintf("chunked: %d windows of %d words, overlap %d; best window %d (words %d-%d)",
			sp.n, c.Words, c.Overlap, best+1, w[0]+1, w[1])
		if e := rs[best].Explanation; e != "" {
			out[i].Explanation += ": " + e
		}
	}
	return out, nil
}

// windows cuts src into word windows, returning each window's word range
// [from, to) and its text: a slice of src, so line breaks and punctuation
// stay as written. A source of at most Words words is one window.
func (c *Chunked) windows(src string) ([][2]int, []string) {
	starts, ends := wordBounds(src)
	n := len(starts)
	if n <= c.Words {
		return [][2]int{{0, n}}, []string{src}
	}
	step := c.Words - c.Overlap
	var (
		ranges [][2]int
		texts  []string
	)
	for from := 0; ; from += step {
		to := min(from+c.Words, n)
		ranges = append(ranges, [2]int{from, to})
		texts = append(texts, src[starts[from]:ends[to-1]])
		if to == n {
			return ranges, texts
		}
	}
}

// wordBounds returns the byte offsets where each whitespace-separated word
// of s starts and ends.
func wordBounds(s string) (starts, ends []int) {
	in := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		space := unicode.IsSpace(r)
		switch {
		case !space && !in:
			starts = append(starts, i)
			in = true
		case space && in:
			ends = append(ends, i)
			in = false
		}
		i += size
	}
	if in {
		ends = append(ends, len(s))
	}
	return starts, ends
}

// splitChunkOptions removes the chunking options from opts, returning the
// rest (a copy: the caller's map is recorded in manifests) and the window
// sizes; words is 0 when chunking is off.
func splitChunkOptions(opts Options) (rest Options, words, overlap int, err error) {
	rest = Options{}
	for k, v := range opts {
		rest[k] = v
	}
	wv, ok := rest[ChunkWordsOption]
	ov, hasOverlap := rest[ChunkOverlapOption]
	delete(rest, ChunkWordsOption)
	delete(rest, ChunkOverlapOption)
	if !ok || strings.TrimSpace(wv) == "" {
		if hasOverlap {
			return nil, 0, 0, fmt.Errorf("%s needs %s", ChunkOverlapOption, ChunkWordsOption)
		}
		return rest, 0, 0, nil
	}
	if words, err = strconv.Atoi(strings.TrimSpace(wv)); err != nil {
		return nil, 0, 0, fmt.Errorf("%s %q: not a whole number", ChunkWordsOption, wv)
	}
	if words < 1 {
		return nil, 0, 0, fmt.Errorf("%s %d: must be at least 1", ChunkWordsOption, words)
	}
	overlap = min(DefaultChunkOverlap, words/4)
	if hasOverlap {
		if overlap, err = strconv.Atoi(strings.TrimSpace(ov)); err != nil {
			return nil, 0, 0, fmt.Errorf("%s %q: not a whole number", ChunkOverlapOption, ov)
		}
	}
	return rest, words, overlap, nil
}
