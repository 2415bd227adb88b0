package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The leaderboard's CSV names the id column article_id; many other files
// call it id, so both are accepted unless Options.IDField says otherwise.
var (
	defaultIDColumns      = []string{"article_id", "id"}
	defaultTextColumns    = []string{"text"}
	defaultDatasetColumns = []string{"dataset"}
)

func init() { RegisterFormat("csv", openCSV) }

// csvSource reads an RFC 4180 file with a header row one record at a time.
type csvSource struct {
	rc      io.ReadCloser
	r       *csv.Reader
	v       *validator
	idCol   int
	textCol int
	dataCol int // -1 when the file has no dataset column
	idName  string
	txtName string
	record  int
	err     error // sticky: io.EOF or a syntax/read error
}

// openCSV reads the header now, so a file without the needed columns fails
// at Open rather than at the first Next.
func openCSV(rc io.ReadCloser, name string, opts Options) (Source, error) {
	r := csv.NewReader(rc)
	r.ReuseRecord = true   // one record alive at a time
	r.FieldsPerRecord = -1 // short rows are reported by us, with the column they lack
	file := displayName(name)
	header, err := r.Read()
	if err != nil {
		rc.Close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("dataset %s: empty file, want a header row such as article_id,text,dataset", file)
		}
		return nil, fmt.Errorf("dataset %s: reading header: %w", file, err)
	}
	line, _ := r.FieldPos(0)
	cols := make([]string, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF") // spreadsheet exports often start with a BOM
		}
		cols[i] = strings.ToLower(strings.TrimSpace(h))
	}
	s := &csvSource{rc: rc, r: r, v: newValidator(name, opts)}
	find := func(field string, defaults []string, what string) (int, string, error) {
		cands := defaults
		if field != "" {
			cands = []string{field}
		}
		for _, c := range cands {
			idx, err := column(cols, strings.ToLower(c))
			if err != nil {
				return 0, "", fmt.Errorf("dataset %s line %d: %w", file, line, err)
			}
			if idx >= 0 {
				return idx, c, nil
			}
		}
		if what == "" {
			return -1, "", nil // optional
		}
		return 0, "", fmt.Errorf("dataset %s line %d: %w %q: no %s column in header (columns: %s); %s",
			file, line, ErrMissingField, cands[0], joinQuoted(cands), strings.Join(quoteAll(header), ", "), headerHint(header, what))
	}
	if s.idCol, s.idName, err = find(opts.IDField, defaultIDColumns, "id"); err == nil {
		if s.textCol, s.txtName, err = find(opts.TextField, defaultTextColumns, "text"); err == nil {
			s.dataCol, _, err = find(opts.DatasetField, defaultDatasetColumns, "")
		}
	}
	if err != nil {
		rc.Close()
		return nil, err
	}
	return s, nil
}

// headerHint says what to do about a header without a needed column. A
// header holding semicolons or tabs is most likely a file split on another
// delimiter (spreadsheets in many locales write ';'), which naming a column
// would not fix.
func headerHint(header []string, what string) string {
	all := strings.Join(header, ",")
	switch {
	case strings.Contains(all, ";"):
		return "the header holds ';': hallu reads comma-separated files, so convert it or save it as CSV with commas"
	case strings.Contains(all, "\t"):
		return "the header holds tabs: hallu reads comma-separated files, so convert it or save it as CSV with commas"
	}
	return fmt.Sprintf("name the %s column with --%s-field", what, what)
}

// column finds name among the lower-cased header names; -1 if absent. A name
// that appears twice is an error: picking one would silently drop the other.
func column(cols []string, name string) (int, error) {
	idx := -1
	for i, c := range cols {
		if c != name {
			continue
		}
		if idx >= 0 {
			return 0, fmt.Errorf("column %q appears twice in header (columns %d and %d)", name, idx+1, i+1)
		}
		idx = i
	}
	return idx, nil
}

func quoteAll(ss []string) []string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return q
}

// Next returns the next valid document. A *RecordError rejects one record
// and the following call goes on with the next; other errors are final.
func (s *csvSource) Next() (Document, error) {
	if s.err != nil {
		return Document{}, s.err
	}
	rec, err := s.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			s.err = io.EOF
		} else {
			s.err = fmt.Errorf("dataset %s: %w", s.v.file, err)
		}
		return Document{}, s.err
	}
	s.record++
	line, _ := s.r.FieldPos(0)
	get := func(col int) (string, bool) {
		if col < 0 || col >= len(rec) {
			return "", false
		}
		return rec[col], true
	}
	id, ok := get(s.idCol)
	if !ok {
		return Document{}, s.short(line, "", s.idName, s.idCol, len(rec))
	}
	text, ok := get(s.textCol)
	if !ok {
		return Document{}, s.short(line, id, s.txtName, s.textCol, len(rec))
	}
	label, _ := get(s.dataCol)
	// encoding/csv slices every field out of one string per record; cloning
	// the short fields lets a caller keep ids (say, in a resume set) without
	// keeping every text alive with them.
	d := Document{ID: strings.Clone(id), Text: text, Dataset: strings.Clone(label)}
	if err := s.v.check(line, s.record, d); err != nil {
		return Document{}, err
	}
	return d, nil
}

// short reports a row that ends before a needed column.
func (s *csvSource) short(line int, id, name string, col, have int) error {
	return s.v.fail(line, s.record, id, fmt.Errorf("%w %q: row has %d columns, %q is column %d", ErrMissingField, name, have, name, col+1))
}

func (s *csvSource) Close() error { return s.rc.Close() }
