package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/hfhub"
	"github.com/hallu-eval/hallu/hfhub/hubtest"
)

const (
	dsRepo    = "acme/news"
	dsCommit  = "cccccccccccccccccccccccccccccccccccccccc"
	dsCommit2 = "dddddddddddddddddddddddddddddddddddddddd"
)

var hubDocs = []Document{{ID: "n1", Text: "The council met on Monday.", Dataset: "local"}, {ID: "n2", Text: "Rain is expected."}}

// hubDataset is a dataset repository holding hubDocs as CSV, JSONL, gzipped
// JSONL and Parquet (an LFS file, as the hub stores Parquet), plus a
// Parquet file whose text column is named otherwise.
func hubDataset(t *testing.T) hubtest.Repo {
	t.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(sampleHubJSONL))
	require.NoError(t, zw.Close())
	type article struct {
		ID      string `parquet:"id"`
		Article string `parquet:"article"`
	}
	return hubtest.Repo{ID: dsRepo, Commit: dsCommit, Dataset: true, Files: []hubtest.File{
		{Name: "data.csv", Data: []byte("id,text,dataset\nn1,The council met on Monday.,local\nn2,Rain is expected.,\n")},
		{Name: "data.jsonl", Data: []byte(sampleHubJSONL)},
		{Name: "gz/data.jsonl.gz", Data: gz.Bytes(), LFS: true},
		{Name: "data/test-00000-of-00001.parquet", LFS: true, Data: parquetBytes(t, []pqDoc{
			{ID: "n1", Text: "The council met on Monday.", Dataset: "local"}, {ID: "n2", Text: "Rain is expected."}}, 1)},
		{Name: "articles.parquet", LFS: true, Data: parquetBytes(t, []article{{"a1", "Body."}}, 0)},
	}}
}

const sampleHubJSONL = `{"id":"n1","text":"The council met on Monday.","dataset":"local"}
{"id":"n2","text":"Rain is expected."}
`

func startHub(t *testing.T, repos ...hubtest.Repo) (*hubtest.Hub, *hfhub.Client) {
	t.Helper()
	hub := hubtest.New(repos...)
	t.Cleanup(hub.Close)
	return hub, &hfhub.Client{Endpoint: hub.URL, CacheDir: t.TempDir(), HTTPClient: hub.Client()}
}

func TestHFReadsEachFormat(t *testing.T) {
	_, c := startHub(t, hubDataset(t))
	for _, spec := range []string{
		"hf:acme/news/data.csv",
		"hf:acme/news/data.jsonl",
		"HF:acme/news@main/gz/data.jsonl.gz",
		"hf:acme/news@" + dsCommit + "/data/test-00000-of-00001.parquet",
	} {
		docs, recs, err := openAllErr(spec, Options{Hub: c})
		require.NoError(t, err, spec)
		assert.Empty(t, recs, spec)
		assert.Equal(t, hubDocs, docs, spec)
	}
	// The column options work through hf: as for a local file.
	docs, _, err := openAllErr("hf:acme/news/articles.parquet", Options{Hub: c, TextField: "article"})
	require.NoError(t, err)
	assert.Equal(t, []Document{{ID: "a1", Text: "Body."}}, docs)
}

func TestHFColumnErrorNamesTheSpec(t *testing.T) {
	_, c := startHub(t, hubDataset(t))
	_, err := Open("hf:acme/news/articles.parquet", Options{Hub: c})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrMissingField)
	assert.ErrorContains(t, err, `dataset hf:acme/news/articles.parquet: missing field "text"`)
	assert.ErrorContains(t, err, `(columns: "id", "article"); name the text column with --text-field`)

	_, err = Open("hf:acme/news/data.csv", Options{Hub: c, IDField: "key"})
	assert.ErrorContains(t, err, `dataset hf:acme/news/data.csv line 1: missing field "key"`)
	assert.ErrorContains(t, err, "--id-field")
}

func TestHFDownloadsOnceThenReusesTheCache(t *testing.T) {
	hub, c := startHub(t, hubDataset(t))
	spec := "hf:acme/news/data/test-00000-of-00001.parquet"
	docs, _, err := openAllErr(spec, Options{Hub: c})
	require.NoError(t, err)
	assert.Equal(t, hubDocs, docs)
	assert.Equal(t, 1, hub.Count("GET"), "downloaded once")
	blob := filepath.Join(hfhub.DatasetRepoDir(c.CacheDir, dsRepo), "snapshots", dsCommit, "data", "test-00000-of-00001.parquet")
	_, err = os.Stat(blob)
	require.NoError(t, err, "kept in the hub cache layout")

	// A branch costs one HEAD to learn where it points; nothing is downloaded.
	hub.Reset()
	docs, _, err = openAllErr(spec, Options{Hub: c})
	require.NoError(t, err)
	assert.Equal(t, hubDocs, docs)
	assert.Equal(t, 0, hub.Count("GET"))
	assert.Equal(t, 1, hub.Count("HEAD"))

	// A commit already cached costs no request at all.
	hub.Reset()
	pinned := "hf:acme/news@" + dsCommit + "/data/test-00000-of-00001.parquet"
	docs, _, err = openAllErr(pinned, Options{Hub: c})
	require.NoError(t, err)
	assert.Equal(t, hubDocs, docs)
	assert.Empty(t, hub.Requests())

	// A hub that is down does not stop a cached dataset.
	hub.Down(true)
	docs, _, err = openAllErr(spec, Options{Hub: c})
	require.NoError(t, err)
	assert.Equal(t, hubDocs, docs)
}

