package main

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
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/testutil"
	"github.com/hallu-eval/hallu/results"
)

// fakeChat is a slow OpenAI-compatible endpoint that summarizes a document
// as "Summary of ID." and counts requests per document.
type fakeChat struct {
	*httptest.Server
	mu     sync.Mutex
	perDoc map[string]int
	// failFirst, while set, fails each document's first request with
	// HTTP 503, as a flaky endpoint does.
	failFirst atomic.Bool
}

var fakeDocMarker = regexp.MustCompile(`\[\[([^\]]+)\]\]`)

func newFakeChat(t *testing.T, latency time.Duration) *fakeChat {
	f := &fakeChat{perDoc: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := fakeDocMarker.FindSubmatch(body)
		if m == nil {
			http.Error(w, `{"error":{"message":"no document marker"}}`, http.StatusBadRequest)
			return
		}
		doc := string(m[1])
		f.mu.Lock()
		f.perDoc[doc]++
		first := f.perDoc[doc] == 1
		f.mu.Unlock()
		if first && f.failFirst.Load() {
			http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
			return
		}
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "x", "object": "chat.completion", "model": "fake",
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": "Summary of " + doc + "."}, "finish_reason": "stop"}},
		})
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeChat) requests(doc string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.perDoc[doc]
}

// writeDocs writes n JSONL documents whose text carries the fake's marker.
func writeDocs(t *testing.T, dir string, n int) string {
	var b strings.Builder
	for i := range n {
		line, _ := json.Marshal(map[string]string{"id": fmt.Sprint("doc-", i), "text": fmt.Sprintf("Article [[doc-%d]]. The bridge is 40 m long.", i)})
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, "docs.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

func readRecords(t *testing.T, path string) []*results.Record {
	t.Helper()
	return testutil.ReadRecords(t, path)
}

// decodeRecords reads every record of r, failing the test on a bad line.
func decodeRecords(t *testing.T, r io.Reader, name string) []*results.Record {
	t.Helper()
	return testutil.DecodeRecords(t, r, name)
}

func runHallu(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestGenerateCommandToStdout(t *testing.T) {
	srv := newFakeChat(t, 0)
	docs := writeDocs(t, t.TempDir(), 5)
	t.Setenv("HALLU_TEST_KEY", "sk-never-written")
	code, out, errOut := runHallu(t, "generate", "--dataset", docs, "--model", "fake", "--endpoint", srv.URL+"/v1",
		"--api-key-env", "HALLU_TEST_KEY", "--seed", "7")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "5 done, 0 failed")
	assert.NotContains(t, out+errOut, "sk-never-written")
	recs := readAll(t, out)
	require.Len(t, recs, 5)
	for _, r := range recs {
		assert.Equal(t, "Summary of "+r.DocID+".", r.Summary)
		assert.Equal(t, "fake", r.Model)
	}
}

func readAll(t *testing.T, s string) []*results.Record {
	t.Helper()
	return decodeRecords(t, strings.NewReader(s), "stdout")
}

func TestGenerateBuiltinModel(t *testing.T) {
	code, out, errOut := runHallu(t, "generate", "--dataset", "builtin", "--model", "builtin:corrupt@1", "--limit", "4")
	require.Equal(t, 0, code, errOut)
	recs := readAll(t, out)
	require.Len(t, recs, 4)
	for _, r := range recs {
		require.Nil(t, r.Error)
		assert.NotEmpty(t, r.Summary)
		assert.Equal(t, "builtin", r.Endpoint)
		assert.NotEmpty(t, r.Injected, "builtin:corrupt@1 corrupts every summary; Annotate says how")
	}
}

func TestGenerateBadInput(t *testing.T) {
	dir := t.TempDir()
	docs := writeDocs(t, dir, 2)
	noPlaceholder := filepath.Join(dir, "prompt.txt")
	require.NoError(t, os.WriteFile(noPlaceholder, []byte("Summarize the passage."), 0o644))
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("HALLU_UNSET_KEY", "")
	cases := map[string]struct {
		args []string
		want string
	}{
		"no model":        {[]string{"--dataset", docs}, "--model"},
		"no endpoint":     {[]string{"--dataset", docs, "--model", "m"}, "no endpoint"},
		"bad prompt file": {[]string{"--dataset", docs, "--model", "m", "--endpoint", "http://127.0.0.1:1/v1", "--prompt-file", noPlaceholder}, "{article}"},
		"unset key env":   {[]string{"--dataset", docs, "--model", "m", "--endpoint", "http://127.0.0.1:1/v1", "--api-key-env", "HALLU_UNSET_KEY"}, "HALLU_UNSET_KEY"},
		"bad shard":       {[]string{"--dataset", docs, "--model", "m", "--endpoint", "http://127.0.0.1:1/v1", "--shard", "3/2"}, "shard"},
		"bad dataset":     {[]string{"--dataset", filepath.Join(dir, "missing.jsonl"), "--model", "m", "--endpoint", "http://127.0.0.1:1/v1"}, "missing.jsonl"},
	}
	for name, c := range cases {
		code, _, errOut := runHallu(t, append([]string{"generate"}, c.args...)...)
		assert.Equal(t, 2, code, name)
		assert.Contains(t, errOut, c.want, name)
	}
}

func TestGenerateRefusesMixedPrompts(t *testing.T) {
	srv := newFakeChat(t, 0)
	dir := t.TempDir()
	docs := writeDocs(t, dir, 2)
	out := filepath.Join(dir, "out.jsonl")
	prompt := filepath.Join(dir, "prompt.txt")
	require.NoError(t, os.WriteFile(prompt, []byte("Summarize:\n{article}"), 0o644))
	code, _, errOut := runHallu(t, "generate", "--dataset", docs, "--model", "fake", "--endpoint", srv.URL+"/v1", "--out", out)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = runHallu(t, "generate", "--dataset", docs, "--model", "fake", "--endpoint", srv.URL+"/v1", "--out", out, "--prompt-file", prompt)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "prompt ")
	assert.Contains(t, errOut, "here,")
	assert.Contains(t, errOut, "in the file")
	assert.Len(t, readRecords(t, out), 2, "nothing lost")
}

// buildHallu builds the real binary once per test that needs a process to
// kill.
func buildHallu(t *testing.T) string {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "hallu")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Run(), "go build")
	return bin
}

