package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// dims are a T5 encoder classifier's sizes.
type dims struct {
	Vocab, DModel, Heads, DKV, DFF, Layers, Labels, Buckets int
}

// flanT5Base is HHEM-2.1-Open's shape: flan-t5-base's encoder and a
// two-label head.
var flanT5Base = dims{Vocab: 32128, DModel: 768, Heads: 12, DKV: 64, DFF: 2048, Layers: 12, Labels: 2, Buckets: 32}

// tensorSpec is one weight of the file: its name, shape and the standard
// deviation it is drawn with around mean.
type tensorSpec struct {
	name       string
	shape      []int
	mean, std  float64
	elements   int
	byteOffset int64
}

// specs lists the tensors under the names HHEM's checkpoint uses, with T5's
// own initialisation scales (Hugging Face's T5PreTrainedModel: embeddings
// N(0,1), q N(0,(d·dkv)^-½), k and v N(0,d^-½), o N(0,(heads·dkv)^-½), wi
// N(0,d^-½), wo N(0,dff^-½)), so activations keep realistic magnitudes
// through the 12 blocks. Norm weights and the classifier bias get a small
// spread instead of T5's constants, so that a norm or bias wired to the
// wrong place changes the logits and the equality check catches it.
func specs(c dims) []tensorSpec {
	inner := c.Heads * c.DKV
	d, rs := float64(c.DModel), func(x float64) float64 { return 1 / math.Sqrt(x) }
	out := []tensorSpec{
		{name: "t5.transformer.shared.weight", shape: []int{c.Vocab, c.DModel}, std: 1},
	}
	for i := range c.Layers {
		b := "t5.transformer.encoder.block." + strconv.Itoa(i)
		a, f := b+".layer.0.SelfAttention.", b+".layer.1.DenseReluDense."
		out = append(out,
			tensorSpec{name: b + ".layer.0.layer_norm.weight", shape: []int{c.DModel}, mean: 1, std: 0.1},
			tensorSpec{name: a + "q.weight", shape: []int{inner, c.DModel}, std: rs(d * float64(c.DKV))},
			tensorSpec{name: a + "k.weight", shape: []int{inner, c.DModel}, std: rs(d)},
			tensorSpec{name: a + "v.weight", shape: []int{inner, c.DModel}, std: rs(d)},
			tensorSpec{name: a + "o.weight", shape: []int{c.DModel, inner}, std: rs(float64(inner))},
			tensorSpec{name: b + ".layer.1.layer_norm.weight", shape: []int{c.DModel}, mean: 1, std: 0.1},
			tensorSpec{name: f + "wi_0.weight", shape: []int{c.DFF, c.DModel}, std: rs(d)},
			tensorSpec{name: f + "wi_1.weight", shape: []int{c.DFF, c.DModel}, std: rs(d)},
			tensorSpec{name: f + "wo.weight", shape: []int{c.DModel, c.DFF}, std: rs(float64(c.DFF))},
		)
		if i == 0 {
			out = append(out, tensorSpec{name: a + "relative_attention_bias.weight", shape: []int{c.Buckets, c.Heads}, std: rs(d)})
		}
	}
	out = append(out,
		tensorSpec{name: "t5.transformer.encoder.final_layer_norm.weight", shape: []int{c.DModel}, mean: 1, std: 0.1},
		tensorSpec{name: "t5.classifier.weight", shape: []int{c.Labels, c.DModel}, std: rs(d)},
		tensorSpec{name: "t5.classifier.bias", shape: []int{c.Labels}, std: 0.1},
	)
	var off int64
	for i := range out {
		n := 1
		for _, x := range out[i].shape {
			n *= x
		}
		out[i].elements, out[i].byteOffset = n, off
		off += 4 * int64(n)
	}
	return out
}

// writeModel writes model.safetensors (float32, random weights drawn from
// seed), tokenizer.json and config.json to dir: a directory the hhem
// scorer opens with --scorer-opt model-dir=DIR.
func writeModel(dir string, c dims, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeWeights(filepath.Join(dir, "model.safetensors"), c, seed); err != nil {
		return err
	}
	if err := writeTokenizer(filepath.Join(dir, "tokenizer.json"), c.Vocab); err != nil {
		return err
	}
	cfg, _ := json.MarshalIndent(map[string]any{
		"model_type": "t5", "d_model": c.DModel, "num_heads": c.Heads, "d_kv": c.DKV, "d_ff": c.DFF,
		"num_layers": c.Layers, "vocab_size": c.Vocab, "num_labels": c.Labels,
		"relative_attention_num_buckets": c.Buckets, "relative_attention_max_distance": 128,
		"layer_norm_epsilon": 1e-6, "feed_forward_proj": "gated-gelu",
		"hallu_bench": fmt.Sprintf("random weights, seed %d; not a trained model", seed),
	}, "", "  ")
	return os.WriteFile(filepath.Join(dir, "config.json"), append(cfg, '\n'), 0o644)
}

