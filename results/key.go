package results

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
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
	pa, pb := a.Params, b.Params
	if pa == nil {
		pa = &Params{}
	}
	if pb == nil {
		if b.GenKey == "" {
			return append(d, "the file's records predate generation keys (made by an older hallu)")
		}
		pb = &Params{}
	}
	if pa.Temperature != pb.Temperature {
		d = append(d, fmt.Sprintf("temperature %v here, %v in the file", pa.Temperature, pb.Temperature))
	}
	if !reflect.DeepEqual(pa.Seed, pb.Seed) {
		d = append(d, fmt.Sprintf("seed %s here, %s in the file", seedString(pa.Seed), seedString(pb.Seed)))
	}
	if pa.MaxTokens != pb.MaxTokens {
		d = append(d, fmt.Sprintf("max tokens %s here, %s in the file", limitString(pa.MaxTokens), limitString(pb.MaxTokens)))
	}
	if pa.Stream != pb.Stream {
		d = append(d, fmt.Sprintf("stream %v here, %v in the file", pa.Stream, pb.Stream))
	}
	if !reflect.DeepEqual(normExtra(pa.Extra), normExtra(pb.Extra)) {
		d = append(d, fmt.Sprintf("extra body %s here, %s in the file", extraString(pa.Extra), extraString(pb.Extra)))
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

func extraString(m map[string]any) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v, _ := json.Marshal(m[k])
		parts[i] = k + "=" + string(v)
	}
	return strings.Join(parts, ",")
}