func TestGenerateSurvivesKillAndSignal(t *testing.T) {
	bin := buildHallu(t)
	const n = 60
	srv := newFakeChat(t, 40*time.Millisecond)
	dir := t.TempDir()
	docs := writeDocs(t, dir, n)
	out := filepath.Join(dir, "out.jsonl")
	start := func() (*exec.Cmd, *bytes.Buffer) {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "generate", "--dataset", docs, "--model", "fake", "--endpoint", srv.URL+"/v1",
			"--out", out, "--concurrency", "2")
		cmd.Env = append(os.Environ(), "OPENAI_API_KEY=")
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		return cmd, &stderr
	}
	waitLines := func(cmd *exec.Cmd, k int) {
		deadline := time.Now().Add(30 * time.Second)
		for countLines(out) < k {
			require.True(t, time.Now().Before(deadline), "no progress")
			time.Sleep(5 * time.Millisecond)
		}
	}

	// 1. kill -9 mid-run, and simulate the torn line a kill can leave.
	cmd, _ := start()
	waitLines(cmd, 5)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"schema":1,"doc_id":"doc-5`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	done, w, err := results.Resume(out, func(r *results.Record) bool { return r.Error == nil }, func(r *results.Record) string { return r.GenKey })
	require.NoError(t, err, "the file after kill -9 parses")
	require.NoError(t, w.Close())
	afterKill := len(done)
	require.GreaterOrEqual(t, afterKill, 5)
	require.Less(t, afterKill, n)

	// 2. Ctrl-C: stop, keep finished work, say how to resume, exit non-zero.
	cmd, stderr := start()
	waitLines(cmd, afterKill+3)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, stderr.String())
	assert.Equal(t, 1, ee.ExitCode())
	assert.Contains(t, stderr.String(), "not started; rerun the same command to resume")
	afterInt := readRecords(t, out) // every line complete: a graceful stop tears nothing
	require.Greater(t, len(afterInt), afterKill)

	// 3. Rerun to completion.
	cmd, stderr = start()
	require.NoError(t, cmd.Wait(), stderr.String())
	recs := readRecords(t, out)
	require.Len(t, recs, n)
	seen := map[string]bool{}
	for _, r := range recs {
		assert.False(t, seen[r.DocID], "duplicate %s", r.DocID)
		seen[r.DocID] = true
		assert.Nil(t, r.Error)
		assert.Equal(t, "Summary of "+r.DocID+".", r.Summary)
	}
	for id := range done {
		_, doc, _ := strings.Cut(id, "\x00")
		assert.Equal(t, 1, srv.requests(doc), "%s was finished before the kill and not asked again", doc)
	}
}

// countLines counts the lines of a file; 0 when it cannot be read.
func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte{'\n'})
}

// An Indexed Job passes its 0-based completion index; index:k/n must pick
// the same documents as (k+1)/n, and the shards must add up to the dataset.
func TestGenerateShardIndexForm(t *testing.T) {
	const n = 3
	seen := map[string]int{}
	for k := range n {
		gen := func(shard string) []string {
			code, out, errOut := runHallu(t, "generate", "--dataset", "builtin", "--model", "builtin:lead-3", "--shard", shard)
			require.Equal(t, 0, code, errOut)
			var ids []string
			for _, r := range readAll(t, out) {
				ids = append(ids, r.DocID)
			}
			return ids
		}
		ids := gen(fmt.Sprintf("index:%d/%d", k, n))
		assert.ElementsMatch(t, gen(fmt.Sprintf("%d/%d", k+1, n)), ids)
		for _, id := range ids {
			seen[id]++
		}
	}
	code, out, errOut := runHallu(t, "generate", "--dataset", "builtin", "--model", "builtin:lead-3")
	require.Equal(t, 0, code, errOut)
	all := readAll(t, out)
	require.Len(t, seen, len(all))
	for _, r := range all {
		assert.Equal(t, 1, seen[r.DocID], r.DocID)
	}
}
