package main

// Tests of issue #9's cases at the command level: each one printed wrong
// numbers with exit 0 before.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
)

// Case 1: judgments of documents whose generation changed are judged again,
// so a rerun that fixed the failures shows no failure.
func TestRunRerunAfterFlakyEndpointShowsNoStaleFailures(t *testing.T) {
	srv := newFakeChat(t, 0)
	srv.failFirst.Store(true)
	dir := t.TempDir()
	docs := writeDocs(t, dir, 8)
	cfgPath, out := writeRunConfig(t, fmt.Sprintf(`
dataset: %s
output: OUTDIR
endpoint: %s/v1
retries: 0
models:
  - name: fake
scorer: overlap
report:
  formats: [json]
`, docs, srv.URL))
	code, _, errOut := runHallu(t, "run", "--config", cfgPath)
	require.NotEqual(t, 0, code, "no document succeeded: %s", errOut)

	srv.failFirst.Store(false)
	code, _, errOut = runHallu(t, "run", "--config", cfgPath)
	require.Equal(t, 0, code, errOut)
	judged := readRecords(t, filepath.Join(out, "fake", "judgments.jsonl"))
	require.Len(t, judged, 8, "one judgment per document, none doubled")
	for _, r := range judged {
		assert.Nil(t, r.Error, "judgment of the old failed generation kept for %s", r.DocID)
		require.NotNil(t, r.Judgment)
		assert.Equal(t, results.GenerationHash(r), r.Judgment.GenHash)
	}
	var lb []map[string]any
	b, err := os.ReadFile(filepath.Join(out, "leaderboard.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &lb))
	require.Len(t, lb, 1)
	assert.Empty(t, lb[0]["generation_errors"], "the leaderboard still counts the first run's failures")
	assert.EqualValues(t, 8, lb[0]["documents"])
}

// Case 2: resuming into a file made with other settings or texts refuses,
// naming the difference, and changes nothing; --replace supersedes.
func TestGenerateResumeRefusesAChangedExperiment(t *testing.T) {
	srv := newFakeChat(t, 0)
	dir := t.TempDir()
	docs := writeDocs(t, dir, 4)
	out := filepath.Join(dir, "out.jsonl")
	gen := func(extra ...string) (int, string) {
		args := append([]string{"generate", "--dataset", docs, "--model", "fake", "--endpoint", srv.URL + "/v1", "--out", out}, extra...)
		code, _, errOut := runHallu(t, args...)
		return code, errOut
	}
	code, errOut := gen()
	require.Equal(t, 0, code, errOut)
	before, err := os.ReadFile(out)
	require.NoError(t, err)

	code, errOut = gen("--temperature", "0.7")
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "temperature 0.7 here, 0 in the file")
	assert.Contains(t, errOut, "--replace")
	after, _ := os.ReadFile(out)
	assert.Equal(t, string(before), string(after), "nothing written")

	code, errOut = gen("--seed", "3")
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "seed 3 here, unset in the file")
	code, errOut = gen("--max-tokens", "50")
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "max tokens 50 here, unlimited in the file")

	// Same ids, another text for doc-2.
	b, _ := os.ReadFile(docs)
	require.NoError(t, os.WriteFile(docs, bytes.Replace(b, []byte("[[doc-2]]. The bridge"), []byte("[[doc-2]]. The tunnel"), 1), 0o644))
	code, errOut = gen()
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "doc-2: text differs from the file's")

	code, errOut = gen("--replace", "--temperature", "0.7")
	require.Equal(t, 0, code, errOut)
	recs := readRecords(t, out)
	require.Len(t, recs, 4, "replaced, not doubled")
	for _, r := range recs {
		require.NotNil(t, r.Params)
		assert.Equal(t, float32(0.7), r.Params.Temperature)
		assert.Equal(t, results.GenerationKey(r), r.GenKey)
	}
	// And the same settings again resume with nothing to do.
	code, errOut = gen("--temperature", "0.7")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "4 already done")
}

