package hfhub_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/hfhub"
	"github.com/hallu-eval/hallu/hfhub/hubtest"
)

const modelRepo = "vectara/hallucination_evaluation_model"

var modelFiles = []string{"config.json", "model.safetensors"}

func setup(t *testing.T) (*hubtest.Hub, *hfhub.Client, hubtest.Repo) {
	t.Helper()
	repos := hubtest.HHEMRepos(t)
	hub := hubtest.New(repos...)
	t.Cleanup(hub.Close)
	c := &hfhub.Client{Endpoint: hub.URL, CacheDir: t.TempDir(), HTTPClient: hub.Client()}
	return hub, c, repos[0]
}

func file(r hubtest.Repo, name string) hubtest.File {
	for _, f := range r.Files {
		if f.Name == name {
			return f
		}
	}
	panic("no file " + name)
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestSnapshotCreatesHFCacheLayout(t *testing.T) {
	hub, c, repo := setup(t)
	dir, err := c.Snapshot(context.Background(), modelRepo, "", modelFiles)
	require.NoError(t, err)

	repoDir := filepath.Join(c.CacheDir, "models--vectara--hallucination_evaluation_model")
	assert.Equal(t, filepath.Join(repoDir, "snapshots", hubtest.HHEMCommit), dir)

	ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main"))
	require.NoError(t, err)
	assert.Equal(t, hubtest.HHEMCommit, string(ref), "refs/main holds the bare commit")

	var etags []string
	for _, name := range modelFiles {
		f := file(repo, name)
		etags = append(etags, f.Etag())
		target, err := os.Readlink(filepath.Join(dir, name))
		require.NoError(t, err, "%s is a symlink", name)
		assert.Equal(t, "../../blobs/"+f.Etag(), target)
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(f.Data, got), "%s content", name)
	}
	sort.Strings(etags)
	assert.Equal(t, etags, listDir(t, filepath.Join(repoDir, "blobs")), "blobs hold exactly the files, no leftovers")
	assert.Equal(t, []string{"blobs", "refs", "snapshots"}, listDir(t, repoDir))
	assert.Len(t, file(repo, "model.safetensors").Etag(), 64, "LFS blob named by sha256")
	assert.Len(t, file(repo, "config.json").Etag(), 40, "small file named by git sha1")

	var lfsGets, hubGets int
	for _, r := range hub.Requests() {
		if r.Method == "GET" && strings.HasPrefix(r.Path, "/lfs/") {
			lfsGets++
		} else if r.Method == "GET" {
			hubGets++
		}
	}
	assert.Equal(t, 1, lfsGets, "the safetensors file is fetched from its redirect target")
	assert.Equal(t, 1, hubGets, "config.json is fetched from the resolve URL")
}

func TestSecondSnapshotMakesNoDownload(t *testing.T) {
	hub, c, _ := setup(t)
	ctx := context.Background()
	first, err := c.Snapshot(ctx, modelRepo, "main", modelFiles)
	require.NoError(t, err)
	hub.Reset()

	second, err := c.Snapshot(ctx, modelRepo, "main", modelFiles)
	require.NoError(t, err)
	assert.Equal(t, first, second)
	assert.Zero(t, hub.Count("GET"))
	assert.Equal(t, 1, hub.Count("HEAD"), "one HEAD checks the revision's commit")
}

func TestSnapshotByCommitWritesNoRef(t *testing.T) {
	hub, c, _ := setup(t)
	dir, err := c.Snapshot(context.Background(), modelRepo, hubtest.HHEMCommit, modelFiles)
	require.NoError(t, err)
	assert.Equal(t, hubtest.HHEMCommit, filepath.Base(dir))
	_, err = os.Stat(filepath.Join(filepath.Dir(filepath.Dir(dir)), "refs"))
	assert.True(t, os.IsNotExist(err), "no refs/ entry for a commit revision")

	// A cached commit needs no request at all, and is found offline
	// without a ref.
	hub.Reset()
	got, err := c.Snapshot(context.Background(), modelRepo, hubtest.HHEMCommit, modelFiles)
	require.NoError(t, err)
	assert.Equal(t, dir, got)
	assert.Empty(t, hub.Requests())
	c.Offline = true
	got, err = c.Snapshot(context.Background(), modelRepo, hubtest.HHEMCommit, modelFiles)
	require.NoError(t, err)
	assert.Equal(t, dir, got)
}

