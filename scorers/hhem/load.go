package hhem

import (
	"github.com/hallu-eval/hallu/scorers/hhem/internal/t5"
	"github.com/hallu-eval/hallu/scorers/hhem/internal/tensor"
	"github.com/hallu-eval/hallu/scorers/hhem/internal/tokenizer"
)

// The loaders are variables so tests can put a fake model behind the
// scorer's batching and sharing logic, and count what runs.
var (
	digestFile    = weightsDigest
	loadTokenizer = func(dir string) (encoder, error) {
		t, err := tokenizer.Load(dir)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	loadModel = func(path string, prec tensor.Precision) (model, error) {
		m, err := t5.LoadAs(path, prec)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
)
