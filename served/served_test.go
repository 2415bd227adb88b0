package served_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/served"
	"github.com/hallu-eval/hallu/served/servedtest"
)

func TestProbeOllama(t *testing.T) {
	o := servedtest.Ollama(t, "tiny:latest", "llama3.2:3b")
	o.NumCtx, o.TrainCtx = 2048, 131072
	s, err := (&served.Client{}).Probe(context.Background(), o.Endpoint())
	require.NoError(t, err)
	assert.Equal(t, served.KindOllama, s.Kind)
	assert.True(t, s.Listed)
	require.Len(t, s.Models, 2)
	assert.Equal(t, served.Model{ID: "tiny:latest", Context: 2048, ContextSource: "ollama num_ctx", TrainContext: 131072}, s.Models[0])

	// Ollama answers tiny, tiny:latest and TINY alike: one canonical name.
	for _, name := range []string{"tiny", "tiny:latest", "TINY", "Tiny:Latest"} {
		m, err := s.Check(name)
		require.NoError(t, err, name)
		assert.Equal(t, "tiny:latest", m.ID, name)
		assert.Equal(t, 2048, m.Context)
	}
	_, err = s.Check("llama3.2")
	var ue *served.UnknownModelError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "llama3.2:3b", ue.Closest[0])
	assert.Contains(t, err.Error(), `model "llama3.2" is not served`)
}

func TestProbeOllamaWithoutNumCtx(t *testing.T) {
	o := servedtest.Ollama(t, "tiny:latest")
	o.TrainCtx = 8192
	s, err := (&served.Client{}).Probe(context.Background(), o.Endpoint())
	require.NoError(t, err)
	// The trained length is not what Ollama serves: no served context.
	assert.Equal(t, 0, s.Models[0].Context)
	assert.Equal(t, 8192, s.Models[0].TrainContext)
}

func TestProbeLlamaCpp(t *testing.T) {
	l := servedtest.LlamaCpp(t, "qwen2.5-0.5b.gguf", 4096, 2)
	s, err := (&served.Client{}).Probe(context.Background(), l.Endpoint())
	require.NoError(t, err)
	assert.Equal(t, served.KindLlamaCpp, s.Kind)
	assert.Equal(t, 2, s.Slots)
	// llama.cpp answers any name with its one model: not an error, no
	// canonical name, but its context is known.
	m, err := s.Check("anything")
	require.NoError(t, err)
	assert.Equal(t, "", m.ID)
	assert.Equal(t, 4096, m.Context)
}

func TestProbePlainAndUnlisted(t *testing.T) {
	p := servedtest.OpenAI(t, "gpt-x", "Other")
	s, err := (&served.Client{}).Probe(context.Background(), p.Endpoint()+"/")
	require.NoError(t, err)
	assert.Equal(t, served.KindOpenAI, s.Kind)
	m, err := s.Check("other")
	require.NoError(t, err)
	assert.Equal(t, "Other", m.ID)
	_, err = s.Check("nope")
	var ue *served.UnknownModelError
	assert.True(t, errors.As(err, &ue))

	p.NoModelList = true
	s, err = (&served.Client{}).Probe(context.Background(), p.Endpoint())
	require.NoError(t, err)
	assert.False(t, s.Listed)
	m, err = s.Check("nope")
	require.NoError(t, err, "a server that lists nothing accepts any name")
	assert.Equal(t, "", m.ID)
}

func TestIsOpenAI(t *testing.T) {
	assert.True(t, served.IsOpenAI("https://api.openai.com/v1"))
	assert.False(t, served.IsOpenAI("http://127.0.0.1:11434/v1"))
	assert.False(t, served.IsOpenAI("https://api.openai.com.evil.example/v1"))
}
