package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

func init() { RegisterFormat("jsonl", openJSONL) }

// Default JSONL field names; id also answers to article_id so a leaderboard
// CSV converted line by line still loads.
var (
	defaultIDFields      = []string{"id", "article_id"}
	defaultTextFields    = []string{"text"}
	defaultDatasetFields = []string{"dataset"}
)

// jsonlSource reads one JSON object per line. Lines are read whole with
// ReadBytes, so there is no line-length limit beyond the document itself.
type jsonlSource struct {
	rc                   io.ReadCloser
	br                   *bufio.Reader
	v                    *validator
	idF, textF, datasetF []string
	line, record         int
	schemaChecked        bool  // the first object has been seen with its id and text fields
	err                  error // sticky: io.EOF, a read error, or a file without the fields
}

func openJSONL(rc io.ReadCloser, name string, opts Options) (Source, error) {
	pick := func(field string, defaults []string) []string {
		if field != "" {
			return []string{field}
		}
		return defaults
	}
	return &jsonlSource{
		rc:       rc,
		br:       bufio.NewReaderSize(rc, 64<<10),
		v:        newValidator(name, opts),
		idF:      pick(opts.IDField, defaultIDFields),
		textF:    pick(opts.TextField, defaultTextFields),
		datasetF: pick(opts.DatasetField, defaultDatasetFields),
	}, nil
}

// Next returns the next valid document, skipping blank lines. A
// *RecordError rejects one line and the following call reads the next;
// other errors are final.
func (s *jsonlSource) Next() (Document, error) {
	for s.err == nil {
		b, err := s.br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			s.err = fmt.Errorf("dataset %s after line %d: %w", s.v.file, s.line, err)
			break
		}
		if len(b) == 0 && err != nil {
			s.err = io.EOF
			break
		}
		s.line++
		if s.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\uFEFF"))
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		s.record++
		return s.decode(b)
	}
	return Document{}, s.err
}

func (s *jsonlSource) decode(b []byte) (Document, error) {
	if b[0] != '{' {
		hint := ""
		if b[0] == '[' {
			hint = " (a JSON array? this format wants JSON Lines: one object per line)"
		}
		return Document{}, s.v.fail(s.line, s.record, "", fmt.Errorf("%w: not a JSON object%s", ErrMalformed, hint))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return Document{}, s.v.fail(s.line, s.record, "", fmt.Errorf("%w: %v", ErrMalformed, err))
	}
	if !s.schemaChecked {
		if err := s.checkSchema(m, b); err != nil {
			s.err = err
			return Document{}, err
		}
		s.schemaChecked = true
	}
	idName, idRaw := lookup(m, s.idF)
	if idRaw == nil {
		return Document{}, s.missing(s.idF, "")
	}
	if err := s.v.rawUTF8(s.line, s.record, "", idName, idRaw); err != nil {
		return Document{}, err
	}
	id, err := jsonID(idRaw)
	if err != nil {
		return Document{}, s.v.fail(s.line, s.record, "", fmt.Errorf("%w: field %q: %v", ErrMalformed, idName, err))
	}
	textName, textRaw := lookup(m, s.textF)
	if textRaw == nil {
		return Document{}, s.missing(s.textF, id)
	}
	text, err := s.str(textName, textRaw, id)
	if err != nil {
		return Document{}, err
	}
	var label string
	if labelName, labelRaw := lookup(m, s.datasetF); labelRaw != nil {
		if label, err = s.str(labelName, labelRaw, id); err != nil {
			return Document{}, err
		}
	}
	d := Document{ID: id, Text: text, Dataset: label}
	if err := s.v.check(s.line, s.record, d); err != nil {
		return Document{}, err
	}
	return d, nil
}

