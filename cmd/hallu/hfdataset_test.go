package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/hfhub/hubtest"
)

// `--dataset hf:...` end to end: generate reads a Parquet file of a hub
// dataset through the environment's hub settings, and again offline from
// the cache once the hub is gone.
func TestGenerateFromHubDataset(t *testing.T) {
	type row struct {
		ID      int64  `parquet:"id"`
		Article string `parquet:"article"`
	}
	var rows []row
	for i := range 4 {
		rows = append(rows, row{ID: int64(i), Article: fmt.Sprintf("Article [[%d]]. The bridge is 40 m long.", i)})
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	_, err := w.Write(rows)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	hub := hubtest.New(hubtest.Repo{ID: "acme/news", Commit: "cccccccccccccccccccccccccccccccccccccccc", Dataset: true,
		Files: []hubtest.File{{Name: "data/test.parquet", Data: buf.Bytes(), LFS: true}}})
	defer hub.Close()
	t.Setenv("HF_ENDPOINT", hub.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	srv := newFakeChat(t, 0)
	args := []string{"generate", "--dataset", "hf:acme/news/data/test.parquet", "--text-field", "article",
		"--model", "fake", "--endpoint", srv.URL + "/v1"}

	code, out, errOut := runHallu(t, args...)
	require.Equal(t, 0, code, errOut)
	recs := readAll(t, out)
	require.Len(t, recs, 4)
	var ids []string
	for _, r := range recs {
		assert.Equal(t, "Summary of "+r.DocID+".", r.Summary)
		ids = append(ids, r.DocID)
	}
	assert.ElementsMatch(t, []string{"0", "1", "2", "3"}, ids, "integer ids, every row")

	hub.Close()
	t.Setenv("HF_HUB_OFFLINE", "1")
	code, out, errOut = runHallu(t, args...)
	require.Equal(t, 0, code, errOut)
	assert.Len(t, readAll(t, out), 4)
}
