package results

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
)

// TextHash is the first 16 hex digits of the SHA-256 of s: the DocHash of a
// document text, the PromptHash of a prompt template.
func TextHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// genIdentity is what GenerationKey digests, in a fixed field order.
type genIdentity struct {
	DocID      string  `json:"doc_id"`
	DocHash    string  `json:"doc_sha256"`
	Model      string  `json:"model"`
	PromptHash string  `json:"prompt_hash"`
	Params     *Params `json:"params"`
	Endpoint   string  `json:"endpoint"`
}

// GenerationKey digests what determines rec's generation: document id and
// text hash, model as requested, prompt hash, sampling settings and
// endpoint. Two records with equal keys answer the same request.
func GenerationKey(rec *Record) string {
	b, _ := json.Marshal(genIdentity{rec.DocID, rec.DocHash, rec.Model, rec.PromptHash, rec.Params, rec.Endpoint})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// GenerationHash digests the generation record itself, judgment left out:
// a judgment is valid only for the exact record it judged, so a new
// summary, error or retry of the same document changes this hash.
func GenerationHash(rec *Record) string {
	c := *rec
	c.Judgment = nil
	c.Schema = SchemaVersion
	b, _ := json.Marshal(&c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// SettingsDiff names what differs between the run-wide settings of two
// generation records (model, prompt, sampling settings, endpoint), "here"
// being a and "in the file" b; nil when they agree. Document text is
// compared separately (DocHash), as it differs per document.
func SettingsDiff(a, b *Record) []string {
	var d []string
	if a.Model != b.Model {
		d = append(d, fmt.Sprintf("model %q here, %q in the file", a.Model, b.Model))
	}
	if a.PromptHash != b.PromptHash {
		d = append(d, fmt.Sprintf("prompt %s here, %s in the file", orNone(a.PromptHash), orNone(b.PromptHash)))
	}
	if a.Endpoint != b.Endpoint {
		d = append(d, fmt.Sprintf("endpoint %s here, %s in the file", orNone(a.Endpoint), orNone(b.Endpoint)))
	}
	if b.Params == nil && b.GenKey == "" {
		return append(d, "the file's records predate generation keys (made by an older hallu)")
	}
	return append(d, ParamsDiff(a.Params, b.Params, func(what, x, y string) string {
		return fmt.Sprintf("%s %s here, %s in the file", what, x, y)
	})...)
}

// ParamsDiff names each sampling setting that differs between a and b
// (nil is no setting sent), worded by say(setting, a's value, b's value).
func ParamsDiff(a, b *Params, say func(what, x, y string) string) []string {
	if a == nil {
		a = &Params{}
	}
	if b == nil {
		b = &Params{}
	}
	var d []string
	if a.Temperature != b.Temperature {
		d = append(d, say("temperature", fmt.Sprint(a.Temperature), fmt.Sprint(b.Temperature)))
	}
	if !reflect.DeepEqual(a.Seed, b.Seed) {
		d = append(d, say("seed", seedString(a.Seed), seedString(b.Seed)))
	}
	if a.MaxTokens != b.MaxTokens {
		d = append(d, say("max tokens", limitString(a.MaxTokens), limitString(b.MaxTokens)))
	}
	if a.MaxTokensField != b.MaxTokensField {
		d = append(d, say("max tokens field", fieldString(a.MaxTokensField), fieldString(b.MaxTokensField)))
	}
	if a.Stream != b.Stream {
		d = append(d, say("stream", fmt.Sprint(a.Stream), fmt.Sprint(b.Stream)))
	}
	if !reflect.DeepEqual(normExtra(a.Extra), normExtra(b.Extra)) {
		d = append(d, say("extra body", extraString(a.Extra), extraString(b.Extra)))
	}
	return d
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func seedString(p *int) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

func fieldString(f string) string {
	if f == "" {
		return "max_tokens"
	}
	return f
}

func limitString(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

// normExtra round-trips through JSON so that values read from a file
// (float64) and values set in Go (int) compare equal.
func normExtra(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

// extraString is the canonical text of extra body fields (encoding/json
// sorts map keys).
func extraString(m map[string]any) string {
	if len(m) == 0 {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Sprint(m)
	}
	return string(b)
}
