package integration

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"

	"github.com/ollama/ollama/fs/ggml"
)

// A tiny llama-architecture model whose answer is known in advance.
//
// Attention and MLP outputs are zero, so the hidden state at each position is
// the embedding of that position's token and the model is a bigram table.
// Every token outside the answer shares one embedding (e0) and the answer's
// tokens get orthogonal ones (e1..en), so whatever the prompt ends with, the
// next token is the answer's first, then its second, ..., then <|im_end|>.
// Greedy decoding (hallu sends temperature 0) therefore reproduces the answer
// exactly, for any document, on either of Ollama's runners.

const (
	tinyDim   = 64
	tinyHeads = 4
	tinyFFN   = 128
	// tinyTrainCtx is the context the GGUF claims; the server's
	// OLLAMA_CONTEXT_LENGTH (smaller) is what limits prompts.
	tinyTrainCtx = 4096
)

type tinyModel struct {
	Name   string
	Answer []string // the answer's tokens in GPT-2 byte-level form ("Ġ" = space)
	// Rival, when set, is the runner-up where the model says
	// Answer[RivalAt]: its logit there is Margin (natural-log units) below
	// the answer token's, so the two share the probability in the ratio
	// e^Margin : 1, and after it the answer goes on as after
	// Answer[RivalAt]. A judge's P(yes) is then known in advance.
	Rival   string
	RivalAt int
	Margin  float64
}

// answerText is the text the model replies.
func (m tinyModel) answerText() string {
	var s string
	for _, t := range m.Answer {
		s += decodeByteLevel(t)
	}
	return s
}

// wordRE matches what the llama-3 pretokenizer keeps as one piece: letters,
// with one optional leading non-letter such as a space.
var wordRE = regexp.MustCompile(`\pL+`)

// byteLevel maps bytes to GPT-2's printable stand-ins, as both of Ollama's
// tokenizers expect vocabulary entries to be written.
func byteLevel(b byte) rune {
	r := rune(b)
	switch {
	case r == 0xad:
		return 0x143
	case r <= 0x20:
		return r + 0x100
	case r >= 0x7f && r <= 0xa0:
		return r + 0xa2
	}
	return r
}

func encodeByteLevel(s string) string {
	var out []rune
	for _, b := range []byte(s) {
		out = append(out, byteLevel(b))
	}
	return string(out)
}

func decodeByteLevel(s string) string {
	back := map[rune]byte{}
	for b := 0; b < 256; b++ {
		back[byteLevel(byte(b))] = byte(b)
	}
	var out []byte
	for _, r := range s {
		out = append(out, back[r])
	}
	return string(out)
}

// vocabulary is every byte (so any text tokenizes), every word of corpus with
// and without a leading space (so prompts cost about a token per word, as
// with a real model), the answer tokens, and three control tokens.
func vocabulary(corpus string, answers ...[]string) (tokens []string, types []int32, ids map[string]int) {
	ids = map[string]int{}
	add := func(t string, typ int32) {
		if _, ok := ids[t]; ok {
			return
		}
		ids[t] = len(tokens)
		tokens = append(tokens, t)
		types = append(types, typ)
	}
	for _, t := range []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"} {
		add(t, 3) // control
	}
	for b := 0; b < 256; b++ {
		add(string(byteLevel(byte(b))), 1)
	}
	words := wordRE.FindAllString(corpus, -1)
	slices.Sort(words)
	for _, w := range slices.Compact(words) {
		add(w, 1)
		add(encodeByteLevel(" "+w), 1)
	}
	for _, a := range answers {
		for _, t := range a {
			add(t, 1)
		}
	}
	return tokens, types, ids
}

// tinyRMS is the RMS of a one-hot hidden state as the final norm computes
// it, epsilon included.
var tinyRMS = math.Sqrt(1.0/tinyDim + 1e-5)

type f32s []float32

func (d f32s) WriteTo(w io.Writer) (int64, error) {
	if err := binary.Write(w, binary.LittleEndian, []float32(d)); err != nil {
		return 0, err
	}
	return int64(4 * len(d)), nil
}

// tinyWeights is a built tiny model: its GGUF metadata and tensors, and the
// two matrices that decide its output, kept for checking the design in Go.
type tinyWeights struct {
	kv        ggml.KV
	tensors   []*ggml.Tensor
	embd, out f32s
	tokens    []string
	types     []int32
	ids       map[string]int
}

