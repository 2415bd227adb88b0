package pipeline

import (
	"encoding/json"

	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
)

// describe fills the manifest's account of the results from the
// leaderboard rows, which were computed from the records: the manifest
// says what the files hold, whatever the config says.
func describe(m *results.Manifest, rows []leaderboard.ModelStats, dirs map[string]string) {
	m.Models = map[string]results.ManifestCounts{}
	shared := func(get func(leaderboard.ModelStats) string) string {
		v := ""
		for i, r := range rows {
			g := get(r)
			if i > 0 && g != v {
				return ""
			}
			v = g
		}
		return v
	}
	fallback := map[string]bool{}
	for _, r := range rows {
		p := r.Provenance
		gen := r.Documents - sumCounts(r.GenerationErrors)
		m.Models[r.Model] = results.ManifestCounts{
			Dir: dirs[r.Model], Documents: r.Documents, Generated: gen, GenerationErrors: sumCounts(r.GenerationErrors),
			Judged: r.Judged, ScorerErrors: r.ScorerErrors, OutputTruncated: r.OutputTruncated, InputTruncated: r.InputTruncated,
			DatasetSHA256: p.DatasetFingerprint, Scorer: p.Scorer(), ScorerKey: p.ScorerKey(), FallbackFor: p.FallbackFor,
			PromptHashes: p.PromptHashes, Params: rawJSON(p.Params), Endpoints: p.Endpoints, ServedModels: p.ServedModels,
			SystemFingerprints: p.SystemFingerprints,
		}
		for _, f := range p.FallbackFor {
			if !fallback[f] {
				fallback[f] = true
				m.FallbackFor = append(m.FallbackFor, f)
			}
		}
	}
	m.DatasetSHA256 = shared(func(r leaderboard.ModelStats) string { return r.Provenance.DatasetFingerprint })
	if m.DatasetSHA256 != "" && len(rows) > 0 {
		m.Documents = rows[0].Provenance.DatasetDocuments
	}
	m.Scorer = shared(func(r leaderboard.ModelStats) string { return r.Provenance.Scorer() })
	m.ScorerKey = shared(func(r leaderboard.ModelStats) string { return r.Provenance.ScorerKey() })
	m.PromptHash = shared(func(r leaderboard.ModelStats) string {
		if len(r.Provenance.PromptHashes) != 1 {
			return ""
		}
		return r.Provenance.PromptHashes[0]
	})
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// rawJSON keeps canonical JSON texts as JSON in the manifest, not as
// strings holding JSON.
func rawJSON(texts []string) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(texts))
	for _, t := range texts {
		if json.Valid([]byte(t)) {
			out = append(out, json.RawMessage(t))
		}
	}
	return out
}