// Case 2/3: judgments made by another scorer identity are refused, not
// mixed; --replace redoes them.
func TestScoreResumeRefusesAnotherScorerIdentity(t *testing.T) {
	dir := t.TempDir()
	gens := filepath.Join(dir, "gens.jsonl")
	code, _, errOut := runHallu(t, "generate", "--dataset", "builtin", "--model", "builtin:lead-3", "--limit", "6", "--out", gens)
	require.Equal(t, 0, code, errOut)
	out := filepath.Join(dir, "judged.jsonl")
	code, _, errOut = runHallu(t, "score", "--scorer", "overlap", "--in", gens, "--out", out)
	require.Equal(t, 0, code, errOut)
	before, _ := os.ReadFile(out)

	code, _, errOut = runHallu(t, "score", "--scorer", "overlap", "--scorer-opt", "chunk-words=20", "--in", gens, "--out", out)
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "judged by overlap")
	after, _ := os.ReadFile(out)
	assert.Equal(t, string(before), string(after))

	code, _, errOut = runHallu(t, "score", "--scorer", "overlap", "--scorer-opt", "chunk-words=20", "--in", gens, "--out", out, "--replace")
	require.Equal(t, 0, code, errOut)
	recs := readRecords(t, out)
	require.Len(t, recs, 6)
	for _, r := range recs {
		assert.Equal(t, "20", r.Judgment.Options["chunk-words"])
	}
}

// Case 4: a typo in a scorer option is an error, never a fallback.
func TestScoreTypoIsAnErrorNotAFallback(t *testing.T) {
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "1")
	code, _, errOut := runHallu(t, "score", "--scorer", "hhem", "--scorer-opt", "bacth=8")
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "bacth")
	assert.NotContains(t, errOut, "fallback")

	code, _, errOut = runHallu(t, "score", "--scorer", "hhem", "--model-dir", filepath.Join(t.TempDir(), "nowhere"))
	assert.Equal(t, 2, code, errOut)
	assert.NotContains(t, errOut, "fallback")
}

// Case 4: when the weights are simply absent, the fallback scores and every
// record says whom it stands in for.
func TestScoreFallbackIsCarriedInEveryRecord(t *testing.T) {
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "1")
	dir := t.TempDir()
	gens := filepath.Join(dir, "gens.jsonl")
	code, _, errOut := runHallu(t, "generate", "--dataset", "builtin", "--model", "builtin:corrupt", "--limit", "5", "--out", gens)
	require.Equal(t, 0, code, errOut)
	out := filepath.Join(dir, "judged.jsonl")
	code, _, errOut = runHallu(t, "score", "--scorer", "hhem", "--in", gens, "--out", out)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "fallback")
	for _, r := range readRecords(t, out) {
		assert.Equal(t, "overlap", r.Judgment.Scorer)
		assert.Equal(t, "hhem", r.Judgment.FallbackFor)
	}
	code, rep, errOut := runHallu(t, "report", out)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, rep+errOut, "hhem", "the report says overlap stood in for hhem")
}

// Case 5: a second writer of the same output fails at once, naming the
// first one's PID; nothing is doubled.
func TestSecondGenerateOnTheSameOutFailsNamingThePID(t *testing.T) {
	bin := buildHallu(t)
	srv := newFakeChat(t, 0)
	hold := make(chan struct{})
	arrived := make(chan struct{}, 64)
	blocking := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-hold:
		case <-r.Context().Done():
		}
		srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer blocking.Close()
	defer close(hold)
	dir := t.TempDir()
	docs := writeDocs(t, dir, 6)
	out := filepath.Join(dir, "out.jsonl")
	args := []string{"generate", "--dataset", docs, "--model", "fake", "--endpoint", blocking.URL + "/v1", "--out", out, "--concurrency", "1"}
	first := exec.Command(bin, args...)
	first.Env = append(os.Environ(), "OPENAI_API_KEY=")
	var firstErr bytes.Buffer
	first.Stderr = &firstErr
	require.NoError(t, first.Start())
	defer first.Process.Kill()
	// The first process holds the lock once its first request arrives.
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	select {
	case <-arrived:
	case err := <-exited:
		t.Fatalf("the first generate ended early: %v\n%s", err, firstErr.String())
	}
	second := exec.Command(bin, args...)
	second.Env = first.Env
	b, err := second.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, string(b))
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(b), fmt.Sprintf("pid %d", first.Process.Pid))
}

// Case 6: builtin models are served by hallu whatever OPENAI_BASE_URL says.
func TestBuiltinModelIgnoresOpenAIBaseURL(t *testing.T) {
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "not here", http.StatusTeapot)
	}))
	defer other.Close()
	t.Setenv("OPENAI_BASE_URL", other.URL+"/v1")
	code, out, errOut := runHallu(t, "generate", "--dataset", "builtin", "--model", "builtin:corrupt", "--limit", "6")
	require.Equal(t, 0, code, errOut)
	assert.Zero(t, hits.Load(), "a builtin model's request went to OPENAI_BASE_URL")
	for _, r := range readAll(t, out) {
		assert.Equal(t, "builtin", r.Endpoint)
		assert.Nil(t, r.Error)
	}
}