// writeTinyGGUF writes m as an F32 GGUF whose vocabulary covers corpus.
func writeTinyGGUF(path string, m tinyModel, corpus string) error {
	w, err := buildTiny(m, corpus)
	if err != nil {
		return err
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := ggml.WriteGGUF(fh, w.kv, w.tensors); err != nil {
		fh.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return fh.Close()
}

func buildTiny(m tinyModel, corpus string) (*tinyWeights, error) {
	answers := [][]string{m.Answer}
	if m.Rival != "" {
		answers = append(answers, []string{m.Rival})
	}
	tokens, types, ids := vocabulary(corpus, answers...)
	n := len(tokens)
	if len(m.Answer)+1 > tinyDim {
		return nil, fmt.Errorf("answer of %d tokens does not fit %d dimensions", len(m.Answer), tinyDim)
	}
	eos := ids["<|im_end|>"]

	chain := make([]int, len(m.Answer)) // token id of each answer step
	slot := map[int]int{}               // token id -> basis vector
	for i, t := range m.Answer {
		id := ids[t]
		if _, dup := slot[id]; dup {
			return nil, fmt.Errorf("answer token %q repeats: the bigram chain would loop", t)
		}
		chain[i], slot[id] = id, i+1
	}
	rival := -1
	if m.Rival != "" {
		rival = ids[m.Rival]
		if _, dup := slot[rival]; dup || m.RivalAt < 0 || m.RivalAt >= len(chain) || m.Margin <= 0 {
			return nil, fmt.Errorf("rival %q at %d with margin %v: want a token outside the answer, a position in it and a positive margin", m.Rival, m.RivalAt, m.Margin)
		}
		// The rival's embedding is its answer token's, so the same token
		// follows either.
		slot[rival] = m.RivalAt + 1
	}

	embd := make(f32s, n*tinyDim)
	for id := range n {
		embd[id*tinyDim+slot[id]] = 1 // slot 0 for every token outside the answer
	}
	// Row j of the output matrix is the embedding that should predict j.
	const scale = 4
	out := make(f32s, n*tinyDim)
	for i, id := range chain {
		out[id*tinyDim+i] = scale
	}
	out[eos*tinyDim+len(chain)] = scale
	if rival >= 0 {
		// The final RMSNorm scales a one-hot hidden state to 1/rms, so a
		// weight w gives the logit w/rms.
		out[rival*tinyDim+m.RivalAt] = float32(scale - m.Margin*tinyRMS)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	random := func(k int) f32s {
		v := make(f32s, k)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.02)
		}
		return v
	}
	ones := func(k int) f32s {
		v := make(f32s, k)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	d, f := uint64(tinyDim), uint64(tinyFFN)
	t := func(name string, data f32s, shape ...uint64) *ggml.Tensor {
		return &ggml.Tensor{Name: name, Kind: 0 /* F32 */, Shape: shape, WriterTo: data}
	}
	ts := []*ggml.Tensor{
		t("token_embd.weight", embd, d, uint64(n)),
		t("output_norm.weight", ones(tinyDim), d),
		t("output.weight", out, d, uint64(n)),
		t("blk.0.attn_norm.weight", ones(tinyDim), d),
		t("blk.0.attn_q.weight", random(tinyDim*tinyDim), d, d),
		t("blk.0.attn_k.weight", random(tinyDim*tinyDim), d, d),
		t("blk.0.attn_v.weight", random(tinyDim*tinyDim), d, d),
		t("blk.0.attn_output.weight", make(f32s, tinyDim*tinyDim), d, d),
		t("blk.0.ffn_norm.weight", ones(tinyDim), d),
		t("blk.0.ffn_gate.weight", random(tinyDim*tinyFFN), d, f),
		t("blk.0.ffn_up.weight", random(tinyDim*tinyFFN), d, f),
		t("blk.0.ffn_down.weight", make(f32s, tinyDim*tinyFFN), f, d),
	}
	kv := ggml.KV{
		"general.architecture":                   "llama",
		"general.name":                           m.Name,
		"general.file_type":                      uint32(0),
		"llama.block_count":                      uint32(1),
		"llama.context_length":                   uint32(tinyTrainCtx),
		"llama.embedding_length":                 uint32(tinyDim),
		"llama.feed_forward_length":              uint32(tinyFFN),
		"llama.attention.head_count":             uint32(tinyHeads),
		"llama.attention.head_count_kv":          uint32(tinyHeads),
		"llama.rope.dimension_count":             uint32(tinyDim / tinyHeads),
		"llama.rope.freq_base":                   float32(10000),
		"llama.attention.layer_norm_rms_epsilon": float32(1e-5),
		"llama.vocab_size":                       uint32(n),
		"tokenizer.ggml.model":                   "gpt2",
		// llama-bpe makes llama.cpp look whole words up before merging,
		// as Ollama's own tokenizer always does, so no merges are needed.
		"tokenizer.ggml.pre":           "llama-bpe",
		"tokenizer.ggml.tokens":        tokens,
		"tokenizer.ggml.token_type":    types,
		"tokenizer.ggml.merges":        []string{},
		"tokenizer.ggml.bos_token_id":  uint32(ids["<|endoftext|>"]),
		"tokenizer.ggml.eos_token_id":  uint32(eos),
		"tokenizer.ggml.add_bos_token": true,
		// Ollama recognises this as ChatML and adds its template and stops.
		"tokenizer.chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
	}
	return &tinyWeights{kv: kv, tensors: ts, embd: embd, out: out, tokens: tokens, types: types, ids: ids}, nil
}
