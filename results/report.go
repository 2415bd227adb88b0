package results

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Reporter renders the per-model statistics in one output format. Rows come
// sorted (see SortStats); a reporter keeps their order.
type Reporter interface {
	Write(w io.Writer, stats []ModelStats) error
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(w io.Writer, stats []ModelStats) error

// Write calls f.
func (f ReporterFunc) Write(w io.Writer, stats []ModelStats) error { return f(w, stats) }

// Extensioner is implemented by a reporter whose files take an extension
// other than its format name (markdown -> md).
type Extensioner interface {
	Extension() string
}

var (
	reportersMu sync.RWMutex
	reporters   = map[string]Reporter{}
)

// RegisterReporter makes a format available by name (`hallu report --format
// NAME`). It panics on a duplicate name or a nil reporter: both are
// programming errors.
func RegisterReporter(name string, r Reporter) {
	reportersMu.Lock()
	defer reportersMu.Unlock()
	if r == nil {
		panic("results: RegisterReporter " + name + " with nil reporter")
	}
	if _, dup := reporters[name]; dup {
		panic("results: duplicate reporter " + name)
	}
	reporters[name] = r
}

// LookupReporter returns the reporter registered under name.
func LookupReporter(name string) (Reporter, error) {
	reportersMu.RLock()
	defer reportersMu.RUnlock()
	if r, ok := reporters[name]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("unknown report format %q (known: %s)", name, strings.Join(reporterNamesLocked(), ", "))
}

// ReporterNames lists the registered formats, sorted.
func ReporterNames() []string {
	reportersMu.RLock()
	defer reportersMu.RUnlock()
	return reporterNamesLocked()
}

func reporterNamesLocked() []string {
	names := make([]string, 0, len(reporters))
	for n := range reporters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ReporterExt is the file extension for a format's output: the reporter's
// Extension when it has one, else the format name.
func ReporterExt(name string) string {
	r, err := LookupReporter(name)
	if err != nil {
		return name
	}
	if e, ok := r.(Extensioner); ok {
		return e.Extension()
	}
	return name
}