// The environment drives the default client exactly as for `hallu model
// pull`: HF_ENDPOINT, HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE.
func TestHFUsesTheHubEnvironment(t *testing.T) {
	hub, _ := startHub(t, hubDataset(t))
	hub.RequireToken("hf_secret")
	cache := t.TempDir()
	t.Setenv("HF_ENDPOINT", hub.URL)
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HOME", t.TempDir()) // no token file to find
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HUGGING_FACE_HUB_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "1")
	spec := "hf:acme/news/data.csv"

	// Offline with nothing cached: a clear error, no request.
	_, err := Open(spec, Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, hfhub.ErrNotCached)
	assert.ErrorContains(t, err, "offline mode (HF_HUB_OFFLINE)")
	assert.ErrorContains(t, err, "dataset "+spec)
	_, err = Describe(spec)
	assert.ErrorIs(t, err, hfhub.ErrNotCached)
	assert.Empty(t, hub.Requests())

	// Online without the token the private repository is refused.
	t.Setenv("HF_HUB_OFFLINE", "")
	_, err = Open(spec, Options{})
	assert.ErrorContains(t, err, "set HF_TOKEN")

	// With it, the token is sent and the file lands in HF_HUB_CACHE.
	t.Setenv("HF_TOKEN", "hf_secret")
	info, err := Describe(spec)
	require.NoError(t, err)
	assert.Equal(t, dsCommit, info.Commit)
	assert.Equal(t, "csv", info.Format)
	assert.Equal(t, filepath.Join(cache, "datasets--acme--news", "snapshots", dsCommit, "data.csv"), info.Path)
	assert.Len(t, info.SHA256, 64)
	reqs := hub.Requests()
	assert.Equal(t, "Bearer hf_secret", reqs[len(reqs)-1].Authorization)

	// Offline again, the cached copy is read without a request.
	t.Setenv("HF_HUB_OFFLINE", "1")
	t.Setenv("HF_TOKEN", "")
	hub.Reset()
	docs, _, err := openAllErr(spec, Options{})
	require.NoError(t, err)
	assert.Equal(t, hubDocs, docs)
	again, err := Describe(spec)
	require.NoError(t, err)
	assert.Equal(t, info, again)
	assert.Empty(t, hub.Requests())
}

func TestHFRevisionPinning(t *testing.T) {
	hub, c := startHub(t, hubDataset(t))
	old := "hf:acme/news@" + dsCommit + "/data.jsonl"
	docs, _, err := openAllErr(old, Options{Hub: c})
	require.NoError(t, err)
	assert.Equal(t, hubDocs, docs)

	// main moves on to a new commit with other contents.
	hub.Put(hubtest.Repo{ID: dsRepo, Commit: dsCommit2, Dataset: true, Files: []hubtest.File{
		{Name: "data.jsonl", Data: []byte(`{"id":"new","text":"Changed."}` + "\n")}}})
	docs, _, err = openAllErr("hf:acme/news/data.jsonl", Options{Hub: c})
	require.NoError(t, err)
	assert.Equal(t, []Document{{ID: "new", Text: "Changed."}}, docs)
	info, err := DescribeContext(context.Background(), "hf:acme/news@main/data.jsonl", Options{Hub: c})
	require.NoError(t, err)
	assert.Equal(t, dsCommit2, info.Commit)

	// The pinned commit still reads the old bytes, from the cache.
	hub.Reset()
	docs, _, err = openAllErr(old, Options{Hub: c})
	require.NoError(t, err)
	assert.Equal(t, hubDocs, docs)
	assert.Empty(t, hub.Requests())

	// A revision the hub does not know is an error saying so.
	_, err = Open("hf:acme/news@v9/data.jsonl", Options{Hub: c})
	assert.ErrorContains(t, err, "no such revision")
}

func TestHFMissingFileAndRepository(t *testing.T) {
	_, c := startHub(t, hubDataset(t))
	_, err := Open("hf:acme/news/nope.parquet", Options{Hub: c})
	require.Error(t, err)
	assert.ErrorContains(t, err, "dataset hf:acme/news/nope.parquet: datasets/acme/news nope.parquet@main: no such file in the repository")
	_, err = Open("hf:acme/gone/data.csv", Options{Hub: c})
	assert.ErrorContains(t, err, "repository not found")
	_, err = Describe("hf:acme/news/nope.csv")
	assert.Error(t, err)
	// Nothing half-made is left that would later pass for the file.
	_, err = c.CachedDatasetSnapshot(dsRepo, "main", []string{"nope.parquet"})
	assert.True(t, errors.Is(err, hfhub.ErrNotCached))
}

func TestHFSpecErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"hf:":                       "no repository",
		"hf:acme":                   "no repository",
		"hf:acme/news":              "no file path",
		"hf:acme/news/":             "no file path",
		"hf:acme/news@/data.csv":    "no revision after '@'",
		"hf:acme/news/data/":        "no file path",
		"hf:acme/news/README.md":    `cannot tell the format from the file name "README.md"`,
		"hf:acme/news@%zz/data.csv": "revision",
		"hf:../x/data.csv":          "invalid repository id",
		"hf:acme/news/../x.csv":     "invalid file name",
	} {
		// No hub: a bad spec must fail before any request.
		c := &hfhub.Client{Endpoint: "http://127.0.0.1:1", CacheDir: t.TempDir()}
		_, err := Open(spec, Options{Hub: c})
		assert.ErrorContains(t, err, want, spec)
		assert.ErrorContains(t, err, spec, "the message names the spec")
		_, err = DescribeContext(context.Background(), spec, Options{Hub: c})
		assert.ErrorContains(t, err, want, spec)
	}
	ref, err := parseHF("hf:acme/news@refs%2Fpr%2F3/data/x.parquet")
	require.NoError(t, err)
	assert.Equal(t, hfRef{repo: "acme/news", revision: "refs/pr/3", file: "data/x.parquet", format: "parquet"}, ref)
}
