package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

func init() { RegisterFormat("parquet", openParquet) }

// parquetSource reads the id, text and label columns of a Parquet file, one
// row group at a time and one page per column at a time: only the columns
// it needs are read, and never a whole row group's worth of text at once.
type parquetSource struct {
	rc     io.ReadCloser
	file   *parquet.File
	v      *validator
	cols   []parquetColumn // id, text, and the label when the file has one
	cur    []*columnCursor // one per cols, over the current row group
	group  int             // index of the next row group to open
	left   int64           // rows not yet read in the current row group
	record int             // 1-based row number across the file
	err    error           // sticky: io.EOF or a read error
}

// parquetColumn is a leaf column the source reads.
type parquetColumn struct {
	name     string // dotted path, as messages and options spell it
	index    int    // leaf index: the column chunk's position in a row group
	kind     parquet.Kind
	unsigned bool // integer annotated as unsigned
}

// parquetFile is what Parquet needs beneath the reader: the footer is at
// the end, so the file is read at offsets rather than as a stream.
type parquetFile interface {
	io.ReaderAt
	Stat() (os.FileInfo, error)
}

func openParquet(rc io.ReadCloser, name string, opts Options) (Source, error) {
	file := displayName(name)
	s, err := newParquetSource(rc, name, opts)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("dataset %s: %w", file, err)
	}
	return s, nil
}

func newParquetSource(rc io.ReadCloser, name string, opts Options) (*parquetSource, error) {
	f, ok := rc.(parquetFile)
	if !ok {
		return nil, errors.New("Parquet is read at offsets, so it must be a plain file: not standard input and not gzip-compressed")
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkFooter(f, st.Size()); err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	pf, err := openParquetFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	leaves := map[string]*parquet.Column{}
	var names []string
	walkLeaves(pf.Root(), func(c *parquet.Column) {
		n := strings.Join(c.Path(), ".")
		leaves[n] = c
		names = append(names, n)
	})
	s := &parquetSource{rc: rc, file: pf, v: newValidator(name, opts)}
	find := func(field string, defaults []string, what string) (*parquet.Column, error) {
		cands := defaults
		if field != "" {
			cands = []string{field}
		}
		for _, c := range cands {
			if col, ok := leaves[c]; ok {
				return col, nil
			}
		}
		if what == "" {
			return nil, nil // the label is optional
		}
		return nil, fmt.Errorf("%w %q: no %s column (columns: %s); name the %s column with --%s-field",
			ErrMissingField, cands[0], joinQuoted(cands), strings.Join(quoteAll(names), ", "), what, what)
	}
	id, err := find(opts.IDField, defaultIDFields, "id")
	if err != nil {
		return nil, err
	}
	text, err := find(opts.TextField, defaultTextFields, "text")
	if err != nil {
		return nil, err
	}
	label, err := find(opts.DatasetField, defaultDatasetFields, "")
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		col    *parquet.Column
		what   string
		ints   bool
		option bool // named by the user rather than found by a default name
	}{{id, "id", true, true}, {text, "text", false, true}, {label, "dataset label", false, opts.DatasetField != ""}} {
		if c.col == nil {
			continue
		}
		pc, err := parquetLeaf(c.col, c.what, c.ints)
		if err != nil {
			if !c.option {
				continue // a default-named label column of another type is not ours
			}
			return nil, err
		}
		s.cols = append(s.cols, pc)
	}
	return s, nil
}

// checkFooter reads the footer length a Parquet file ends with and checks
// it fits in the file: the library allocates that many bytes before it
// looks, so a damaged file could ask for gigabytes.
func checkFooter(f io.ReaderAt, size int64) error {
	const magic = "PAR1"
	if size < 12 {
		return fmt.Errorf("%d bytes is too short", size)
	}
	var tail [8]byte
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return err
	}
	if string(tail[4:]) != magic {
		return fmt.Errorf("no %s at the end (an encrypted or truncated file, or not Parquet)", magic)
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return fmt.Errorf("footer of %d bytes does not fit in a %d-byte file (truncated?)", n, size)
	}
	return nil
}

// openParquetFile reads the footer. The page index and bloom filters serve
// lookups; a scan needs neither.
func openParquetFile(f io.ReaderAt, size int64) (pf *parquet.File, err error) {
	defer recoverCorrupt(&err)
	return parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
}

// recoverCorrupt turns a panic inside parquet-go, which some damaged files
// provoke, into an error: a bad file must not bring down a long run.
func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("corrupt Parquet data (%v)", r)
	}
}

// walkLeaves calls fn for every leaf column, in leaf-index order.
func walkLeaves(c *parquet.Column, fn func(*parquet.Column)) {
	if c.Leaf() {
		fn(c)
		return
	}
	for _, child := range c.Columns() {
		walkLeaves(child, fn)
	}
}

