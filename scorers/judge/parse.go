package judge

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Replies are read tolerantly: models wrap JSON in code fences, put prose
// around it, write Python dicts, or answer with a bare "Yes". What cannot
// be read is an error, which the caller turns into a re-ask and, in the
// end, a scorer error: a guess is never a score.

// verdict is one read yes/no answer.
type verdict struct {
	supported bool
	reason    string
	// offset is where the verdict word starts in the reply text, to find
	// its token among the log-probabilities; -1 when unknown.
	offset int
	// word is the answer word as the reply spells it (presets).
	word string
}

var (
	yesWords = map[string]bool{"yes": true, "true": true, "supported": true, "consistent": true, "faithful": true, "entailed": true}
	noWords  = map[string]bool{"no": true, "false": true, "unsupported": true, "inconsistent": true, "unfaithful": true,
		"hallucinated": true, "hallucination": true, "not_supported": true, "contradicted": true}
	verdictKeys = []string{"supported", "consistent", "verdict", "answer", "label", "faithful", "is_supported"}
	reasonKeys  = []string{"reason", "explanation", "rationale", "justification"}
	labelledRe  = regexp.MustCompile(`(?i)\b(?:answer|verdict|label|judg(?:e)?ment)\s*[:=\-]\s*[*"'\x60]*\s*([a-z_]+)`)
)

// stripThink drops a reasoning model's <think> block.
func stripThink(s string) string {
	if i := strings.LastIndex(s, "</think>"); i >= 0 {
		return s[i+len("</think>"):]
	}
	if i := strings.Index(s, "<think>"); i >= 0 {
		return s[:i] // an unterminated block: whatever came before is all
	}
	return s
}

// verdictWord reads a yes/no word.
func verdictWord(w string) (supported, ok bool) {
	w = strings.ToLower(strings.Trim(w, " \t\r\n\"'*`.,:;!()[]{}"))
	w = strings.ReplaceAll(w, " ", "_")
	switch {
	case yesWords[w]:
		return true, true
	case noWords[w]:
		return false, true
	}
	return false, false
}

// verdictValue reads a JSON value as a verdict: a boolean, 1/0, or a word.
func verdictValue(v any) (supported, ok bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case float64:
		if x == 1 || x == 0 {
			return x == 1, true
		}
	case string:
		return verdictWord(x)
	}
	return false, false
}

// parseVerdict reads a verdict reply.
func parseVerdict(text string) (verdict, error) {
	text = stripThink(text)
	if start, end, ok := findBalanced(text, '{', '}'); ok {
		obj, err := decodeLoose(text[start:end])
		if err != nil {
			return verdict{}, fmt.Errorf("reply has a JSON object that does not decode: %w", err)
		}
		m, isMap := obj.(map[string]any)
		if !isMap {
			return verdict{}, errors.New("reply's JSON is not an object")
		}
		for _, k := range verdictKeys {
			key, v, found := lookupFold(m, k)
			if !found {
				continue
			}
			sup, ok := verdictValue(v)
			if !ok {
				return verdict{}, fmt.Errorf("reply's %q is %v, not a yes/no verdict", key, v)
			}
			vd := verdict{supported: sup, offset: valueOffset(text, start, key)}
			for _, rk := range reasonKeys {
				if _, r, found := lookupFold(m, rk); found {
					vd.reason = fmt.Sprint(r)
					break
				}
			}
			return vd, nil
		}
		return verdict{}, errors.New(`reply's JSON object has no "supported" field`)
	}
	// No object: a bare answer, "Yes, because ..." or "... Answer: no".
	lead := strings.TrimLeftFunc(text, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune("*#>`\"'", r) })
	first := strings.FieldsFunc(lead, func(r rune) bool { return !unicode.IsLetter(r) && r != '_' })
	if len(first) > 0 && strings.HasPrefix(lead, first[0]) {
		if sup, ok := verdictWord(first[0]); ok {
			return verdict{supported: sup, reason: strings.TrimSpace(lead), offset: len(text) - len(lead)}, nil
		}
	}
	if m := labelledRe.FindStringSubmatchIndex(text); m != nil {
		if sup, ok := verdictWord(text[m[2]:m[3]]); ok {
			return verdict{supported: sup, reason: strings.TrimSpace(text), offset: m[2]}, nil
		}
	}
	if strings.Contains(text, "{") {
		return verdict{}, errors.New("reply's JSON object is not closed (cut short?)")
	}
	return verdict{}, errors.New("reply has no JSON object and no yes/no answer")
}