func TestUnknownRevisionAndFile(t *testing.T) {
	_, c, _ := setup(t)
	_, err := c.Snapshot(context.Background(), modelRepo, "v9", modelFiles)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no such revision")
	_, err = c.Snapshot(context.Background(), modelRepo, "main", []string{"config.json", "nope.bin"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope.bin")
	assert.Contains(t, err.Error(), "no such file")
}

func TestResumeRequestsOnlyTheRest(t *testing.T) {
	for _, ignoreRange := range []bool{false, true} {
		name := "206"
		if ignoreRange {
			name = "200 ignoring Range"
		}
		t.Run(name, func(t *testing.T) {
			hub, c, repo := setup(t)
			hub.IgnoreRange(ignoreRange)
			model := file(repo, "model.safetensors")
			blobs := filepath.Join(hfhub.RepoDir(c.CacheDir, modelRepo), "blobs")
			require.NoError(t, os.MkdirAll(blobs, 0o755))
			half := len(model.Data) / 2
			require.NoError(t, os.WriteFile(filepath.Join(blobs, model.Etag()+".incomplete"), model.Data[:half], 0o644))

			dir, err := c.Snapshot(context.Background(), modelRepo, "main", modelFiles)
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(model.Data, got))
			_, err = os.Stat(filepath.Join(blobs, model.Etag()+".incomplete"))
			assert.True(t, os.IsNotExist(err))

			var lfs []hubtest.Request
			for _, r := range hub.Requests() {
				if strings.HasPrefix(r.Path, "/lfs/") {
					lfs = append(lfs, r)
				}
			}
			require.Len(t, lfs, 1)
			assert.Equal(t, "bytes="+strconv.Itoa(half)+"-", lfs[0].Range)
			if ignoreRange {
				assert.Equal(t, int64(len(model.Data)), lfs[0].Sent)
			} else {
				assert.Equal(t, int64(len(model.Data)-half), lfs[0].Sent, "only the missing half is sent")
			}
		})
	}
}

func TestCorruptPartialIsDeletedAndRetried(t *testing.T) {
	_, c, repo := setup(t)
	model := file(repo, "model.safetensors")
	blobs := filepath.Join(hfhub.RepoDir(c.CacheDir, modelRepo), "blobs")
	require.NoError(t, os.MkdirAll(blobs, 0o755))
	junk := bytes.Repeat([]byte{'x'}, 1000)
	part := filepath.Join(blobs, model.Etag()+".incomplete")
	require.NoError(t, os.WriteFile(part, junk, 0o644))

	_, err := c.Snapshot(context.Background(), modelRepo, "main", modelFiles)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sha256")
	_, err = os.Stat(part)
	assert.True(t, os.IsNotExist(err), "bad partial file removed")

	dir, err := c.Snapshot(context.Background(), modelRepo, "main", modelFiles)
	require.NoError(t, err, "a rerun starts over and succeeds")
	got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(model.Data, got))
}

func TestShaMismatchLeavesNoBlob(t *testing.T) {
	hub, c, repo := setup(t)
	hub.Tamper("model.safetensors")
	_, err := c.Snapshot(context.Background(), modelRepo, "main", modelFiles)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sha256")
	assert.Contains(t, err.Error(), "model.safetensors")

	repoDir := hfhub.RepoDir(c.CacheDir, modelRepo)
	etag := file(repo, "model.safetensors").Etag()
	for _, p := range []string{
		filepath.Join(repoDir, "blobs", etag),
		filepath.Join(repoDir, "blobs", etag+".incomplete"),
		filepath.Join(repoDir, "snapshots", hubtest.HHEMCommit, "model.safetensors"),
		filepath.Join(repoDir, "refs", "main"),
	} {
		_, err := os.Lstat(p)
		assert.True(t, os.IsNotExist(err), "%s must not exist", p)
	}
}

