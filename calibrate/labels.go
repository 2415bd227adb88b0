// Package calibrate measures a consistency scorer against human labels, as
// the LLM-AggreFact and FaithBench benchmarks report scorers: balanced
// accuracy at a threshold, precision and recall for the hallucinated class,
// AUROC, and the threshold that maximises balanced accuracy.
//
// Labels follow LLM-AggreFact: 1 = consistent (the summary is supported by
// the source), 0 = hallucinated. A scorer's score is read the same way:
// score >= threshold predicts consistent.
package calibrate

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// Label values.
const (
	Hallucinated = 0
	Consistent   = 1
)

// Example is one human-labelled pair.
type Example struct {
	ID      string // from an id column, else "line N"
	Source  string
	Summary string
	Label   int // Consistent or Hallucinated
	Line    int // where it starts in the file
}

// Column names accepted for each field, as datasets spell them
// (LLM-AggreFact: doc, claim, label).
var (
	sourceNames  = []string{"source", "doc", "document", "premise", "context", "article", "grounding"}
	summaryNames = []string{"summary", "claim", "hypothesis", "response", "generated_text", "output"}
	idNames      = []string{"id", "doc_id", "sample_id"}
)

var (
	consistentWords   = []string{"1", "true", "consistent", "supported", "faithful", "correct", "entailment", "yes"}
	hallucinatedWords = []string{"0", "false", "hallucinated", "hallucination", "inconsistent", "unsupported", "unfaithful", "incorrect", "no"}
)

// ParseLabel reads a label: 1/0, true/false, or a word such as
// "consistent"/"hallucinated" (see docs/scorers.md for the full list).
func ParseLabel(s string) (int, error) {
	w := strings.ToLower(strings.TrimSpace(s))
	if f, err := strconv.ParseFloat(w, 64); err == nil && (f == 0 || f == 1) {
		w = strconv.Itoa(int(f)) // "1.0", "0.0"
	}
	for _, c := range consistentWords {
		if w == c {
			return Consistent, nil
		}
	}
	for _, h := range hallucinatedWords {
		if w == h {
			return Hallucinated, nil
		}
	}
	return 0, fmt.Errorf("label %q: want 1 (consistent) or 0 (hallucinated), or a word such as consistent/hallucinated", s)
}

// Reader yields labelled examples one at a time.
type Reader interface {
	// Next returns the next example, io.EOF at the end, or an error naming
	// the file and line.
	Next() (Example, error)
}

// NewReader reads r as CSV when name ends in .csv or .tsv, else as JSONL.
func NewReader(r io.Reader, name string) (Reader, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return newCSVReader(r, name, ',')
	case ".tsv":
		return newCSVReader(r, name, '\t')
	}
	return &jsonlReader{br: bufio.NewReaderSize(r, 1<<16), name: name}, nil
}

type csvReader struct {
	cr                *csv.Reader
	name              string
	src, sum, lab, id int
}

func newCSVReader(r io.Reader, name string, comma rune) (*csvReader, error) {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file: want a header row naming source, summary and label columns", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c := &csvReader{cr: cr, name: name, src: -1, sum: -1, lab: -1, id: -1}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case contains(sourceNames, h) && c.src < 0:
			c.src = i
		case contains(summaryNames, h) && c.sum < 0:
			c.sum = i
		case h == "label" && c.lab < 0:
			c.lab = i
		case contains(idNames, h) && c.id < 0:
			c.id = i
		}
	}
	var missing []string
	if c.src < 0 {
		missing = append(missing, "source (or "+strings.Join(sourceNames[1:], "/")+")")
	}
	if c.sum < 0 {
		missing = append(missing, "summary (or "+strings.Join(summaryNames[1:], "/")+")")
	}
	if c.lab < 0 {
		missing = append(missing, "label")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s line 1: header %q has no %s column", name, strings.Join(header, ","), strings.Join(missing, ", no "))
	}
	return c, nil
}

func (c *csvReader) Next() (Example, error) {
	rec, err := c.cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Example{}, io.EOF
		}
		return Example{}, fmt.Errorf("%s: %w", c.name, err)
	}
	line, _ := c.cr.FieldPos(0)
	ex := Example{Line: line, Source: rec[c.src], Summary: rec[c.sum], ID: fmt.Sprintf("line %d", line)}
	if c.id >= 0 && rec[c.id] != "" {
		ex.ID = rec[c.id]
	}
	if ex.Label, err = ParseLabel(rec[c.lab]); err != nil {
		return Example{}, fmt.Errorf("%s line %d: %w", c.name, line, err)
	}
	return ex, check(ex, c.name)
}

type jsonlReader struct {
	br   *bufio.Reader
	name string
	line int
}

func (j *jsonlReader) Next() (Example, error) {
	for {
		raw, err := j.br.ReadBytes('\n')
		if len(raw) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return Example{}, io.EOF
			}
			return Example{}, fmt.Errorf("%s: %w", j.name, err)
		}
		j.line++
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return Example{}, fmt.Errorf("%s line %d: not a JSON object: %w", j.name, j.line, err)
		}
		ex := Example{Line: j.line, ID: fmt.Sprintf("line %d", j.line)}
		var ok bool
		if ex.Source, ok, err = textField(m, sourceNames); err != nil || !ok {
			return Example{}, fieldError(j.name, j.line, "source", sourceNames, err)
		}
		if ex.Summary, ok, err = textField(m, summaryNames); err != nil || !ok {
			return Example{}, fieldError(j.name, j.line, "summary", summaryNames, err)
		}
		if id, ok, _ := textField(m, idNames); ok && id != "" {
			ex.ID = id
		}
		rawLabel, ok := m["label"]
		if !ok {
			return Example{}, fmt.Errorf("%s line %d: no \"label\" field", j.name, j.line)
		}
		var label any
		_ = json.Unmarshal(rawLabel, &label)
		if ex.Label, err = ParseLabel(fmt.Sprint(label)); err != nil {
			return Example{}, fmt.Errorf("%s line %d: %w", j.name, j.line, err)
		}
		return ex, check(ex, j.name)
	}
}

// textField reads the first present field of names as a string (an id may
// be a number).
func textField(m map[string]json.RawMessage, names []string) (string, bool, error) {
	for _, n := range names {
		raw, ok := m[n]
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			var num json.Number
			if json.Unmarshal(raw, &num) == nil {
				return num.String(), true, nil
			}
			return "", false, fmt.Errorf("%q is not text", n)
		}
		return s, true, nil
	}
	return "", false, nil
}

func fieldError(file string, line int, what string, names []string, err error) error {
	if err != nil {
		return fmt.Errorf("%s line %d: %w", file, line, err)
	}
	return fmt.Errorf("%s line %d: no %s field (one of %s)", file, line, what, strings.Join(names, ", "))
}

func check(ex Example, file string) error {
	switch {
	case strings.TrimSpace(ex.Source) == "":
		return fmt.Errorf("%s line %d: empty source", file, ex.Line)
	case strings.TrimSpace(ex.Summary) == "":
		return fmt.Errorf("%s line %d: empty summary", file, ex.Line)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
