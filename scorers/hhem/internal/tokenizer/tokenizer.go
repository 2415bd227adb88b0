// Package tokenizer is a pure-Go T5 / flan-t5 tokenizer: SentencePiece's
// unigram model with its precompiled (nmt_nfkc) normalizer, plus the special
// tokens that Hugging Face's T5 tokenizer splits out of the text first. It
// produces exactly the ids of the Hugging Face T5 tokenizer (the SentencePiece
// library on each stretch of text between special tokens, then </s>), which
// HHEM-2.1-Open's encoder needs.
//
// Two file forms load into the same Tokenizer: a SentencePiece model
// (spiece.model) and a Hugging Face tokenizer.json of a Unigram model.
package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Encoder turns text into model input ids. Scorers depend on this rather
// than on *Tokenizer so another tokenizer can be plugged in.
type Encoder interface {
	Encode(text string) []int
}

// Tokenizer encodes text into T5 token ids. It is immutable after loading
// and safe for concurrent use.
type Tokenizer struct {
	norm normalizer
	trie *pieceTrie
	// Per trie entry: the id, score and kind of the piece.
	pieces []vocabPiece

	unkID    int
	unkScore float32 // SentencePiece: lowest normal score minus 10
	maxScore float32 // highest normal score, for user-defined pieces
	eosID    int

	specials  *literalMatcher // split out of the raw text before normalizing
	vocabSize int

	scratch sync.Pool // *scratch, so Encode allocates little beyond its result
}

var _ Encoder = (*Tokenizer)(nil)

type vocabPiece struct {
	id          int32
	score       float32
	userDefined bool
}

// pieceSpec is the loaders' common description of one vocabulary entry.
type pieceSpec struct {
	piece string
	score float32
	typ   int // a piece* constant
}

// config is what both loaders extract before building a Tokenizer.
type config struct {
	pieces   []pieceSpec // index = id
	specials []literal   // text split out before normalizing, with its id
	norm     normalizer
	eos      string
}

// unkPenalty is subtracted from the lowest piece score to score an unknown
// character, as SentencePiece does.
const unkPenalty = 10.0

func newTokenizer(c config) (*Tokenizer, error) {
	t := &Tokenizer{norm: c.norm, unkID: -1, eosID: -1, vocabSize: len(c.pieces)}
	var keys []trieKey
	seen := make(map[string]int, len(c.pieces))
	minScore, maxScore := float32(0), float32(0)
	haveNormal := false
	var user []literal
	for id, p := range c.pieces {
		switch p.typ {
		case pieceUnknown:
			if t.unkID >= 0 {
				return nil, fmt.Errorf("two unknown pieces: ids %d and %d", t.unkID, id)
			}
			t.unkID = id
		case pieceNormal, pieceUserDefined, pieceUnused:
			if p.piece == "" {
				return nil, fmt.Errorf("piece %d is empty", id)
			}
			if prev, dup := seen[p.piece]; dup {
				return nil, fmt.Errorf("piece %q defined twice (ids %d and %d)", p.piece, prev, id)
			}
			seen[p.piece] = id
			keys = append(keys, trieKey{s: p.piece, piece: int32(len(t.pieces))})
			t.pieces = append(t.pieces, vocabPiece{id: int32(id), score: p.score, userDefined: p.typ == pieceUserDefined})
			if p.typ == pieceUserDefined {
				user = append(user, literal{s: p.piece, id: id})
			}
			if p.typ == pieceNormal {
				if !haveNormal || p.score < minScore {
					minScore = p.score
				}
				if !haveNormal || p.score > maxScore {
					maxScore = p.score
				}
				haveNormal = true
			}
		case pieceControl, pieceByte:
			// Not matched by the segmenter: control pieces only arrive as
			// special tokens, and byte pieces only through byte fallback,
			// which the loaders reject.
		default:
			return nil, fmt.Errorf("piece %d (%q) has unknown type %d", id, p.piece, p.typ)
		}
	}
	if t.unkID < 0 {
		return nil, errors.New("no unknown piece (<unk>)")
	}
	if !haveNormal {
		return nil, errors.New("no normal pieces")
	}
	t.unkScore = minScore - unkPenalty
	t.maxScore = maxScore
	t.trie = newPieceTrie(keys)
	if len(user) > 0 {
		t.norm.user = newLiteralMatcher(user)
	}
	for _, s := range c.specials {
		if s.id < 0 || s.id >= t.vocabSize {
			return nil, fmt.Errorf("special token %q has id %d outside the vocabulary (size %d)", s.s, s.id, t.vocabSize)
		}
		if s.s == c.eos {
			t.eosID = s.id
		}
	}
	if t.eosID < 0 {
		return nil, fmt.Errorf("end-of-sequence token %q is not a special token of this vocabulary", c.eos)
	}
	t.specials = newLiteralMatcher(c.specials)
	t.scratch.New = func() any { return new(scratch) }
	return t, nil
}

