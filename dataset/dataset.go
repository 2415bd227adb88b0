// Package dataset streams summarization documents from files or the embedded
// sample. Formats register themselves by name, as image formats do, so a new
// format is one file with an init function.
//
// Open takes a spec: "builtin", a .csv, .jsonl or .parquet file (the first
// two optionally .gz), FORMAT:PATH, hf:ORG/NAME[@REVISION]/PATH for a file
// of a Hugging Face Hub dataset, or "-" for standard input. Every format applies the same
// checks: an id and a non-empty text, valid UTF-8, a size limit
// (Options.MaxBytes), and ids unique within the file. A record failing one comes back as
// a *RecordError naming the file and line; the caller may skip it and call
// Next again, unless Options.Strict makes it final. A source from Open that
// reaches its end without one usable document returns a *NoDocumentsError
// (ErrNoDocuments) instead of io.EOF. Limit and Shard wrap any Source.
package dataset

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/hallu-eval/hallu/hfhub"
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
	// IDField and TextField name the JSONL fields or CSV columns (default
	// "id" for JSONL and "article_id" for CSV, each also accepting the
	// other; "text"); DatasetField names the optional label (default
	// "dataset"). CSV column names match case-insensitively, JSONL field
	// names exactly. A name set here replaces the defaults, aliases included.
	IDField, TextField, DatasetField string
	// MaxBytes rejects documents whose text is larger (0 = DefaultMaxBytes;
	// negative is an error). Messages name the --max-doc-bytes flag and the
	// max_doc_bytes run-config key that set it.
	MaxBytes int
	// Strict makes a bad record end the source: Next returns a *StrictError
	// (final, naming the file and line) instead of a skippable *RecordError.
	// Applies to sources from Open.
	Strict bool
	// Hub fetches hf: specs; nil configures one from the environment as
	// `hallu model pull` does (HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE or
	// HF_HOME, HF_HUB_OFFLINE), with download progress on standard error.
	Hub *hfhub.Client
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
