package tokenizer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// The subset of a Hugging Face tokenizers serialisation that a T5-style
// Unigram tokenizer uses.
type hfFile struct {
	AddedTokens  []hfAddedToken  `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Model        struct {
		Type         string          `json:"type"`
		UnkID        *int            `json:"unk_id"`
		Vocab        json.RawMessage `json:"vocab"`
		ByteFallback bool            `json:"byte_fallback"`
	} `json:"model"`
}

type hfAddedToken struct {
	ID      int    `json:"id"`
	Content string `json:"content"`
}

// hfComponent is any normalizer or pre-tokenizer node: its type tag and the
// fields of the kinds this loader understands.
type hfComponent struct {
	Type string `json:"type"`
	// Sequence
	Normalizers   []json.RawMessage `json:"normalizers"`
	PreTokenizers []json.RawMessage `json:"pretokenizers"`
	// Precompiled
	PrecompiledCharsmap *string `json:"precompiled_charsmap"`
	// Replace
	Pattern struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Content string `json:"content"`
	// Metaspace (add_prefix_space in older files, prepend_scheme in newer)
	Replacement    string  `json:"replacement"`
	AddPrefixSpace *bool   `json:"add_prefix_space"`
	PrependScheme  *string `json:"prepend_scheme"`
}

// LoadHFJSON reads a Hugging Face tokenizer.json holding a Unigram model
// with a SentencePiece precompiled normalizer, in either of the forms T5
// checkpoints ship: the newer one (normalizer Sequence[Precompiled,
// Strip, Replace], pre-tokenizer Metaspace with prepend_scheme) or the older
// one (normalizer Precompiled, pre-tokenizer Sequence[WhitespaceSplit,
// Metaspace with add_prefix_space]). Both describe SentencePiece's own
// whitespace handling, which is what Encode applies.
func LoadHFJSON(path string) (*Tokenizer, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := fromHFJSON(buf)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	return t, nil
}

func fromHFJSON(buf []byte) (*Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(buf, &f); err != nil {
		return nil, err
	}
	if f.Model.Type != "Unigram" {
		return nil, fmt.Errorf("model type %q is not supported (only Unigram)", f.Model.Type)
	}
	if f.Model.ByteFallback {
		return nil, errors.New("byte_fallback is not supported")
	}
	if f.Model.UnkID == nil {
		return nil, errors.New("model has no unk_id")
	}
	c := config{eos: "</s>", norm: normalizer{removeExtraWhitespaces: true, escapeWhitespaces: true}}
	if err := hfNormalizer(f.Normalizer, &c.norm); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	metaspace, err := hfPreTokenizer(f.PreTokenizer, &c.norm)
	if err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	if !metaspace {
		return nil, errors.New("pre_tokenizer: no Metaspace step (not a SentencePiece-style tokenizer)")
	}

	var vocab []json.RawMessage
	if err := json.Unmarshal(f.Model.Vocab, &vocab); err != nil {
		return nil, fmt.Errorf("model.vocab: want a list of [piece, score]: %w", err)
	}
	for i, raw := range vocab {
		var pair []json.RawMessage
		var p pieceSpec
		var score float64
		if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 ||
			json.Unmarshal(pair[0], &p.piece) != nil || json.Unmarshal(pair[1], &score) != nil {
			return nil, fmt.Errorf("model.vocab[%d]: want [piece, score], got %.60s", i, raw)
		}
		p.score, p.typ = float32(score), pieceNormal
		c.pieces = append(c.pieces, p)
	}
	unk := *f.Model.UnkID
	if unk < 0 || unk >= len(c.pieces) {
		return nil, fmt.Errorf("unk_id %d is outside the vocabulary (size %d)", unk, len(c.pieces))
	}
	c.pieces[unk].typ = pieceUnknown
	// Added tokens are matched in the raw text and never by the segmenter,
	// as SentencePiece's control pieces are. Their vocabulary entries, if
	// any, are placeholders (T5's <extra_id_N> score 0). Their lstrip/rstrip
	// flags are ignored on purpose: the ids must be those of the
	// SentencePiece-backed T5 tokenizer, where the stretches around a special
	// token lose their edge whitespace anyway (SentencePiece strips all that
	// nmt_nfkc maps to a space; only U+0085 next to a sentinel would differ).
	for i, a := range f.AddedTokens {
		if a.Content == "" {
			return nil, fmt.Errorf("added_tokens[%d]: empty content", i)
		}
		if a.ID < 0 || a.ID > len(c.pieces) {
			return nil, fmt.Errorf("added_tokens[%d] %q: id %d leaves a gap after the vocabulary (size %d)", i, a.Content, a.ID, len(c.pieces))
		}
		if a.ID == len(c.pieces) {
			c.pieces = append(c.pieces, pieceSpec{piece: a.Content})
		}
		if a.ID != unk {
			c.pieces[a.ID].typ = pieceControl
		}
		c.specials = append(c.specials, literal{s: a.Content, id: a.ID})
	}
	return newTokenizer(c)
}

func hfNormalizer(raw json.RawMessage, n *normalizer) error {
	if isNull(raw) {
		return nil
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	switch c.Type {
	case "Sequence":
		for i, sub := range c.Normalizers {
			if err := hfNormalizer(sub, n); err != nil {
				return fmt.Errorf("Sequence[%d]: %w", i, err)
			}
		}
	case "Precompiled":
		if n.cm != nil {
			return errors.New("more than one Precompiled normalizer")
		}
		if c.PrecompiledCharsmap == nil || *c.PrecompiledCharsmap == "" {
			return nil
		}
		b, err := base64.StdEncoding.DecodeString(*c.PrecompiledCharsmap)
		if err != nil {
			return fmt.Errorf("precompiled_charsmap: %w", err)
		}
		if n.cm, err = parseCharsmap(b); err != nil {
			return err
		}
	case "Strip":
		// Part of SentencePiece's whitespace handling, already applied.
	case "Replace":
		// Only the collapsing of space runs, also part of that handling.
		if c.Pattern.Regex == nil || *c.Pattern.Regex != " {2,}" || (c.Content != " " && c.Content != spaceSymbol) {
			return fmt.Errorf("Replace other than collapsing spaces is not supported")
		}
	default:
		return fmt.Errorf("normalizer type %q is not supported", c.Type)
	}
	return nil
}

// hfPreTokenizer applies the pre-tokenizer's settings to n and reports
// whether it had a Metaspace step.
func hfPreTokenizer(raw json.RawMessage, n *normalizer) (bool, error) {
	if isNull(raw) {
		return false, nil
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, err
	}
	switch c.Type {
	case "Sequence":
		found := false
		for i, sub := range c.PreTokenizers {
			ok, err := hfPreTokenizer(sub, n)
			if err != nil {
				return false, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			found = found || ok
		}
		return found, nil
	case "WhitespaceSplit":
		// Splitting at whitespace and prefixing each word with ▁ segments
		// the same as SentencePiece, whose pieces never hold an inner ▁.
		return false, nil
	case "Metaspace":
		if c.Replacement != spaceSymbol {
			return false, fmt.Errorf("Metaspace replacement %q is not supported (only %q)", c.Replacement, spaceSymbol)
		}
		switch {
		case c.PrependScheme != nil:
			switch *c.PrependScheme {
			case "always":
				n.addDummyPrefix = true
			case "never":
				n.addDummyPrefix = false
			default:
				return false, fmt.Errorf("Metaspace prepend_scheme %q is not supported", *c.PrependScheme)
			}
		case c.AddPrefixSpace != nil:
			n.addDummyPrefix = *c.AddPrefixSpace
		default:
			n.addDummyPrefix = true
		}
		return true, nil
	default:
		return false, fmt.Errorf("pre-tokenizer type %q is not supported", c.Type)
	}
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}
