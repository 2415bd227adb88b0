package leaderboard

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// Origin is what one record says about how it was made; the aggregator
// collects it per model into Provenance. Its strings may alias a decoder's
// buffer: Observe copies what it keeps.
type Origin struct {
	// Scorer is the judgment's scorer identity; Name is "" for a record
	// without a judgment. ScorerKey is the judgment's scorer_key, "" in
	// records made before scorer keys.
	Scorer      scorers.Identity
	ScorerKey   string
	FallbackFor string

	PromptHash        string
	Endpoint          string
	Params            *results.Params
	ServedModel       string
	SystemFingerprint string

	// DocDigest digests (doc_id, doc_sha256); the aggregator adds them up
	// into the order-independent DatasetFingerprint.
	DocDigest [2]uint64

	OutputTruncated, InputTruncated bool
	LatencyQueued                   bool
}

// ScorerSeen is one scorer identity found in a model's judgments.
type ScorerSeen struct {
	Identity scorers.Identity
	// Key is the records' scorer_key, or for records made before scorer
	// keys "name version".
	Key string
}

// String is the identity as people read it ("hhem 2.1-open mode=claims").
func (s ScorerSeen) String() string { return s.Identity.String() }

// Provenance is what one model's records say about how they were made,
// computed from the records, never from a configuration. Every list is
// sorted and holds distinct values; a field is empty when no record said.
type Provenance struct {
	// Scorers holds the scorer identity of the model's judgments: one, as
	// a model judged by two is refused (see MixedError).
	Scorers []ScorerSeen
	// FallbackFor names the scorers that were asked for when a fallback
	// scorer stood in for them.
	FallbackFor []string
	// PromptHashes, Params (as canonical JSON), Endpoints, ServedModels
	// and SystemFingerprints are the distinct values of the records.
	PromptHashes       []string
	Params             []string
	Endpoints          []string
	ServedModels       []string
	SystemFingerprints []string
	// DatasetFingerprint digests the set of (doc_id, doc_sha256) pairs of
	// the model's records, whatever their order: two models with equal
	// fingerprints were given the same documents. DatasetDocuments counts
	// them.
	DatasetFingerprint string
	DatasetDocuments   int
}

// Scorer is the model's scorer identity as people read it, "" when none
// of its records was judged.
func (p Provenance) Scorer() string {
	if len(p.Scorers) == 0 {
		return ""
	}
	return p.Scorers[0].String()
}

// ScorerKey is the model's scorer key, "" when none of its records was
// judged.
func (p Provenance) ScorerKey() string {
	if len(p.Scorers) == 0 {
		return ""
	}
	return p.Scorers[0].Key
}

// provAccum collects one model's Provenance. last* remember the previous
// record's values, so that the usual stream, where every record of a model
// says the same, costs a few string comparisons per record.
type provAccum struct {
	scorers                               map[string]ScorerSeen
	fallback, prompts, params, endpoints  map[string]bool
	served, fingerprints                  map[string]bool
	lastKey, lastFallback, lastPrompt     string
	lastEndpoint, lastServed, lastFP      string
	lastParams                            *results.Params
	digest                                [2]uint64
	outputTruncated, inputTruncated, docs int
	latencyQueued                         int
	haveParams                            bool
}

func newProvAccum() *provAccum {
	return &provAccum{scorers: map[string]ScorerSeen{}, fallback: map[string]bool{}, prompts: map[string]bool{},
		params: map[string]bool{}, endpoints: map[string]bool{}, served: map[string]bool{}, fingerprints: map[string]bool{}}
}

// scorerKey is the key by which judgments of one scorer are told apart.
func scorerKey(o *Origin) string {
	if o.ScorerKey != "" {
		return o.ScorerKey
	}
	if o.Scorer.Version == "" {
		return o.Scorer.Name
	}
	return o.Scorer.Name + " " + o.Scorer.Version
}

