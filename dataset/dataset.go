// Package dataset streams summarization documents from files or the embedded
// sample. Formats register themselves by name, as image formats do, so a new
// format is one file with an init function.
package dataset

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Document is one article to summarize.
type Document struct {
	ID      string `json:"id"`
	Text    string `json:"text"`
	Dataset string `json:"dataset,omitempty"` // source-dataset label, when the file carries one
}

// Source yields documents one at a time; Next returns io.EOF after the last.
// A Source never holds the whole dataset in memory.
type Source interface {
	Next() (Document, error)
	Close() error
}

// Options tune how a source is read.
type Options struct {
	// IDField and TextField name the JSONL fields (default "id", "text");
	// DatasetField names the optional label field (default "dataset").
	IDField, TextField, DatasetField string
	// MaxBytes rejects documents whose text is larger (0 = DefaultMaxBytes).
	MaxBytes int
}

// DefaultMaxBytes is large enough for the leaderboard's longest articles
// (about 24K words) with room to spare.
const DefaultMaxBytes = 1 << 20

// Format opens a Source over r; name is the file name for error messages.
type Format func(r io.ReadCloser, name string, opts Options) (Source, error)

var (
	mu      sync.RWMutex
	formats = map[string]Format{}
)

// RegisterFormat makes a format available by name (also its file extension).
func RegisterFormat(name string, f Format) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := formats[name]; dup {
		panic("dataset: RegisterFormat called twice for " + name)
	}
	formats[name] = f
}

func lookupFormat(name string) (Format, error) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := formats[name]
	if !ok {
		names := make([]string, 0, len(formats))
		for n := range formats {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown dataset format %q (known: %s)", name, strings.Join(names, ", "))
	}
	return f, nil
}