// VocabSize is the number of ids the tokenizer can produce (ids are
// 0..VocabSize()-1). For flan-t5 it is 32100: 32000 SentencePiece pieces and
// 100 <extra_id_N> sentinels. The model's embedding table may be larger.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// EOS is the id appended to every encoding (</s>).
func (t *Tokenizer) EOS() int { return t.eosID }

// Encode returns the ids of text as Hugging Face's T5 tokenizer gives them:
// special tokens (<pad>, </s>, <unk>, <extra_id_N>) are taken out of the raw
// text first, each stretch between them is normalized and segmented on its
// own, and </s> is appended.
func (t *Tokenizer) Encode(text string) []int {
	sc := t.scratch.Get().(*scratch)
	defer t.scratch.Put(sc)
	ids := make([]int, 0, len(text)/4+2)
	start := 0
	for i := 0; i < len(text); {
		n, id := t.specials.longest(text[i:])
		if n == 0 {
			i++
			continue
		}
		ids = t.encodeSegment(sc, ids, text[start:i])
		ids = append(ids, id)
		i += n
		start = i
	}
	ids = t.encodeSegment(sc, ids, text[start:])
	return append(ids, t.eosID)
}

// scratch is the per-call working memory of Encode, pooled because HHEM
// inputs are long and a scorer encodes many of them.
type scratch struct {
	normalized []byte
	best       []bestNode
	path       []int32
}

// bestNode is the best segmentation of the normalized text's prefix that
// ends at a given byte.
type bestNode struct {
	score float32
	start int32 // where its last piece starts; -1 while unreached
	id    int32
}

func (t *Tokenizer) encodeSegment(sc *scratch, ids []int, s string) []int {
	if s == "" {
		return ids
	}
	sc.normalized = t.norm.appendNormalized(sc.normalized[:0], s)
	return t.viterbi(sc, ids, sc.normalized)
}

// viterbi appends the highest-scoring segmentation of text to ids, as
// SentencePiece's unigram model finds it: for each character boundary, every
// vocabulary piece starting there (found by walking the trie, so the cost is
// O(len × longest piece)) extends the best path ending at the boundary. A
// character no one-character piece covers gets an <unk> node. Runs of
// <unk> come out as one id, as SentencePiece reports them.
//
// The arithmetic copies SentencePiece's so ties break the same way: path
// scores are stored as float32; a piece candidate is summed and compared in
// float64 (its score expression is a double in the C++), the unknown
// candidate in float32.
func (t *Tokenizer) viterbi(sc *scratch, ids []int, text []byte) []int {
	n := len(text)
	if n == 0 {
		return ids
	}
	if cap(sc.best) < n+1 {
		sc.best = make([]bestNode, n+1)
	}
	best := sc.best[:n+1]
	for i := range best {
		best[i] = bestNode{start: -1}
	}
	best[0].start = 0
	for start := 0; start < n; {
		mblen := charLen(text[start])
		if mblen > n-start {
			mblen = n - start
		}
		here := best[start].score
		single := false
		node := int32(0)
		for end := start; end < n; {
			node = t.trie.child(node, text[end])
			if node < 0 {
				break
			}
			end++
			pi := t.trie.nodes[node].piece
			if pi < 0 {
				continue
			}
			p := &t.pieces[pi]
			length := end - start
			score := float64(p.score)
			if p.userDefined {
				score = float64(float32(length)*t.maxScore) - 0.1
			}
			cand := score + float64(here)
			target := &best[end]
			if target.start < 0 || cand > float64(target.score) {
				*target = bestNode{score: float32(cand), start: int32(start), id: p.id}
			}
			if length == mblen {
				single = true
			}
		}
		if !single {
			cand := t.unkScore + here
			target := &best[start+mblen]
			if target.start < 0 || cand > target.score {
				*target = bestNode{score: cand, start: int32(start), id: int32(t.unkID)}
			}
		}
		start += mblen
	}
	// Walk back from the end, then emit in order, folding <unk> runs.
	path := sc.path[:0]
	for end := n; end > 0; end = int(best[end].start) {
		path = append(path, best[end].id)
	}
	sc.path = path
	prevUnk := false
	for i := len(path) - 1; i >= 0; i-- {
		id := int(path[i])
		unk := id == t.unkID
		if !(unk && prevUnk) {
			ids = append(ids, id)
		}
		prevUnk = unk
	}
	return ids
}

