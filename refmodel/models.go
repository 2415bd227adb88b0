// Package refmodel serves hallu's builtin reference models over a loopback
// OpenAI-compatible endpoint, so that a demo run goes through the same HTTP
// path as a real model:
//
//   - builtin:lead-3 answers with the first three sentences of the article,
//     an extractive summary that is consistent by construction;
//   - builtin:corrupt answers with lead-3 in which a share of the documents
//     (default 50%; builtin:corrupt@0.3 sets 30%) carry one or two
//     deliberate errors: a changed number, year, month or weekday, a name or
//     place replaced by one the article never mentions, a negated verb, or,
//     when none of these is possible, an appended sentence with a made-up
//     figure.
//
// Everything is deterministic: whether a document is corrupted and how
// depends only on a hash of its text, so Annotate can tell the generate stage
// which errors a summary carries without any non-standard HTTP field.
package refmodel

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/hallu-eval/hallu/results"
)

// Prefix marks a builtin model name.
const Prefix = "builtin:"

// Model names served by Start.
const (
	Lead3   = Prefix + "lead-3"
	Corrupt = Prefix + "corrupt"
)

// DefaultCorruptShare is the share of documents builtin:corrupt corrupts.
const DefaultCorruptShare = 0.5

// Models lists the builtin model names (without share suffixes).
func Models() []string { return []string{Lead3, Corrupt} }

// IsBuiltin reports whether model names a builtin reference model.
func IsBuiltin(model string) bool { return strings.HasPrefix(model, Prefix) }

// model is a parsed builtin model name.
type model struct {
	corrupt bool
	share   float64
}

// parseModel accepts "builtin:lead-3", "builtin:corrupt" and
// "builtin:corrupt@SHARE" with SHARE in [0,1]; the "builtin:" prefix is
// optional, since an endpoint's clients may strip it.
func parseModel(name string) (model, error) {
	base, share, hasShare := strings.Cut(strings.TrimPrefix(name, Prefix), "@")
	switch {
	case base == "lead-3" && !hasShare:
		return model{}, nil
	case base == "corrupt" && !hasShare:
		return model{corrupt: true, share: DefaultCorruptShare}, nil
	case base == "corrupt":
		s, err := strconv.ParseFloat(share, 64)
		if err != nil || s < 0 || s > 1 {
			return model{}, fmt.Errorf("model %q: share %q is not a number in [0,1]", name, share)
		}
		return model{corrupt: true, share: s}, nil
	}
	return model{}, fmt.Errorf("model %q does not exist (builtin models: %s, %s@SHARE)", name, strings.Join(Models(), ", "), Corrupt)
}

// Summarize returns what the builtin model named model answers for article,
// and the errors it injected (nil for lead-3 and for documents left intact).
func Summarize(modelName, article string) (string, []results.Injection, error) {
	m, err := parseModel(modelName)
	if err != nil {
		return "", nil, err
	}
	article = strings.TrimSpace(article)
	lead := Lead(article, 3)
	if !m.corrupt {
		return lead, nil, nil
	}
	h := fnv.New64a()
	h.Write([]byte(article))
	seed := h.Sum64()
	// The top 53 bits give a uniform draw in [0,1) that decides whether this
	// document is corrupted; the same seed then drives how.
	if float64(seed>>11)/(1<<53) >= m.share {
		return lead, nil, nil
	}
	// Mixed seeds: PCG's first outputs follow its seed closely, and the
	// seed's top bits are already fixed by the draw above.
	summary, inj := corrupt(article, lead, rand.New(rand.NewPCG(mix(seed), mix(seed^0x9e3779b97f4a7c15))))
	return summary, inj, nil
}

// Annotate recomputes which errors the builtin model injected into its
// summary of article (the document text, as sent in the prompt). It returns
// nil for lead-3, for documents builtin:corrupt left intact, and for names
// that are not builtin models. Apply(Lead(article, 3), Annotate(article,
// model)) is the summary the model answered.
func Annotate(article, modelName string) []results.Injection {
	_, inj, err := Summarize(modelName, article)
	if err != nil {
		return nil
	}
	return inj
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
