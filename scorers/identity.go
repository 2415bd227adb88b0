package scorers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Identity says exactly what judged a record: two judgments may be counted
// together only when their identities are equal. Options holds only the
// options that can change a score (a judge's model, a chunk size), in
// canonical form with defaults filled in; options that change only speed
// (batch size, concurrency, timeouts) stay out, so changing them neither
// invalidates finished judgments nor splits a report.
type Identity struct {
	Name    string            `json:"name"`
	Version string            `json:"version,omitempty"`
	Options map[string]string `json:"options,omitempty"`
	// Weights pins a weights-based scorer to its exact weights: the sha256
	// of the weights file, or the Hub revision's commit.
	Weights string `json:"weights,omitempty"`
}

// Identifier is implemented by scorers that know which of their options
// matter. A scorer without it is identified by name, version and every
// option it was opened with.
type Identifier interface {
	Identity() Identity
}

// Key is a short, stable digest of the identity (encoding/json sorts map
// keys, so equal identities give equal keys).
func (id Identity) Key() string {
	b, _ := json.Marshal(id)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// String is the identity as people read it: "hhem 2.1-open (weights
// 1a2b3c4d5e6f) mode=claims".
func (id Identity) String() string {
	var b strings.Builder
	b.WriteString(id.Name)
	if id.Version != "" {
		b.WriteString(" " + id.Version)
	}
	if id.Weights != "" {
		w := id.Weights
		if len(w) > 12 {
			w = w[:12]
		}
		b.WriteString(" (weights " + w + ")")
	}
	keys := make([]string, 0, len(id.Options))
	for k := range id.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, id.Options[k])
	}
	return b.String()
}

// Diff names what differs between two identities, "" when they are equal.
func (id Identity) Diff(other Identity) string {
	var d []string
	if id.Name != other.Name {
		d = append(d, fmt.Sprintf("scorer %s here, %s there", id.Name, other.Name))
	}
	if id.Version != other.Version {
		d = append(d, fmt.Sprintf("version %q here, %q there", id.Version, other.Version))
	}
	if id.Weights != other.Weights {
		d = append(d, fmt.Sprintf("weights %q here, %q there", id.Weights, other.Weights))
	}
	keys := map[string]bool{}
	for k := range id.Options {
		keys[k] = true
	}
	for k := range other.Options {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		a, aok := id.Options[k]
		b, bok := other.Options[k]
		switch {
		case aok && bok && a != b:
			d = append(d, fmt.Sprintf("option %s=%s here, %s there", k, a, b))
		case aok && !bok:
			d = append(d, fmt.Sprintf("option %s=%s here, unset there", k, a))
		case !aok && bok:
			d = append(d, fmt.Sprintf("option %s unset here, %s there", k, b))
		}
	}
	return strings.Join(d, "; ")
}

// IdentityOf returns s's identity: its own when it implements Identifier,
// else its name and version.
func IdentityOf(s Scorer) Identity {
	if i, ok := s.(Identifier); ok {
		return i.Identity()
	}
	return Identity{Name: s.Name(), Version: s.Version()}
}

// opened carries the options a scorer without its own Identity was opened
// with, so that IdentityOf can name them.
type opened struct {
	Scorer
	opts Options
}

func (o opened) Identity() Identity {
	id := Identity{Name: o.Name(), Version: o.Version()}
	// A copy, so the identity cannot change under the scorer; an empty
	// value reads as unset (Options.Get), so it is left out like one.
	for k, v := range o.opts {
		if v == "" {
			continue
		}
		if id.Options == nil {
			id.Options = map[string]string{}
		}
		id.Options[k] = v
	}
	return id
}

// ErrNotFound marks an open failure caused by absent weights or other
// downloadable parts that are simply not on this machine yet: the one open
// failure a fallback scorer may stand in for. Every other failure (a typo in
// an option, a model directory that does not hold a model) is the user's to
// fix and must stop the run. Scorers wrap it: fmt.Errorf("...: %w", ErrNotFound).
var ErrNotFound = errors.New("not found on this machine")