func TestOffline(t *testing.T) {
	hub, c, _ := setup(t)
	ctx := context.Background()
	c.Offline = true
	_, err := c.Snapshot(ctx, modelRepo, "main", modelFiles)
	require.Error(t, err)
	assert.True(t, errors.Is(err, hfhub.ErrNotCached))
	assert.Contains(t, err.Error(), modelRepo)
	assert.Contains(t, err.Error(), "offline")
	assert.Empty(t, hub.Requests())

	c.Offline = false
	want, err := c.Snapshot(ctx, modelRepo, "main", modelFiles)
	require.NoError(t, err)
	hub.Reset()
	c.Offline = true
	got, err := c.Snapshot(ctx, modelRepo, "main", modelFiles)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Empty(t, hub.Requests())

	// A snapshot missing one requested file is not a hit.
	require.NoError(t, os.Remove(filepath.Join(got, "config.json")))
	_, err = c.Snapshot(ctx, modelRepo, "main", modelFiles)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "config.json")
	assert.True(t, errors.Is(err, hfhub.ErrNotCached))
}

func TestTokenIsBearerAndNeverLeaks(t *testing.T) {
	const secret = "hf_s3cr3tTOKENvalue"
	hub, c, _ := setup(t)
	hub.RequireToken(secret)
	hub.SplitCDN()
	ctx := context.Background()

	_, err := c.Snapshot(ctx, modelRepo, "main", modelFiles)
	require.Error(t, err, "no token")
	assert.Contains(t, err.Error(), "HF_TOKEN")

	c.Token = "hf_wrongTOKEN"
	_, err = c.Snapshot(ctx, modelRepo, "main", modelFiles)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hf_wrongTOKEN")

	c.Token = secret
	hub.Reset()
	_, err = c.Snapshot(ctx, modelRepo, "main", modelFiles)
	require.NoError(t, err)
	var cdn int
	for _, r := range hub.Requests() {
		if r.CDN {
			cdn++
			assert.Empty(t, r.Authorization, "token not forwarded to the CDN host")
		} else {
			assert.Equal(t, "Bearer "+secret, r.Authorization)
		}
	}
	assert.Equal(t, 1, cdn)
}

// pythonCache lays out a cache by hand the way huggingface_hub writes it.
func pythonCache(t *testing.T, cacheDir string, repo hubtest.Repo, names []string) string {
	t.Helper()
	repoDir := hfhub.RepoDir(cacheDir, repo.ID)
	snap := filepath.Join(repoDir, "snapshots", repo.Commit)
	for _, p := range []string{filepath.Join(repoDir, "blobs"), filepath.Join(repoDir, "refs"), snap} {
		require.NoError(t, os.MkdirAll(p, 0o755))
	}
	for _, n := range names {
		f := file(repo, n)
		require.NoError(t, os.WriteFile(filepath.Join(repoDir, "blobs", f.Etag()), f.Data, 0o644))
		require.NoError(t, os.Symlink("../../blobs/"+f.Etag(), filepath.Join(snap, n)))
	}
	require.NoError(t, os.WriteFile(filepath.Join(repoDir, "refs", "main"), []byte(repo.Commit), 0o644))
	return snap
}

