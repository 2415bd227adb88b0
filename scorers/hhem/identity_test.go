package hhem_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/hfhub"
	"github.com/hallu-eval/hallu/hfhub/hubtest"
	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/scorers/hhem"
)

func fixtureSHA256(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join(hubtest.SharedTestdata(t, "hhem-tiny"), "model.safetensors"))
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func identityOf(t *testing.T, opts scorers.Options) scorers.Identity {
	t.Helper()
	s, err := scorers.Open(context.Background(), "hhem", opts)
	require.NoError(t, err)
	defer s.Close()
	return scorers.IdentityOf(s)
}

func TestIdentityPinsTheWeights(t *testing.T) {
	isolate(t)
	want := fixtureSHA256(t)

	plain := identityOf(t, fixtureOpts(t))
	assert.Equal(t, scorers.Identity{
		Name:    "hhem",
		Version: hhem.BaseVersion,
		Weights: want,
		Options: map[string]string{"max-tokens": "0"},
	}, plain, "a plain model-dir is hashed")

	// The same weights from the Hugging Face cache: the blob's name gives
	// the sum, and the identity is the one above, commit or not.
	hub := hubtest.New(hubtest.HHEMRepos(t)...)
	defer hub.Close()
	c := hfhub.FromEnv()
	c.Endpoint = hub.URL
	files, err := hhem.Pull(context.Background(), c, "")
	require.NoError(t, err)
	blob, err := filepath.EvalSymlinks(files.Model)
	require.NoError(t, err)
	require.Equal(t, want, filepath.Base(blob), "hfhub names LFS blobs by their sha256")
	cached := identityOf(t, nil)
	assert.Equal(t, plain, cached)
	assert.Equal(t, plain.Key(), cached.Key())
	assert.Equal(t, plain, identityOf(t, scorers.Options{"model-dir": filepath.Dir(files.Model)}), "a snapshot given as model-dir")

	// Only options that change a score reach the identity.
	opts := fixtureOpts(t)
	opts["batch"], opts["batch-tokens"] = "3", "100"
	assert.Equal(t, plain, identityOf(t, opts), "batching changes no score")
	opts["max-tokens"] = "64"
	truncated := identityOf(t, opts)
	assert.Equal(t, "64", truncated.Options["max-tokens"])
	assert.NotEqual(t, plain.Key(), truncated.Key())

	// The default precision keeps the identity judgments had before the
	// option existed; another precision is another judge.
	opts = fixtureOpts(t)
	opts["precision"] = "fp32"
	assert.Equal(t, plain, identityOf(t, opts), "precision=fp32 is the default")
	opts["precision"] = "int8"
	quant := identityOf(t, opts)
	assert.Equal(t, map[string]string{"max-tokens": "0", "precision": "int8"}, quant.Options)
	assert.Equal(t, want, quant.Weights)
	assert.NotEqual(t, plain.Key(), quant.Key())
	opts["precision"] = "bf16"
	assert.NotEqual(t, quant.Key(), identityOf(t, opts).Key())

	// Chunking wraps the scorer; its identity keeps the weights.
	opts = fixtureOpts(t)
	opts[scorers.ChunkWordsOption] = "50"
	chunked := identityOf(t, opts)
	assert.Equal(t, want, chunked.Weights)
	assert.Equal(t, "0", chunked.Options["max-tokens"])
}

func TestIdentityOfOtherWeights(t *testing.T) {
	// A copy of the fixture with one byte of tensor data changed is other
	// weights: same name, same size, another sum.
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(hubtest.SharedTestdata(t, "hhem-tiny"), "model.safetensors"))
	require.NoError(t, err)
	b[len(b)-1] ^= 1 // last byte of the last tensor's data: still loads
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), b, 0o644))
	id := identityOf(t, scorers.Options{"model-dir": dir, "tokenizer-dir": hubtest.SharedTestdata(t, "t5")})
	sum := sha256.Sum256(b)
	assert.Equal(t, hex.EncodeToString(sum[:]), id.Weights)
	assert.NotEqual(t, fixtureSHA256(t), id.Weights)
}