// valueOffset finds where the value of key starts in text, searching from
// the object's start.
func valueOffset(text string, from int, key string) int {
	i := strings.Index(strings.ToLower(text[from:]), strings.ToLower(key))
	if i < 0 {
		return -1
	}
	j := from + i + len(key)
	for j < len(text) && strings.ContainsRune("\"' \t\r\n:=", rune(text[j])) {
		j++
	}
	return j
}

// lookupFold finds a key case-insensitively.
func lookupFold(m map[string]any, key string) (string, any, bool) {
	if v, ok := m[key]; ok {
		return key, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return k, v, true
		}
	}
	return "", nil, false
}

// findBalanced finds the first open...close span of text whose brackets
// balance, skipping brackets inside quoted strings (single or double, as
// models write both). ok is false when there is none or it never closes.
func findBalanced(text string, open, close byte) (start, end int, ok bool) {
	start = strings.IndexByte(text, open)
	if start < 0 {
		return 0, 0, false
	}
	depth := 0
	var quote byte
	for i := start; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"':
			quote = c
		case c == '\'' && i > 0 && !isWordByte(text[i-1]):
			// An apostrophe inside a word ("summary's") opens nothing.
			quote = c
		case c == open:
			depth++
		case c == close:
			if depth--; depth == 0 {
				return start, i + 1, true
			}
		}
	}
	return 0, 0, false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// decodeLoose decodes JSON, or failing that the Python literal style that
// models also write: single quotes, True/False/None, trailing commas.
func decodeLoose(s string) (any, error) {
	var v any
	err := json.Unmarshal([]byte(s), &v)
	if err == nil {
		return v, nil
	}
	if v2, err2 := decodeStrict(pythonToJSON(s)); err2 == nil {
		return v2, nil
	}
	return nil, err
}

func decodeStrict(s string) (any, error) {
	var v any
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

var trailingComma = regexp.MustCompile(`,\s*([}\]])`)

// pythonToJSON rewrites single-quoted strings as JSON strings and Python's
// constants as JSON's, outside strings.
func pythonToJSON(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			b.WriteString(s[i:min(j+1, len(s))])
			i = j
		case c == '\'':
			b.WriteByte('"')
			j := i + 1
			for ; j < len(s) && s[j] != '\''; j++ {
				switch {
				case s[j] == '\\' && j+1 < len(s) && s[j+1] == '\'':
					b.WriteByte('\'')
					j++
				case s[j] == '"':
					b.WriteString(`\"`)
				default:
					b.WriteByte(s[j])
				}
			}
			b.WriteByte('"')
			i = j
		case isWordByte(c) && (i == 0 || !isWordByte(s[i-1])):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			switch w := s[i:j]; w {
			case "True":
				b.WriteString("true")
			case "False":
				b.WriteString("false")
			case "None":
				b.WriteString("null")
			default:
				b.WriteString(w)
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return trailingComma.ReplaceAllString(b.String(), "$1")
}

// parseClaims reads the claim list: {"claims": [...]}, a bare JSON array,
// or a numbered or bulleted list.
func parseClaims(text string) ([]string, error) {
	text = stripThink(text)
	var list []any
	if start, end, ok := findBalanced(text, '{', '}'); ok {
		obj, err := decodeLoose(text[start:end])
		if err != nil {
			return nil, fmt.Errorf("reply has a JSON object that does not decode: %w", err)
		}
		m, _ := obj.(map[string]any)
		_, v, found := lookupFold(m, "claims")
		if list, ok = v.([]any); !found || !ok {
			return nil, errors.New(`reply's JSON object has no "claims" list`)
		}
	} else if start, end, ok := findBalanced(text, '[', ']'); ok {
		v, err := decodeLoose(text[start:end])
		if err != nil {
			return nil, fmt.Errorf("reply has a JSON list that does not decode: %w", err)
		}
		list, _ = v.([]any)
	} else {
		for _, line := range strings.Split(text, "\n") {
			if m := listItem.FindStringSubmatch(line); m != nil {
				list = append(list, m[1])
			}
		}
	}
	var claims []string
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			for _, k := range []string{"claim", "text", "statement"} {
				if _, v, found := lookupFold(m, k); found {
					c = v
					break
				}
			}
		}
		s, ok := c.(string)
		if !ok {
			return nil, fmt.Errorf("claim %v is not text", c)
		}
		if s = strings.TrimSpace(s); s != "" {
			claims = append(claims, s)
		}
	}
	if len(claims) == 0 {
		return nil, errors.New("reply lists no claims")
	}
	return claims, nil
}