// Case 10: an endpoint that refuses every request stops the run after a
// few documents, with one line naming the cause, and a non-zero exit.
func TestGenerateStopsEarlyOnAuthFailure(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)
	}))
	defer srv.Close()
	docs := writeDocs(t, t.TempDir(), 80)
	code, _, errOut := runHallu(t, "generate", "--dataset", docs, "--model", "fake", "--endpoint", srv.URL+"/v1", "--concurrency", "1", "--max-fatal", "3")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "401")
	assert.Contains(t, errOut, "OPENAI_API_KEY")
	assert.LessOrEqual(t, hits.Load(), int32(4), "the run went on asking after the key was refused")
}

// Case 12: retries: 0 in a config means no retry.
func TestRunConfigRetriesZeroIsHonoured(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only chat requests count: the model listing is not retried.
		if strings.HasSuffix(r.URL.Path, "/chat/completions") {
			hits.Add(1)
		}
		http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	docs := writeDocs(t, t.TempDir(), 1)
	cfgPath, _ := writeRunConfig(t, fmt.Sprintf("dataset: %s\noutput: OUTDIR\nendpoint: %s/v1\nretries: 0\nmodels:\n  - name: fake\nscorer: overlap\n", docs, srv.URL))
	code, _, errOut := runHallu(t, "run", "--config", cfgPath)
	assert.NotEqual(t, 0, code, errOut)
	assert.EqualValues(t, 1, hits.Load(), "retries: 0 was read as the default")
}

// Case 12: config errors speak the config's words.
func TestRunConfigErrorsSpeakTheConfigsWords(t *testing.T) {
	for body, want := range map[string]string{
		"dataset: builtin\noutput: OUTDIR\nconcurency: 4\nmodels:\n  - name: builtin:lead-3\n":     `line 3: unknown key "concurency" (did you mean "concurrency"?)`,
		"dataset: builtin\noutput: OUTDIR\nconcurrency: lots\nmodels:\n  - name: builtin:lead-3\n": `line 3: "lots" is not a whole number`,
		"dataset: builtin\noutput: OUTDIR\nlimit: -1\nmodels:\n  - name: builtin:lead-3\n":         "limit: -1 must not be negative",
	} {
		cfgPath, _ := writeRunConfig(t, body)
		code, _, errOut := runHallu(t, "run", "--config", cfgPath)
		assert.Equal(t, 2, code, errOut)
		assert.Contains(t, errOut, want)
		assert.NotContains(t, errOut, "pipeline.")
		assert.NotContains(t, errOut, "main.")
	}
}

// Case 12: hallu run honours OPENAI_BASE_URL as generate does.
func TestRunHonoursOpenAIBaseURL(t *testing.T) {
	srv := newFakeChat(t, 0)
	t.Setenv("OPENAI_BASE_URL", srv.URL+"/v1")
	docs := writeDocs(t, t.TempDir(), 3)
	cfgPath, out := writeRunConfig(t, fmt.Sprintf("dataset: %s\noutput: OUTDIR\nmodels:\n  - name: fake\nscorer: overlap\n", docs))
	code, _, errOut := runHallu(t, "run", "--config", cfgPath)
	require.Equal(t, 0, code, errOut)
	assert.Len(t, readRecords(t, filepath.Join(out, "fake", "judgments.jsonl")), 3)
}

// Case 11: a dataset with no usable document is bad input.
func TestGenerateZeroDocumentsExitsTwo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.jsonl")
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	code, _, errOut := runHallu(t, "generate", "--dataset", path, "--model", "builtin:lead-3")
	assert.Equal(t, 2, code, errOut)
	assert.True(t, strings.Contains(errOut, "no documents") || strings.Contains(errOut, "no usable"), errOut)
}