// checkSchema treats the file's first object as its header: a file whose
// first record lacks the id or text field altogether almost surely names
// them otherwise, and skipping every record one warning at a time would hide
// that. Later records lacking a field are rejected one by one.
func (s *jsonlSource) checkSchema(m map[string]json.RawMessage, line []byte) error {
	for _, f := range []struct {
		names      []string
		what, flag string
	}{{s.idF, "id", "--id-field"}, {s.textF, "text", "--text-field"}} {
		if hasAny(m, f.names) {
			continue
		}
		return fmt.Errorf("dataset %s line %d: %w %q: the first record has no %s field (its fields: %s); name the %s field with %s",
			s.v.file, s.line, ErrMissingField, f.names[0], joinQuoted(f.names), strings.Join(quoteAll(keysInOrder(line)), ", "), f.what, f.flag)
	}
	return nil
}

func hasAny(m map[string]json.RawMessage, names []string) bool {
	for _, n := range names {
		if _, ok := m[n]; ok {
			return true
		}
	}
	return false
}

// keysInOrder lists a JSON object's keys as the file spells them, for a
// message the user can match against the line. b is known to be valid.
func keysInOrder(b []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	if _, err := dec.Token(); err != nil { // the opening brace
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		k, _ := tok.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			break
		}
	}
	return keys
}

// str decodes a field that must be a JSON string.
func (s *jsonlSource) str(name string, raw json.RawMessage, id string) (string, error) {
	if err := s.v.rawUTF8(s.line, s.record, id, name, raw); err != nil {
		return "", err
	}
	if raw[0] != '"' {
		return "", s.v.fail(s.line, s.record, id, fmt.Errorf("%w: field %q must be a string, got %s", ErrMalformed, name, kind(raw)))
	}
	return unquote(raw), nil
}

// unquote decodes a JSON string literal that json.Unmarshal has already
// accepted as part of the line and rawUTF8 has checked, so it cannot fail.
// Decoding it again with json.Unmarshal would rescan the whole text, which
// for article-sized strings doubled the cost of loading. Lone surrogates
// become U+FFFD, as encoding/json does (FuzzUnquote checks the two agree).
func unquote(raw []byte) string {
	raw = raw[1 : len(raw)-1]
	i := bytes.IndexByte(raw, '\\')
	if i < 0 {
		return string(raw)
	}
	b := make([]byte, 0, len(raw))
	for i >= 0 {
		b = append(b, raw[:i]...)
		c := raw[i+1]
		raw = raw[i+2:]
		switch c {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(raw)
			raw = raw[4:]
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if len(raw) >= 6 && raw[0] == '\\' && raw[1] == 'u' {
					r2 = hex4(raw[2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r, raw = dec, raw[6:]
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default: // '"', '\\', '/'
			b = append(b, c)
		}
		i = bytes.IndexByte(raw, '\\')
	}
	return string(append(b, raw...))
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

func (s *jsonlSource) missing(names []string, id string) error {
	msg := fmt.Sprintf("%q", names[0])
	if len(names) > 1 {
		msg += fmt.Sprintf(" (or %s)", joinQuoted(names[1:]))
	}
	if id != "" {
		return s.v.fail(s.line, s.record, id, fmt.Errorf("%w %s for id %q", ErrMissingField, msg, id))
	}
	return s.v.fail(s.line, s.record, id, fmt.Errorf("%w %s", ErrMissingField, msg))
}

func (s *jsonlSource) Close() error { return s.rc.Close() }

// lookup returns the first of names present in m with a non-null value.
func lookup(m map[string]json.RawMessage, names []string) (string, json.RawMessage) {
	for _, n := range names {
		if raw, ok := m[n]; ok && !bytes.Equal(raw, []byte("null")) {
			return n, raw
		}
	}
	return "", nil
}

// jsonID accepts a string or a number; a number keeps its literal spelling,
// so 12345678901234567890 is not rounded through float64.
func jsonID(raw json.RawMessage) (string, error) {
	switch {
	case raw[0] == '"':
		return unquote(raw), nil
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		return string(raw), nil // json.Unmarshal of the line has checked it is a number
	}
	return "", fmt.Errorf("want a string or number, got %s", kind(raw))
}

// kind names a JSON value's type for error messages.
func kind(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func joinQuoted(ss []string) string {
	q := quoteAll(ss)
	out := q[0]
	for _, s := range q[1:] {
		out += " or " + s
	}
	return out
}
