// Package scorers defines how hallu judges a (source, summary) pair and keeps
// the registry that scorer implementations join by name, as database/sql
// drivers do: a scorer package registers itself in init, and a blank import
// makes it available to `hallu score --scorer NAME`.
package scorers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Pair is one thing to judge.
type Pair struct {
	ID      string // document id, for error messages and external scorers
	Source  string
	Summary string
}

// Result is a scorer's verdict on one pair. Err set means the pair was not
// scored; Score is then meaningless and must not be reported.
type Result struct {
	Score       float64 // in [0,1]; >= 0.5 means consistent
	Explanation string
	Err         error
	// Usage is the tokens a scorer that calls a language model spent on
	// this pair (retries included); nil when it calls none.
	Usage *Usage
	// Sentences holds the score of each summary sentence when the pair was
	// judged sentence by sentence (granularity=sentence); Score is then the
	// lowest of them.
	Sentences []SentenceScore
	// Repeats holds every score when the pair was judged several times
	// (a judge's repeat=k); Score is then the majority verdict's.
	Repeats []float64
}

// SentenceScore is one summary sentence's verdict. Start and End are byte
// offsets into the summary, End exclusive.
type SentenceScore struct {
	Start int
	End   int
	Score float64
}

// Usage is token accounting of a scorer's model calls.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Add returns u + v; nil when both are nil.
func (u *Usage) Add(v *Usage) *Usage {
	switch {
	case u == nil && v == nil:
		return nil
	case u == nil:
		c := *v
		return &c
	case v == nil:
		c := *u
		return &c
	}
	return &Usage{PromptTokens: u.PromptTokens + v.PromptTokens, CompletionTokens: u.CompletionTokens + v.CompletionTokens}
}

// Scorer judges batches of pairs. Implementations must be safe for concurrent
// use: the runner may call Score from several goroutines.
type Scorer interface {
	// Name and Version are recorded in every judgment.
	Name() string
	Version() string
	// Score returns one Result per pair, in order. A returned error means the
	// whole batch failed (the runner records it against each pair); per-pair
	// failures go in Result.Err.
	Score(ctx context.Context, pairs []Pair) ([]Result, error)
	// Close releases resources (model weights, child processes).
	Close() error
}

// Options configures a scorer: free-form key/value settings from the command
// line (--scorer-opt key=value) or the run config. Each scorer documents its
// keys.
type Options map[string]string

// Get returns the value for key, or def when unset.
func (o Options) Get(key, def string) string {
	if v, ok := o[key]; ok && v != "" {
		return v
	}
	return def
}

// Factory opens a scorer.
type Factory func(ctx context.Context, opts Options) (Scorer, error)

// Info describes a registered scorer for `hallu scorers` and --help.
type Info struct {
	Name        string
	Description string
	Open        Factory
}

var (
	mu       sync.RWMutex
	registry = map[string]Info{}
)

// Register makes a scorer available by name. It panics on a duplicate name or
// a nil factory, as sql.Register does: both are programming errors.
func Register(info Info) {
	mu.Lock()
	defer mu.Unlock()
	if info.Open == nil {
		panic("scorers: Register " + info.Name + " with nil factory")
	}
	if _, dup := registry[info.Name]; dup {
		panic("scorers: Register called twice for " + info.Name)
	}
	registry[info.Name] = info
}

// Open opens the scorer registered under name. Besides the scorer's own
// options, every scorer accepts chunk-words=N and chunk-overlap=M, which
// wrap it in Chunked, and granularity=sentence, which wraps that in
// BySentence (see there; CommonOptions describes them): each sentence is
// then judged against the source's windows.
func Open(ctx context.Context, name string, opts Options) (Scorer, error) {
	mu.RLock()
	info, ok := registry[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown scorer %q (available: %s)", name, strings.Join(Names(), ", "))
	}
	opts, bySentence, err := splitGranularity(opts)
	if err != nil {
		return nil, fmt.Errorf("scorer %s: %w", name, err)
	}
	opts, words, overlap, err := splitChunkOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("scorer %s: %w", name, err)
	}
	s, err := info.Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("scorer %s: %w", name, err)
	}
	if _, ok := s.(Identifier); !ok {
		s = opened{Scorer: s, opts: opts}
	}
	if words > 0 {
		c, err := NewChunked(s, words, overlap)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("scorer %s: %w", name, err)
		}
		s = c
	}
	if bySentence {
		s = &BySentence{Inner: s}
	}
	return s, nil
}

// Names lists the registered scorers, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the registration for name.
func Lookup(name string) (Info, bool) {
	mu.RLock()
	defer mu.RUnlock()
	info, ok := registry[name]
	return info, ok
}
