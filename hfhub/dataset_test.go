package hfhub_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/hfhub"
	"github.com/hallu-eval/hallu/hfhub/hubtest"
)

// A dataset and a model may share ORG/NAME on the hub; they are different
// repositories with different URLs and cache folders.
func TestDatasetSnapshotUsesDatasetURLsAndCacheFolder(t *testing.T) {
	const id = "acme/news"
	model := hubtest.Repo{ID: id, Commit: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		Files: []hubtest.File{{Name: "data.csv", Data: []byte("model's file\n")}}}
	ds := hubtest.Repo{ID: id, Commit: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Dataset: true,
		Files: []hubtest.File{
			{Name: "data.csv", Data: []byte("id,text\n1,dataset's file\n")},
			{Name: "data/train.parquet", Data: []byte("PAR1 pretend PAR1"), LFS: true},
		}}
	hub := hubtest.New(model, ds)
	t.Cleanup(hub.Close)
	c := &hfhub.Client{Endpoint: hub.URL, CacheDir: t.TempDir(), HTTPClient: hub.Client(), Token: "hf_x"}
	ctx := context.Background()

	dir, err := c.DatasetSnapshot(ctx, id, "", []string{"data.csv", "data/train.parquet"})
	require.NoError(t, err)
	repoDir := filepath.Join(c.CacheDir, "datasets--acme--news")
	assert.Equal(t, repoDir, hfhub.DatasetRepoDir(c.CacheDir, id))
	assert.Equal(t, filepath.Join(repoDir, "snapshots", ds.Commit), dir)
	got, err := os.ReadFile(filepath.Join(dir, "data.csv"))
	require.NoError(t, err)
	assert.Equal(t, "id,text\n1,dataset's file\n", string(got))
	got, err = os.ReadFile(filepath.Join(dir, "data", "train.parquet"))
	require.NoError(t, err)
	assert.Equal(t, "PAR1 pretend PAR1", string(got))
	ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main"))
	require.NoError(t, err)
	assert.Equal(t, ds.Commit, string(ref))
	for _, r := range hub.Requests() {
		if !strings.HasPrefix(r.Path, "/lfs/") { // the LFS redirect's target
			assert.Regexp(t, `^/datasets/acme/news/resolve/`, r.Path)
		}
		assert.Equal(t, "Bearer hf_x", r.Authorization)
	}
	_, err = os.Stat(hfhub.RepoDir(c.CacheDir, id))
	assert.True(t, errors.Is(err, os.ErrNotExist), "no model folder made for a dataset")

	// The model of the same name is a different repository.
	mdir, err := c.Snapshot(ctx, id, "", []string{"data.csv"})
	require.NoError(t, err)
	got, err = os.ReadFile(filepath.Join(mdir, "data.csv"))
	require.NoError(t, err)
	assert.Equal(t, "model's file\n", string(got))

	// Offline, the cache answers for the dataset by revision name and by commit.
	hub.Reset()
	c.Offline = true
	for _, rev := range []string{"main", ds.Commit} {
		d, err := c.DatasetSnapshot(ctx, id, rev, []string{"data.csv"})
		require.NoError(t, err, rev)
		assert.Equal(t, dir, d)
	}
	d, err := c.CachedDatasetSnapshot(id, "main", []string{"data/train.parquet"})
	require.NoError(t, err)
	assert.Equal(t, dir, d)
	_, err = c.CachedDatasetSnapshot(id, "main", []string{"missing.csv"})
	assert.True(t, errors.Is(err, hfhub.ErrNotCached))
	_, err = c.CachedDatasetSnapshot("acme/other", "main", []string{"data.csv"})
	assert.True(t, errors.Is(err, hfhub.ErrNotCached))
	assert.Empty(t, hub.Requests(), "offline never reaches the hub")
}

func TestDatasetSnapshotMissingFileSaysSo(t *testing.T) {
	ds := hubtest.Repo{ID: "acme/news", Commit: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Dataset: true,
		Files: []hubtest.File{{Name: "data.csv", Data: []byte("id,text\n")}}}
	hub := hubtest.New(ds)
	t.Cleanup(hub.Close)
	c := &hfhub.Client{Endpoint: hub.URL, CacheDir: t.TempDir(), HTTPClient: hub.Client()}
	_, err := c.DatasetSnapshot(context.Background(), "acme/news", "", []string{"nope.csv"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "datasets/acme/news nope.csv@main: no such file")
	// Asked as a model, the dataset is not there.
	_, err = c.Snapshot(context.Background(), "acme/news", "", []string{"data.csv"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "repository not found")
}
