package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/served/servedtest"
)

// writeSizedDocs writes documents of the given lengths in bytes.
func writeSizedDocs(t *testing.T, sizes ...int) string {
	t.Helper()
	var b strings.Builder
	for i, n := range sizes {
		text := strings.Repeat("The bridge is long. ", n/20+1)[:n]
		line, _ := json.Marshal(map[string]string{"id": fmt.Sprint("doc-", i), "text": text})
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "docs.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

func TestModelsCommand(t *testing.T) {
	o := servedtest.Ollama(t, "tiny:latest", "qwen3:0.6b")
	o.NumCtx, o.TrainCtx = 2048, 40960
	code, out, errOut := runHallu(t, "models", "--endpoint", o.Endpoint())
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "(ollama)")
	assert.Regexp(t, `tiny:latest\s+2048\s+40960`, out)
	assert.Contains(t, out, "qwen3:0.6b")

	code, out, errOut = runHallu(t, "models", "--endpoint", o.Endpoint(), "--format", "json")
	require.Equal(t, 0, code, errOut)
	var s struct {
		Kind   string
		Models []struct {
			ID      string
			Context int
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &s))
	assert.Equal(t, "ollama", s.Kind)
	require.Len(t, s.Models, 2)
	assert.Equal(t, 2048, s.Models[0].Context)

	l := servedtest.LlamaCpp(t, "m.gguf", 4096, 2)
	code, out, errOut = runHallu(t, "models", "--endpoint", l.Endpoint())
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "(llama.cpp), 2 parallel slots")
	assert.Regexp(t, `m\.gguf\s+4096`, out)

	code, _, _ = runHallu(t, "models")
	assert.Equal(t, 2, code)
	code, _, _ = runHallu(t, "models", "--endpoint", o.Endpoint(), "--format", "csv")
	assert.Equal(t, 2, code)
}

// Ollama answers tiny, TINY and tiny:latest alike: records keep the name
// asked for and gain the served one, and a rerun resumes them (the key
// is the request's, not the canonical name's).
func TestGenerateResolvesCanonicalName(t *testing.T) {
	o := servedtest.Ollama(t, "tiny:latest")
	docs := writeDocs(t, t.TempDir(), 3)
	out := filepath.Join(t.TempDir(), "g.jsonl")
	args := []string{"generate", "--dataset", docs, "--model", "TINY", "--endpoint", o.Endpoint(), "--out", out}
	code, _, errOut := runHallu(t, args...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "TINY is served as tiny:latest")
	recs := readRecords(t, out)
	require.Len(t, recs, 3)
	for _, r := range recs {
		assert.Equal(t, "TINY", r.Model)
		assert.Equal(t, "tiny:latest", r.ModelCanonical)
	}
	code, _, errOut = runHallu(t, args...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "3 already done")
	assert.Len(t, o.Requests(), 3)

	// A rerun whose endpoint cannot list its models keeps the file's
	// served name for the documents it adds.
	o.NoModelList = true
	docs5 := writeDocs(t, t.TempDir(), 5)
	code, _, errOut = runHallu(t, "generate", "--dataset", docs5, "--model", "TINY", "--endpoint", o.Endpoint(), "--out", out)
	require.Equal(t, 0, code, errOut)
	recs = readRecords(t, out)
	require.Len(t, recs, 5)
	for _, r := range recs {
		assert.Equal(t, "tiny:latest", r.ModelCanonical, r.DocID)
	}

	// The report shows the served name.
	code, rep, errOut := runHallu(t, "report", out, "--format", "csv")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, rep, "tiny:latest")
	assert.NotContains(t, rep, "TINY")
}

func TestGenerateUnknownModelStopsBeforeAnyRequest(t *testing.T) {
	o := servedtest.Ollama(t, "llama3.2:3b", "llama3.2:1b", "qwen3:0.6b")
	docs := writeDocs(t, t.TempDir(), 3)
	code, _, errOut := runHallu(t, "generate", "--dataset", docs, "--model", "llama3.2", "--endpoint", o.Endpoint())
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, `model "llama3.2" is not served by`)
	assert.Contains(t, errOut, "llama3.2:1b, llama3.2:3b")
	assert.Empty(t, o.Requests(), "a chat request was sent for an unknown model")

	// An endpoint without a model list is used unchecked.
	p := servedtest.OpenAI(t)
	p.NoModelList = true
	code, _, errOut = runHallu(t, "generate", "--dataset", docs, "--model", "anything", "--endpoint", p.Endpoint())
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "does not list its models")
}

func TestGenerateWarnsOfContextAndQueueing(t *testing.T) {
	docs := writeSizedDocs(t, 200, 6000, 9000)
	o := servedtest.Ollama(t, "tiny:latest")
	o.NumCtx = 1024
	code, _, errOut := runHallu(t, "generate", "--dataset", docs, "--model", "tiny", "--endpoint", o.Endpoint(), "--max-tokens", "200")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "2 of 3 documents will not fit the 1024-token context")
	assert.Contains(t, errOut, "OLLAMA_CONTEXT_LENGTH=3072")
	assert.Contains(t, errOut, "PARAMETER num_ctx 3072")
	// After the run: the records whose prompt usage reached the context.
	assert.Contains(t, errOut, "2 documents were cut by the server")

	l := servedtest.LlamaCpp(t, "m.gguf", 2048, 1)
	out := filepath.Join(t.TempDir(), "g.jsonl")
	code, _, errOut = runHallu(t, "generate", "--dataset", docs, "--model", "m", "--endpoint", l.Endpoint(), "--concurrency", "4", "--out", out)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "1 of 3 documents will not fit the 2048-token context")
	assert.Contains(t, errOut, "-c 3072")
	assert.Contains(t, errOut, "--no-context-shift")
	assert.Contains(t, errOut, "concurrency 4 exceeds the server's 1 parallel slots")
	for _, r := range readRecords(t, out) {
		assert.True(t, r.LatencyQueued)
		assert.Empty(t, r.ModelCanonical, "llama.cpp answers any name: no canonical name")
	}
	code, _, errOut = runHallu(t, "report", out)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "include time queued for a server slot")
	code, rep, errOut := runHallu(t, "report", out, "--format", "json")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, rep, `"latency_queued": 3`)

	// Within the slots: no warning, no flag.
	out2 := filepath.Join(t.TempDir(), "g.jsonl")
	code, _, errOut = runHallu(t, "generate", "--dataset", docs, "--model", "m", "--endpoint", l.Endpoint(), "--concurrency", "1", "--out", out2)
	require.Equal(t, 0, code, errOut)
	assert.NotContains(t, errOut, "exceeds the server's")
	for _, r := range readRecords(t, out2) {
		assert.False(t, r.LatencyQueued)
	}
}

