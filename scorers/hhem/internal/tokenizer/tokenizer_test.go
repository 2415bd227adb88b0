package tokenizer

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hallu-eval/hallu/internal/testutil"

	"github.com/stretchr/testify/require"
)

func sharedDir(t testing.TB, sub string) string { return testutil.SharedTestdata(t, sub) }

// goldenLine is one expected encoding. Text that is not valid UTF-8 (which
// JSON cannot hold) comes hex-encoded in Hex instead.
type goldenLine struct {
	Text string `json:"text"`
	Hex  string `json:"hex"`
	IDs  []int  `json:"ids"`
}

func readGolden(t testing.TB, path string) []goldenLine {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []goldenLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		var g goldenLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &g), "%s line %d", path, n)
		if g.Hex != "" {
			b, err := hex.DecodeString(g.Hex)
			require.NoError(t, err, "%s line %d", path, n)
			g.Text = string(b)
		}
		out = append(out, g)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out, path)
	return out
}

// Loaded once per test binary: the three forms of the flan-t5 tokenizer.
var (
	loadOnce sync.Once
	loaded   map[string]*Tokenizer
	loadErr  error
)

func tokenizers(t testing.TB) map[string]*Tokenizer {
	t.Helper()
	dir := sharedDir(t, "t5")
	loadOnce.Do(func() {
		loaded = map[string]*Tokenizer{}
		if loaded["spiece.model"], loadErr = LoadSentencePiece(filepath.Join(dir, "spiece.model")); loadErr != nil {
			return
		}
		if loaded["tokenizer.json"], loadErr = LoadHFJSON(filepath.Join(dir, "tokenizer.json")); loadErr != nil {
			return
		}
		var old string
		if old, loadErr = writeOlderJSON(dir); loadErr != nil {
			return
		}
		defer os.Remove(old)
		loaded["older tokenizer.json"], loadErr = LoadHFJSON(old)
	})
	require.NoError(t, loadErr)
	return loaded
}

// writeOlderJSON rewrites the shared tokenizer.json into the older
// serialisation google/flan-t5-base ships (normalizer Precompiled alone;
// pre-tokenizer Sequence[WhitespaceSplit, Metaspace add_prefix_space]) in a
// temporary file.
func writeOlderJSON(dir string) (string, error) {
	buf, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if err := json.Unmarshal(buf, &doc); err != nil {
		return "", err
	}
	norm := doc["normalizer"].(map[string]any)
	var precompiled any
	for _, n := range norm["normalizers"].([]any) {
		if n.(map[string]any)["type"] == "Precompiled" {
			precompiled = n
		}
	}
	if precompiled == nil {
		return "", fmt.Errorf("no Precompiled normalizer in %s", dir)
	}
	doc["normalizer"] = precompiled
	doc["pre_tokenizer"] = map[string]any{
		"type": "Sequence",
		"pretokenizers": []any{
			map[string]any{"type": "WhitespaceSplit"},
			map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true},
		},
	}
	doc["decoder"] = map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}
	out, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "older-tokenizer-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(out); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

func TestGolden(t *testing.T) {
	golden := readGolden(t, filepath.Join(sharedDir(t, "t5"), "tokenizer-golden.jsonl"))
	for name, tok := range tokenizers(t) {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, 32100, tok.VocabSize())
			for i, g := range golden {
				require.Equal(t, g.IDs, tok.Encode(g.Text), "golden line %d: %q", i+1, g.Text)
			}
		})
	}
}