var listItem = regexp.MustCompile(`^\s*(?:\d+[.)]|[-*•])\s+(.+?)\s*$`)

// check is the verdict on claim number index (1-based).
type check struct {
	supported bool
	reason    string
}

// parseChecks reads the per-claim verdicts; every claim 1..n must have
// exactly one.
func parseChecks(text string, n int) ([]check, error) {
	text = stripThink(text)
	var list []any
	if start, end, ok := findBalanced(text, '{', '}'); ok && (strings.IndexByte(text, '[') < 0 || strings.IndexByte(text, '{') < strings.IndexByte(text, '[')) {
		obj, err := decodeLoose(text[start:end])
		if err != nil {
			return nil, fmt.Errorf("reply has a JSON object that does not decode: %w", err)
		}
		m, _ := obj.(map[string]any)
		for _, k := range []string{"verdicts", "results", "claims", "checks"} {
			if _, v, found := lookupFold(m, k); found {
				list, _ = v.([]any)
				break
			}
		}
		if list == nil {
			return nil, errors.New(`reply's JSON object has no "verdicts" list`)
		}
	} else if start, end, ok := findBalanced(text, '[', ']'); ok {
		v, err := decodeLoose(text[start:end])
		if err != nil {
			return nil, fmt.Errorf("reply has a JSON list that does not decode: %w", err)
		}
		list, _ = v.([]any)
	} else {
		return nil, errors.New("reply has no JSON list of verdicts (cut short?)")
	}
	out := make([]check, n)
	seen := make([]bool, n)
	for pos, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("verdict %d is not an object", pos+1)
		}
		idx := pos + 1
		for _, k := range []string{"claim", "id", "index", "number", "claim_index"} {
			if _, v, found := lookupFold(m, k); found {
				if i, ok := asIndex(v); ok {
					idx = i
				}
				break
			}
		}
		if idx < 1 || idx > n {
			return nil, fmt.Errorf("verdict for claim %d, but there are %d claims", idx, n)
		}
		if seen[idx-1] {
			return nil, fmt.Errorf("two verdicts for claim %d", idx)
		}
		var c check
		found := false
		for _, k := range verdictKeys {
			if _, v, ok := lookupFold(m, k); ok {
				if c.supported, found = verdictValue(v); !found {
					return nil, fmt.Errorf("claim %d: %v is not a yes/no verdict", idx, v)
				}
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("claim %d: no \"supported\" field", idx)
		}
		for _, rk := range reasonKeys {
			if _, r, ok := lookupFold(m, rk); ok {
				c.reason = fmt.Sprint(r)
				break
			}
		}
		out[idx-1], seen[idx-1] = c, true
	}
	for i, s := range seen {
		if !s {
			return nil, fmt.Errorf("no verdict for claim %d of %d", i+1, n)
		}
	}
	return out, nil
}

func asIndex(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		return int(x), x == float64(int(x))
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		return i, err == nil
	}
	return 0, false
}
