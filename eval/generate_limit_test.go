package eval

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/served/servedtest"
)

// redirect sends every request to target, whatever host it names: a test
// can then play api.openai.com on loopback.
type redirect struct{ target *url.URL }

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.target.Scheme, r.target.Host
	return http.DefaultTransport.RoundTrip(req)
}

func limitRun(t *testing.T, cfg GenerateConfig) GenerateStats {
	t.Helper()
	cfg.MaxRetries, cfg.Progress = -1, nil
	_, st, err := genRun(t, context.Background(), cfg, &genSource{n: 2})
	require.NoError(t, err)
	return st
}

// A local server (Ollama has no max_completion_tokens) gets max_tokens
// even for a model named like an OpenAI reasoning model, which go-openai
// would otherwise send with max_completion_tokens, leaving it unlimited.
func TestMaxTokensFieldLocalServer(t *testing.T) {
	o := servedtest.Ollama(t, "o3-mini:latest", "gpt-5-local:latest")
	o.RejectField = "max_completion_tokens"
	for _, model := range []string{"o3-mini", "gpt-5-local"} {
		st := limitRun(t, GenerateConfig{Endpoint: o.Endpoint(), Model: model, MaxTokens: 64})
		assert.Equal(t, 2, st.Done, model)
	}
	for _, req := range o.Requests() {
		assert.EqualValues(t, 64, req["max_tokens"])
	}
}

// OpenAI's own API refuses max_tokens for its reasoning models.
func TestMaxTokensFieldOpenAI(t *testing.T) {
	o := servedtest.OpenAI(t, "o3-mini", "gpt-4o")
	u, _ := url.Parse(o.URL)
	hc := &http.Client{Transport: redirect{u}}
	o.RejectField = "max_tokens"
	st := limitRun(t, GenerateConfig{Endpoint: "https://api.openai.com/v1", Model: "o3-mini", MaxTokens: 64, HTTPClient: hc})
	assert.Equal(t, 2, st.Done)
	reqs := o.Requests()
	require.NotEmpty(t, reqs)
	assert.EqualValues(t, 64, reqs[0]["max_completion_tokens"])

	// A chat model there still gets max_tokens.
	o.RejectField = "max_completion_tokens"
	st = limitRun(t, GenerateConfig{Endpoint: "https://api.openai.com/v1", Model: "gpt-4o", MaxTokens: 64, HTTPClient: hc})
	assert.Equal(t, 2, st.Done)
}

// The setting forces either field, whatever the endpoint or model; the
// record says which was used when not max_tokens.
func TestMaxTokensFieldForced(t *testing.T) {
	o := servedtest.OpenAI(t, "m", "o1")
	o.RejectField = "max_tokens"
	cfg := GenerateConfig{Endpoint: o.Endpoint(), Model: "m", MaxTokens: 32, MaxTokensField: MaxCompletionTokens}
	assert.Equal(t, 2, limitRun(t, cfg).Done)
	g, err := NewGenerator(cfg)
	require.NoError(t, err)
	assert.Equal(t, MaxCompletionTokens, g.Template().Params.MaxTokensField)
	b, err := g.Request("text")
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(b, &body))
	assert.EqualValues(t, 32, body["max_completion_tokens"])
	assert.NotContains(t, body, "max_tokens")

	o.RejectField = "max_completion_tokens"
	cfg = GenerateConfig{Endpoint: o.Endpoint(), Model: "o1", MaxTokens: 32, MaxTokensField: MaxTokensField}
	assert.Equal(t, 2, limitRun(t, cfg).Done)
	g, err = NewGenerator(cfg)
	require.NoError(t, err)
	assert.Empty(t, g.Template().Params.MaxTokensField, "max_tokens is what this endpoint gets anyway")

	// Forced to max_tokens on OpenAI's API for a reasoning model: recorded.
	g, err = NewGenerator(GenerateConfig{Endpoint: "https://api.openai.com/v1", Model: "o1", MaxTokens: 32, MaxTokensField: MaxTokensField})
	require.NoError(t, err)
	assert.Equal(t, MaxTokensField, g.Template().Params.MaxTokensField)
	// Not forced: nothing recorded, whatever the field.
	g, err = NewGenerator(GenerateConfig{Endpoint: "https://api.openai.com/v1", Model: "o1", MaxTokens: 32})
	require.NoError(t, err)
	assert.Empty(t, g.Template().Params.MaxTokensField)

	_, err = NewGenerator(GenerateConfig{Endpoint: o.Endpoint(), Model: "m", MaxTokensField: "max_length"})
	assert.ErrorContains(t, err, `max tokens field "max_length"`)
}

// The served name and the queueing flag are recorded but are not part of
// the generation key: records made before the name was resolved, or while
// the endpoint could not be asked, still resume.
func TestCanonicalNameIsNotPartOfTheKey(t *testing.T) {
	o := servedtest.Ollama(t, "tiny:latest")
	plain := GenerateConfig{Endpoint: o.Endpoint(), Model: "tiny"}
	resolved := plain
	resolved.ModelCanonical, resolved.LatencyQueued = "tiny:latest", true
	g1, err := NewGenerator(plain)
	require.NoError(t, err)
	g2, err := NewGenerator(resolved)
	require.NoError(t, err)
	doc := genDoc(0)
	assert.Equal(t, g1.Key(doc), g2.Key(doc))

	recs, _, err := genRun(t, context.Background(), resolved, &genSource{n: 1})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, "tiny", recs[0].Model)
	assert.Equal(t, "tiny:latest", recs[0].ModelCanonical)
	assert.True(t, recs[0].LatencyQueued)
	assert.Equal(t, g1.Key(doc), recs[0].GenKey)

	// A reply whose prompt usage reaches the server's context was cut.
	o.NumCtx = 150 // more than half the prompt: only the context rule sees the cut
	cut := plain
	cut.ServerContext = 150
	recs, st, err := genRun(t, context.Background(), cut, &genSource{n: 1})
	require.NoError(t, err)
	assert.True(t, recs[0].InputTruncated)
	assert.Equal(t, 1, st.InputTruncated)
}