// writeWeights streams the tensors in the safetensors layout: an 8-byte
// little-endian header length, a JSON header padded with spaces to a
// multiple of 8 (keeping every float32 aligned when mapped), then the data.
func writeWeights(path string, c dims, seed uint64) error {
	ts := specs(c)
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	for _, t := range ts {
		hdr[t.name] = map[string]any{"dtype": "F32", "shape": t.shape,
			"data_offsets": []int64{t.byteOffset, t.byteOffset + 4*int64(t.elements)}}
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 1<<20)
	var pre [8]byte
	binary.LittleEndian.PutUint64(pre[:], uint64(len(js)))
	w.Write(pre[:])
	w.Write(js)
	rng := rand.New(rand.NewPCG(seed, 0x68656d))
	var buf [4]byte
	for _, t := range ts {
		for range t.elements {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(float32(t.mean+t.std*rng.NormFloat64())))
			w.Write(buf[:])
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// The synthetic tokenizer: <pad>, </s> and <unk> as T5 numbers them, one
// piece per word of HHEM's prompt template, and "▁x<id>" for every other
// id. Text made of the words "x<id>" therefore encodes to exactly those
// ids, so the benchmark can hand the same ids to every contender and the
// same text to hallu's scorer, whose score then checks the tokenization as
// well as the arithmetic.
const (
	padID, eosID, unkID = 0, 1, 2
	firstWordID         = 12 // after the specials and templatePieces
)

var templatePieces = []string{
	"▁Determine", "▁if", "▁the", "▁hypothesis", "▁is", "▁true", "▁given",
	"▁premise?\n\nPremise:", "\n\nHypothesis:",
}

// templateIDs are the ids of HHEM's prompt around the source (hhem.Prompt):
// <pad> Determine if the hypothesis is true given the premise?\n\nPremise:
// SOURCE \n\nHypothesis: SUMMARY </s>.
var (
	prefixIDs = []int{padID, 3, 4, 5, 6, 7, 8, 9, 5, 10}
	hypID     = 11
)

func writeTokenizer(path string, vocab int) error {
	pieces := make([][2]any, 0, vocab)
	for _, p := range []string{"<pad>", "</s>", "<unk>"} {
		pieces = append(pieces, [2]any{p, 0.0})
	}
	for _, p := range templatePieces {
		pieces = append(pieces, [2]any{p, -1.0})
	}
	for id := firstWordID; id < vocab; id++ {
		pieces = append(pieces, [2]any{"▁x" + strconv.Itoa(id), -1.0})
	}
	added := []map[string]any{}
	for id, p := range []string{"<pad>", "</s>", "<unk>"} {
		added = append(added, map[string]any{"id": id, "content": p, "special": true,
			"single_word": false, "lstrip": false, "rstrip": false, "normalized": false})
	}
	tok := map[string]any{
		"version":        "1.0",
		"added_tokens":   added,
		"normalizer":     nil,
		"pre_tokenizer":  map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"post_processor": nil,
		"decoder":        map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"model":          map[string]any{"type": "Unigram", "unk_id": unkID, "vocab": pieces, "byte_fallback": false},
	}
	b, err := json.Marshal(tok)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// pairIDs is a pair of n tokens in all (n ≥ 14): the template, a source
// and a summary a tenth as long, words drawn from seed.
func pairIDs(n int, vocab int, seed uint64) (ids []int, err error) {
	fixed := len(prefixIDs) + 2 // + hypothesis marker and </s>
	if n < fixed+2 {
		return nil, fmt.Errorf("%d tokens: a pair needs at least %d", n, fixed+2)
	}
	sum := max(1, (n-fixed)/10)
	src := n - fixed - sum
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	word := func() int { return firstWordID + rng.IntN(vocab-firstWordID) }
	ids = append(ids, prefixIDs...)
	for range src {
		ids = append(ids, word())
	}
	ids = append(ids, hypID)
	for range sum {
		ids = append(ids, word())
	}
	return append(ids, eosID), nil
}

// pairText turns pairIDs' ids back into the source and summary texts that
// hhem.Prompt and the synthetic tokenizer map to those ids.
func pairText(ids []int) (source, summary string, err error) {
	fixed := len(prefixIDs)
	if len(ids) < fixed+2 || ids[len(ids)-1] != eosID {
		return "", "", fmt.Errorf("%d ids: not a benchmark pair (template, words, %d, words, %d)", len(ids), hypID, eosID)
	}
	for i, id := range prefixIDs {
		if ids[i] != id {
			return "", "", fmt.Errorf("id %d at position %d, want %d (the prompt template)", ids[i], i, id)
		}
	}
	body := ids[fixed : len(ids)-1]
	var parts [2][]string
	k := 0
	for i, id := range body {
		switch {
		case id == hypID && k == 0:
			k = 1
		case id >= firstWordID:
			parts[k] = append(parts[k], "x"+strconv.Itoa(id))
		default:
			return "", "", fmt.Errorf("id %d at position %d is not a word id (≥ %d)", id, fixed+i, firstWordID)
		}
	}
	if k == 0 {
		return "", "", fmt.Errorf("no hypothesis marker (id %d)", hypID)
	}
	return strings.Join(parts[0], " "), strings.Join(parts[1], " "), nil
}

// encoderFLOPs is the multiply-add work (2 FLOPs each) of one forward pass
// over n tokens, counting what a HHEM encoder must compute: the first
// Layers−1 blocks over every position, and in the last block the keys and
// values of every position but the query, output projection and
// feed-forward of position 0 only, whose logits are the score.
//
// Per full block, with i = heads·dkv: q,k,v,o projections 8·n·d·i, gated
// feed-forward (wi_0, wi_1, wo) 6·n·d·dff, attention scores QKᵀ 2·n²·i and
// weighted values AV 2·n²·i.
func encoderFLOPs(c dims, n int) float64 {
	N, d, i, f := float64(n), float64(c.DModel), float64(c.Heads*c.DKV), float64(c.DFF)
	full := 8*N*d*i + 6*N*d*f + 4*N*N*i
	last := 4*N*d*i + (4*d*i + 6*d*f) + 4*N*i
	return float64(c.Layers-1)*full + last
}
