package results

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// scanRecord decodes the fields of one JSONL record that the report reads
// into r, checking the JSON syntax of the whole line but skipping the other
// fields' values without building them. It exists for speed: encoding/json
// walks a line twice (validate, then decode) byte by byte through a state
// machine and decodes the source text that the report throws away; on a
// million judged records that dominated the report's time.
//
// It follows encoding/json where both read: keys match case-insensitively
// (bytes.EqualFold), a later duplicate key wins, null leaves a field at
// zero, a value of the wrong type or a number out of range is an error, and
// strings with escapes or non-ASCII bytes are unquoted by encoding/json
// itself. FuzzDecode checks that it accepts what Decode accepts, alike.
func scanRecord(b []byte, r *reportRecord) error {
	s := scanner{b: b}
	s.ws()
	if err := s.object(func(key []byte) error { return r.field(&s, key) }, 1); err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return s.errorf("unexpected %q after the record", s.b[s.i])
	}
	return nil
}

func (r *reportRecord) field(s *scanner, key []byte) error {
	switch match(key, recordFields) {
	case "schema":
		return s.intValue(&r.Schema)
	case "doc_id":
		return s.stringValue(&r.DocID, false)
	case "model":
		return s.stringValue(&r.Model, false)
	case "summary":
		// Only counted, never kept: see stringValue.
		return s.stringValue(&r.Summary, true)
	case "latency_ms":
		return s.floatValue(&r.LatencyMS)
	case "ttft_ms":
		return s.floatValue(&r.TTFTMS)
	case "usage":
		return objectValue(s, &r.Usage, 2, func(u *Usage, key []byte) error {
			switch match(key, usageFields) {
			case "prompt_tokens":
				return s.intValue(&u.PromptTokens)
			case "completion_tokens":
				return s.intValue(&u.CompletionTokens)
			}
			return s.skip(2)
		})
	case "error":
		return s.errorValue(&r.Error, 2)
	case "judgment":
		return objectValue(s, &r.Judgment, 2, func(j *reportJudgment, key []byte) error {
			switch match(key, judgmentFields) {
			case "score":
				if s.null() {
					j.Score = nil
					return nil
				}
				var f float64
				if err := s.floatValue(&f); err != nil {
					return err
				}
				j.Score = &f
				return nil
			case "error":
				return s.errorValue(&j.Error, 3)
			}
			return s.skip(3)
		})
	}
	return s.skip(1)
}

// The keys scanRecord reads, lower case as in Record's tags.
var (
	recordFields   = []string{"schema", "doc_id", "model", "summary", "latency_ms", "ttft_ms", "usage", "error", "judgment"}
	usageFields    = []string{"prompt_tokens", "completion_tokens"}
	judgmentFields = []string{"score", "error"}
	errorFields    = []string{"class", "message"}
)

// match returns the name that key stands for, or "": an exact match, else
// one equal under Unicode case folding, as encoding/json matches keys. A key
// of lower-case ASCII can only match exactly, which spares the folding on
// almost every key.
func match(key []byte, names []string) string {
	for _, n := range names {
		if string(key) == n {
			return n
		}
	}
	folds := false
	for _, c := range key {
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			folds = true
			break
		}
	}
	if folds {
		for _, n := range names {
			if bytes.EqualFold(key, []byte(n)) {
				return n
			}
		}
	}
	return ""
}

func (s *scanner) errorValue(e **Error, depth int) error {
	return objectValue(s, e, depth, func(e *Error, key []byte) error {
		switch match(key, errorFields) {
		case "class":
			return s.stringValue(&e.Class, false)
		case "message":
			return s.stringValue(&e.Message, false)
		}
		return s.skip(depth + 1)
	})
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

type scanner struct {
	b []byte
	i int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("not a hallu record: "+format+" at byte %d", append(args, s.i+1)...)
}

func (s *scanner) eof() error { return s.errorf("unexpected end of line") }

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// object reads {"key": value, ...}, handing each unquoted key to field, which
// must consume the value.
func (s *scanner) object(field func(key []byte) error, depth int) error {
	if depth > maxDepth {
		return s.errorf("nesting deeper than %d", maxDepth)
	}
	if s.peek() != '{' {
		return s.errorf("expected an object")
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.errorf("expected a key")
		}
		key, err := s.strToken()
		if err != nil {
			return err
		}
		if key, err = unquote(key); err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.errorf("expected ':' after a key")
		}
		s.i++
		s.ws()
		if err := field(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		case 0:
			return s.eof()
		default:
			return s.errorf("expected ',' or '}'")
		}
	}
}

// objectValue reads null (setting *p to nil, as encoding/json does) or an
// object into *p, allocating it if nil.
func objectValue[T any](s *scanner, p **T, depth int, field func(*T, []byte) error) error {
	if s.null() {
		*p = nil
		return nil
	}
	if s.peek() != '{' {
		return s.typeError("an object")
	}
	if *p == nil {
		*p = new(T)
	}
	v := *p
	return s.object(func(key []byte) error { return field(v, key) }, depth)
}

