package integration

import (
	"math"
	"strings"
	"testing"

	"github.com/ollama/ollama/tokenizer"

	"github.com/hallu-eval/hallu/eval"
)

// logits are the tiny model's next-token logits after token cur, computed
// as the runners do when attention and MLP add nothing: RMSNorm of the
// embedding, then the output matrix.
func (w *tinyWeights) logits(cur int) []float64 {
	h := w.embd[cur*tinyDim : (cur+1)*tinyDim]
	var ss float64
	for _, v := range h {
		ss += float64(v * v)
	}
	rms := math.Sqrt(ss/tinyDim + 1e-5)
	out := make([]float64, len(w.out)/tinyDim)
	for j := range out {
		for k, v := range w.out[j*tinyDim : (j+1)*tinyDim] {
			out[j] += float64(v) * float64(h[k]) / rms
		}
	}
	return out
}

// next is the tiny model's greedy choice after token cur.
func (w *tinyWeights) next(cur int) int {
	best, bestLogit := -1, math.Inf(-1)
	for j, l := range w.logits(cur) {
		if l > bestLogit {
			best, bestLogit = j, l
		}
	}
	return best
}

// The design, checked without a server: Ollama's tokenizer reads the prompt
// about a token per word, and greedy decoding from the prompt's last token
// spells the answer and then ends the turn.
func TestTinyModelDesign(t *testing.T) {
	corpus := eval.DefaultPrompt + " " + strings.Join(words, " ")
	w, err := buildTiny(tinyA, corpus)
	if err != nil {
		t.Fatal(err)
	}
	vocab := &tokenizer.Vocabulary{
		Values: w.tokens,
		Types:  w.types,
		BOS:    []int32{int32(w.ids["<|endoftext|>"])},
		EOS:    []int32{int32(w.ids["<|im_end|>"])},
	}
	bpe := tokenizer.NewBytePairEncoding(vocab,
		"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
	doc := document(3, 200)
	prompt := "<|im_start|>user\n" + strings.ReplaceAll(eval.DefaultPrompt, eval.ArticlePlaceholder, doc) + "<|im_end|>\n<|im_start|>assistant\n"
	ids, err := bpe.Encode(prompt, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d tokens, first %v", len(ids), ids[:min(10, len(ids))])
	nwords := len(strings.Fields(prompt))
	if len(ids) > 2*nwords {
		t.Errorf("prompt of %d words is %d tokens; the vocabulary misses its words", nwords, len(ids))
	}
	var got []string
	cur := int(ids[len(ids)-1])
	for range len(tinyA.Answer) + 1 {
		cur = w.next(cur)
		got = append(got, vocab.Values[cur])
	}
	want := append(append([]string{}, tinyA.Answer...), "<|im_end|>")
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("greedy output %q, want %q", got, want)
	}
}
