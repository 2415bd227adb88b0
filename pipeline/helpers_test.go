package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/testutil"
	"github.com/hallu-eval/hallu/results"
)

var docMarker = regexp.MustCompile(`\[\[([^\]]+)\]\]`)

// fakeChat is an OpenAI-compatible endpoint that answers "Summary of ID."
// for a document whose text carries the marker [[ID]].
func fakeChat(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := docMarker.FindSubmatch(body)
		if m == nil {
			http.Error(w, `{"error":{"message":"no marker"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "x", "object": "chat.completion", "model": "fake",
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": "Summary of " + string(m[1]) + "."}, "finish_reason": "stop"}},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// docsJSONL is a JSONL dataset of the given texts, ids doc-0, doc-1, ...
// Each text gets its id's marker.
func docsJSONL(texts ...string) string {
	var b strings.Builder
	for i, s := range texts {
		line, _ := json.Marshal(map[string]string{"id": fmt.Sprint("doc-", i), "text": fmt.Sprintf("Article [[doc-%d]]. %s", i, s)})
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func writeFile(t *testing.T, path, s string) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	return path
}

func readRecs(t *testing.T, path string) []*results.Record {
	return testutil.ReadRecords(t, path)
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// perDoc counts the records of each document.
func perDoc(recs []*results.Record) map[string]int {
	n := map[string]int{}
	for _, r := range recs {
		n[r.DocID]++
	}
	return n
}
