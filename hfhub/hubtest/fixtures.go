package hubtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Commits the fixture repositories are served at.
const (
	HHEMCommit      = "1111111111111111111111111111111111111111"
	TokenizerCommit = "2222222222222222222222222222222222222222"
)

// SharedTestdata returns ../shared/testdata/sub relative to the module root
// (found by walking up to go.mod), skipping the test when it is absent: the
// fixtures are never committed.
func SharedTestdata(tb testing.TB, sub string) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "testdata", sub)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("fixtures absent: %v", err)
	}
	return p
}

// HHEMRepos serves the tiny HHEM fixture as vectara/hallucination_evaluation_model
// and the T5 tokenizer fixture as google/flan-t5-base. The tokenizer repo
// also lists tokenizer_config.json and special_tokens_map.json, which the
// fixture lacks, as small generated files.
func HHEMRepos(tb testing.TB) []Repo {
	tb.Helper()
	model, err := RepoFromDir("vectara/hallucination_evaluation_model", HHEMCommit,
		SharedTestdata(tb, "hhem-tiny"), "config.json", "model.safetensors")
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := RepoFromDir("google/flan-t5-base", TokenizerCommit,
		SharedTestdata(tb, "t5"), "spiece.model", "tokenizer.json")
	if err != nil {
		tb.Fatal(err)
	}
	tok.Files = append(tok.Files,
		File{Name: "tokenizer_config.json", Data: []byte(`{"model_max_length": 512}` + "\n")},
		File{Name: "special_tokens_map.json", Data: []byte(`{"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}` + "\n")})
	return []Repo{model, tok}
}