func TestPythonCacheReused(t *testing.T) {
	hub, c, repo := setup(t)
	snap := pythonCache(t, c.CacheDir, repo, modelFiles)
	ctx := context.Background()

	c.Offline = true
	got, err := c.Snapshot(ctx, modelRepo, "main", modelFiles)
	require.NoError(t, err)
	assert.Equal(t, snap, got)
	assert.Empty(t, hub.Requests(), "offline: zero requests")

	c.Offline = false
	got, err = c.Snapshot(ctx, modelRepo, "main", modelFiles)
	require.NoError(t, err)
	assert.Equal(t, snap, got)
	assert.Zero(t, hub.Count("GET"), "online: the commit matches, nothing downloaded")
}

func TestUnreachableHubFallsBackToCache(t *testing.T) {
	hub, c, repo := setup(t)
	snap := pythonCache(t, c.CacheDir, repo, modelFiles)
	var log bytes.Buffer
	c.Progress = &log
	hub.Down(true)
	got, err := c.Snapshot(context.Background(), modelRepo, "main", modelFiles)
	require.NoError(t, err)
	assert.Equal(t, snap, got)
	assert.Contains(t, log.String(), "using the cached snapshot")

	// Without a cache the hub's failure is the error.
	_, err = c.Snapshot(context.Background(), "google/flan-t5-base", "main", []string{"spiece.model"})
	require.Error(t, err)
	assert.True(t, errors.Is(err, hfhub.ErrUnreachable))

	// A closed server (connection refused) counts as unreachable too.
	hub.Close()
	got, err = c.Snapshot(context.Background(), modelRepo, "main", modelFiles)
	require.NoError(t, err)
	assert.Equal(t, snap, got)
}

func TestProgressLinesOnNonTerminal(t *testing.T) {
	_, c, _ := setup(t)
	var log bytes.Buffer
	c.Progress = &log
	_, err := c.Snapshot(context.Background(), modelRepo, "main", modelFiles)
	require.NoError(t, err)
	assert.Contains(t, log.String(), "downloading model.safetensors (4.0 MiB)")
	assert.Contains(t, log.String(), "downloaded model.safetensors")
	assert.NotContains(t, log.String(), "\r", "no bar drawing on a non-terminal")
}

func TestRejectsPathEscapes(t *testing.T) {
	_, c, _ := setup(t)
	for _, tc := range []struct{ repo, rev, file string }{
		{"../etc", "main", "x"},
		{modelRepo, "..", "x"},
		{modelRepo, "main", "../../x"},
		{modelRepo, "main", "/abs"},
	} {
		_, err := c.Snapshot(context.Background(), tc.repo, tc.rev, []string{tc.file})
		assert.Error(t, err, "%+v", tc)
	}
}

func TestFromEnv(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HF_ENDPOINT",
		"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE"} {
		t.Setenv(k, "")
	}
	c := hfhub.FromEnv()
	assert.Equal(t, filepath.Join(home, ".cache", "huggingface", "hub"), c.CacheDir)
	assert.Equal(t, "https://huggingface.co", c.Endpoint)
	assert.False(t, c.Offline)
	assert.Empty(t, c.Token)

	t.Setenv("HF_HOME", "/x/hf")
	require.NoError(t, os.MkdirAll(filepath.Join(home, "tok"), 0o755))
	assert.Equal(t, "/x/hf/hub", hfhub.FromEnv().CacheDir)
	t.Setenv("HF_HUB_CACHE", "/y/cache")
	t.Setenv("HF_ENDPOINT", "http://mirror.local/")
	t.Setenv("HF_HUB_OFFLINE", "1")
	tokFile := filepath.Join(home, "tok", "token")
	require.NoError(t, os.WriteFile(tokFile, []byte("hf_fromfile\n"), 0o600))
	t.Setenv("HF_TOKEN_PATH", tokFile)
	c = hfhub.FromEnv()
	assert.Equal(t, "/y/cache", c.CacheDir)
	assert.Equal(t, "http://mirror.local", c.Endpoint)
	assert.True(t, c.Offline)
	assert.Equal(t, "hf_fromfile", c.Token)
	t.Setenv("HF_TOKEN", "hf_env")
	assert.Equal(t, "hf_env", hfhub.FromEnv().Token)
}