// add counts one record's origin; a second scorer identity for the model is
// a *MixedError.
func (p *provAccum) add(model string, o *Origin) error {
	p.docs++
	p.digest[0] += o.DocDigest[0]
	p.digest[1] += o.DocDigest[1]
	if o.OutputTruncated {
		p.outputTruncated++
	}
	if o.InputTruncated {
		p.inputTruncated++
	}
	if o.LatencyQueued {
		p.latencyQueued++
	}
	if o.Scorer.Name != "" {
		if k := scorerKey(o); k != p.lastKey || len(p.scorers) == 0 {
			if _, ok := p.scorers[k]; !ok {
				id := o.Scorer
				id.Name, id.Version, id.Weights = strings.Clone(id.Name), strings.Clone(id.Version), strings.Clone(id.Weights)
				id.Options = cloneOptions(id.Options)
				seen := ScorerSeen{Identity: id, Key: strings.Clone(k)}
				for _, other := range p.scorers {
					return &MixedError{What: "scorer", Model: model, Values: []ModelValue{
						{Model: model, Value: other.String()}, {Model: model, Value: seen.String()}}}
				}
				p.scorers[seen.Key] = seen
			}
			p.lastKey = p.scorers[k].Key
		}
	}
	note(p.fallback, &p.lastFallback, o.FallbackFor)
	note(p.prompts, &p.lastPrompt, o.PromptHash)
	note(p.endpoints, &p.lastEndpoint, o.Endpoint)
	note(p.served, &p.lastServed, o.ServedModel)
	note(p.fingerprints, &p.lastFP, o.SystemFingerprint)
	if o.Params != nil && !(p.haveParams && paramsEqual(o.Params, p.lastParams)) {
		b, _ := json.Marshal(o.Params)
		p.params[string(b)] = true
		c := *o.Params
		if c.Seed != nil {
			seed := *c.Seed
			c.Seed = &seed
		}
		c.Extra = maps.Clone(c.Extra)
		p.lastParams, p.haveParams = &c, true
	}
	return nil
}

// cloneOptions copies a scorer's options, strings included: they may
// alias a decoder's buffer.
func cloneOptions(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[strings.Clone(k)] = strings.Clone(v)
	}
	return c
}

// note adds v to set unless it is "" or the last value added.
func note(set map[string]bool, last *string, v string) {
	if v == "" || (v == *last && len(set) > 0) {
		return
	}
	if !set[v] {
		v = strings.Clone(v)
		set[v] = true
	}
	*last = v
}

func paramsEqual(a, b *results.Params) bool {
	if a.Temperature != b.Temperature || a.MaxTokens != b.MaxTokens || a.Stream != b.Stream ||
		(a.Seed == nil) != (b.Seed == nil) || (a.Seed != nil && *a.Seed != *b.Seed) {
		return false
	}
	if len(a.Extra) == 0 && len(b.Extra) == 0 {
		return true
	}
	return reflect.DeepEqual(a.Extra, b.Extra)
}