func TestHHEMPrompt(t *testing.T) {
	path := filepath.Join(sharedDir(t, "hhem-tiny"), "golden.json")
	buf, err := os.ReadFile(path)
	require.NoError(t, err)
	var g struct {
		Cases []struct {
			Premise    string `json:"premise"`
			Hypothesis string `json:"hypothesis"`
			InputIDs   []int  `json:"input_ids"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(buf, &g))
	require.NotEmpty(t, g.Cases)
	for name, tok := range tokenizers(t) {
		for i, c := range g.Cases {
			prompt := "<pad> Determine if the hypothesis is true given the premise?\n\nPremise: " +
				c.Premise + "\n\nHypothesis: " + c.Hypothesis
			require.Equal(t, c.InputIDs, tok.Encode(prompt), "%s: case %d", name, i)
		}
	}
}

func TestAdversarialGolden(t *testing.T) {
	sharedDir(t, "t5") // skip with the vocabulary
	golden := readGolden(t, filepath.Join("testdata", "adversarial-golden.jsonl"))
	for name, tok := range tokenizers(t) {
		t.Run(name, func(t *testing.T) {
			for i, g := range golden {
				require.Equal(t, g.IDs, tok.Encode(g.Text), "adversarial line %d: %q", i+1, g.Text)
			}
		})
	}
}

func TestLoadDir(t *testing.T) {
	dir := sharedDir(t, "t5")
	tok, err := Load(dir)
	require.NoError(t, err)
	require.Equal(t, []int{8774, 296, 5, 1}, tok.Encode("Hello world."))

	// tokenizer.json alone.
	only := t.TempDir()
	buf, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(only, "tokenizer.json"), buf, 0o644))
	tok, err = Load(only)
	require.NoError(t, err)
	require.Equal(t, []int{8774, 296, 5, 1}, tok.Encode("Hello world."))

	empty := t.TempDir()
	_, err = Load(empty)
	require.ErrorContains(t, err, empty)
	require.ErrorContains(t, err, "spiece.model")
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	_, err := LoadSentencePiece(filepath.Join(dir, "missing.model"))
	require.ErrorContains(t, err, "missing.model")

	p := write("garbage.model", "\xff\xff\xff")
	_, err = LoadSentencePiece(p)
	require.ErrorContains(t, err, p)

	p = write("empty.model", "")
	_, err = LoadSentencePiece(p)
	require.ErrorContains(t, err, "no pieces")

	p = write("bpe.json", `{"model":{"type":"BPE","vocab":{}},"pre_tokenizer":null,"normalizer":null}`)
	_, err = LoadHFJSON(p)
	require.ErrorContains(t, err, `"BPE"`)
	require.ErrorContains(t, err, p)

	p = write("lower.json", `{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0]]},"normalizer":{"type":"Lowercase"},"pre_tokenizer":{"type":"Metaspace","replacement":"▁"}}`)
	_, err = LoadHFJSON(p)
	require.ErrorContains(t, err, `"Lowercase"`)

	p = write("badvocab.json", `{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["a"]]},"pre_tokenizer":{"type":"Metaspace","replacement":"▁"}}`)
	_, err = LoadHFJSON(p)
	require.ErrorContains(t, err, "model.vocab[1]")

	p = write("noeos.json", `{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["▁a",-1]]},"pre_tokenizer":{"type":"Metaspace","replacement":"▁"}}`)
	_, err = LoadHFJSON(p)
	require.ErrorContains(t, err, "</s>")
}

// A small hand-made vocabulary checks the segmenter's rules independently
// of the real one: best total score wins, unknown characters fold into one
// <unk>, and special tokens split the text.
func TestSmallVocabulary(t *testing.T) {
	doc := `{"added_tokens":[{"id":0,"content":"<unk>"},{"id":1,"content":"</s>"}],
	"normalizer":null,
	"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"always"},
	"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["</s>",0],
		["▁",-2],["a",-3],["b",-3],["ab",-5],["▁ab",-4.5],["▁a",-1],["c",-8]]}}`
	p := filepath.Join(t.TempDir(), "small.json")
	require.NoError(t, os.WriteFile(p, []byte(doc), 0o644))
	tok, err := LoadHFJSON(p)
	require.NoError(t, err)
	require.Equal(t, 9, tok.VocabSize())
	// "▁ab": ▁a+b = -4 beats ▁ab = -4.5 and ▁+ab = -7.
	require.Equal(t, []int{7, 4, 1}, tok.Encode("ab"))
	// "▁abc": ... then c.
	require.Equal(t, []int{7, 4, 8, 1}, tok.Encode("  abc  "))
	// x, y, z are unknown: one <unk> for the run.
	require.Equal(t, []int{7, 0, 4, 1}, tok.Encode("axyzb"))
	require.Equal(t, []int{7, 1, 7, 1}, tok.Encode("a</s>a"))
	require.Equal(t, []int{1, 1}, tok.Encode("</s>"))
	require.Equal(t, []int{1}, tok.Encode(""))
}

func TestStructuralProperties(t *testing.T) {
	tok := tokenizers(t)["spiece.model"]
	long := strings.Repeat("x", 10000)
	ids := tok.Encode(long)
	require.Equal(t, 1, ids[len(ids)-1])
	require.Greater(t, len(ids), 2)

	require.Equal(t, []int{0, 1, 2, 32099, 32000, 1}, tok.Encode("<pad></s><unk><extra_id_0><extra_id_99>"))
	// Not special: unknown sentinel numbers and near misses.
	for _, s := range []string{"<extra_id_100>", "<extra_id_>", "<pad", "<PAD>"} {
		for _, id := range tok.Encode(s) {
			require.Less(t, id, 32000, s)
		}
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := tokenizers(t)["spiece.model"]
	golden := readGolden(t, filepath.Join(sharedDir(t, "t5"), "tokenizer-golden.jsonl"))
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < 20; r++ {
				g := golden[(w*7+r)%len(golden)]
				got := tok.Encode(g.Text)
				if fmt.Sprint(got) != fmt.Sprint(g.IDs) {
					errs <- fmt.Sprintf("%q: got %v want %v", g.Text, got, g.IDs)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello world.", "<extra_id_5>x", "\xff\xfe", "emoji 😀🎉", "  a  b  ", "ﬁ①Ａ", "\u3000\u00a0\r\n"} {
		f.Add(s)
	}
	tok := tokenizers(f)["spiece.model"]
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		if len(ids) == 0 || ids[len(ids)-1] != 1 {
			t.Fatalf("%q: %v does not end with </s>", s, ids)
		}
		// Unknown text folds into one <unk>; only a literal "<unk>" repeats it.
		checkFold := !strings.Contains(s, "<unk>")
		prevUnk := false
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() {
				t.Fatalf("%q: id %d out of range", s, id)
			}
			if checkFold && id == 2 && prevUnk {
				t.Fatalf("%q: consecutive <unk> in %v", s, ids)
			}
			prevUnk = id == 2
		}
	})
}

// Damaged model files must fail to load or load into something that still
// encodes without panicking; never crash the scorer.
func TestDamagedModel(t *testing.T) {
	buf, err := os.ReadFile(filepath.Join(sharedDir(t, "t5"), "spiece.model"))
	require.NoError(t, err)
	// Protobuf has no end marker: a cut between two pieces is a smaller
	// valid model, a cut inside one is an error.
	for _, n := range []int{1, 2, 10, 999, 1000, len(buf) / 2, len(buf) - 1} {
		tok, err := fromModelProto(buf[:n])
		if err == nil {
			ids := tok.Encode("hello world")
			require.Equal(t, tok.EOS(), ids[len(ids)-1])
		}
	}
	_, err = fromModelProto(buf[:len(buf)-1])
	require.ErrorContains(t, err, "runs past the end")
	// Scramble the charsmap's trie: lookups must stay in bounds.
	r := rand.New(rand.NewPCG(3, 4))
	units := make([]byte, 4+4*512)
	binary.LittleEndian.PutUint32(units, 4*512)
	for i := 4; i < len(units); i++ {
		units[i] = byte(r.IntN(256))
	}
	cm, err := parseCharsmap(append(units, "x\x00yz"...))
	require.NoError(t, err)
	nm := normalizer{cm: cm, addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true}
	for i := 0; i < 2000; i++ {
		s := make([]byte, r.IntN(16))
		for j := range s {
			s[j] = byte(r.IntN(256))
		}
		nm.appendNormalized(nil, string(s))
	}
	_, err = parseCharsmap([]byte{8, 0, 0, 0, 1})
	require.ErrorContains(t, err, "does not fit")
}
