package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hallu-eval/hallu/hfhub/hubtest"
)

func TestModelPullThenPath(t *testing.T) {
	home := t.TempDir()
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("HF_HOME", home)
	hub := hubtest.New(hubtest.HHEMRepos(t)...)
	defer hub.Close()
	t.Setenv("HF_ENDPOINT", hub.URL)

	var out, errb bytes.Buffer
	code := run([]string{"model", "path"}, nil, &out, &errb)
	assert.Equal(t, 1, code)
	assert.Contains(t, errb.String(), "`hallu model pull`")
	assert.Empty(t, hub.Requests(), "path never touches the network")

	out.Reset()
	errb.Reset()
	code = run([]string{"model", "pull"}, nil, &out, &errb)
	assert.Equal(t, 0, code, errb.String())
	snap := filepath.Join(home, "hub", "models--vectara--hallucination_evaluation_model", "snapshots", hubtest.HHEMCommit)
	assert.Contains(t, out.String(), "model:     "+filepath.Join(snap, "model.safetensors")+"\n")
	assert.Contains(t, out.String(), "commit:    "+hubtest.HHEMCommit)
	assert.Contains(t, errb.String(), "downloading model.safetensors")
	pulled := out.String()

	out.Reset()
	code = run([]string{"model", "path"}, nil, &out, &errb)
	assert.Equal(t, 0, code)
	assert.Equal(t, pulled, out.String())

	// A second pull downloads nothing.
	hub.Reset()
	out.Reset()
	assert.Equal(t, 0, run([]string{"model", "pull"}, nil, &out, &errb))
	assert.Zero(t, hub.Count("GET"))

	other := t.TempDir()
	out.Reset()
	errb.Reset()
	assert.Equal(t, 0, run([]string{"model", "pull", "--cache-dir", other, "--revision", hubtest.HHEMCommit}, nil, &out, &errb), errb.String())
	assert.True(t, strings.HasPrefix(out.String(), "model:     "+other))
}

func TestModelUsageErrors(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run([]string{"model"}, nil, &out, &errb))
	assert.Equal(t, "hallu model: want a subcommand: pull or path\nrun 'hallu help model' for usage\n", errb.String())
	errb.Reset()
	assert.Equal(t, 2, run([]string{"model", "fetch"}, nil, &out, &errb))
	assert.Contains(t, errb.String(), `unknown subcommand "fetch"`)
	assert.Equal(t, 2, run([]string{"model", "pull", "extra"}, nil, &out, &errb))
	errb.Reset()
	assert.Equal(t, 0, run([]string{"model", "-h"}, nil, &out, &errb))
	assert.Contains(t, errb.String(), "hallu model pull")
}
