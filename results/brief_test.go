package results

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// DecodeBrief refuses what Decode refuses in the fields it reads: wrong
// types in the provenance fields are damage, not zero values.
func TestDecodeBriefRejectsWhatDecodeRejects(t *testing.T) {
	for _, line := range []string{
		`{"schema":1,"doc_id":"d","model":"m","output_truncated":"yes"}`,
		`{"schema":1,"doc_id":"d","model":"m","params":{"temperature":1e39}}`,
		`{"schema":1,"doc_id":"d","model":"m","params":{"seed":1.5}}`,
		`{"schema":1,"doc_id":"d","model":"m","judgment":{"scorer_options":{"a":1}}}`,
		`{"schema":1,"doc_id":"d","model":"m","judgment":{"score":2}}`,
		`{"schema":1,"doc_id":"d","model":"m","served_model":7}`,
		`{"schema":1,"doc_id":"d","model":"m","model_canonical":7}`,
		`{"schema":1,"doc_id":"d","model":"m","latency_queued":"yes"}`,
		`{"schema":1,"doc_id":"d","model":"m","judgment":{"repeats":["x"]}}`,
		`{"schema":1,"doc_id":"d","model":"m","judgment":{"flipped":1}}`,
		`{"schema":1,"doc_id":"d"}`,
	} {
		_, derr := Decode([]byte(line))
		require.Error(t, derr, line)
		var b Brief
		assert.Error(t, DecodeBrief([]byte(line), &b), line)
	}
}

func TestDecodeBriefReadsProvenance(t *testing.T) {
	seed := 3
	score := 0.25
	rec := &Record{Schema: SchemaVersion, DocID: "d", DocHash: "h", Model: "m", Endpoint: "http://127.0.0.1/v1",
		PromptHash: "p", ModelCanonical: "m:latest", LatencyQueued: true,
		Params:      &Params{Temperature: 0.5, Seed: &seed, MaxTokens: 64, MaxTokensField: "max_completion_tokens", Extra: map[string]any{"top_p": 0.9}},
		ServedModel: "m-q4", SystemFingerprint: "fp", Summary: "a b c", Source: "long text", OutputTruncated: true, InputTruncated: true,
		Judgment: &Judgment{Scorer: "hhem", Version: "2", Options: map[string]string{"mode": "x"}, Weights: "w",
			ScorerKey: "k", FallbackFor: "judge", Score: &score, Explanation: "why",
			Repeats: []float64{0.25, 0.75, 0.1}, Flipped: true}}
	var buf bytes.Buffer
	require.NoError(t, NewWriter(&buf).Write(rec))
	line := bytes.TrimSpace(buf.Bytes())
	var b Brief
	require.NoError(t, DecodeBrief(line, &b))
	back, err := Decode(line)
	require.NoError(t, err)
	assert.Equal(t, BriefOf(back), b)
	assert.Equal(t, "fp", b.SystemFingerprint)
	assert.True(t, b.OutputTruncated && b.InputTruncated)
	assert.Equal(t, "judge", b.Judgment.FallbackFor)
	assert.Equal(t, 3, b.Judgment.Repeats)
	assert.True(t, b.Judgment.Flipped)
	assert.Equal(t, 0.9, b.Params.Extra["top_p"])
}
