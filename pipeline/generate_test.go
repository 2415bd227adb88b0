package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/eval"
)

var threeDocs = []string{"The bridge is 40 m long.", "The town has 300 people.", "The river floods in May."}

// genSetup writes a dataset and returns a job generating it with the fake
// endpoint into a fresh output.
func genSetup(t *testing.T, url string, texts ...string) GenerateJob {
	dir := t.TempDir()
	return GenerateJob{
		Dataset: writeFile(t, filepath.Join(dir, "docs.jsonl"), docsJSONL(texts...)),
		Strict:  true,
		Out:     filepath.Join(dir, "out", "generations.jsonl"),
		Config:  eval.GenerateConfig{Endpoint: url + "/v1", Model: "fake", MaxRetries: -1},
	}
}

func TestGenerateResumeRefusesOtherSettings(t *testing.T) {
	srv := fakeChat(t)
	other := fakeChat(t)
	seed := 7
	cases := []struct {
		name   string
		change func(c *eval.GenerateConfig)
		reason string
	}{
		{"temperature", func(c *eval.GenerateConfig) { c.Temperature = 0.5 }, "temperature 0.5 here, 0 in the file"},
		{"seed", func(c *eval.GenerateConfig) { c.Seed = &seed }, "seed 7 here, unset in the file"},
		{"max tokens", func(c *eval.GenerateConfig) { c.MaxTokens = 64 }, "max tokens 64 here, unlimited in the file"},
		{"extra body", func(c *eval.GenerateConfig) { c.ExtraBody = map[string]any{"top_p": 0.9} }, "extra body"},
		{"prompt", func(c *eval.GenerateConfig) { c.Prompt = "Summarize briefly: " + eval.ArticlePlaceholder }, "prompt "},
		{"endpoint", func(c *eval.GenerateConfig) { c.Endpoint = other.URL + "/v1" }, "endpoint " + other.URL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := genSetup(t, srv.URL, threeDocs...)
			_, err := Generate(context.Background(), job)
			require.NoError(t, err)
			before := fileBytes(t, job.Out)

			c.change(&job.Config)
			_, err = Generate(context.Background(), job)
			var mm *MismatchError
			require.ErrorAs(t, err, &mm)
			assert.Equal(t, 3, mm.Count)
			assert.Contains(t, err.Error(), c.reason)
			assert.Contains(t, err.Error(), "--replace")
			var ie *InputError
			assert.ErrorAs(t, err, &ie, "a mismatch is bad input (exit 2)")
			assert.Equal(t, before, fileBytes(t, job.Out), "nothing was written")

			// Replace redoes them: one record per document, made with the
			// new settings.
			job.Replace = true
			_, err = Generate(context.Background(), job)
			require.NoError(t, err)
			recs := readRecs(t, job.Out)
			assert.Equal(t, map[string]int{"doc-0": 1, "doc-1": 1, "doc-2": 1}, perDoc(recs))
			job.Replace = false
			_, err = Generate(context.Background(), job)
			require.NoError(t, err, "the replaced file resumes under the new settings")
		})
	}
}

func TestGenerateResumeRefusesChangedText(t *testing.T) {
	srv := fakeChat(t)
	job := genSetup(t, srv.URL, threeDocs...)
	_, err := Generate(context.Background(), job)
	require.NoError(t, err)
	before := fileBytes(t, job.Out)

	changed := append([]string{}, threeDocs...)
	changed[1] = "The town has 3000 people."
	writeFile(t, job.Dataset, docsJSONL(changed...))
	_, err = Generate(context.Background(), job)
	var mm *MismatchError
	require.ErrorAs(t, err, &mm)
	assert.Equal(t, 1, mm.Count)
	assert.Contains(t, err.Error(), "doc-1: text differs")
	assert.NotContains(t, err.Error(), "doc-0")
	assert.Equal(t, before, fileBytes(t, job.Out))

	job.Replace = true
	_, err = Generate(context.Background(), job)
	require.NoError(t, err)
	recs := readRecs(t, job.Out)
	require.Equal(t, map[string]int{"doc-0": 1, "doc-1": 1, "doc-2": 1}, perDoc(recs), "the old record is superseded, not kept beside the new")
	for _, r := range recs {
		if r.DocID == "doc-1" {
			assert.Contains(t, r.Source, "3000")
		}
	}
}

