// Package scan is a JSON scanner for one line of hallu records that reads the
// values a caller asks for and skips the rest without building them,
// checking the syntax of the whole line. It exists for speed: encoding/json
// walks a line twice (validate, then decode) byte by byte through a state
// machine and decodes the source text that the report throws away; on a
// million judged records that dominated the report's time.
//
// It follows encoding/json where both read: keys match case-insensitively
// (Match), a later duplicate key wins, null leaves a value alone, a value of
// the wrong type or a number out of range is an error, and strings with
// escapes or invalid UTF-8 are unquoted by encoding/json itself. Its caller
// (results.DecodeBrief) is fuzzed against encoding/json.
package scan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// New returns a scanner at the start of b.
func New(b []byte) *Scanner { return &Scanner{b: b} }

// End checks that nothing but white space follows the value read.
func (s *Scanner) End() error {
	s.WS()
	if s.i != len(s.b) {
		return s.errorf("unexpected %q after the record", s.b[s.i])
	}
	return nil
}

// Match returns the name that key stands for, or "": an exact Match, else
// one equal under Unicode case folding, as encoding/json matches keys. A key
// of lower-case ASCII can only Match exactly, which spares the folding on
// almost every key.
func Match(key []byte, names []string) string {
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

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// Scanner reads one line; its methods consume one value each, after any
// white space.
type Scanner struct {
	b []byte
	i int
}

func (s *Scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("not a hallu record: "+format+" at byte %d", append(args, s.i+1)...)
}

func (s *Scanner) eof() error { return s.errorf("unexpected end of line") }

// WS skips white space.
func (s *Scanner) WS() {
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
func (s *Scanner) peek() byte {
	s.WS()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// Object reads {"key": value, ...}, handing each unquoted key to field, which
// must consume the value.
func (s *Scanner) Object(field func(key []byte) error, depth int) error {
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
		s.WS()
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

// ObjectValue reads null (setting *p to nil, as encoding/json does) or an
// object into *p, allocating it if nil.
func ObjectValue[T any](s *Scanner, p **T, depth int, field func(*T, []byte) error) error {
	if s.Null() {
		*p = nil
		return nil
	}
	if s.peek() != '{' {
		return s.TypeError("an object")
	}
	if *p == nil {
		*p = new(T)
	}
	v := *p
	return s.Object(func(key []byte) error { return field(v, key) }, depth)
}

// At reports whether the next value starts with c.
func (s *Scanner) At(c byte) bool { return s.peek() == c }

// Null consumes a null and reports whether there was one.
func (s *Scanner) Null() bool {
	if s.peek() == 'n' && bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// TypeError reports a value of the wrong type, after checking that it is at
// least valid JSON (a syntax error is the better message).
func (s *Scanner) TypeError(want string) error {
	start := s.i
	if err := s.Skip(1); err != nil {
		return err
	}
	v := s.b[start:s.i]
	if len(v) > 20 {
		v = append(v[:17:17], "..."...)
	}
	s.i = start
	return s.errorf("value %s is not %s", v, want)
}

// String reads a string or null (leaving *p alone) into *p. A plain string
// is not copied but aliases the scanned line (unsafe.String): it is valid
// only while the line's bytes are, which spares copying what a reader only
// measures or compares. One with escapes is a fresh string.
func (s *Scanner) String(p *string) error {
	if s.Null() {
		return nil
	}
	if s.peek() != '"' {
		return s.TypeError("a string")
	}
	tok, err := s.strToken()
	if err != nil {
		return err
	}
	v, err := unquote(tok)
	if err != nil {
		return err
	}
	if len(v) > 0 {
		*p = unsafe.String(&v[0], len(v))
	} else {
		*p = ""
	}
	return nil
}

// Bool reads true, false or null (leaving *p alone).
func (s *Scanner) Bool(p *bool) error {
	switch {
	case s.Null():
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		s.i += 4
		*p = true
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		s.i += 5
		*p = false
	default:
		return s.TypeError("a boolean")
	}
	return nil
}

// Raw consumes any value, checking its syntax, and returns its bytes (which
// alias the line), for a value better left to encoding/json.
func (s *Scanner) Raw(depth int) ([]byte, error) {
	s.WS()
	start := s.i
	if err := s.Skip(depth); err != nil {
		return nil, err
	}
	return s.b[start:s.i], nil
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
func (s *Scanner) strToken() ([]byte, error) {
	start := s.i
	if err := s.str(); err != nil {
		return nil, err
	}
	return s.b[start:s.i], nil
}

// Int reads an integer or null (leaving *p alone).
func (s *Scanner) Int(p *int) error {
	if s.Null() {
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

// Float reads a number or null (leaving *p alone).
func (s *Scanner) Float(p *float64) error {
	if s.Null() {
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

// Float32 reads a number into a float32, refusing one out of its range as
// encoding/json does.
func (s *Scanner) Float32(p *float32) error {
	if s.Null() {
		return nil
	}
	num, err := s.number()
	if err != nil {
		return err
	}
	f, err := strconv.ParseFloat(string(num), 32)
	if err != nil {
		return s.errorf("number %s is out of range", num)
	}
	*p = float32(f)
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
func (s *Scanner) str() error {
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

func (s *Scanner) escape() error {
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
func (s *Scanner) number() ([]byte, error) {
	s.WS()
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
		if s.i > start {
			// A minus sign and no digits: not a value at all, so
			// TypeError's syntax check would come back here.
			return nil, s.errorf("invalid number")
		}
		return nil, s.TypeError("a number")
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

// Skip consumes any JSON value, checking its syntax.
func (s *Scanner) Skip(depth int) error {
	switch c := s.peek(); c {
	case 0:
		return s.eof()
	case '"':
		return s.str()
	case '{':
		return s.Object(func([]byte) error { return s.Skip(depth + 1) }, depth)
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
			if err := s.Skip(depth + 1); err != nil {
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