// charLen is the UTF-8 sequence length its lead byte announces (1 for a
// stray continuation byte), as SentencePiece steps through normalized text.
func charLen(b byte) int {
	switch {
	case b < 0xC0:
		return 1
	case b < 0xE0:
		return 2
	case b < 0xF0:
		return 3
	default:
		return 4
	}
}

// Load opens the tokenizer in a model directory: spiece.model when present,
// else tokenizer.json.
func Load(dir string) (*Tokenizer, error) {
	sp := filepath.Join(dir, "spiece.model")
	if _, err := os.Stat(sp); err == nil {
		return LoadSentencePiece(sp)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	js := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(js); err == nil {
		return LoadHFJSON(js)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return nil, fmt.Errorf("tokenizer: %s has neither spiece.model nor tokenizer.json", dir)
}

// t5ExtraIDs is how many <extra_id_N> sentinels Hugging Face's T5 tokenizer
// adds after the SentencePiece vocabulary, numbered downwards from the top:
// <extra_id_0> gets the highest id.
const t5ExtraIDs = 100

// LoadSentencePiece reads a SentencePiece unigram model (spiece.model) and
// adds T5's special tokens: the model's control and unknown pieces and the
// 100 <extra_id_N> sentinels, as Hugging Face's T5Tokenizer does.
func LoadSentencePiece(path string) (*Tokenizer, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := fromModelProto(buf)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	return t, nil
}

func fromModelProto(buf []byte) (*Tokenizer, error) {
	m, err := parseModelProto(buf)
	if err != nil {
		return nil, err
	}
	if m.trainer.modelType != 1 {
		return nil, fmt.Errorf("model_type %d is not supported (only UNIGRAM=1)", m.trainer.modelType)
	}
	if m.trainer.treatWhitespaceAsSuffix {
		return nil, errors.New("treat_whitespace_as_suffix is not supported")
	}
	if m.trainer.byteFallback {
		return nil, errors.New("byte_fallback is not supported")
	}
	c := config{
		eos: "</s>",
		norm: normalizer{
			addDummyPrefix:         m.normalizer.addDummyPrefix,
			removeExtraWhitespaces: m.normalizer.removeExtraWhitespaces,
			escapeWhitespaces:      m.normalizer.escapeWhitespaces,
		},
	}
	if len(m.normalizer.precompiledCharsmap) > 0 {
		if c.norm.cm, err = parseCharsmap(m.normalizer.precompiledCharsmap); err != nil {
			return nil, err
		}
	} else if m.normalizer.name != "" && m.normalizer.name != "identity" {
		return nil, fmt.Errorf("normalizer %q has no precompiled_charsmap", m.normalizer.name)
	}
	for id, p := range m.pieces {
		c.pieces = append(c.pieces, pieceSpec(p))
		if p.typ == pieceControl || p.typ == pieceUnknown {
			c.specials = append(c.specials, literal{s: p.piece, id: id})
		}
	}
	base := len(c.pieces)
	for i := 0; i < t5ExtraIDs; i++ {
		c.pieces = append(c.pieces, pieceSpec{piece: extraID(t5ExtraIDs - 1 - i), typ: pieceControl})
		c.specials = append(c.specials, literal{s: extraID(t5ExtraIDs - 1 - i), id: base + i})
	}
	return newTokenizer(c)
}

func extraID(n int) string { return fmt.Sprintf("<extra_id_%d>", n) }
