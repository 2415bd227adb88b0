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
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
)

// heldChat answers like fakeChat, but holds the first request until
// release is called (seen is closed when it arrives); later requests are
// answered at once, so that a second process that wrongly got in finishes
// instead of hanging the test.
type heldChat struct {
	*httptest.Server
	seen, hold        chan struct{}
	seenOnce, relOnce sync.Once
}

func newHeldChat(t *testing.T) *heldChat {
	h := &heldChat{seen: make(chan struct{}), hold: make(chan struct{})}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := fakeDocMarker.FindSubmatch(body)
		if m == nil {
			http.Error(w, `{"error":{"message":"no document marker"}}`, http.StatusBadRequest)
			return
		}
		first := false
		h.seenOnce.Do(func() { close(h.seen); first = true })
		if first {
			select {
			case <-h.hold:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "x", "object": "chat.completion", "model": "fake",
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": "The article " + string(m[1]) + " says that the bridge is 40 m long."}, "finish_reason": "stop"}},
		})
	}))
	t.Cleanup(h.Close)
	t.Cleanup(h.release) // before Close, which waits for held handlers
	return h
}

func (h *heldChat) release() { h.relOnce.Do(func() { close(h.hold) }) }

// Two `hallu run` on one output directory: the second must not wait, nor
// interleave its records with the first's, but stop at once (exit 2)
// naming the process that holds the directory.
func TestRunRefusesADirectoryInUse(t *testing.T) {
	bin := buildHallu(t)
	srv := newHeldChat(t)
	dir := t.TempDir()
	docs := writeDocs(t, dir, 4)
	cfgPath, out := writeRunConfig(t, fmt.Sprintf(`
dataset: %s
output: OUTDIR
endpoint: %s/v1
concurrency: 1
retries: 0
models:
  - name: fake
scorer: overlap
`, docs, srv.URL))
	start := func() (*exec.Cmd, *bytes.Buffer) {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "run", "--config", cfgPath)
		cmd.Env = append(os.Environ(), "OPENAI_API_KEY=", "OPENAI_BASE_URL=")
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		return cmd, &stderr
	}

	first, firstErr := start()
	t.Cleanup(func() {
		if first.ProcessState == nil {
			first.Process.Kill()
			first.Wait()
		}
	})
	<-srv.seen // the first holds the directory: it is generating

	second, secondErr := start()
	err := second.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, secondErr.String())
	assert.Equal(t, 2, ee.ExitCode(), secondErr.String())
	assert.Contains(t, secondErr.String(), fmt.Sprintf("in use by another hallu (pid %d)", first.Process.Pid))

	srv.release()
	require.NoError(t, first.Wait(), firstErr.String())
	judgments := filepath.Join(out, "fake", results.JudgmentsFile)
	require.Len(t, readRecords(t, judgments), 4)

	again, againErr := start()
	require.NoError(t, again.Wait(), againErr.String())
	recs := readRecords(t, judgments)
	require.Len(t, recs, 4, "a rerun of a finished run adds nothing")
	seen := map[string]bool{}
	for _, r := range recs {
		assert.False(t, seen[r.DocID], "%s judged twice", r.DocID)
		seen[r.DocID] = true
		require.NotNil(t, r.Judgment)
		assert.NotNil(t, r.Judgment.Score)
	}
	assert.Len(t, readRecords(t, filepath.Join(out, "fake", results.GenerationsFile)), 4)
}