func TestGenerateDryRun(t *testing.T) {
	o := servedtest.Ollama(t, "tiny:latest")
	docs := writeSizedDocs(t, 400, 800)
	out := filepath.Join(t.TempDir(), "g.jsonl")
	code, stdout, errOut := runHallu(t, "generate", "--dataset", docs, "--model", "tiny", "--endpoint", o.Endpoint(),
		"--out", out, "--dry-run", "--max-tokens", "100", "--price-in", "2", "--price-out", "10")
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, o.Requests(), "a dry run sent a chat request")
	assert.NoFileExists(t, out)
	assert.Contains(t, stdout, `"max_tokens":100`)
	assert.Contains(t, stdout, "doc-0")
	assert.Contains(t, stdout, "doc-1")
	assert.Contains(t, stdout, "2 requests")
	// Input: the prompt template (~210 tokens) plus each document.
	assert.Regexp(t, `~\d+ input tokens \(estimated`, stdout)
	assert.Regexp(t, `estimated cost: \$0\.00\d+ input \+ at most \$0\.0020 output`, stdout)

	code, _, _ = runHallu(t, "generate", "--dataset", docs, "--model", "nope", "--endpoint", o.Endpoint(), "--dry-run")
	assert.Equal(t, 2, code, "a dry run checks the model too")
}

func TestRunChecksEveryModelBeforeTheFirstRequest(t *testing.T) {
	o := servedtest.Ollama(t, "tiny:latest")
	docs := writeDocs(t, t.TempDir(), 2)
	cfgPath, outDir := writeRunConfig(t, fmt.Sprintf("dataset: %s\noutput: OUTDIR\nendpoint: %s\nmodels:\n  - name: tiny\n  - name: tinny\n", docs, o.Endpoint()))
	code, _, errOut := runHallu(t, "run", "--config", cfgPath)
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, `model "tinny" is not served`)
	assert.Contains(t, errOut, "tiny:latest")
	assert.Empty(t, o.Requests())
	assert.NoDirExists(t, outDir)

	cfgPath, _ = writeRunConfig(t, fmt.Sprintf("dataset: %s\noutput: OUTDIR\nendpoint: %s\nmodels:\n  - name: tiny\n  - name: TINY\n", docs, o.Endpoint()))
	code, _, errOut = runHallu(t, "run", "--config", cfgPath)
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "the same served model tiny:latest")
}

func TestRunDryRunAndCost(t *testing.T) {
	o := servedtest.Ollama(t, "tiny:latest")
	// A local model named like an OpenAI reasoning model, forced to the
	// other field by the config: the fake refuses max_tokens.
	o.RejectField = "max_tokens"
	docs := writeDocs(t, t.TempDir(), 2)
	body := fmt.Sprintf("dataset: %s\noutput: OUTDIR\nendpoint: %s\nmax_tokens: 50\nmax_tokens_field: max_completion_tokens\nmodels:\n  - name: tiny\n    price_in: 1000\n    price_out: 2000\n", docs, o.Endpoint())
	cfgPath, outDir := writeRunConfig(t, body)
	code, stdout, errOut := runHallu(t, "run", "--config", cfgPath, "--dry-run")
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, o.Requests())
	assert.NoDirExists(t, outDir)
	assert.Contains(t, stdout, "dry run: tiny")
	assert.Contains(t, stdout, `"max_completion_tokens":50`)
	assert.Contains(t, stdout, "at most $0.2000 output")

	code, stdout, errOut = runHallu(t, "run", "--config", cfgPath)
	require.Equal(t, 0, code, errOut)
	require.Len(t, o.Requests(), 2)
	// The fake reports 100 prompt and 4 completion tokens per request.
	assert.Contains(t, stdout, "tiny:latest: 200 input + 8 output tokens = $0.2160")
	b, err := os.ReadFile(filepath.Join(outDir, "manifest.json"))
	require.NoError(t, err)
	var man results.Manifest
	require.NoError(t, json.Unmarshal(b, &man))
	mc, ok := man.Models["tiny:latest"]
	require.True(t, ok, "manifest models: %v", man.Models)
	require.NotNil(t, mc.Cost)
	assert.InDelta(t, 0.216, *mc.Cost, 1e-9)
	assert.Equal(t, int64(200), mc.TokensIn)
	assert.Equal(t, "tiny", mc.Dir)
	for _, r := range readRecords(t, filepath.Join(outDir, "tiny", results.GenerationsFile)) {
		assert.Equal(t, "max_completion_tokens", r.Params.MaxTokensField)
		assert.Equal(t, "tiny:latest", r.ModelCanonical)
	}
}