func (p *provAccum) provenance() Provenance {
	var out Provenance
	for _, s := range p.scorers {
		out.Scorers = append(out.Scorers, s)
	}
	slices.SortFunc(out.Scorers, func(a, b ScorerSeen) int { return strings.Compare(a.Key, b.Key) })
	out.FallbackFor = sortedKeys(p.fallback)
	out.PromptHashes = sortedKeys(p.prompts)
	out.Params = sortedKeys(p.params)
	out.Endpoints = sortedKeys(p.endpoints)
	out.ServedModels = sortedKeys(p.served)
	out.SystemFingerprints = sortedKeys(p.fingerprints)
	if p.docs > 0 {
		var b [24]byte
		binary.LittleEndian.PutUint64(b[0:], p.digest[0])
		binary.LittleEndian.PutUint64(b[8:], p.digest[1])
		binary.LittleEndian.PutUint64(b[16:], uint64(p.docs))
		sum := sha256.Sum256(b[:])
		out.DatasetFingerprint = hex.EncodeToString(sum[:8])
		out.DatasetDocuments = p.docs
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// docDigest digests one (doc_id, doc_sha256) pair for DatasetFingerprint.
func docDigest(docID, docHash string) [2]uint64 {
	h := sha256.New()
	h.Write([]byte(docID))
	h.Write([]byte{0})
	h.Write([]byte(docHash))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return [2]uint64{binary.LittleEndian.Uint64(sum[0:]), binary.LittleEndian.Uint64(sum[8:])}
}

// ModelValue is one model's value of something that differs between
// models.
type ModelValue struct {
	Model string
	Value string
}

// MixedError says that records which must agree do not: a model judged by
// two scorers (Model set), or models judged by different scorers (Model
// ""), whose rates cannot share one table without saying so.
type MixedError struct {
	What   string // "scorer"
	Model  string // the model judged by two, "" across models
	Values []ModelValue
}

func (e *MixedError) Error() string {
	if e.Model != "" {
		vals := make([]string, len(e.Values))
		for i, v := range e.Values {
			vals[i] = v.Value
		}
		return fmt.Sprintf("model %q was judged by more than one %s: %s (score its generations again with one)", e.Model, e.What, strings.Join(vals, " and "))
	}
	parts := make([]string, len(e.Values))
	for i, v := range e.Values {
		parts[i] = v.Model + ": " + v.Value
	}
	return fmt.Sprintf("models were judged by different %ss, so their rates do not compare: %s", e.What, strings.Join(parts, "; "))
}

// CheckScorers returns a *MixedError when rows were judged by different
// scorer identities (models without judgments are left out), nil when they
// share one.
func CheckScorers(rows []ModelStats) error {
	var vals []ModelValue
	keys := map[string]bool{}
	for _, r := range rows {
		if k := r.Provenance.ScorerKey(); k != "" {
			keys[k] = true
			vals = append(vals, ModelValue{Model: r.Model, Value: r.Provenance.Scorer()})
		}
	}
	if len(keys) <= 1 {
		return nil
	}
	return &MixedError{What: "scorer", Values: vals}
}

// MixedScorers reports whether rows were judged by different scorers.
func MixedScorers(rows []ModelStats) bool { return CheckScorers(rows) != nil }

// Warnings names what a reader must know that does not stop a report:
// models that differ in prompt or dataset, and latencies that include
// time queued for a server slot. nil when there is nothing to say.
func Warnings(rows []ModelStats) []string {
	var out []string
	differ := func(what string, value func(ModelStats) string) {
		seen := map[string]bool{}
		var parts []string
		for _, r := range rows {
			v := value(r)
			if v == "" {
				continue
			}
			seen[v] = true
			parts = append(parts, r.Model+": "+v)
		}
		if len(seen) > 1 {
			out = append(out, fmt.Sprintf("models differ in %s (%s)", what, strings.Join(parts, "; ")))
		}
	}
	differ("prompt", func(r ModelStats) string { return strings.Join(r.Provenance.PromptHashes, ",") })
	differ("dataset", func(r ModelStats) string {
		if r.Provenance.DatasetFingerprint == "" {
			return ""
		}
		return fmt.Sprintf("%s, %d documents", r.Provenance.DatasetFingerprint, r.Provenance.DatasetDocuments)
	})
	for _, r := range rows {
		if r.LatencyQueued > 0 {
			out = append(out, fmt.Sprintf("%s: latency and time to first token of %d records include time queued for a server slot (the run's concurrency exceeded the server's parallel slots)", r.Model, r.LatencyQueued))
		}
	}
	return out
}

// Fallback is a fallback scorer that stood in for the one asked for.
type Fallback struct {
	Scorer string   // the scorer that judged
	For    string   // the scorer that was asked for
	Models []string // the models it judged
}

// String is the notice every report format shows: "scored with overlap
// standing in for hhem: a, b".
func (f Fallback) String() string {
	return fmt.Sprintf("scored with %s standing in for %s: %s", f.Scorer, f.For, strings.Join(f.Models, ", "))
}

// Fallbacks lists the fallback scorers that stood in, nil when none did.
func Fallbacks(rows []ModelStats) []Fallback {
	by := map[string]*Fallback{}
	for _, r := range rows {
		name := "a fallback scorer"
		if len(r.Provenance.Scorers) > 0 {
			name = r.Provenance.Scorers[0].Identity.Name
		}
		for _, f := range r.Provenance.FallbackFor {
			k := name + "\x00" + f
			if by[k] == nil {
				by[k] = &Fallback{Scorer: name, For: f}
			}
			by[k].Models = append(by[k].Models, r.Model)
		}
	}
	var out []Fallback
	for _, k := range sortedKeys(toSet(by)) {
		out = append(out, *by[k])
	}
	return out
}

func toSet[V any](m map[string]V) map[string]bool {
	s := make(map[string]bool, len(m))
	for k := range m {
		s[k] = true
	}
	return s
}
