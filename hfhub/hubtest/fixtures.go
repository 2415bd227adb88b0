package hubtest

import (
	"testing"

	"github.com/hallu-eval/hallu/internal/testutil"
)

// Commits the fixture repositories are served at.
const (
	HHEMCommit      = "1111111111111111111111111111111111111111"
	TokenizerCommit = "2222222222222222222222222222222222222222"
)

// SharedTestdata returns ../shared/testdata/sub; see testutil.SharedTestdata.
func SharedTestdata(tb testing.TB, sub string) string {
	tb.Helper()
	return testutil.SharedTestdata(tb, sub)
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