// TestOnlyAbsenceIsNotFound: a fallback scorer may stand in for HHEM only
// when its files are not on this machine yet; every mistake stops the run.
func TestOnlyAbsenceIsNotFound(t *testing.T) {
	home := isolate(t)
	tiny := hubtest.SharedTestdata(t, "hhem-tiny")
	t5dir := hubtest.SharedTestdata(t, "t5")
	open := func(opts scorers.Options) error {
		s, err := scorers.Open(context.Background(), "hhem", opts)
		if err == nil {
			s.Close()
		}
		return err
	}

	// An empty cache: absent.
	err := open(nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, scorers.ErrNotFound)
	assert.Contains(t, err.Error(), "`hallu model pull`")
	assert.ErrorIs(t, hhem.Available(nil), scorers.ErrNotFound)
	// Weights in a model-dir, tokenizer not yet pulled: absent too.
	assert.ErrorIs(t, open(scorers.Options{"model-dir": tiny}), scorers.ErrNotFound)
	// An existing but empty cache-dir.
	assert.ErrorIs(t, open(scorers.Options{"cache-dir": t.TempDir()}), scorers.ErrNotFound)

	garbage := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(garbage, "model.safetensors"), []byte("not a safetensors file"), 0o644))
	truncated := t.TempDir()
	b, err := os.ReadFile(filepath.Join(tiny, "model.safetensors"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(truncated, "model.safetensors"), b[:len(b)/2], 0o644))
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o644))

	for name, opts := range map[string]scorers.Options{
		"option typo":                  {"bacth": "8"},
		"option typo beside model-dir": {"model-dir": tiny, "tokenizer-dir": t5dir, "bacth": "8"},
		"bad option value":             {"batch": "0"},
		"unknown precision":            {"model-dir": tiny, "tokenizer-dir": t5dir, "precision": "fp16"},
		"model-dir missing":            {"model-dir": filepath.Join(home, "no-such-dir")},
		"model-dir without the model":  {"model-dir": t.TempDir()},
		"model-dir is a file":          {"model-dir": notADir},
		"tokenizer-dir without one":    {"model-dir": tiny, "tokenizer-dir": t.TempDir()},
		"corrupt model file":           {"model-dir": garbage, "tokenizer-dir": t5dir},
		"truncated model file":         {"model-dir": truncated, "tokenizer-dir": t5dir},
		"cache-dir missing":            {"cache-dir": filepath.Join(home, "no-such-cache")},
		"revision not a path element":  {"revision": "../x"},
	} {
		t.Run(name, func(t *testing.T) {
			err := open(opts)
			require.Error(t, err)
			assert.NotErrorIs(t, err, scorers.ErrNotFound, "%v", err)
		})
	}

	// A cache holding the model: other revisions are absent, a damaged blob
	// is not.
	hub := hubtest.New(hubtest.HHEMRepos(t)...)
	defer hub.Close()
	c := hfhub.FromEnv()
	c.Endpoint = hub.URL
	files, err := hhem.Pull(context.Background(), c, "")
	require.NoError(t, err)
	require.NoError(t, open(nil))
	assert.ErrorIs(t, open(scorers.Options{"revision": "v2"}), scorers.ErrNotFound)
	blob, err := filepath.EvalSymlinks(files.Model)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(blob, 100))
	err = open(nil)
	require.Error(t, err)
	assert.NotErrorIs(t, err, scorers.ErrNotFound, "%v", err)
	// The blob gone (a half-cleaned cache) is an absence `hallu model pull` fixes.
	require.NoError(t, os.Remove(blob))
	assert.ErrorIs(t, open(nil), scorers.ErrNotFound)
	assert.True(t, errors.Is(hhem.Available(nil), scorers.ErrNotFound))
}