// Case 3: one table of models judged by different scorers is refused
// unless asked for, and then a scorer column says who judged what.
func TestReportRefusesMixedScorersUnlessAsked(t *testing.T) {
	dir := t.TempDir()
	var judged []string
	for _, m := range []struct{ model, opt string }{{"builtin:lead-3", ""}, {"builtin:corrupt", "chunk-words=30"}} {
		gens := filepath.Join(dir, safeTestName(m.model)+".gen.jsonl")
		code, _, errOut := runHallu(t, "generate", "--dataset", "builtin", "--model", m.model, "--limit", "8", "--out", gens)
		require.Equal(t, 0, code, errOut)
		out := filepath.Join(dir, safeTestName(m.model)+".judged.jsonl")
		args := []string{"score", "--scorer", "overlap", "--in", gens, "--out", out}
		if m.opt != "" {
			args = append(args, "--scorer-opt", m.opt)
		}
		code, _, errOut = runHallu(t, args...)
		require.Equal(t, 0, code, errOut)
		judged = append(judged, out)
	}
	code, _, errOut := runHallu(t, append([]string{"report"}, judged...)...)
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "chunk-words=30")
	assert.Contains(t, errOut, "--mixed-scorers")

	code, out, errOut := runHallu(t, append([]string{"report", "--mixed-scorers"}, judged...)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "SCORER")
	assert.Contains(t, out, "chunk-words=30")

	code, out, errOut = runHallu(t, append([]string{"report", "--mixed-scorers", "--format", "json"}, judged...)...)
	require.Equal(t, 0, code, errOut)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 2)
	assert.NotEqual(t, rows[0]["scorer_key"], rows[1]["scorer_key"])
	for _, r := range rows {
		assert.Contains(t, r, "output_truncated", "truncation counts are numeric fields of every model")
		assert.Contains(t, r, "input_truncated")
	}
}

func safeTestName(s string) string {
	return strings.NewReplacer(":", "_", "/", "_", "@", "_").Replace(s)
}

// Case 9: summaries cut at the token limit, and documents the server cut
// to its context, are flagged, counted and warned about.
func TestGenerateWarnsOfTruncation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		// A server with a tiny context: it reports 12 prompt tokens for
		// prompts of several hundred, and cuts every summary.
		io.WriteString(w, `{"id":"x","object":"chat.completion","model":"served-name","system_fingerprint":"fp_9","choices":[{"index":0,"message":{"role":"assistant","content":"The article describes a bridge that is forty metres long and"},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":16}}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "g.jsonl")
	code, _, errOut := runHallu(t, "generate", "--dataset", "builtin", "--limit", "3", "--model", "asked-name", "--endpoint", srv.URL+"/v1", "--out", out)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "3 summaries were cut at the token limit")
	assert.Contains(t, errOut, "3 documents were cut by the server")
	for _, r := range readRecords(t, out) {
		assert.True(t, r.OutputTruncated)
		assert.True(t, r.InputTruncated)
		assert.Greater(t, r.PromptTokensEst, 12)
		assert.Equal(t, "served-name", r.ServedModel)
		assert.Equal(t, "asked-name", r.Model)
		assert.Equal(t, "fp_9", r.SystemFingerprint)
	}
	judged := filepath.Join(dir, "j.jsonl")
	code, _, errOut = runHallu(t, "score", "--scorer", "overlap", "--in", out, "--out", judged)
	require.Equal(t, 0, code, errOut)
	code, rep, errOut := runHallu(t, "report", "--format", "json", judged)
	require.Equal(t, 0, code, errOut)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(rep), &rows))
	require.Len(t, rows, 1)
	assert.EqualValues(t, 3, rows[0]["output_truncated"])
	assert.EqualValues(t, 3, rows[0]["input_truncated"])
}

// Case 2 through hallu run: a changed setting in the config is refused,
// and --replace redoes the generations (then their judgments).
func TestRunReplaceRedoesChangedGenerations(t *testing.T) {
	cfg, out := writeRunConfig(t, "dataset: builtin\nlimit: 4\noutput: OUTDIR\nmodels:\n  - name: builtin:lead-3\nscorer: overlap\n")
	code, _, errOut := runHallu(t, "run", "--config", cfg)
	require.Equal(t, 0, code, errOut)
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, append(b, []byte("temperature: 0.5\n")...), 0o644))

	code, _, errOut = runHallu(t, "run", "--config", cfg)
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "temperature 0.5 here, 0 in the file")

	code, _, errOut = runHallu(t, "run", "--config", cfg, "--replace")
	require.Equal(t, 0, code, errOut)
	for _, f := range []string{results.GenerationsFile, results.JudgmentsFile} {
		recs := readRecords(t, filepath.Join(out, "builtin_lead-3", f))
		require.Len(t, recs, 4, f)
		for _, r := range recs {
			assert.Equal(t, float32(0.5), r.Params.Temperature, f)
		}
	}
}