// parquetLeaf checks a column holds one value per row of a type we read:
// strings (Arrow's string and large_string are both BYTE_ARRAY), and for
// ids also integers, which become their decimal spelling.
func parquetLeaf(c *parquet.Column, what string, ints bool) (parquetColumn, error) {
	name := strings.Join(c.Path(), ".")
	if c.MaxRepetitionLevel() > 0 {
		return parquetColumn{}, fmt.Errorf("%s column %q holds lists; want one value per row", what, name)
	}
	pc := parquetColumn{name: name, index: c.Index(), kind: c.Type().Kind()}
	switch pc.kind {
	case parquet.ByteArray:
		return pc, nil
	case parquet.Int32, parquet.Int64:
		if ints {
			if lt := c.Type().LogicalType(); lt != nil {
				if it, ok := lt.Value.(*format.IntType); ok {
					pc.unsigned = !it.IsSigned
				}
			}
			return pc, nil
		}
	}
	want := "a string"
	if ints {
		want = "a string or an integer"
	}
	return parquetColumn{}, fmt.Errorf("%s column %q is of type %s; want %s", what, name, c.Type(), want)
}

// Next returns the next valid document. A *RecordError rejects one row and
// the following call goes on with the next; other errors are final.
func (s *parquetSource) Next() (doc Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.err = fmt.Errorf("dataset %s row group %d: corrupt Parquet data (%v)", s.v.file, s.group, r)
			doc, err = Document{}, s.err
		}
	}()
	for s.err == nil && s.left == 0 {
		s.err = s.nextGroup()
	}
	if s.err != nil {
		return Document{}, s.err
	}
	s.left--
	s.record++
	var vals [3]parquet.Value
	for i, c := range s.cur {
		v, err := c.next()
		if err != nil {
			s.err = fmt.Errorf("dataset %s row group %d column %q: %w", s.v.file, s.group, s.cols[i].name, err)
			return Document{}, s.err
		}
		vals[i] = v
	}
	var d Document
	if vals[0].IsNull() {
		return Document{}, s.v.fail(0, s.record, "", fmt.Errorf("%w %q: null", ErrMissingField, s.cols[0].name))
	}
	d.ID = s.cols[0].str(vals[0])
	if vals[1].IsNull() {
		return Document{}, s.v.fail(0, s.record, d.ID, fmt.Errorf("%w %q for id %q: null", ErrMissingField, s.cols[1].name, d.ID))
	}
	d.Text = s.cols[1].str(vals[1])
	if len(s.cur) > 2 && !vals[2].IsNull() {
		d.Dataset = s.cols[2].str(vals[2])
	}
	if err := s.v.check(0, s.record, d); err != nil {
		return Document{}, err
	}
	return d, nil
}

// str spells a value as a string; byte arrays are copied, since the value
// points into a page buffer that is reused.
func (c parquetColumn) str(v parquet.Value) string {
	switch c.kind {
	case parquet.Int32:
		if c.unsigned {
			return strconv.FormatUint(uint64(uint32(v.Int32())), 10)
		}
		return strconv.FormatInt(int64(v.Int32()), 10)
	case parquet.Int64:
		if c.unsigned {
			return strconv.FormatUint(uint64(v.Int64()), 10)
		}
		return strconv.FormatInt(v.Int64(), 10)
	}
	return string(v.ByteArray())
}

// nextGroup moves the cursors to the next row group, io.EOF after the last.
func (s *parquetSource) nextGroup() error {
	if err := s.closeCursors(); err != nil {
		return fmt.Errorf("dataset %s row group %d: %w", s.v.file, s.group, err)
	}
	groups := s.file.RowGroups()
	if s.group >= len(groups) {
		return io.EOF
	}
	rg := groups[s.group]
	s.group++
	chunks := rg.ColumnChunks()
	for _, c := range s.cols {
		s.cur = append(s.cur, &columnCursor{pages: chunks[c.index].Pages()})
	}
	s.left = rg.NumRows()
	return nil
}

func (s *parquetSource) closeCursors() error {
	var err error
	for _, c := range s.cur {
		if cerr := c.pages.Close(); err == nil {
			err = cerr
		}
	}
	s.cur = s.cur[:0]
	return err
}

func (s *parquetSource) Close() error {
	err := s.closeCursors()
	if cerr := s.rc.Close(); err == nil {
		err = cerr
	}
	return err
}

// columnCursor hands out one column chunk's values in order, holding one
// page and a small batch of its values at a time. Columns are read in step,
// one value each per row, which holds for columns without lists.
type columnCursor struct {
	pages  parquet.Pages
	values parquet.ValueReader // of the current page; nil before the first
	buf    [64]parquet.Value
	i, n   int
	done   bool // values has nothing more
}

func (c *columnCursor) next() (parquet.Value, error) {
	for c.i >= c.n {
		if c.values == nil || c.done {
			page, err := c.pages.ReadPage()
			if errors.Is(err, io.EOF) {
				return parquet.Value{}, errors.New("column ended before the row group's last row")
			}
			if err != nil {
				return parquet.Value{}, err
			}
			c.values, c.done = page.Values(), false
		}
		n, err := c.values.ReadValues(c.buf[:])
		c.i, c.n = 0, n
		if errors.Is(err, io.EOF) {
			c.done = true
		} else if err != nil {
			return parquet.Value{}, err
		}
	}
	c.i++
	return c.buf[c.i-1], nil
}