func (s *scanner) null() bool {
	if s.peek() == 'n' && bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// typeError reports a value of the wrong type, after checking that it is at
// least valid JSON (a syntax error is the better message).
func (s *scanner) typeError(want string) error {
	start := s.i
	if err := s.skip(1); err != nil {
		return err
	}
	v := s.b[start:s.i]
	if len(v) > 20 {
		v = append(v[:17:17], "..."...)
	}
	s.i = start
	return s.errorf("value %s is not %s", v, want)
}

// stringValue reads a string or null into *p. With view set, a plain string
// is not copied but aliases the line (unsafe.String): for the summary, which
// is only measured before the line's batch is dropped, this saves copying
// most of the bytes the report keeps.
func (s *scanner) stringValue(p *string, view bool) error {
	if s.null() {
		return nil
	}
	if s.peek() != '"' {
		return s.typeError("a string")
	}
	tok, err := s.strToken()
	if err != nil {
		return err
	}
	v, err := unquote(tok)
	if err != nil {
		return err
	}
	if view && len(v) > 0 {
		*p = unsafe.String(&v[0], len(v))
	} else {
		*p = string(v)
	}
	return nil
}

// unquote returns a string token's contents. Plain ones are sliced; those with
// escapes or invalid UTF-8 (which encoding/json replaces) go through
// encoding/json so the result is exactly its own.
func unquote(tok []byte) ([]byte, error) {
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner, nil
	}
	var v string
	if err := json.Unmarshal(tok, &v); err != nil {
		return nil, fmt.Errorf("not a hallu record: %w", err)
	}
	return []byte(v), nil
}

// strToken consumes a string and returns it with its quotes.
func (s *scanner) strToken() ([]byte, error) {
	start := s.i
	if err := s.str(); err != nil {
		return nil, err
	}
	return s.b[start:s.i], nil
}

func (s *scanner) intValue(p *int) error {
	if s.null() {
		return nil
	}
	num, err := s.number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(num), 10, 0)
	if err != nil {
		return s.errorf("number %s is not an integer in range", num)
	}
	*p = int(n)
	return nil
}

func (s *scanner) floatValue(p *float64) error {
	if s.null() {
		return nil
	}
	num, err := s.number()
	if err != nil {
		return err
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		return s.errorf("number %s is out of range", num)
	}
	*p = f
	return nil
}

// plain marks the bytes that may stand for themselves inside a JSON string.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str consumes a string token, checking its escapes and that it holds no
// control characters. Plain runs are skipped eight bytes at a time: a
// judged record is mostly its source text, and this loop is the report's
// hot path.
func (s *scanner) str() error {
	s.i++ // opening quote
	n := len(s.b)
	for {
		for s.i+8 <= n && !hasSpecial(binary.LittleEndian.Uint64(s.b[s.i:])) {
			s.i += 8
		}
		end := min(s.i+8, n)
		for s.i < end && plain[s.b[s.i]] {
			s.i++
		}
		if s.i == end {
			if end == n {
				return s.eof()
			}
			continue
		}
		switch s.b[s.i] {
		case '"':
			s.i++
			return nil
		case '\\':
			if err := s.escape(); err != nil {
				return err
			}
		default:
			return s.errorf("control character in a string")
		}
	}
}

// hasSpecial reports whether any of the eight bytes in x is a quote, a
// backslash or a control character (the classic "has zero byte" and "has
// byte less than n" bit tricks; exact, no false negatives).
func hasSpecial(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return ((x-ones*0x20)&^x|(q-ones)&^q|(b-ones)&^b)&highs != 0
}

func (s *scanner) escape() error {
	s.i++ // backslash
	if s.i >= len(s.b) {
		return s.eof()
	}
	switch s.b[s.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i++
		return nil
	case 'u':
		if s.i+5 > len(s.b) {
			return s.eof()
		}
		for _, h := range s.b[s.i+1 : s.i+5] {
			if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
				return s.errorf("invalid \\u escape")
			}
		}
		s.i += 5
		return nil
	}
	return s.errorf("invalid escape")
}

// number consumes a JSON number and returns its text; anything else is a
// type error.
func (s *scanner) number() ([]byte, error) {
	s.ws()
	start := s.i
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return nil, s.eof()
	}
	switch c := s.b[s.i]; {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		digits()
	default:
		s.i = start
		return nil, s.typeError("a number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, s.errorf("invalid number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, s.errorf("invalid number")
		}
	}
	return s.b[start:s.i], nil
}

// skip consumes any JSON value, checking its syntax.
func (s *scanner) skip(depth int) error {
	switch c := s.peek(); c {
	case 0:
		return s.eof()
	case '"':
		return s.str()
	case '{':
		return s.object(func([]byte) error { return s.skip(depth + 1) }, depth)
	case '[':
		if depth > maxDepth {
			return s.errorf("nesting deeper than %d", maxDepth)
		}
		s.i++
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			case 0:
				return s.eof()
			default:
				return s.errorf("expected ',' or ']'")
			}
		}
	case 't', 'f', 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
				s.i += len(lit)
				return nil
			}
		}
		return s.errorf("invalid literal")
	default:
		if c == '-' || '0' <= c && c <= '9' {
			_, err := s.number()
			return err
		}
		return s.errorf("unexpected %q", c)
	}
}