func TestGenerateResumeRefusesRecordsWithoutKeys(t *testing.T) {
	srv := fakeChat(t)
	job := genSetup(t, srv.URL, threeDocs...)
	_, err := Generate(context.Background(), job)
	require.NoError(t, err)

	// Rewrite the file as an older hallu wrote it: no gen_key, no params.
	var old bytes.Buffer
	for _, line := range strings.SplitAfter(string(fileBytes(t, job.Out)), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		delete(m, "gen_key")
		delete(m, "params")
		b, _ := json.Marshal(m)
		old.Write(append(b, '\n'))
	}
	writeFile(t, job.Out, old.String())

	_, err = Generate(context.Background(), job)
	var mm *MismatchError
	require.ErrorAs(t, err, &mm)
	assert.Contains(t, err.Error(), "older hallu")
	assert.Equal(t, old.Bytes(), fileBytes(t, job.Out))

	job.Replace = true
	_, err = Generate(context.Background(), job)
	require.NoError(t, err)
	recs := readRecs(t, job.Out)
	require.Equal(t, map[string]int{"doc-0": 1, "doc-1": 1, "doc-2": 1}, perDoc(recs))
	for _, r := range recs {
		assert.NotEmpty(t, r.GenKey, "%s redone with a key", r.DocID)
	}
}

// withStdin makes the dataset "-" read s, for the duration of the test.
func withStdin(t *testing.T, s string) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	go func() {
		w.WriteString(s)
		w.Close()
	}()
	old := os.Stdin
	os.Stdin = r
	t.Cleanup(func() {
		os.Stdin = old
		r.Close()
	})
}

func TestGenerateFromStdinRefusesChangedText(t *testing.T) {
	srv := fakeChat(t)
	job := genSetup(t, srv.URL, threeDocs...)
	job.Dataset = "-"
	withStdin(t, docsJSONL(threeDocs...))
	_, err := Generate(context.Background(), job)
	require.NoError(t, err)
	before := fileBytes(t, job.Out)

	changed := append([]string{}, threeDocs...)
	changed[2] = "The river floods in June."
	withStdin(t, docsJSONL(changed...))
	_, err = Generate(context.Background(), job)
	var mm *MismatchError
	require.ErrorAs(t, err, &mm, "standard input cannot be read twice: the guard checks each document as it comes")
	assert.Contains(t, err.Error(), "doc-2: text differs")
	assert.Equal(t, 3, len(readRecs(t, job.Out)), "nothing new was written")
	assert.Equal(t, before, fileBytes(t, job.Out))

	withStdin(t, docsJSONL(changed...))
	job.Replace = true
	_, err = Generate(context.Background(), job)
	require.NoError(t, err)
	recs := readRecs(t, job.Out)
	require.Equal(t, map[string]int{"doc-0": 1, "doc-1": 1, "doc-2": 1}, perDoc(recs))
}

func TestGenerateBuiltinResumes(t *testing.T) {
	dir := t.TempDir()
	job := GenerateJob{
		Dataset: writeFile(t, filepath.Join(dir, "docs.jsonl"), docsJSONL(threeDocs...)),
		Strict:  true,
		Out:     filepath.Join(dir, "gen.jsonl"),
		Config:  eval.GenerateConfig{Model: "builtin:lead-3"},
	}
	_, err := Generate(context.Background(), job)
	require.NoError(t, err)
	before := fileBytes(t, job.Out)
	_, err = Generate(context.Background(), job)
	require.NoError(t, err, "a builtin model's random port does not change its records' keys")
	assert.Equal(t, before, fileBytes(t, job.Out))
	for _, r := range readRecs(t, job.Out) {
		assert.Equal(t, "builtin", r.Endpoint)
	}
}
